//! Exception entry to EL1 and exception return (ARM ARM D1.3 "Exceptions", pseudocode
//! AArch64.TakeException and AArch64.ExceptionReturn), and the syndromes ESR_EL1 receives
//! (ARM ARM D19.2 ESR_EL1, "Exception Class" table).

use super::{Cpu, M_EL0T, M_EL1H};
use crate::sysreg::table::{ELR, ESR, FAR, SPSR, VBAR};

/// Exception classes (ESR_ELx.EC) this core raises.
pub struct Ec;
impl Ec {
    pub const UNKNOWN: u8 = 0x00;
    pub const ILLEGAL_STATE: u8 = 0x0e;
    pub const SVC64: u8 = 0x15;
    pub const HVC64: u8 = 0x16;
    pub const SMC64: u8 = 0x17;
    pub const SYSREG: u8 = 0x18;
    pub const IABT_LOWER: u8 = 0x20;
    pub const IABT_CUR: u8 = 0x21;
    pub const PC_ALIGN: u8 = 0x22;
    pub const DABT_LOWER: u8 = 0x24;
    pub const DABT_CUR: u8 = 0x25;
    pub const SP_ALIGN: u8 = 0x26;
    pub const BRK64: u8 = 0x3c;
}

/// Fault status codes (ESR_ELx.ISS.{DFSC,IFSC}).
pub struct Fsc;
impl Fsc {
    /// Address size fault, level 0: the address is above the implemented PA size.
    pub const ADDR_SIZE_L0: u32 = 0x00;
    /// Synchronous External abort, not on a translation table walk.
    pub const EXTERNAL: u32 = 0x10;
    pub const ALIGNMENT: u32 = 0x21;
}

/// Exception types, giving the vector offset within a 0x200 group (D1.3.x "Exception vectors").
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Vector {
    Sync = 0x000,
    Irq = 0x080,
    Fiq = 0x100,
    SError = 0x180,
}

/// A synchronous exception to take: class, ISS, fault address, and whether the preferred return
/// address is the next instruction (SVC/HVC/SMC) rather than the faulting one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exception {
    pub ec: u8,
    pub iss: u32,
    pub far: Option<u64>,
    pub next: bool,
}

impl Exception {
    pub fn undef() -> Exception {
        Exception { ec: Ec::UNKNOWN, iss: 0, far: None, next: false }
    }

    pub fn call(ec: u8, imm16: u64) -> Exception {
        Exception { ec, iss: imm16 as u32 & 0xffff, far: None, next: true }
    }

    /// Data abort: `fsc` with WnR (ISS bit 6); ISV=0 (no instruction syndrome), which the
    /// architecture allows for these faults.
    pub fn data_abort(el: u8, va: u64, fsc: u32, write: bool) -> Exception {
        let ec = if el == 0 { Ec::DABT_LOWER } else { Ec::DABT_CUR };
        Exception { ec, iss: fsc | (write as u32) << 6, far: Some(va), next: false }
    }

    pub fn insn_abort(el: u8, va: u64, fsc: u32) -> Exception {
        let ec = if el == 0 { Ec::IABT_LOWER } else { Ec::IABT_CUR };
        Exception { ec, iss: fsc, far: Some(va), next: false }
    }

    /// Trapped MSR/MRS (EC 0x18) ISS: Op0[21:20] Op2[19:17] Op1[16:14] CRn[13:10] Rt[9:5]
    /// CRm[4:1] Direction[0] (1 = read).
    pub fn sysreg_trap(enc: u16, rt: u8, read: bool) -> Exception {
        let e = enc as u32;
        let (op0, op1, crn, crm, op2) = (e >> 14, (e >> 11) & 7, (e >> 7) & 0xf, (e >> 3) & 0xf, e & 7);
        let iss = op0 << 20 | op2 << 17 | op1 << 14 | crn << 10 | (rt as u32) << 5 | crm << 1 | read as u32;
        Exception { ec: Ec::SYSREG, iss, far: None, next: false }
    }
}

/// ESR_ELx.IL: every A64 instruction is 32 bits (bit 25 set), except that the ARM ARM gives
/// IL=1 for the classes below as well, so all of our exceptions set it.
const IL: u64 = 1 << 25;

impl Cpu {
    /// Vector address for an exception of type `v` taken to EL1 from the current state.
    pub fn vector(&self, v: Vector) -> u64 {
        let group = if self.el == 0 {
            0x400 // lower EL using AArch64
        } else if self.spsel == 0 {
            0x000 // current EL with SP_EL0
        } else {
            0x200 // current EL with SP_ELx
        };
        self.sys[VBAR].wrapping_add(group + v as u64)
    }

    /// AArch64.TakeException to EL1. `ret` is the preferred return address.
    pub fn enter(&mut self, v: Vector, ret: u64, syndrome: Option<&Exception>) {
        let target = self.vector(v);
        self.sys[SPSR] = self.pstate();
        self.sys[ELR] = ret;
        if let Some(e) = syndrome {
            self.sys[ESR] = (e.ec as u64) << 26 | IL | e.iss as u64;
            if let Some(far) = e.far {
                self.sys[FAR] = far;
            }
        }
        self.set_mode(1, 1);
        self.daif = 0xf;
        // AArch64.TakeException: PAN set unless SCTLR_EL1.SPAN (RES1 without FEAT_PAN), UAO
        // cleared, SSBS from SCTLR_EL1.DSSBS (RES0 without FEAT_SSBS); DIT is kept.
        let sctlr = self.sys[crate::sysreg::table::SCTLR];
        if sctlr >> 23 & 1 == 0 {
            self.pan = true;
        }
        self.uao = false;
        self.ssbs = sctlr >> 44 & 1 == 1;
        self.il = false;
        self.pc = target;
        self.wfi = false;
    }

    /// Takes a synchronous exception raised by the instruction at `self.pc`.
    pub fn take(&mut self, e: &Exception) {
        let ret = if e.next { self.pc.wrapping_add(4) } else { self.pc };
        self.enter(Vector::Sync, ret, Some(e));
    }

    /// AArch64.ExceptionReturn from EL1 (ERET): PSTATE from SPSR_EL1, PC from ELR_EL1. A return
    /// to an unimplemented or higher mode is an illegal exception return: PSTATE.IL is set and
    /// EL/SP stay as they are (ARM ARM D1.x "Illegal return events from AArch64 state").
    pub fn eret(&mut self) {
        let spsr = self.sys[SPSR];
        let elr = self.sys[ELR];
        let m = spsr & 0x1f;
        if Cpu::legal_mode(spsr) && (m == M_EL0T || m >> 2 <= 1) && m <= M_EL1H {
            self.set_pstate(spsr);
        } else {
            self.nzcv = ((spsr >> 28) & 0xf) as u32;
            self.daif = ((spsr >> 6) & 0xf) as u32;
            self.il = true;
        }
        self.pc = elr;
        self.excl = None;
    }
}
