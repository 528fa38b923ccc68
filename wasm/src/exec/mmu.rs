//! Stage-1 translation of the EL1&0 regime (VMSAv8-64, ARM ARM D8 "The AArch64 Virtual Memory
//! System Architecture"; pseudocode AArch64.S1Translate / AArch64.S1Walk): TTBR0/TTBR1 selected
//! by VA bit 55, 4K/16K/64K granules from TCR_EL1.TG0/TG1, T0SZ/T1SZ, TBI, EPD, IPS, hierarchical
//! table permissions, AP/UXN/PXN/WXN, PAN, the access flag and dirty-bit management (TCR_EL1.HA
//! and HD), and the memory attributes MAIR_EL1 gives (Device memory faults unaligned accesses).
//!
//! A small direct-mapped TLB caches 4 KiB pieces of successful walks. It is flushed whole by any
//! TLBI (all vCPUs, through a generation number in `Memory`) and, locally, by writes to SCTLR,
//! TCR, TTBR0/1 and MAIR: that is stricter than the architecture (which lets stale entries live
//! until a TLBI) and gives the same results for any guest that maintains its TLB correctly.

use super::{Ctx, Exit};
use crate::cpu::exception::{Exception, Fsc};
use crate::cpu::Cpu;
use crate::sysreg::table;

/// What an access wants.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Read,
    Write,
    Fetch,
}

/// An access: its kind, and whether EL0 permissions apply at EL1 (LDTR/STTR, AT S1E0*).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Acc {
    pub kind: Kind,
    pub unpriv: bool,
    /// Cache maintenance by VA (DC CIVAC...): ESR.CM, and a permission fault reports as a read.
    pub cm: bool,
}

impl Acc {
    pub const READ: Acc = Acc { kind: Kind::Read, unpriv: false, cm: false };
    pub const WRITE: Acc = Acc { kind: Kind::Write, unpriv: false, cm: false };
    pub const FETCH: Acc = Acc { kind: Kind::Fetch, unpriv: false, cm: false };
    pub fn data(write: bool, unpriv: bool) -> Acc {
        Acc { kind: if write { Kind::Write } else { Kind::Read }, unpriv, cm: false }
    }
}

/// A translated address and its MAIR attribute byte (0x00 = Device-nGnRnE).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pa {
    pub pa: u64,
    pub attr: u8,
    /// Shareability as PAR_EL1 reports it.
    pub sh: u8,
}

impl Pa {
    /// Device memory: every access must be naturally aligned.
    #[inline(always)]
    pub fn device(&self) -> bool {
        self.attr & 0xf0 == 0
    }
}

/// A translation fault (for AT, which reports instead of raising).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fault {
    pub fsc: u32,
    /// The fault happened on a translation table walk (PAR_EL1.PTW for external aborts).
    pub ptw: bool,
}

// Permission bits of a TLB entry.
const R1: u8 = 1;
const W1: u8 = 2;
const X1: u8 = 4;
const R0: u8 = 8;
const W0: u8 = 16;
const X0: u8 = 32;
/// Writable after a hardware dirty-bit update (DBM=1, AP[2]=1, TCR.HD=1): a write walks again.
const DBM: u8 = 64;

#[derive(Clone, Copy, Default)]
struct Entry {
    /// VA of the 4 KiB piece | 1 (valid).
    tag: u64,
    pa: u64,
    perm: u8,
    attr: u8,
    sh: u8,
    level: u8,
}

const TLB_SIZE: usize = 512;

/// TLB slot of a VA: page number folded with the level-2 index, so code and data a multiple of
/// 2 MiB apart do not evict each other.
#[inline(always)]
fn index(va: u64) -> usize {
    (((va >> 12) ^ (va >> 21)) as usize) & (TLB_SIZE - 1)
}

/// The per-vCPU TLB.
pub struct Tlb {
    e: Vec<Entry>,
    /// `Memory::tlb_gen` when this TLB was last flushed.
    gen: u64,
}

impl Default for Tlb {
    fn default() -> Self {
        Tlb { e: vec![Entry::default(); TLB_SIZE], gen: 0 }
    }
}

impl Tlb {
    pub fn flush(&mut self) {
        for e in self.e.iter_mut() {
            e.tag = 0;
        }
    }
}

// TCR_EL1 fields (ARM ARM D19.2 TCR_EL1).
const TCR_EPD0: u64 = 1 << 7;
const TCR_EPD1: u64 = 1 << 23;
const TCR_TBI0: u64 = 1 << 37;
const TCR_TBI1: u64 = 1 << 38;
const TCR_HA: u64 = 1 << 39;
const TCR_HD: u64 = 1 << 40;
const SCTLR_WXN: u64 = 1 << 19;

