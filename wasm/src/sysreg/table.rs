//! System registers as rows: name, encoding, EL0 access rule and kind (storage, identification,
//! or a special accessor). One row per architectural register; logic in `sysreg/mod.rs` is
//! generic over rows. Encodings are KVM's 16-bit form (op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2),
//! the same bits as `MRS`'s o0:op1:CRn:CRm:op2 field and as the low half of a KVM ONE_REG sysreg
//! id (`0x6030_0000_0013_xxxx`, arch/arm64/include/uapi/asm/kvm.h `ARM64_SYS_REG`).
//!
//! The identification space (op0=3 op1=0 CRn=0 CRm=0..7) is handled by rule, not rows, because
//! ARM ARM D19.x ("Identification registers") reserves all of CRm=1..7 as RAZ: any encoding
//! there reads its configured value, zero by default. Rows below only give names to those.
//! GIC CPU interface (ICC_*) encodings are routed to the GIC by rule too (see `is_icc`).

/// Encoding helper, in ARM ARM operand order.
pub const fn enc(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u16 {
    ((op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2) as u16
}

/// What EL0 may do (ARM ARM D1.x / each register's "Accessibility" pseudocode). At EL1 every row
/// is accessible, subject to its kind (identification registers are read-only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum El0 {
    /// UNDEFINED at EL0.
    No,
    /// Read and write.
    Rw,
    /// Read only; MSR at EL0 is UNDEFINED.
    Ro,
    /// Accessible (as `Rw` or `Ro` per the flag) if SCTLR_EL1 bit `.0` is set, else trapped to
    /// EL1 with EC 0x18.
    IfSctlr(u8, bool),
    /// Accessible if any of the CNTKCTL_EL1 bits in the mask is set, else EC 0x18 trap.
    IfCntkctl(u16, bool),
    /// Accessible if PMUSERENR_EL0 has any bit of the mask set, else EC 0x18 trap.
    IfPmuserenr(u8, bool),
}

/// Registers whose reads or writes do more than load/store a slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Special {
    Nzcv,
    Daif,
    CurrentEl,
    SpSel,
    SpEl0,
    /// CCSIDR_EL1, selected by CSSELR_EL1 (configured per machine for each level and type).
    Ccsidr,
    /// DCZID_EL0: DZP mirrors SCTLR_EL1.DZE == 0.
    Dczid,
    /// ISR_EL1: pending IRQ/FIQ lines.
    Isr,
    CntFrq,
    CntPct,
    CntVct,
    /// CNTP_*/CNTV_*: delegated to the vCPU's timer.
    Timer,
    Pmcr,
    PmcntenSet,
    PmcntenClr,
    PmovsSet,
    PmovsClr,
    PmintenSet,
    PmintenClr,
    Pmccntr,
    /// PMSWINC_EL0: write-only, no event counters implemented.
    Pmswinc,
    /// OSLAR_EL1: write-only, sets OSLSR_EL1.OSLK.
    Oslar,
    Oslsr,
    /// PSTATE fields as registers: PAN (FEAT_PAN), UAO (FEAT_UAO), DIT (FEAT_DIT), SSBS (FEAT_SSBS).
    Pan,
    Uao,
    Dit,
    Ssbs,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Plain storage: reset value and the mask of bits a guest write may change (others RES0).
    Store { reset: u64, wmask: u64 },
    /// Identification or configuration value set by the machine (guest MSR is UNDEFINED).
    Id,
    /// A configured constant outside the ID space, stored per vCPU (AIDR, CLIDR, CTR, REVIDR...).
    Const,
    Special(Special),
    /// State KVM saves and restores but the guest cannot reach from EL1 (AArch32 EL2 views):
    /// ONE_REG only; MRS/MSR are UNDEFINED.
    KvmOnly,
}

pub struct SysReg {
    pub name: &'static str,
    pub enc: u16,
    pub el0: El0,
    pub kind: Kind,
}

