//! The A64 decode table (ARMv8.0-A integer, branch, load/store and system instructions).
//!
//! Each row is `(name, bit pattern, Op, format)` in the style of QEMU's decodetree
//! (`target/arm/tcg/a64.decode`; idea only, no code): the pattern is drawn at full instruction
//! width, bit 31 first, `0`/`1` fixed and `x` a field bit; a row matches when
//! `insn & mask == value`. Rows are tried in order, so a narrower row placed before a wider one
//! acts as decodetree's overlapping `{ }` group (the hint catch-all, for instance). The format
//! extracts and transforms fields (decodetree `@format` plus `!function=`), and may reject
//! reserved field values, which makes the encoding UNDEFINED. Encodings that match no row are
//! UNDEFINED too (ARM ARM C4.1 "A64 instruction set encoding"; unallocated = UNDEFINED).
//!
//! Section numbers refer to DDI0487 (ARM ARM) chapter C4 "A64 Instruction Set Encoding".

use super::insn::{Atomic, Excl, Insn, Mem, Op, Wb};
use crate::bits::{decode_bit_masks, sext};

/// One decode row.
pub struct Pattern {
    pub name: &'static str,
    pub mask: u32,
    pub value: u32,
    pub op: Op,
    pub fmt: Fmt,
}

/// Field layouts shared by rows (decodetree `@format`s).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fmt {
    /// No operands.
    None,
    /// ADR/ADRP: immhi:immlo (ADRP scaled by 4 KiB).
    PcRel,
    /// sf op S 100010 sh imm12 Rn Rd.
    AddSubImm,
    /// sf opc 100100 N immr imms Rn Rd.
    LogicImm,
    /// sf opc 100101 hw imm16 Rd.
    MoveWide,
    /// sf opc 100110 N immr imms Rn Rd.
    Bitfield,
    /// sf 00 100111 N 0 Rm imms Rn Rd.
    Extract,
    /// sf opc 01010 shift N Rm imm6 Rn Rd (and add/sub shifted: shift 11 reserved).
    LogicShift,
    AddSubShift,
    /// sf op S 01011 00 1 Rm option imm3 Rn Rd.
    AddSubExt,
    /// sf ... Rm ... Rn Rd (ADC/SBC, data-processing 2-source and 1-source).
    Rrr,
    /// sf op 1 11010010 Rm|imm5 cond i 0 Rn 0 nzcv.
    CondCmpReg,
    CondCmpImm,
    /// sf op S 11010100 Rm cond op2 Rn Rd.
    CondSel,
    /// sf 00 11011 op31 Rm o0 Ra Rn Rd.
    Dp3,
    /// imm26 branch.
    Branch26,
    /// 0101010 0 imm19 0 cond.
    CondBranch,
    /// sf 011010 op imm19 Rt.
    CmpBranch,
    /// b5 011011 op b40 imm14 Rt.
    TestBranch,
    /// 1101011 opc 11111 000000 Rn 00000.
    BranchReg,
    /// 11010100 opc imm16 op2 LL.
    ExcGen,
    /// MSR (immediate): CRm is the operand.
    PstateImm,
    /// SYS/MRS/MSR: op0 op1 CRn CRm op2 Rt.
    SysReg,
    /// size 111 0 00 opc 0 imm9 mode Rn Rt (unscaled, post-, pre-index, unprivileged).
    LdStImm9,
    /// size 111 0 01 opc imm12 Rn Rt (unsigned offset, scaled).
    LdStUimm,
    /// size 111 0 00 opc 1 Rm option S 10 Rn Rt.
    LdStReg,
    /// opc 011 0 00 imm19 Rt.
    LdLit,
    /// opc 101 0 mode L imm7 Rt2 Rn Rt.
    LdStPair,
    /// size 001000 o2 L o1 Rs o0 Rt2 Rn Rt.
    LdStExcl,
    /// size 111 0 00 A R 1 Rs o3 opc 00 Rn Rt (atomic memory operations, FEAT_LSE).
    Atomic,
    /// size 001000 o2 L 1 Rs o0 11111 Rn Rt (CAS, CASP; FEAT_LSE).
    Cas,
    /// sf 0 0 11010110 Rm 010 C sz Rn Rd (CRC32, FEAT_CRC32).
    Crc,
}