/// The granule (log2 of its size) that TCR_EL1.TG0 (`ttbr1` false) or TG1 selects. Reserved
/// encodings behave as 4 KiB, as QEMU does (the ARM ARM makes it IMPLEMENTATION DEFINED).
fn granule(tcr: u64, ttbr1: bool) -> u32 {
    if ttbr1 {
        match (tcr >> 30) & 3 {
            1 => 14,
            3 => 16,
            _ => 12,
        }
    } else {
        match (tcr >> 14) & 3 {
            1 => 16,
            2 => 14,
            _ => 12,
        }
    }
}

/// TCR_EL1.IPS in bits, capped at the implemented PA size.
fn pa_bits(tcr: u64, pa_limit: u64) -> u32 {
    let ips = match (tcr >> 32) & 7 {
        0 => 32,
        1 => 36,
        2 => 40,
        3 => 42,
        4 => 44,
        5 => 48,
        _ => 52,
    };
    ips.min(63 - pa_limit.leading_zeros())
}

/// The fault-status code of `base` (translation 0x04, access flag 0x08, permission 0x0C, address
/// size 0x00, external abort on walk 0x14) at `level`.
const fn fsc(base: u32, level: u32) -> u32 {
    base | level
}
const FSC_TRANS: u32 = 0x04;
const FSC_AF: u32 = 0x08;
const FSC_PERM: u32 = 0x0c;
const FSC_WALK_EXT: u32 = 0x14;

/// The exception a fault raises.
pub fn abort(cpu: &Cpu, va: u64, acc: Acc, f: Fault) -> Exit {
    Exit::Exc(match acc.kind {
        Kind::Fetch => Exception::insn_abort(cpu.el, va, f.fsc),
        _ => {
            let mut e = Exception::data_abort(cpu.el, va, f.fsc, acc.kind == Kind::Write && !acc.cm);
            if acc.cm {
                e.iss |= 1 << 8; // CM: WnR then reads 1 for cache maintenance
                e.iss |= 1 << 6;
            }
            e
        }
    })
}

/// Translates `va` for `acc`: MMU off (flat, Device for data) or the stage-1 walk.
#[inline(always)]
pub fn translate(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, acc: Acc) -> Result<Pa, Exit> {
    if !ctx.mmu_on {
        if va >= ctx.pa_limit {
            return Err(abort(cpu, va, acc, Fault { fsc: Fsc::ADDR_SIZE_L0, ptw: false }));
        }
        // ARM ARM D8 "The effects of disabling address translation": data accesses are
        // Device-nGnRnE; instruction fetches Normal (cacheability per SCTLR_EL1.I).
        let attr = if acc.kind == Kind::Fetch { 0x44 } else { 0 };
        return Ok(Pa { pa: va, attr, sh: 2 });
    }
    lookup(cpu, ctx, va, acc).map_err(|f| abort(cpu, va, acc, f))
}

/// The EL whose permissions apply: unprivileged accesses at EL1 use EL0's unless PSTATE.UAO.
#[inline(always)]
fn eff_el0(cpu: &Cpu, acc: Acc) -> bool {
    cpu.el == 0 || (acc.unpriv && !cpu.uao)
}

/// Stage-1 translation with the TLB in front.
pub fn lookup(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, acc: Acc) -> Result<Pa, Fault> {
    if cpu.tlb.gen != ctx.mem.tlb_gen {
        cpu.tlb.flush();
        cpu.tlb.gen = ctx.mem.tlb_gen;
    }
    let tcr = cpu.sys[table::TCR];
    let nva = strip_tag(va, tcr);
    let idx = index(nva);
    let e = cpu.tlb.e[idx];
    if e.tag == (nva & !0xfff) | 1 {
        if let Ok(()) = check(cpu, acc, e.perm, e.level as u32) {
            return Ok(Pa { pa: e.pa | (nva & 0xfff), attr: e.attr, sh: e.sh });
        }
        // A permission miss may be a clean-but-dirtiable page: walk again, which updates it.
    }
    let w = walk(cpu, ctx, nva, acc)?;
    check(cpu, acc, w.perm, w.level)?;
    cpu.tlb.e[idx] = Entry { tag: (nva & !0xfff) | 1, pa: w.pa & !0xfff, perm: w.perm, attr: w.attr, sh: w.sh, level: w.level as u8 };
    Ok(Pa { pa: w.pa, attr: w.attr, sh: w.sh })
}

/// Top-byte-ignore: with TBI for the half `va` is in, bits 63:56 are replaced by copies of bit
/// 55 so the address reaches the walk as an untagged one.
#[inline(always)]
fn strip_tag(va: u64, tcr: u64) -> u64 {
    let hi = va >> 55 & 1 == 1;
    let tbi = if hi { tcr & TCR_TBI1 != 0 } else { tcr & TCR_TBI0 != 0 };
    if !tbi {
        return va;
    }
    if hi {
        va | 0xff00_0000_0000_0000
    } else {
        va & 0x00ff_ffff_ffff_ffff
    }
}