const fn r(name: &'static str, e: u16, el0: El0, kind: Kind) -> SysReg {
    SysReg { name, enc: e, el0, kind }
}
const fn st(reset: u64) -> Kind {
    Kind::Store { reset, wmask: u64::MAX }
}
const fn stm(reset: u64, wmask: u64) -> Kind {
    Kind::Store { reset, wmask }
}
const fn sp(s: Special) -> Kind {
    Kind::Special(s)
}

use El0::*;
use Special as S;

/// SCTLR_EL1 bits used by access rules (ARM ARM D19.2 SCTLR_EL1).
pub const SCTLR_M: u64 = 1 << 0;
pub const SCTLR_A: u64 = 1 << 1;
pub const SCTLR_SA: u64 = 1 << 3;
pub const SCTLR_SA0: u64 = 1 << 4;
pub const SCTLR_UMA: u8 = 9;
pub const SCTLR_DZE: u8 = 14;
pub const SCTLR_UCT: u8 = 15;
pub const SCTLR_UCI: u8 = 26;
/// Architectural reset value KVM uses for a fresh vCPU: RES1 bits of ARMv8.0
/// (0x00C50838; arch/arm64/kvm/sys_regs.c reset_sctlr / INIT_SCTLR_EL1_MMU_OFF).
pub const SCTLR_RESET: u64 = 0x00C5_0838;

