//! rollsafe's AArch64 + vGIC emulator.
//!
//! Module map (owners in brackets while the crate is being built):
//! - `gic`: GICv2/GICv3 distributor, redistributors, CPU interfaces, KVM device-attribute access.
//! - `timer`: the generic timer (virtual and physical) of one vCPU.
//! - `firmware`: PSCI and SMCCC answered over HVC, configured per target.

pub mod firmware;
pub mod gic;
pub mod timer;