/// Permission check of `perm` for `acc` (ARM ARM D8.4 "Memory access control"), then PAN.
#[inline(always)]
fn check(cpu: &Cpu, acc: Acc, perm: u8, level: u32) -> Result<(), Fault> {
    let el0 = eff_el0(cpu, acc) && acc.kind != Kind::Fetch || cpu.el == 0;
    let need = match (acc.kind, el0) {
        (Kind::Read, false) => R1,
        (Kind::Read, true) => R0,
        (Kind::Write, false) => W1,
        (Kind::Write, true) => W0,
        (Kind::Fetch, false) => X1,
        (Kind::Fetch, true) => X0,
    };
    // Cache maintenance needs only read permission (and faults report as reads).
    let need = if acc.cm { if el0 { R0 } else { R1 } } else { need };
    let mut ok = perm & need != 0;
    // PAN: a privileged data access to EL0-accessible memory faults (ARM ARM D8.4.2).
    if ok && cpu.pan && !el0 && acc.kind != Kind::Fetch && !acc.unpriv && perm & R0 != 0 && !acc.cm {
        ok = false;
    }
    if ok {
        Ok(())
    } else {
        Err(Fault { fsc: fsc(FSC_PERM, level), ptw: false })
    }
}

struct Walked {
    pa: u64,
    perm: u8,
    attr: u8,
    sh: u8,
    level: u32,
}