#[rustfmt::skip]
pub const ROWS: &[SysReg] = &[
    // ID space names (values by rule: see module doc). D19.2, "AArch64 System register descriptions".
    r("MIDR_EL1",         enc(3,0,0,0,0), No, Kind::Id),
    r("MPIDR_EL1",        enc(3,0,0,0,5), No, Kind::Id),
    r("REVIDR_EL1",       enc(3,0,0,0,6), No, Kind::Id),
    r("ID_PFR0_EL1",      enc(3,0,0,1,0), No, Kind::Id),
    r("ID_PFR1_EL1",      enc(3,0,0,1,1), No, Kind::Id),
    r("ID_DFR0_EL1",      enc(3,0,0,1,2), No, Kind::Id),
    r("ID_AFR0_EL1",      enc(3,0,0,1,3), No, Kind::Id),
    r("ID_MMFR0_EL1",     enc(3,0,0,1,4), No, Kind::Id),
    r("ID_MMFR1_EL1",     enc(3,0,0,1,5), No, Kind::Id),
    r("ID_MMFR2_EL1",     enc(3,0,0,1,6), No, Kind::Id),
    r("ID_MMFR3_EL1",     enc(3,0,0,1,7), No, Kind::Id),
    r("ID_ISAR0_EL1",     enc(3,0,0,2,0), No, Kind::Id),
    r("ID_ISAR1_EL1",     enc(3,0,0,2,1), No, Kind::Id),
    r("ID_ISAR2_EL1",     enc(3,0,0,2,2), No, Kind::Id),
    r("ID_ISAR3_EL1",     enc(3,0,0,2,3), No, Kind::Id),
    r("ID_ISAR4_EL1",     enc(3,0,0,2,4), No, Kind::Id),
    r("ID_ISAR5_EL1",     enc(3,0,0,2,5), No, Kind::Id),
    r("ID_MMFR4_EL1",     enc(3,0,0,2,6), No, Kind::Id),
    r("ID_ISAR6_EL1",     enc(3,0,0,2,7), No, Kind::Id),
    r("MVFR0_EL1",        enc(3,0,0,3,0), No, Kind::Id),
    r("MVFR1_EL1",        enc(3,0,0,3,1), No, Kind::Id),
    r("MVFR2_EL1",        enc(3,0,0,3,2), No, Kind::Id),
    r("ID_PFR2_EL1",      enc(3,0,0,3,4), No, Kind::Id),
    r("ID_DFR1_EL1",      enc(3,0,0,3,5), No, Kind::Id),
    r("ID_MMFR5_EL1",     enc(3,0,0,3,6), No, Kind::Id),
    r("ID_AA64PFR0_EL1",  enc(3,0,0,4,0), No, Kind::Id),
    r("ID_AA64PFR1_EL1",  enc(3,0,0,4,1), No, Kind::Id),
    r("ID_AA64ZFR0_EL1",  enc(3,0,0,4,4), No, Kind::Id),
    r("ID_AA64SMFR0_EL1", enc(3,0,0,4,5), No, Kind::Id),
    r("ID_AA64DFR0_EL1",  enc(3,0,0,5,0), No, Kind::Id),
    r("ID_AA64DFR1_EL1",  enc(3,0,0,5,1), No, Kind::Id),
    r("ID_AA64AFR0_EL1",  enc(3,0,0,5,4), No, Kind::Id),
    r("ID_AA64AFR1_EL1",  enc(3,0,0,5,5), No, Kind::Id),
    r("ID_AA64ISAR0_EL1", enc(3,0,0,6,0), No, Kind::Id),
    r("ID_AA64ISAR1_EL1", enc(3,0,0,6,1), No, Kind::Id),
    r("ID_AA64ISAR2_EL1", enc(3,0,0,6,2), No, Kind::Id),
    r("ID_AA64MMFR0_EL1", enc(3,0,0,7,0), No, Kind::Id),
    r("ID_AA64MMFR1_EL1", enc(3,0,0,7,1), No, Kind::Id),
    r("ID_AA64MMFR2_EL1", enc(3,0,0,7,2), No, Kind::Id),
    r("ID_AA64MMFR3_EL1", enc(3,0,0,7,3), No, Kind::Id),
    r("ID_AA64MMFR4_EL1", enc(3,0,0,7,4), No, Kind::Id),
    // Cache identification (D19.2 CCSIDR_EL1, CLIDR_EL1, CSSELR_EL1, CTR_EL0, DCZID_EL0).
    r("CCSIDR_EL1",       enc(3,1,0,0,0), No, sp(S::Ccsidr)),
    r("CLIDR_EL1",        enc(3,1,0,0,1), No, Kind::Const),
    r("AIDR_EL1",         enc(3,1,0,0,7), No, Kind::Const),
    // CSSELR: Level[3:1], InD[0] (TnD is FEAT_MTE2, not v8.0).
    r("CSSELR_EL1",       enc(3,2,0,0,0), No, stm(0, 0xf)),
    r("CTR_EL0",          enc(3,3,0,0,1), IfSctlr(SCTLR_UCT, false), Kind::Const),
    r("DCZID_EL0",        enc(3,3,0,0,7), Ro, sp(S::Dczid)),
    // EL1 control (D19.2).
    r("SCTLR_EL1",        enc(3,0,1,0,0), No, st(SCTLR_RESET)),
    r("ACTLR_EL1",        enc(3,0,1,0,1), No, st(0)),
    r("CPACR_EL1",        enc(3,0,1,0,2), No, stm(0, 0x0030_0000 | 0x0003_0000 | 1 << 28)),
    r("TTBR0_EL1",        enc(3,0,2,0,0), No, st(0)),
    r("TTBR1_EL1",        enc(3,0,2,0,1), No, st(0)),
    r("TCR_EL1",          enc(3,0,2,0,2), No, st(0)),
    // Exception state (D1.x "Exception entry").
    r("SPSR_EL1",         enc(3,0,4,0,0), No, st(0)),
    r("ELR_EL1",          enc(3,0,4,0,1), No, st(0)),
    r("SP_EL0",           enc(3,0,4,1,0), No, sp(S::SpEl0)),
    r("SPSel",            enc(3,0,4,2,0), No, sp(S::SpSel)),
    r("CurrentEL",        enc(3,0,4,2,2), No, sp(S::CurrentEl)),
    r("NZCV",             enc(3,3,4,2,0), Rw, sp(S::Nzcv)),
    r("PAN",              enc(3,0,4,2,3), No, sp(S::Pan)),
    r("UAO",              enc(3,0,4,2,4), No, sp(S::Uao)),
    r("DIT",              enc(3,3,4,2,5), Rw, sp(S::Dit)),
    r("SSBS",             enc(3,3,4,2,6), Rw, sp(S::Ssbs)),
    r("DAIF",             enc(3,3,4,2,1), IfSctlr(SCTLR_UMA, true), sp(S::Daif)),
    r("AFSR0_EL1",        enc(3,0,5,1,0), No, st(0)),
    r("AFSR1_EL1",        enc(3,0,5,1,1), No, st(0)),
    r("ESR_EL1",          enc(3,0,5,2,0), No, stm(0, 0xffff_ffff)),
    r("FAR_EL1",          enc(3,0,6,0,0), No, st(0)),
    r("PAR_EL1",          enc(3,0,7,4,0), No, st(0)),
    r("MAIR_EL1",         enc(3,0,10,2,0), No, st(0)),
    r("AMAIR_EL1",        enc(3,0,10,3,0), No, st(0)),
    // VBAR_EL1[10:0] are RES0: vectors are 2 KiB aligned.
    r("VBAR_EL1",         enc(3,0,12,0,0), No, stm(0, !0x7ff)),
    r("ISR_EL1",          enc(3,0,12,1,0), No, sp(S::Isr)),
    r("CONTEXTIDR_EL1",   enc(3,0,13,0,1), No, stm(0, 0xffff_ffff)),
    r("TPIDR_EL1",        enc(3,0,13,0,4), No, st(0)),
    r("TPIDR_EL0",        enc(3,3,13,0,2), Rw, st(0)),
    r("TPIDRRO_EL0",      enc(3,3,13,0,3), Ro, st(0)),
    // Generic timer (D11 "The Generic Timer in AArch64 state"); CNTKCTL_EL1 gates EL0 access.
    r("CNTKCTL_EL1",      enc(3,0,14,1,0), No, stm(0, 0x3ff)),
    r("CNTFRQ_EL0",       enc(3,3,14,0,0), IfCntkctl(0b11, false), sp(S::CntFrq)),
    r("CNTPCT_EL0",       enc(3,3,14,0,1), IfCntkctl(0b01, false), sp(S::CntPct)),
    r("CNTVCT_EL0",       enc(3,3,14,0,2), IfCntkctl(0b10, false), sp(S::CntVct)),
    r("CNTP_TVAL_EL0",    enc(3,3,14,2,0), IfCntkctl(1 << 9, true), sp(S::Timer)),
    r("CNTP_CTL_EL0",     enc(3,3,14,2,1), IfCntkctl(1 << 9, true), sp(S::Timer)),
    r("CNTP_CVAL_EL0",    enc(3,3,14,2,2), IfCntkctl(1 << 9, true), sp(S::Timer)),
    r("CNTV_TVAL_EL0",    enc(3,3,14,3,0), IfCntkctl(1 << 8, true), sp(S::Timer)),
    r("CNTV_CTL_EL0",     enc(3,3,14,3,1), IfCntkctl(1 << 8, true), sp(S::Timer)),
    r("CNTV_CVAL_EL0",    enc(3,3,14,3,2), IfCntkctl(1 << 8, true), sp(S::Timer)),
    // PMUv3 subset (D13 "The Performance Monitors Extension"): the cycle counter counts
    // retired instructions; no event counters. PMUSERENR_EL0.EN (bit 0) opens EL0 access,
    // .CR (bit 2) opens PMCCNTR reads.
    r("PMCR_EL0",         enc(3,3,9,12,0), IfPmuserenr(1, true), sp(S::Pmcr)),
    r("PMCNTENSET_EL0",   enc(3,3,9,12,1), IfPmuserenr(1, true), sp(S::PmcntenSet)),
    r("PMCNTENCLR_EL0",   enc(3,3,9,12,2), IfPmuserenr(1, true), sp(S::PmcntenClr)),
    r("PMOVSCLR_EL0",     enc(3,3,9,12,3), IfPmuserenr(1, true), sp(S::PmovsClr)),
    r("PMSWINC_EL0",      enc(3,3,9,12,4), IfPmuserenr(1, true), sp(S::Pmswinc)),
    r("PMSELR_EL0",       enc(3,3,9,12,5), IfPmuserenr(1, true), stm(0, 0x1f)),
    r("PMCEID0_EL0",      enc(3,3,9,12,6), IfPmuserenr(1, false), Kind::Const),
    r("PMCEID1_EL0",      enc(3,3,9,12,7), IfPmuserenr(1, false), Kind::Const),
    r("PMCCNTR_EL0",      enc(3,3,9,13,0), IfPmuserenr(0b101, true), sp(S::Pmccntr)),
    r("PMUSERENR_EL0",    enc(3,3,9,14,0), Ro, stm(0, 0xf)),
    r("PMINTENSET_EL1",   enc(3,0,9,14,1), No, sp(S::PmintenSet)),
    r("PMINTENCLR_EL1",   enc(3,0,9,14,2), No, sp(S::PmintenClr)),
    r("PMOVSSET_EL0",     enc(3,3,9,14,3), IfPmuserenr(1, true), sp(S::PmovsSet)),
    r("PMCCFILTR_EL0",    enc(3,3,14,15,7), IfPmuserenr(1, true), stm(0, 0xfc00_0000)),
    // Debug (D2, D19.3): OS lock and MDSCR. OSLSR_EL1 resets with OSLK=1 (locked) and OSLM=0b10
    // (OS lock implemented), as KVM's reset_val 0x8 | OSLK (sys_regs.c, since 6.2 d42e26716d03).
    r("MDSCR_EL1",        enc(2,0,0,2,2), No, st(0)),
    r("MDCCINT_EL1",      enc(2,0,0,2,0), No, st(0)),
    r("OSLAR_EL1",        enc(2,0,1,0,4), No, sp(S::Oslar)),
    r("OSLSR_EL1",        enc(2,0,1,1,4), No, sp(S::Oslsr)),
    r("OSDLR_EL1",        enc(2,0,1,3,4), No, stm(0, 1)),
    // RAS: DISR_EL1 (FEAT_RAS; KVM saves it, sys_regs.c).
    r("DISR_EL1",         enc(3,0,12,1,1), No, st(0)),
    // AArch32 state KVM keeps for 32-bit EL0/EL1 (in every KVM_GET_REG_LIST on these hosts).
    r("DBGVCR32_EL2",     enc(2,4,0,7,0), No, Kind::KvmOnly),
    r("DACR32_EL2",       enc(3,4,3,0,0), No, Kind::KvmOnly),
    r("IFSR32_EL2",       enc(3,4,5,0,1), No, Kind::KvmOnly),
    r("FPEXC32_EL2",      enc(3,4,5,3,0), No, Kind::KvmOnly),
];

