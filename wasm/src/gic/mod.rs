//! GICv2 and GICv3 (see lib.rs).
