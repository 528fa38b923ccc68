//! The architectural state of one vCPU (ARMv8.0-A, EL0 and EL1, AArch64 only) and exception entry
//! and return.

pub mod exception;

use crate::sysreg::table::{ROWS, SCTLR_RESET};

/// PSTATE.M values for AArch64 (ARM ARM C5.2.18 SPSR_EL1, M[3:0]).
pub const M_EL0T: u64 = 0b0000;
pub const M_EL1T: u64 = 0b0100;
pub const M_EL1H: u64 = 0b0101;

/// Whether the vCPU is running, as KVM's mp_state (KVM_MP_STATE_RUNNABLE / STOPPED).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Power {
    On,
    Off,
}

pub struct Cpu {
    /// X0..X30; `x[31]` is the zero register and always reads 0 (writes are discarded by
    /// re-zeroing after the write).
    pub x: [u64; 32],
    /// The stack pointer selected by PSTATE.{EL,SP}; the other one is in `sp_el0`/`sp_el1`.
    pub sp: u64,
    sp_el0: u64,
    sp_el1: u64,
    pub pc: u64,
    /// PSTATE.NZCV as bits N=8 Z=4 C=2 V=1.
    pub nzcv: u32,
    /// PSTATE.DAIF as bits D=8 A=4 I=2 F=1.
    pub daif: u32,
    pub el: u8,
    pub spsel: u8,
    /// PSTATE.IL: set by an illegal exception return; the next instruction takes an Illegal
    /// Execution state exception (EC 0x0E).
    pub il: bool,
    /// One slot per row of `sysreg::table::ROWS`.
    pub sys: Vec<u64>,
    /// The identification space op0=3 op1=0 CRn=0, indexed CRm*8+op2.
    pub id: [u64; 64],
    /// Guest MRS of the ID registers goes through sysreg/idsan.rs (config key ID_CAP).
    pub id_cap: bool,
    /// CCSIDR_EL1 per CSSELR_EL1 value (Level<<1 | InD).
    pub ccsidr: [u64; 16],
    /// DCZID_EL0.BS (log2 of the DC ZVA block size in words), configured per machine.
    pub dczid: u64,
    /// Storage of register families (debug breakpoints/watchpoints, PMU event counters), by
    /// encoding; absent means the reset value 0.
    pub banked: std::collections::BTreeMap<u16, u64>,
    /// FP/SIMD registers, held for restore fidelity (KVM core regs `fp_regs`): no FP/SIMD
    /// instruction executes yet, so the guest cannot read them.
    pub v: [u128; 32],
    pub fpsr: u32,
    pub fpcr: u32,
    /// KVM's `spsr[1..5]` (the AArch32 abt/und/irq/fiq banks): stored for restore fidelity only.
    pub spsr32: [u64; 4],
    /// Local exclusive monitor: (physical address, size log2) when open.
    pub excl: Option<(u64, u32)>,
    /// Instructions retired by this vCPU.
    pub icount: u64,
    /// PMU cycle counter (counting retired instructions): value at `pmc_mark`.
    pub pmc_value: u64,
    pub pmc_mark: u64,
    pub pmcr: u64,
    pub pmcnten: u64,
    pub pmovs: u64,
    pub pminten: u64,
    pub oslk: bool,
    pub power: Power,
    /// Waiting in WFI for an interrupt.
    pub wfi: bool,
    /// The event register (SEV/SEVL/WFE).
    pub event: bool,
    /// PSTATE.PAN (FEAT_PAN) and PSTATE.UAO (FEAT_UAO).
    pub pan: bool,
    pub uao: bool,
    /// PSTATE.SSBS and PSTATE.DIT: state only (no speculation or timing is modelled).
    pub ssbs: bool,
    pub dit: bool,
    /// Stage-1 TLB.
    pub tlb: crate::exec::mmu::Tlb,
}

impl Default for Cpu {
    fn default() -> Self {
        Self::new()
    }
}

impl Cpu {
    pub fn new() -> Cpu {
        let mut c = Cpu {
            x: [0; 32],
            sp: 0,
            sp_el0: 0,
            sp_el1: 0,
            pc: 0,
            nzcv: 0,
            daif: 0xf,
            el: 1,
            spsel: 1,
            il: false,
            sys: vec![0; ROWS.len()],
            id: [0; 64],
            id_cap: false,
            ccsidr: [0; 16],
            dczid: 4,
            spsr32: [0; 4],
            v: [0; 32],
            fpsr: 0,
            fpcr: 0,
            banked: Default::default(),
            excl: None,
            icount: 0,
            pmc_value: 0,
            pmc_mark: 0,
            pmcr: 0,
            pmcnten: 0,
            pmovs: 0,
            pminten: 0,
            oslk: true,
            power: Power::On,
            wfi: false,
            event: false,
            pan: false,
            uao: false,
            ssbs: false,
            dit: false,
            tlb: Default::default(),
        };
        c.reset_sysregs();
        c
    }

