//! rollsafe's AArch64 + vGIC emulator: an ARMv8.0-A interpreter (A64 integer, branches,
//! loads/stores, system instructions, exceptions at EL0/EL1), a system-register table, the vGIC,
//! per-vCPU generic timers and PSCI/SMCCC firmware, behind a KVM-shaped `extern "C"` boundary.
//! Deterministic: no clock, no randomness. Guest mistakes are architectural exceptions or RAZ/WI,
//! never a panic; bad host input is an error code.
//!
//! Module map:
//! - `decode`: the A64 decode table (decodetree-style rows) and the per-page decode cache.
//! - `exec`: instruction semantics, the data-access path and the inner loop.
//! - `cpu`: architectural state of a vCPU, exception entry and return.
//! - `sysreg`: the system-register table and its guest/raw accessors.
//! - `memory`: guest RAM regions.
//! - `machine`: vCPUs + devices, the deterministic scheduler and clock; `config`: its inputs.
//! - `kvm_ids`: KVM ONE_REG ids onto vCPU state; `ffi`: the wasm exports.
//! - `devices`: the seam to `gic`, `timer` and `firmware`.
//! - `gic`: GICv2/GICv3 distributor, redistributors, CPU interfaces, KVM device-attribute access.
//! - `timer`: the generic timer (virtual and physical) of one vCPU.
//! - `firmware`: PSCI and SMCCC answered over HVC, configured per target.
//! - `uart`: the PL011 console of the `virt` board.

// Everything but `ffi` (whose `#[no_mangle]` exports the lint counts as unsafe) is safe code.
#![deny(unsafe_code)]

pub mod bits;
pub mod config;
pub mod cpu;
pub mod decode;
pub mod devices;
pub mod exec;
pub mod ffi;
pub mod firmware;
pub mod gic;
pub mod kvm_ids;
pub mod machine;
pub mod memory;
pub mod sysreg;
pub mod timer;
pub mod uart;
