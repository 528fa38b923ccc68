//! The decoded form of one A64 instruction: what the decode table produces and the executor
//! consumes. Immediates are already in semantic form (byte offsets, masks, shift amounts), in the
//! spirit of decodetree's `!function=` transforms, so execution never re-extracts bit fields.

/// One executor per row family. Names follow QEMU decodetree's `MNEMONIC_form` convention.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Op {
    /// Slot of the decode cache not decoded yet.
    NotDecoded,
    /// Unallocated or unimplemented encoding: UNDEFINED (ESR EC 0x00).
    Undef,
    /// The PC reached an address the host watches: stop before executing.
    Watch,
    ADR,
    ADRP,
    ADD_i,
    ADDS_i,
    SUB_i,
    SUBS_i,
    AND_i,
    ORR_i,
    EOR_i,
    ANDS_i,
    MOVN,
    MOVZ,
    MOVK,
    SBFM,
    BFM,
    UBFM,
    EXTR,
    ADD_r,
    ADDS_r,
    SUB_r,
    SUBS_r,
    ADD_x,
    ADDS_x,
    SUB_x,
    SUBS_x,
    AND_r,
    BIC_r,
    ORR_r,
    ORN_r,
    EOR_r,
    EON_r,
    ANDS_r,
    BICS_r,
    ADC,
    ADCS,
    SBC,
    SBCS,
    CCMN_r,
    CCMP_r,
    CCMN_i,
    CCMP_i,
    CSEL,
    CSINC,
    CSINV,
    CSNEG,
    MADD,
    MSUB,
    SMADDL,
    SMSUBL,
    UMADDL,
    UMSUBL,
    SMULH,
    UMULH,
    UDIV,
    SDIV,
    LSLV,
    LSRV,
    ASRV,
    RORV,
    RBIT,
    REV16,
    REV32,
    REV,
    CLZ,
    CLS,
    B,
    BL,
    B_cond,
    CBZ,
    CBNZ,
    TBZ,
    TBNZ,
    BR,
    BLR,
    RET,
    ERET,
    SVC,
    HVC,
    SMC,
    BRK,
    HLT,
    NOP,
    YIELD,
    WFE,
    WFI,
    SEV,
    SEVL,
    CLREX,
    DSB,
    DMB,
    ISB,
    MSR_i_SPSEL,
    MSR_i_DAIFSET,
    MSR_i_DAIFCLR,
    MSR_i_PAN,
    MSR_i_UAO,
    MSR_i_DIT,
    MSR_i_SSBS,
    MRS,
    MSR_r,
    SYS,
    /// Load/store with immediate offset: `a` = [`Mem`] flags, `b` = [`Wb`] mode, `imm` = byte offset.
    LDST_i,
    /// Load/store with register offset: `a` = [`Mem`] flags, `b` = extend option, `imm` = shift.
    LDST_r,
    /// PC-relative literal load: `a` = [`Mem`] flags, `imm` = byte offset.
    LDR_lit,
    /// Load/store pair: `a` = [`Mem`] flags (size of one element), `b` = [`Wb`], `imm` = offset.
    LDSTP,
    /// Load-exclusive / store-exclusive / acquire / release: `a` = [`Mem`] flags, `b` = [`Excl`].
    LDSTX,
    PRFM,
    /// FEAT_LSE atomic memory operation: `a` = size log2, `b` = [`Atomic`] op, `rm` = Rs.
    ATOMIC,
    /// CAS (`a` = size log2) and CASP (`a` = size log2 of one element): `rm` = Rs, `rd` = Rt.
    CAS,
    CASP,
    /// CRC32{B,H,W,X} / CRC32C*: `a` = size log2 of the data, `b` = 1 for the Castagnoli form.
    CRC32,
}

/// Memory access flags packed in `Insn::a` for loads and stores.
pub struct Mem;
impl Mem {
    /// log2 of the access size in bytes (bits 1:0).
    pub const SIZE: u8 = 3;
    /// Load (else store).
    pub const LOAD: u8 = 4;
    /// Sign-extend the loaded value.
    pub const SIGNED: u8 = 8;
    /// Destination is a W register (sign-extended loads to 32 bits; zero-extended upper half).
    pub const W: u8 = 16;
    /// Unprivileged (LDTR/STTR family): EL0 permissions apply at EL1 (unless PSTATE.UAO).
    pub const UNPRIV: u8 = 32;
}

/// Writeback modes (`Insn::b` for LDST_i and LDSTP): decodetree's `p` and `w` bits.
pub struct Wb;
impl Wb {
    pub const OFFSET: u8 = 0;
    pub const PRE: u8 = 1;
    pub const POST: u8 = 2;
}

/// Atomic memory operations (`Insn::b` for ATOMIC): o3:opc of C4.1.94.
pub struct Atomic;
impl Atomic {
    pub const ADD: u8 = 0;
    pub const CLR: u8 = 1;
    pub const EOR: u8 = 2;
    pub const SET: u8 = 3;
    pub const SMAX: u8 = 4;
    pub const SMIN: u8 = 5;
    pub const UMAX: u8 = 6;
    pub const UMIN: u8 = 7;
    pub const SWP: u8 = 8;
    /// LDAPR (FEAT_LRCPC): a load-acquire, Rs = 31.
    pub const LDAPR: u8 = 12;
}

/// Exclusive/ordered access kinds (`Insn::b` for LDSTX).
pub struct Excl;
impl Excl {
    /// Exclusive (else plain ordered LDAR/STLR).
    pub const EXCLUSIVE: u8 = 1;
    /// Pair (LDXP/STXP).
    pub const PAIR: u8 = 2;
}

/// A decoded instruction. `rd`/`rn`/`rm`/`ra` are register numbers (31 = SP or ZR as the
/// instruction defines); `a`, `b`, `imm`, `imm2` hold per-op operands documented on [`Op`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub op: Op,
    /// 64-bit operation (`sf`).
    pub sf: bool,
    pub rd: u8,
    pub rn: u8,
    pub rm: u8,
    pub ra: u8,
    pub a: u8,
    pub b: u8,
    pub imm: u64,
    pub imm2: u64,
}

impl Insn {
    pub const NOT_DECODED: Insn = Insn::of(Op::NotDecoded);
    pub const UNDEF: Insn = Insn::of(Op::Undef);

    pub const fn of(op: Op) -> Insn {
        Insn { op, sf: true, rd: 0, rn: 0, rm: 0, ra: 0, a: 0, b: 0, imm: 0, imm2: 0 }
    }
}