    /// KVM_ARM_VCPU_INIT state (arch/arm64/kvm/reset.c): EL1h with DAIF masked, sysregs at reset.
    pub fn reset(&mut self) {
        let id = self.id;
        let ccsidr = self.ccsidr;
        let dczid = self.dczid;
        let consts: Vec<(usize, u64)> = ROWS
            .iter()
            .enumerate()
            .filter(|(_, r)| r.kind == crate::sysreg::table::Kind::Const)
            .map(|(i, _)| (i, self.sys[i]))
            .collect();
        let pmcr_n = self.pmcr & (0x1f << 11);
        let power = self.power;
        let id_cap = self.id_cap;
        *self = Cpu::new();
        self.id = id;
        self.id_cap = id_cap;
        self.ccsidr = ccsidr;
        self.dczid = dczid;
        for (i, v) in consts {
            self.sys[i] = v;
        }
        self.pmcr = pmcr_n;
        self.power = power;
    }

    fn reset_sysregs(&mut self) {
        for (i, r) in ROWS.iter().enumerate() {
            if let crate::sysreg::table::Kind::Store { reset, .. } = r.kind {
                self.sys[i] = reset;
            }
        }
        debug_assert_eq!(self.sys[crate::sysreg::table::SCTLR], SCTLR_RESET);
    }

    /// Register `r` as an operand where 31 means XZR.
    #[inline(always)]
    pub fn xr(&self, r: u8) -> u64 {
        // The mask proves the index in range, so no bounds check sits in the hot path.
        self.x[(r & 31) as usize]
    }

    /// Register `r` as an operand where 31 means SP.
    #[inline(always)]
    pub fn xsp(&self, r: u8) -> u64 {
        if r == 31 {
            self.sp
        } else {
            self.x[(r & 31) as usize]
        }
    }

    /// Writes `v` to Xr (31 = XZR: discarded); 32-bit results are zero-extended by the caller.
    #[inline(always)]
    pub fn set(&mut self, r: u8, v: u64) {
        self.x[(r & 31) as usize] = v;
        self.x[31] = 0;
    }

    /// Writes `v` to Xr where 31 means SP.
    #[inline(always)]
    pub fn set_sp(&mut self, r: u8, v: u64) {
        if r == 31 {
            self.sp = v;
        } else {
            self.x[(r & 31) as usize] = v;
        }
    }

    /// SP_EL0 whichever stack pointer is live.
    pub fn sp_el0(&self) -> u64 {
        if self.el == 0 || self.spsel == 0 {
            self.sp
        } else {
            self.sp_el0
        }
    }

    pub fn set_sp_el0(&mut self, v: u64) {
        if self.el == 0 || self.spsel == 0 {
            self.sp = v
        } else {
            self.sp_el0 = v
        }
    }

    pub fn sp_el1(&self) -> u64 {
        if self.el == 1 && self.spsel == 1 {
            self.sp
        } else {
            self.sp_el1
        }
    }

    pub fn set_sp_el1(&mut self, v: u64) {
        if self.el == 1 && self.spsel == 1 {
            self.sp = v
        } else {
            self.sp_el1 = v
        }
    }

    /// Switches PSTATE.{EL,SP}, banking the stack pointer.
    pub fn set_mode(&mut self, el: u8, spsel: u8) {
        let (e0, e1) = (self.sp_el0(), self.sp_el1());
        self.el = el;
        self.spsel = spsel;
        self.sp_el0 = e0;
        self.sp_el1 = e1;
        self.sp = if el == 1 && spsel == 1 { e1 } else { e0 };
    }

    /// PSTATE as SPSR_EL1 / KVM's `pstate` lay it out (ARM ARM C5.2.18).
    pub fn pstate(&self) -> u64 {
        (self.nzcv as u64) << 28
            | (self.dit as u64) << 24
            | (self.uao as u64) << 23
            | (self.pan as u64) << 22
            | (self.il as u64) << 20
            | (self.ssbs as u64) << 12
            | (self.daif as u64) << 6
            | (self.el as u64) << 2
            | self.spsel as u64
    }

    /// Loads PSTATE from an SPSR-format value already checked to be a legal AArch64 mode.
    pub fn set_pstate(&mut self, v: u64) {
        self.nzcv = ((v >> 28) & 0xf) as u32;
        self.il = (v >> 20) & 1 == 1;
        self.dit = (v >> 24) & 1 == 1;
        self.uao = (v >> 23) & 1 == 1;
        self.pan = (v >> 22) & 1 == 1;
        self.ssbs = (v >> 12) & 1 == 1;
        self.daif = ((v >> 6) & 0xf) as u32;
        self.set_mode(((v >> 2) & 3) as u8, (v & 1) as u8);
    }

    /// Whether `m` (SPSR.M[4:0]) is an AArch64 mode this vCPU implements.
    pub fn legal_mode(v: u64) -> bool {
        matches!(v & 0x1f, M_EL0T | M_EL1T | M_EL1H)
    }

    /// PMU cycle counter enabled: PMCR_EL0.E and PMCNTENSET_EL0.C.
    pub fn pmc_counting(&self) -> bool {
        self.pmcr & 1 == 1 && self.pmcnten >> 31 & 1 == 1
    }

    pub fn pmccntr(&self) -> u64 {
        if self.pmc_counting() {
            self.pmc_value.wrapping_add(self.icount.saturating_sub(self.pmc_mark))
        } else {
            self.pmc_value
        }
    }

    /// Call before changing anything `pmc_counting` depends on.
    pub fn pmc_sync(&mut self) {
        self.pmc_value = self.pmccntr();
        self.pmc_mark = self.icount;
    }
}