/// Parses a pattern string into `(mask, value)` at compile time; panics (a compile error) unless
/// it has exactly 32 bits.
pub const fn bits(p: &str) -> (u32, u32) {
    let b = p.as_bytes();
    let mut mask = 0u32;
    let mut value = 0u32;
    let mut n = 0;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c == b' ' {
            continue;
        }
        mask <<= 1;
        value <<= 1;
        match c {
            b'0' => mask |= 1,
            b'1' => {
                mask |= 1;
                value |= 1;
            }
            b'x' => {}
            _ => panic!("pattern characters are 0, 1, x and space"),
        }
        n += 1;
    }
    if n != 32 {
        panic!("a pattern has 32 bits");
    }
    (mask, value)
}

const fn row(name: &'static str, p: &str, op: Op, fmt: Fmt) -> Pattern {
    let (mask, value) = bits(p);
    Pattern { name, mask, value, op, fmt }
}

use Fmt as F;
use Op as O;

/// The table. Section references: C4.1.x of DDI0487 (the encoding index by op0).
#[rustfmt::skip]
pub const PATTERNS: &[Pattern] = &[
    // C4.1.86 Data Processing -- Immediate
    row("ADR",     "0xx 10000 xxxxxxxxxxxxxxxxxxx xxxxx",            O::ADR,  F::PcRel),
    row("ADRP",    "1xx 10000 xxxxxxxxxxxxxxxxxxx xxxxx",            O::ADRP, F::PcRel),
    row("ADD_i",   "x 0 0 100010 x xxxxxxxxxxxx xxxxx xxxxx",        O::ADD_i,  F::AddSubImm),
    row("ADDS_i",  "x 0 1 100010 x xxxxxxxxxxxx xxxxx xxxxx",        O::ADDS_i, F::AddSubImm),
    row("SUB_i",   "x 1 0 100010 x xxxxxxxxxxxx xxxxx xxxxx",        O::SUB_i,  F::AddSubImm),
    row("SUBS_i",  "x 1 1 100010 x xxxxxxxxxxxx xxxxx xxxxx",        O::SUBS_i, F::AddSubImm),
    row("AND_i",   "x 00 100100 x xxxxxx xxxxxx xxxxx xxxxx",        O::AND_i,  F::LogicImm),
    row("ORR_i",   "x 01 100100 x xxxxxx xxxxxx xxxxx xxxxx",        O::ORR_i,  F::LogicImm),
    row("EOR_i",   "x 10 100100 x xxxxxx xxxxxx xxxxx xxxxx",        O::EOR_i,  F::LogicImm),
    row("ANDS_i",  "x 11 100100 x xxxxxx xxxxxx xxxxx xxxxx",        O::ANDS_i, F::LogicImm),
    row("MOVN",    "x 00 100101 xx xxxxxxxxxxxxxxxx xxxxx",          O::MOVN, F::MoveWide),
    row("MOVZ",    "x 10 100101 xx xxxxxxxxxxxxxxxx xxxxx",          O::MOVZ, F::MoveWide),
    row("MOVK",    "x 11 100101 xx xxxxxxxxxxxxxxxx xxxxx",          O::MOVK, F::MoveWide),
    row("SBFM",    "x 00 100110 x xxxxxx xxxxxx xxxxx xxxxx",        O::SBFM, F::Bitfield),
    row("BFM",     "x 01 100110 x xxxxxx xxxxxx xxxxx xxxxx",        O::BFM,  F::Bitfield),
    row("UBFM",    "x 10 100110 x xxxxxx xxxxxx xxxxx xxxxx",        O::UBFM, F::Bitfield),
    row("EXTR",    "x 00 100111 x 0 xxxxx xxxxxx xxxxx xxxxx",       O::EXTR, F::Extract),

    // C4.1.87 Branches, Exception Generating and System instructions
    row("B",       "0 00101 xxxxxxxxxxxxxxxxxxxxxxxxxx",             O::B,  F::Branch26),
    row("BL",      "1 00101 xxxxxxxxxxxxxxxxxxxxxxxxxx",             O::BL, F::Branch26),
    row("CBZ",     "x 011010 0 xxxxxxxxxxxxxxxxxxx xxxxx",           O::CBZ,  F::CmpBranch),
    row("CBNZ",    "x 011010 1 xxxxxxxxxxxxxxxxxxx xxxxx",           O::CBNZ, F::CmpBranch),
    row("TBZ",     "x 011011 0 xxxxx xxxxxxxxxxxxxx xxxxx",          O::TBZ,  F::TestBranch),
    row("TBNZ",    "x 011011 1 xxxxx xxxxxxxxxxxxxx xxxxx",          O::TBNZ, F::TestBranch),
    row("B_cond",  "0101010 0 xxxxxxxxxxxxxxxxxxx 0 xxxx",           O::B_cond, F::CondBranch),
    row("SVC",     "11010100 000 xxxxxxxxxxxxxxxx 000 01",           O::SVC, F::ExcGen),
    row("HVC",     "11010100 000 xxxxxxxxxxxxxxxx 000 10",           O::HVC, F::ExcGen),
    row("SMC",     "11010100 000 xxxxxxxxxxxxxxxx 000 11",           O::SMC, F::ExcGen),
    row("BRK",     "11010100 001 xxxxxxxxxxxxxxxx 000 00",           O::BRK, F::ExcGen),
    row("HLT",     "11010100 010 xxxxxxxxxxxxxxxx 000 00",           O::HLT, F::ExcGen),
    // Hints (C5.6 HINT): CRm:op2 selects; unallocated hints execute as NOP, hence the catch-all.
    row("NOP",     "1101010100 0 00 011 0010 0000 000 11111",        O::NOP,   F::None),
    row("YIELD",   "1101010100 0 00 011 0010 0000 001 11111",        O::YIELD, F::None),
    row("WFE",     "1101010100 0 00 011 0010 0000 010 11111",        O::WFE,   F::None),
    row("WFI",     "1101010100 0 00 011 0010 0000 011 11111",        O::WFI,   F::None),
    row("SEV",     "1101010100 0 00 011 0010 0000 100 11111",        O::SEV,   F::None),
    row("SEVL",    "1101010100 0 00 011 0010 0000 101 11111",        O::SEVL,  F::None),
    row("HINT",    "1101010100 0 00 011 0010 xxxx xxx 11111",        O::NOP,   F::None),
    // Barriers: CRm is the domain/type option, ignored by a single-copy-atomic interpreter.
    row("CLREX",   "1101010100 0 00 011 0011 xxxx 010 11111",        O::CLREX, F::None),
    row("DSB",     "1101010100 0 00 011 0011 xxxx 100 11111",        O::DSB,   F::None),
    row("DMB",     "1101010100 0 00 011 0011 xxxx 101 11111",        O::DMB,   F::None),
    row("ISB",     "1101010100 0 00 011 0011 xxxx 110 11111",        O::ISB,   F::None),
    // PSTATE fields (C5.2.x MSR (immediate)); ARMv8.0 has SPSel, DAIFSet, DAIFClr.
    row("MSR_i_SPSEL",   "1101010100 0 00 000 0100 xxxx 101 11111",  O::MSR_i_SPSEL,   F::PstateImm),
    // FEAT_PAN, FEAT_UAO, FEAT_DIT, FEAT_SSBS: UNDEFINED unless the ID registers advertise them.
    row("MSR_i_PAN",     "1101010100 0 00 000 0100 xxxx 100 11111",  O::MSR_i_PAN,     F::PstateImm),
    row("MSR_i_UAO",     "1101010100 0 00 000 0100 xxxx 011 11111",  O::MSR_i_UAO,     F::PstateImm),
    row("MSR_i_DIT",     "1101010100 0 00 011 0100 xxxx 010 11111",  O::MSR_i_DIT,     F::PstateImm),
    row("MSR_i_SSBS",    "1101010100 0 00 011 0100 xxxx 001 11111",  O::MSR_i_SSBS,    F::PstateImm),
    row("MSR_i_DAIFSET", "1101010100 0 00 011 0100 xxxx 110 11111",  O::MSR_i_DAIFSET, F::PstateImm),
    row("MSR_i_DAIFCLR", "1101010100 0 00 011 0100 xxxx 111 11111",  O::MSR_i_DAIFCLR, F::PstateImm),
    row("SYS",     "1101010100 0 01 xxx xxxx xxxx xxx xxxxx",        O::SYS,   F::SysReg),
    row("MSR_r",   "1101010100 0 1x xxx xxxx xxxx xxx xxxxx",        O::MSR_r, F::SysReg),
    row("MRS",     "1101010100 1 1x xxx xxxx xxxx xxx xxxxx",        O::MRS,   F::SysReg),
    row("BR",      "1101011 0000 11111 000000 xxxxx 00000",          O::BR,   F::BranchReg),
    row("BLR",     "1101011 0001 11111 000000 xxxxx 00000",          O::BLR,  F::BranchReg),
    row("RET",     "1101011 0010 11111 000000 xxxxx 00000",          O::RET,  F::BranchReg),
    row("ERET",    "1101011 0100 11111 000000 11111 00000",          O::ERET, F::None),

    // C4.1.88 Loads and Stores (general-purpose registers only: V=0; SIMD&FP is not implemented)
    // FEAT_LSE compare-and-swap: the o1 = 1, Rt2 = 11111 corner of the exclusives' space (CASP
    // only with size<1> = 0; size<1> = 1 there is LDXP/STXP).
    row("CAS",     "xx 001000 1 x 1 xxxxx x 11111 xxxxx xxxxx",      O::CAS,     F::Cas),
    row("CASP",    "0x 001000 0 x 1 xxxxx x 11111 xxxxx xxxxx",      O::CASP,    F::Cas),
    row("LDSTX",   "xx 001000 x x x xxxxx x xxxxx xxxxx xxxxx",      O::LDSTX,   F::LdStExcl),
    // C4.1.94 Atomic memory operations (FEAT_LSE) and LDAPR (FEAT_LRCPC); V = 0.
    row("ATOMIC",  "xx 111 0 00 x x 1 xxxxx x xxx 00 xxxxx xxxxx",   O::ATOMIC,  F::Atomic),
    row("LDR_lit", "xx 011 0 00 xxxxxxxxxxxxxxxxxxx xxxxx",          O::LDR_lit, F::LdLit),
    row("LDSTP",   "xx 101 0 0xx x xxxxxxx xxxxx xxxxx xxxxx",       O::LDSTP,   F::LdStPair),
    row("LDST_i9", "xx 111 0 00 xx 0 xxxxxxxxx xx xxxxx xxxxx",      O::LDST_i,  F::LdStImm9),
    row("LDST_r",  "xx 111 0 00 xx 1 xxxxx xxx x 10 xxxxx xxxxx",    O::LDST_r,  F::LdStReg),
    row("LDST_u",  "xx 111 0 01 xx xxxxxxxxxxxx xxxxx xxxxx",        O::LDST_i,  F::LdStUimm),

    // C4.1.89 Data Processing -- Register
    row("AND_r",   "x 00 01010 xx 0 xxxxx xxxxxx xxxxx xxxxx",       O::AND_r,  F::LogicShift),
    row("BIC_r",   "x 00 01010 xx 1 xxxxx xxxxxx xxxxx xxxxx",       O::BIC_r,  F::LogicShift),
    row("ORR_r",   "x 01 01010 xx 0 xxxxx xxxxxx xxxxx xxxxx",       O::ORR_r,  F::LogicShift),
    row("ORN_r",   "x 01 01010 xx 1 xxxxx xxxxxx xxxxx xxxxx",       O::ORN_r,  F::LogicShift),
    row("EOR_r",   "x 10 01010 xx 0 xxxxx xxxxxx xxxxx xxxxx",       O::EOR_r,  F::LogicShift),
    row("EON_r",   "x 10 01010 xx 1 xxxxx xxxxxx xxxxx xxxxx",       O::EON_r,  F::LogicShift),
    row("ANDS_r",  "x 11 01010 xx 0 xxxxx xxxxxx xxxxx xxxxx",       O::ANDS_r, F::LogicShift),
    row("BICS_r",  "x 11 01010 xx 1 xxxxx xxxxxx xxxxx xxxxx",       O::BICS_r, F::LogicShift),
    row("ADD_r",   "x 0 0 01011 xx 0 xxxxx xxxxxx xxxxx xxxxx",      O::ADD_r,  F::AddSubShift),
    row("ADDS_r",  "x 0 1 01011 xx 0 xxxxx xxxxxx xxxxx xxxxx",      O::ADDS_r, F::AddSubShift),
    row("SUB_r",   "x 1 0 01011 xx 0 xxxxx xxxxxx xxxxx xxxxx",      O::SUB_r,  F::AddSubShift),
    row("SUBS_r",  "x 1 1 01011 xx 0 xxxxx xxxxxx xxxxx xxxxx",      O::SUBS_r, F::AddSubShift),
    row("ADD_x",   "x 0 0 01011 00 1 xxxxx xxx xxx xxxxx xxxxx",     O::ADD_x,  F::AddSubExt),
    row("ADDS_x",  "x 0 1 01011 00 1 xxxxx xxx xxx xxxxx xxxxx",     O::ADDS_x, F::AddSubExt),
    row("SUB_x",   "x 1 0 01011 00 1 xxxxx xxx xxx xxxxx xxxxx",     O::SUB_x,  F::AddSubExt),
    row("SUBS_x",  "x 1 1 01011 00 1 xxxxx xxx xxx xxxxx xxxxx",     O::SUBS_x, F::AddSubExt),
    row("ADC",     "x 0 0 11010000 xxxxx 000000 xxxxx xxxxx",        O::ADC,  F::Rrr),
    row("ADCS",    "x 0 1 11010000 xxxxx 000000 xxxxx xxxxx",        O::ADCS, F::Rrr),
    row("SBC",     "x 1 0 11010000 xxxxx 000000 xxxxx xxxxx",        O::SBC,  F::Rrr),
    row("SBCS",    "x 1 1 11010000 xxxxx 000000 xxxxx xxxxx",        O::SBCS, F::Rrr),
    row("CCMN_r",  "x 0 1 11010010 xxxxx xxxx 0 0 xxxxx 0 xxxx",     O::CCMN_r, F::CondCmpReg),
    row("CCMP_r",  "x 1 1 11010010 xxxxx xxxx 0 0 xxxxx 0 xxxx",     O::CCMP_r, F::CondCmpReg),
    row("CCMN_i",  "x 0 1 11010010 xxxxx xxxx 1 0 xxxxx 0 xxxx",     O::CCMN_i, F::CondCmpImm),
    row("CCMP_i",  "x 1 1 11010010 xxxxx xxxx 1 0 xxxxx 0 xxxx",     O::CCMP_i, F::CondCmpImm),
    row("CSEL",    "x 0 0 11010100 xxxxx xxxx 00 xxxxx xxxxx",       O::CSEL,  F::CondSel),
    row("CSINC",   "x 0 0 11010100 xxxxx xxxx 01 xxxxx xxxxx",       O::CSINC, F::CondSel),
    row("CSINV",   "x 1 0 11010100 xxxxx xxxx 00 xxxxx xxxxx",       O::CSINV, F::CondSel),
    row("CSNEG",   "x 1 0 11010100 xxxxx xxxx 01 xxxxx xxxxx",       O::CSNEG, F::CondSel),
    row("MADD",    "x 00 11011 000 xxxxx 0 xxxxx xxxxx xxxxx",       O::MADD,   F::Dp3),
    row("MSUB",    "x 00 11011 000 xxxxx 1 xxxxx xxxxx xxxxx",       O::MSUB,   F::Dp3),
    row("SMADDL",  "1 00 11011 001 xxxxx 0 xxxxx xxxxx xxxxx",       O::SMADDL, F::Dp3),
    row("SMSUBL",  "1 00 11011 001 xxxxx 1 xxxxx xxxxx xxxxx",       O::SMSUBL, F::Dp3),
    row("SMULH",   "1 00 11011 010 xxxxx 0 xxxxx xxxxx xxxxx",       O::SMULH,  F::Dp3),
    row("UMADDL",  "1 00 11011 101 xxxxx 0 xxxxx xxxxx xxxxx",       O::UMADDL, F::Dp3),
    row("UMSUBL",  "1 00 11011 101 xxxxx 1 xxxxx xxxxx xxxxx",       O::UMSUBL, F::Dp3),
    row("UMULH",   "1 00 11011 110 xxxxx 0 xxxxx xxxxx xxxxx",       O::UMULH,  F::Dp3),
    row("UDIV",    "x 0 0 11010110 xxxxx 000010 xxxxx xxxxx",        O::UDIV, F::Rrr),
    row("SDIV",    "x 0 0 11010110 xxxxx 000011 xxxxx xxxxx",        O::SDIV, F::Rrr),
    row("LSLV",    "x 0 0 11010110 xxxxx 001000 xxxxx xxxxx",        O::LSLV, F::Rrr),
    row("LSRV",    "x 0 0 11010110 xxxxx 001001 xxxxx xxxxx",        O::LSRV, F::Rrr),
    row("ASRV",    "x 0 0 11010110 xxxxx 001010 xxxxx xxxxx",        O::ASRV, F::Rrr),
    row("RORV",    "x 0 0 11010110 xxxxx 001011 xxxxx xxxxx",        O::RORV, F::Rrr),
    row("RBIT",    "x 1 0 11010110 00000 000000 xxxxx xxxxx",        O::RBIT,  F::Rrr),
    row("REV16",   "x 1 0 11010110 00000 000001 xxxxx xxxxx",        O::REV16, F::Rrr),
    // opc 10 is REV on a W register and REV32 on an X register; opc 11 exists only for X.
    row("REV_w",   "0 1 0 11010110 00000 000010 xxxxx xxxxx",        O::REV,   F::Rrr),
    row("REV32",   "1 1 0 11010110 00000 000010 xxxxx xxxxx",        O::REV32, F::Rrr),
    row("REV_x",   "1 1 0 11010110 00000 000011 xxxxx xxxxx",        O::REV,   F::Rrr),
    row("CLZ",     "x 1 0 11010110 00000 000100 xxxxx xxxxx",        O::CLZ,   F::Rrr),
    row("CLS",     "x 1 0 11010110 00000 000101 xxxxx xxxxx",        O::CLS,   F::Rrr),
    // C4.1.89 data-processing (2 source): CRC32 (FEAT_CRC32).
    row("CRC32",   "x 0 0 11010110 xxxxx 010 x xx xxxxx xxxxx",      O::CRC32, F::Crc),
];