/// AArch64.S1Walk for the EL1&0 regime.
fn walk(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, acc: Acc) -> Result<Walked, Fault> {
    let tcr = cpu.sys[table::TCR];
    let ttbr1 = va >> 55 & 1 == 1;
    let (tsz, epd, ttbr) = if ttbr1 {
        ((tcr >> 16) & 0x3f, tcr & TCR_EPD1 != 0, cpu.sys[table::TTBR1])
    } else {
        (tcr & 0x3f, tcr & TCR_EPD0 != 0, cpu.sys[table::TTBR0])
    };
    // TxSZ outside 16..=39 is treated as the nearest limit (as QEMU does without FEAT_LVA/TTST).
    let tsz = tsz.clamp(16, 39) as u32;
    let inputsize = 64 - tsz;
    let fault0 = Fault { fsc: fsc(FSC_TRANS, 0), ptw: false };
    // The bits above the input size must all equal bit 55's half (0 for TTBR0, 1 for TTBR1).
    let top = va >> inputsize;
    let want = if ttbr1 { u64::MAX >> inputsize } else { 0 };
    if top != want || epd {
        return Err(fault0);
    }
    let g = granule(tcr, ttbr1);
    let stride = g - 3;
    // Levels 0..3; the walk starts where the remaining input bits fit.
    let start = 4 - (inputsize - g + stride - 1) / stride;
    let mut level = start;
    let oa_bits = pa_bits(tcr, ctx.pa_limit);
    let oa_mask = ((1u64 << oa_bits.min(48)) - 1) & !((1u64 << g) - 1);
    // Table base: bits [47:1] of TTBR (BADDR), aligned to the first table's size.
    let first_bits = inputsize - (g + (3 - level) * stride);
    let mut table_base = ttbr & 0x0000_ffff_ffff_fffe & !((1u64 << (first_bits + 3).max(6)) - 1);
    if table_base >> oa_bits != 0 {
        return Err(Fault { fsc: fsc(0x00, level), ptw: false });
    }
    // Hierarchical permission limits (APTable, UXNTable, PXNTable).
    let (mut ap_table, mut uxn_table, mut pxn_table) = (0u64, false, false);
    loop {
        let shift = g + (3 - level) * stride;
        let bits = if level == start { inputsize - shift } else { stride };
        let index = (va >> shift) & ((1u64 << bits) - 1);
        let dpa = table_base + index * 8;
        let desc = match ctx.mem.read(dpa, 3) {
            Some(d) => d,
            None => return Err(Fault { fsc: fsc(FSC_WALK_EXT, level), ptw: true }),
        };
        let lf = Fault { fsc: fsc(FSC_TRANS, level), ptw: false };
        if desc & 1 == 0 {
            return Err(lf);
        }
        let is_table = desc & 2 != 0 && level < 3;
        if is_table {
            ap_table |= (desc >> 61) & 3;
            uxn_table |= desc >> 60 & 1 == 1;
            pxn_table |= desc >> 59 & 1 == 1;
            let next = desc & oa_mask & 0x0000_ffff_ffff_f000 & !((1u64 << g) - 1);
            if desc & 0x0000_ffff_ffff_f000 & !oa_mask & !((1u64 << g) - 1) != 0 {
                return Err(Fault { fsc: fsc(0x00, level), ptw: false });
            }
            table_base = next;
            level += 1;
            continue;
        }
        // A block at level 3 (bits 01) is reserved: translation fault. Blocks exist at level 1
        // (4K granule) and 2; a level-0 or a 16K/64K level-1 block is a translation fault too.
        if level == 3 && desc & 2 == 0 {
            return Err(lf);
        }
        if level < 3 && (level == 0 || (g != 12 && level == 1)) {
            return Err(lf);
        }
        let out_mask = 0x0000_ffff_ffff_ffffu64 & !((1u64 << shift) - 1);
        let oa = desc & out_mask;
        if oa >> oa_bits != 0 {
            return Err(Fault { fsc: fsc(0x00, level), ptw: false });
        }
        let mut desc = desc;
        // Access flag (bit 10): hardware sets it with TCR.HA, else an Access flag fault.
        if desc & (1 << 10) == 0 {
            if tcr & TCR_HA == 0 {
                return Err(Fault { fsc: fsc(FSC_AF, level), ptw: false });
            }
            desc |= 1 << 10;
            ctx.mem.write(dpa, 3, desc);
        }
        let dbm = desc >> 51 & 1 == 1 && tcr & TCR_HA != 0 && tcr & TCR_HD != 0;
        let mut ap = (desc >> 6) & 3;
        // Dirty state: a permitted write to a DBM page clears AP[2] in the descriptor.
        if dbm && ap & 2 != 0 && acc.kind == Kind::Write && !acc.cm {
            let el0 = eff_el0(cpu, acc);
            // Only when the write would otherwise be allowed by the table limits and AP[1].
            if ap_table & 2 == 0 && (!el0 || (ap & 1 == 1 && ap_table & 1 == 0)) {
                desc &= !(1 << 7);
                ctx.mem.write(dpa, 3, desc);
                ap &= !2;
            }
        }
        // APTable: bit 0 (61) removes EL0 access, bit 1 (62) removes write access.
        let el0_access = ap & 1 == 1 && ap_table & 1 == 0;
        let writable = ap & 2 == 0 && ap_table & 2 == 0;
        let mut perm = R1;
        if writable {
            perm |= W1;
        }
        if el0_access {
            perm |= R0;
            if writable {
                perm |= W0;
            }
        }
        if dbm && !writable && ap_table & 2 == 0 {
            perm |= DBM;
        }
        let wxn = cpu.sys[table::SCTLR] & SCTLR_WXN != 0;
        let pxn = desc >> 53 & 1 == 1 || pxn_table;
        let uxn = desc >> 54 & 1 == 1 || uxn_table;
        // EL1 never executes memory EL0 can write (ARM ARM D8.4.1 "Instruction access").
        if !pxn && !(el0_access && writable) && !(wxn && writable) {
            perm |= X1;
        }
        if !uxn && el0_access && !(wxn && perm & W0 != 0) {
            perm |= X0;
        }
        let attr_idx = ((desc >> 2) & 7) as u32;
        let attr = (cpu.sys[table::MAIR] >> (attr_idx * 8)) as u8;
        let sh = if attr & 0xf0 == 0 || attr == 0x44 { 2 } else { ((desc >> 8) & 3) as u8 };
        return Ok(Walked { pa: oa | (va & !out_mask & 0x0000_ffff_ffff_ffff), perm, attr, sh, level });
    }
}

/// AT S1E1R/W, S1E0R/W: PAR_EL1 for `va` (ARM ARM D19.2 PAR_EL1; bit 11 is RES1 in both forms).
pub fn at(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, write: bool, el0: bool) -> u64 {
    let acc = Acc::data(write, el0);
    let r = if ctx.mmu_on {
        // AT S1E1R/W do not apply PAN (only the FEAT_PAN2 S1E1RP/WP forms do).
        let pan = std::mem::replace(&mut cpu.pan, false);
        let r = lookup(cpu, ctx, va, acc);
        cpu.pan = pan;
        r
    } else if va >= ctx.pa_limit {
        Err(Fault { fsc: Fsc::ADDR_SIZE_L0, ptw: false })
    } else {
        Ok(Pa { pa: va, attr: 0, sh: 2 })
    };
    match r {
        Ok(p) => (p.attr as u64) << 56 | (p.pa & 0x000f_ffff_ffff_f000) | 1 << 11 | (p.sh as u64) << 7,
        Err(f) => 1 << 11 | (f.ptw as u64) << 8 | (f.fsc as u64) << 1 | 1,
    }
}