/// Families of registers indexed by `n` (rule, not 16 or 31 rows each): every encoding with
/// `enc & !vary == base` is a plain read/write register with its own storage. Rows above take
/// precedence (PMCCFILTR_EL0 sits where PMEVTYPER31_EL0 would).
pub struct Family {
    pub name: &'static str,
    pub base: u16,
    pub vary: u16,
    pub el0: El0,
}

#[rustfmt::skip]
pub const FAMILIES: &[Family] = &[
    // D19.3 debug registers, n = CRm (KVM exposes 16 of each whatever the host has).
    Family { name: "DBGBVR<n>_EL1", base: enc(2,0,0,0,4), vary: 0xf << 3, el0: No },
    Family { name: "DBGBCR<n>_EL1", base: enc(2,0,0,0,5), vary: 0xf << 3, el0: No },
    Family { name: "DBGWVR<n>_EL1", base: enc(2,0,0,0,6), vary: 0xf << 3, el0: No },
    Family { name: "DBGWCR<n>_EL1", base: enc(2,0,0,0,7), vary: 0xf << 3, el0: No },
    // D19.x PMU event counters and types: CRm = 0b10:n[4:3] / 0b11:n[4:3], op2 = n[2:0].
    Family { name: "PMEVCNTR<n>_EL0", base: enc(3,3,14,8,0), vary: 0x1f, el0: IfPmuserenr(1, true) },
    Family { name: "PMEVTYPER<n>_EL0", base: enc(3,3,14,12,0), vary: 0x1f, el0: IfPmuserenr(1, true) },
];