#[inline(always)]
fn f(w: u32, lsb: u32, len: u32) -> u32 {
    (w >> lsb) & ((1u32 << len) - 1)
}

/// Memory flags for `size`/`opc` of the load/store register classes (C4.1.88, "Load/store
/// register" opc table): `None` for reserved combinations, `Some(None)` for PRFM.
fn ldst_flags(size: u32, opc: u32) -> Option<Option<u8>> {
    let s = size as u8;
    match opc {
        0 => Some(Some(s)),
        1 => Some(Some(s | Mem::LOAD)),
        2 if size == 3 => Some(None), // PRFM
        2 => Some(Some(s | Mem::LOAD | Mem::SIGNED)),
        3 if size <= 1 => Some(Some(s | Mem::LOAD | Mem::SIGNED | Mem::W)),
        _ => None,
    }
}

/// Applies a row's format to `w`. `None` makes the encoding UNDEFINED.
pub fn extract(p: &Pattern, w: u32) -> Option<Insn> {
    let mut i = Insn::of(p.op);
    i.sf = w >> 31 == 1;
    i.rd = f(w, 0, 5) as u8;
    i.rn = f(w, 5, 5) as u8;
    i.rm = f(w, 16, 5) as u8;
    let datasize = if i.sf { 64 } else { 32 };
    match p.fmt {
        Fmt::None | Fmt::BranchReg => {}
        Fmt::PcRel => {
            let imm = (f(w, 5, 19) << 2 | f(w, 29, 2)) as u64;
            i.imm = sext(imm, 21);
            if p.op == Op::ADRP {
                i.imm <<= 12;
            }
        }
        Fmt::AddSubImm => i.imm = (f(w, 10, 12) as u64) << (12 * f(w, 22, 1)),
        Fmt::LogicImm => {
            let n = f(w, 22, 1);
            if !i.sf && n == 1 {
                return None;
            }
            i.imm = decode_bit_masks(n, f(w, 10, 6), f(w, 16, 6), true, datasize)?.0;
        }
        Fmt::MoveWide => {
            let hw = f(w, 21, 2);
            if !i.sf && hw >= 2 {
                return None;
            }
            i.a = (hw * 16) as u8;
            i.imm = (f(w, 5, 16) as u64) << i.a;
        }
        Fmt::Bitfield => {
            let n = f(w, 22, 1);
            let immr = f(w, 16, 6);
            let imms = f(w, 10, 6);
            if n != i.sf as u32 || (!i.sf && (immr >= 32 || imms >= 32)) {
                return None;
            }
            let (wmask, tmask) = decode_bit_masks(n, imms, immr, false, datasize)?;
            i.a = immr as u8;
            i.b = imms as u8;
            i.imm = wmask;
            i.imm2 = tmask;
        }
        Fmt::Extract => {
            let n = f(w, 22, 1);
            let imms = f(w, 10, 6);
            if n != i.sf as u32 || (!i.sf && imms >= 32) {
                return None;
            }
            i.a = imms as u8;
        }
        Fmt::LogicShift | Fmt::AddSubShift => {
            let shift = f(w, 22, 2);
            let amount = f(w, 10, 6);
            if (p.fmt == Fmt::AddSubShift && shift == 3) || (!i.sf && amount >= 32) {
                return None;
            }
            i.a = shift as u8;
            i.b = amount as u8;
        }
        Fmt::AddSubExt => {
            let imm3 = f(w, 10, 3);
            if imm3 > 4 {
                return None;
            }
            i.a = f(w, 13, 3) as u8;
            i.b = imm3 as u8;
        }
        Fmt::Rrr => {}
        Fmt::CondCmpReg | Fmt::CondCmpImm => {
            i.a = f(w, 12, 4) as u8;
            i.b = f(w, 0, 4) as u8;
            i.imm = f(w, 16, 5) as u64;
        }
        Fmt::CondSel => i.a = f(w, 12, 4) as u8,
        Fmt::Dp3 => i.ra = f(w, 10, 5) as u8,
        Fmt::Branch26 => i.imm = sext((f(w, 0, 26) as u64) << 2, 28),
        Fmt::CondBranch => {
            i.imm = sext((f(w, 5, 19) as u64) << 2, 21);
            i.a = f(w, 0, 4) as u8;
        }
        Fmt::CmpBranch => i.imm = sext((f(w, 5, 19) as u64) << 2, 21),
        Fmt::TestBranch => {
            i.a = (f(w, 31, 1) << 5 | f(w, 19, 5)) as u8;
            i.imm = sext((f(w, 5, 14) as u64) << 2, 16);
        }
        Fmt::ExcGen => i.imm = f(w, 5, 16) as u64,
        Fmt::PstateImm => i.a = f(w, 8, 4) as u8,
        Fmt::SysReg => {
            // KVM's 16-bit sysreg encoding: op0<<14 | op1<<11 | CRn<<7 | CRm<<3 | op2.
            i.imm = f(w, 5, 16) as u64;
            i.sf = true;
        }
        Fmt::LdStImm9 => {
            let size = f(w, 30, 2);
            let mode = f(w, 10, 2);
            let flags = ldst_flags(size, f(w, 22, 2))?;
            i.imm = sext(f(w, 12, 9) as u64, 9);
            i.b = match mode {
                0 | 2 => Wb::OFFSET, // unscaled (LDUR) and unprivileged (LDTR): no writeback
                1 => Wb::POST,
                _ => Wb::PRE,
            };
            match flags {
                Some(fl) => i.a = fl | if mode == 2 { Mem::UNPRIV } else { 0 },
                // PRFUM is the unscaled form; pre/post-index prefetch is unallocated.
                None if mode == 0 => i.op = Op::PRFM,
                None => return None,
            }
        }
        Fmt::LdStUimm => {
            let size = f(w, 30, 2);
            i.imm = (f(w, 10, 12) as u64) << size;
            i.b = Wb::OFFSET;
            match ldst_flags(size, f(w, 22, 2))? {
                Some(fl) => i.a = fl,
                None => i.op = Op::PRFM,
            }
        }
        Fmt::LdStReg => {
            let size = f(w, 30, 2);
            let option = f(w, 13, 3);
            // option<1> == 0 is reserved (C6.2 LDR (register): "UNDEFINED").
            if option & 2 == 0 {
                return None;
            }
            i.b = option as u8;
            i.imm = if f(w, 12, 1) == 1 { size as u64 } else { 0 };
            match ldst_flags(size, f(w, 22, 2))? {
                Some(fl) => i.a = fl,
                None => i.op = Op::PRFM,
            }
        }
        Fmt::LdLit => {
            i.imm = sext((f(w, 5, 19) as u64) << 2, 21);
            i.a = match f(w, 30, 2) {
                0 => 2 | Mem::LOAD,
                1 => 3 | Mem::LOAD,
                2 => 2 | Mem::LOAD | Mem::SIGNED,
                _ => {
                    i.op = Op::PRFM;
                    0
                }
            };
        }
        Fmt::LdStPair => {
            let opc = f(w, 30, 2);
            let mode = f(w, 23, 2);
            let load = f(w, 22, 1) == 1;
            let (size, signed) = match opc {
                0 => (2u32, false),
                1 if load && mode != 0 => (2, true), // LDPSW; STGP and LDNP opc=01 are not v8.0
                2 => (3, false),
                _ => return None,
            };
            i.a = size as u8 | if load { Mem::LOAD } else { 0 } | if signed { Mem::SIGNED } else { 0 };
            i.b = match mode {
                0 | 2 => Wb::OFFSET, // 0: non-temporal hint (LDNP/STNP), same semantics
                1 => Wb::POST,
                _ => Wb::PRE,
            };
            i.ra = f(w, 10, 5) as u8; // Rt2
            i.imm = sext(f(w, 15, 7) as u64, 7) << size;
        }
        Fmt::Atomic => {
            let (a, r) = (f(w, 23, 1), f(w, 22, 1));
            let op = (f(w, 15, 1) << 3 | f(w, 12, 3)) as u8;
            i.a = f(w, 30, 2) as u8;
            i.b = match op {
                0..=8 => op,
                // LDAPR: A = 1, R = 0, Rs = 11111.
                Atomic::LDAPR if a == 1 && r == 0 && i.rm == 31 => op,
                _ => return None,
            };
        }
        Fmt::Cas => {
            i.a = f(w, 30, 2) as u8;
            if p.op == Op::CASP {
                // CASP: size<0> selects 32/64-bit elements; Rs and Rt must be even.
                i.a = 2 + f(w, 30, 1) as u8;
                if i.rm & 1 == 1 || i.rd & 1 == 1 {
                    return None;
                }
            }
        }
        Fmt::Crc => {
            let sz = f(w, 10, 2);
            // CRC32X/CRC32CX need sf = 1; the others sf = 0.
            if (sz == 3) != i.sf {
                return None;
            }
            i.a = sz as u8;
            i.b = f(w, 12, 1) as u8;
        }
        Fmt::LdStExcl => {
            let size = f(w, 30, 2);
            let o2 = f(w, 23, 1);
            let load = f(w, 22, 1) == 1;
            let o1 = f(w, 21, 1);
            let o0 = f(w, 15, 1);
            i.ra = f(w, 10, 5) as u8; // Rt2
            i.rm = f(w, 16, 5) as u8; // Rs (status register of store-exclusive)
            i.a = size as u8 | if load { Mem::LOAD } else { 0 };
            // o0 is the acquire/release bit; ordering is implicit in this sequential model.
            i.b = match (o2, o1) {
                (0, 0) => Excl::EXCLUSIVE,
                (0, 1) if size >= 2 => Excl::EXCLUSIVE | Excl::PAIR,
                // LDAR/STLR; o0=0 is LDLAR/STLLR (FEAT_LOR, not v8.0); o1=1 is CAS (FEAT_LSE).
                (1, 0) if o0 == 1 => 0,
                _ => return None,
            };
        }
    }
    Some(i)
}

/// Decodes one instruction word by scanning the table. Only used on a decode-cache miss.
pub fn decode(w: u32) -> Insn {
    for p in PATTERNS {
        if w & p.mask == p.value {
            return extract(p, w).unwrap_or(Insn::UNDEF);
        }
    }
    Insn::UNDEF
}

/// The name of the row that decodes `w` (for tests and diagnostics).
pub fn row_name(w: u32) -> &'static str {
    PATTERNS.iter().find(|p| w & p.mask == p.value).map(|p| p.name).unwrap_or("UNALLOCATED")
}
