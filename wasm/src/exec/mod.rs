//! Execution: the per-slice loop over the decode cache ([`run`]), the instruction semantics
//! ([`ops`]) and the data-access path ([`access`]: translate, then RAM, GIC or stop).

pub mod access;
pub mod mmu;
pub mod ops;
pub mod run;

use crate::cpu::exception::Exception;
use crate::devices::{FirmwareConfig, Gic, Timer};
use crate::memory::Memory;

/// Why an instruction did not simply complete.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// A synchronous exception raised by the instruction at the PC.
    Exc(Exception),
    /// HVC (or SMC #0) at EL1, the PC already past it: the machine answers through firmware.
    Hvc,
    /// WFI executed (PC past it).
    Wfi,
    /// WFE without a pending event, or YIELD: end the slice (PC past it).
    Yield,
    /// Stop the run and report to the host.
    Stop(Stop),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// The PC reached a watched address (not executed).
    Watch,
    /// HLT #imm (PC past it).
    Hlt(u16),
    /// An access to an MMIO window no device model handles (instruction not executed).
    Mmio { addr: u64, size: u32, write: bool, value: u64 },
}

/// Everything an instruction may touch besides its own vCPU.
pub struct Ctx<'a> {
    pub mem: &'a mut Memory,
    pub gic: &'a mut Gic,
    pub timer: &'a mut Timer,
    pub fw: &'a FirmwareConfig,
    pub vcpu: usize,
    /// Guest-physical windows of devices that are not modelled: accesses stop the run.
    pub mmio_windows: &'a [(u64, u64)],
    /// The PL011 console, if the board has one.
    pub uart: &'a mut Option<crate::uart::Pl011>,
    pub cntfrq: u64,
    /// Time: the physical count at `cpu.icount == ic_base` and ticks per instruction as a ratio.
    pub phys_base: u64,
    pub ic_base: u64,
    pub tick_num: u64,
    pub tick_den: u64,
    /// The loop returns once `cpu.icount >= limit`; setting it to 0 asks the machine to
    /// re-evaluate interrupts after the current instruction.
    pub limit: u64,
    /// Physical addresses at or above this are outside the implemented PA range.
    pub pa_limit: u64,
    /// EL1 `SMC #0` reaches the SMCCC handler (Linux 6.4+), else it returns NOT_SUPPORTED.
    pub smc_smccc: bool,
    /// SCTLR_EL1.M when the slice started (an SCTLR write ends the inner loop, so it is current).
    pub mmu_on: bool,
}

impl<'a> Ctx<'a> {
    /// The physical count seen by an instruction when the vCPU has retired `icount`.
    #[inline]
    pub fn now(&self, icount: u64) -> u64 {
        let d = icount.wrapping_sub(self.ic_base) as u128;
        self.phys_base.wrapping_add((d * self.tick_num as u128 / self.tick_den as u128) as u64)
    }

    /// End the inner loop after the current instruction so interrupt state is re-evaluated.
    #[inline]
    pub fn reevaluate(&mut self) {
        self.limit = 0;
    }
}