/// The family an encoding belongs to, if any (n = 31 of PMEVCNTR is reserved).
pub fn family(e: u16) -> Option<&'static Family> {
    if e == enc(3, 3, 14, 11, 7) {
        return None;
    }
    FAMILIES.iter().find(|f| e & !f.vary == f.base)
}

pub const fn str_eq(a: &str, b: &str) -> bool {
    let a = a.as_bytes();
    let b = b.as_bytes();
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Row index of a register by name, at compile time (a misspelt name is a compile error).
pub const fn row(name: &str) -> usize {
    let mut i = 0;
    while i < ROWS.len() {
        if str_eq(ROWS[i].name, name) {
            return i;
        }
        i += 1;
    }
    panic!("no such system register row");
}

/// Row index by encoding.
pub fn find(e: u16) -> Option<usize> {
    ROWS.iter().position(|r| r.enc == e)
}

/// The identification space: op0=3 op1=0 CRn=0, CRm 0..7 (ARM ARM D19.x).
pub fn id_index(e: u16) -> Option<usize> {
    if e >> 7 == enc(3, 0, 0, 0, 0) >> 7 {
        let i = (e & 0x3f) as usize;
        // CRm=0: only MIDR (0), MPIDR (5), REVIDR (6) are allocated.
        if i < 8 && !matches!(i, 0 | 5 | 6) {
            return None;
        }
        return Some(i);
    }
    None
}

/// GIC CPU interface system registers (GIC architecture spec IHI0069, 12.1 "CPU interface
/// registers"): op0=3 op1=0 CRn=12 CRm=8..12, op1=0 CRn=4 CRm=6 op2=0 (ICC_PMR_EL1).
pub fn is_icc(e: u16) -> bool {
    let top = e >> 7;
    let crm = (e >> 3) & 0xf;
    (top == enc(3, 0, 12, 0, 0) >> 7 && (8..=12).contains(&crm)) || e == enc(3, 0, 4, 6, 0)
}

pub const SCTLR: usize = row("SCTLR_EL1");
pub const CPACR: usize = row("CPACR_EL1");
pub const SPSR: usize = row("SPSR_EL1");
pub const ELR: usize = row("ELR_EL1");
pub const ESR: usize = row("ESR_EL1");
pub const FAR: usize = row("FAR_EL1");
pub const VBAR: usize = row("VBAR_EL1");
pub const CSSELR: usize = row("CSSELR_EL1");
pub const CNTKCTL: usize = row("CNTKCTL_EL1");
pub const PMUSERENR: usize = row("PMUSERENR_EL0");
pub const PMCCFILTR: usize = row("PMCCFILTR_EL0");
pub const PAR: usize = row("PAR_EL1");
pub const TCR: usize = row("TCR_EL1");
pub const TTBR0: usize = row("TTBR0_EL1");
pub const TTBR1: usize = row("TTBR1_EL1");
pub const MAIR: usize = row("MAIR_EL1");
pub const CTR: usize = row("CTR_EL0");
pub const CLIDR: usize = row("CLIDR_EL1");
pub const AIDR: usize = row("AIDR_EL1");
pub const PMCEID0: usize = row("PMCEID0_EL0");
pub const PMCEID1: usize = row("PMCEID1_EL0");
