//! PSCI and SMCCC firmware (see lib.rs).
