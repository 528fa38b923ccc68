//! Decode-table tests: known encodings (bytes from GNU as 2.40, `aarch64-linux-gnu-as`, listed
//! with their source) map to the expected row; reserved field values are UNDEFINED; the table is
//! well formed; random words never panic.

use rollsafe_emu::decode::table::{bits, decode, row_name, PATTERNS};
use rollsafe_emu::decode::Op;

#[rustfmt::skip]
const VECTORS: &[(u32, &str)] = &[
    (0x91048c20, "ADD_i"), // add x0, x1, #0x123
    (0x31400462, "ADDS_i"), // adds w2, w3, #0x1, lsl #12
    (0xd10043ff, "SUB_i"), // sub sp, sp, #0x10
    (0xeb050c9f, "SUBS_r"), // cmp x4, x5, lsl #3
    (0x8b274be6, "ADD_x"), // add x6, sp, w7, uxtw #2
    (0x92401d28, "AND_i"), // and x8, x9, #0xff
    (0x3201056a, "ORR_i"), // orr w10, w11, #0x80000001
    (0xd2f7ddec, "MOVZ"), // mov x12, #0xbeef000000000000
    (0x1280000d, "MOVN"), // mov w13, #0xffffffff
    (0xf2a2468e, "MOVK"), // movk x14, #0x1234, lsl #16
    (0x937ffe0f, "SBFM"), // asr x15, x16, #63
    (0x53017e51, "UBFM"), // lsr w17, w18, #1
    (0xb37c0e93, "BFM"), // bfi x19, x20, #4, #4
    (0x93d746d5, "EXTR"), // extr x21, x22, x23, #17
    (0x9a020020, "ADC"), // adc x0, x1, x2
    (0x7a050083, "SBCS"), // sbcs w3, w4, w5
    (0xfa4318ca, "CCMP_i"), // ccmp x6, #0x3, #0xa, ne
    (0x3a4800e0, "CCMN_r"), // ccmn w7, w8, #0x0, eq
    (0x9a8bb149, "CSEL"), // csel x9, x10, x11, lt
    (0x5a8e85ac, "CSNEG"), // csneg w12, w13, w14, hi
    (0x9b114a0f, "MADD"), // madd x15, x16, x17, x18
    (0x9bd57e93, "UMULH"), // umulh x19, x20, x21
    (0x9b3866f6, "SMADDL"), // smaddl x22, w23, w24, x25
    (0x1adc0b7a, "UDIV"), // udiv w26, w27, w28
    (0x9ac00fdd, "SDIV"), // sdiv x29, x30, x0
    (0x9ac32c41, "RORV"), // ror x1, x2, x3
    (0x5ac000a4, "RBIT"), // rbit w4, w5
    (0xdac008e6, "REV32"), // rev32 x6, x7
    (0xdac00d28, "REV_x"), // rev x8, x9
    (0xdac0116a, "CLZ"), // clz x10, x11
    (0x5ac015ac, "CLS"), // cls w12, w13
    (0x14000002, "B"), // b 84 <.text+0x84>
    (0x97ffffff, "BL"), // bl 7c <.text+0x7c>
    (0x5400020a, "B_cond"), // b.ge c4 <.text+0xc4>  // b.tcont
    (0x3500010e, "CBNZ"), // cbnz w14, a8 <.text+0xa8>
    (0xb640008f, "TBZ"), // tbz x15, #40, 9c <.text+0x9c>
    (0xd61f0200, "BR"), // br x16
    (0xd63f0220, "BLR"), // blr x17
    (0xd65f03c0, "RET"), // ret
    (0xd69f03e0, "ERET"), // eret
    (0xd4024681, "SVC"), // svc #0x1234
    (0xd4000002, "HVC"), // hvc #0x0
    (0xd4000023, "SMC"), // smc #0x1
    (0xd4200840, "BRK"), // brk #0x42
    (0xd44000e0, "HLT"), // hlt #0x7
    (0xd503201f, "NOP"), // nop
    (0xd503207f, "WFI"), // wfi
    (0xd503205f, "WFE"), // wfe
    (0xd503203f, "YIELD"), // yield
    (0xd503209f, "SEV"), // sev
    (0xd50320bf, "SEVL"), // sevl
    (0xd5033bbf, "DMB"), // dmb ish
    (0xd5033f9f, "DSB"), // dsb sy
    (0xd5033fdf, "ISB"), // isb
    (0xd5033f5f, "CLREX"), // clrex
    (0xd50342df, "MSR_i_DAIFSET"), // msr daifset, #0x2
    (0xd5034fff, "MSR_i_DAIFCLR"), // msr daifclr, #0xf
    (0xd50041bf, "MSR_i_SPSEL"), // msr spsel, #0x1
    (0xd5380000, "MRS"), // mrs x0, midr_el1
    (0xd518c001, "MSR_r"), // msr vbar_el1, x1
    (0xd50b7e22, "SYS"), // dc civac, x2
    (0xd508751f, "SYS"), // ic iallu
    (0xd508871f, "SYS"), // tlbi vmalle1
    (0xf947fc83, "LDST_u"), // ldr x3, [x4, #4088]
    (0x385ff4c5, "LDST_i9"), // ldrb w5, [x6], #-1
    (0x78802d07, "LDST_i9"), // ldrsh x7, [x8, #2]!
    (0xb8501149, "LDST_i9"), // ldur w9, [x10, #-255]
    (0xf82d798b, "LDST_r"), // str x11, [x12, x13, lsl #3]
    (0xb8b0d9ee, "LDST_r"), // ldrsw x14, [x15, w16, sxtw #2]
    (0x58002011, "LDR_lit"), // ldr x17, 514 <.text+0x514>
    (0x98fffff2, "LDR_lit"), // ldrsw x18, 114 <.text+0x114>
    (0xf9800260, "LDST_u"), // prfm pldl1keep, [x19]
    (0xa9ff57f4, "LDSTP"), // ldp x20, x21, [sp, #-16]!
    (0x28815f16, "LDSTP"), // stp w22, w23, [x24], #8
    (0x695feb79, "LDSTP"), // ldpsw x25, x26, [x27, #252]
    (0xa84077dc, "LDSTP"), // ldnp x28, x29, [x30]
    (0xc85f7c20, "LDSTX"), // ldxr x0, [x1]
    (0xc8027c83, "LDSTX"), // stxr w2, x3, [x4]
    (0x887f98e5, "LDSTX"), // ldaxp w5, w6, [x7]
    (0xc828a969, "LDSTX"), // stlxp w8, x9, x10, [x11]
    (0x88dffdac, "LDSTX"), // ldar w12, [x13]
    (0x089ffdee, "LDSTX"), // stlrb w14, [x15]
    (0xf8408a30, "LDST_i9"), // ldtr x16, [x17, #8]
    (0x00000000, "UNALLOCATED"), // udf #0
    (0x1e202800, "UNALLOCATED"), // fadd s0, s0, s0
    (0xd503201f, "NOP"), // nop
    (0x38a0c020, "ATOMIC!"), // .inst 0x38a0c020 ; LDAPRB with Rs != 11111: reserved
    (0xc8bf7c20, "CAS"), // cas xzr, x0, [x1]
    (0xf8e10062, "ATOMIC"), // ldaddal x1, x2, [x3]
    (0x382183e2, "ATOMIC"), // swpb w1, w2, [sp]
    (0xc8e17c62, "CAS"), // casa x1, x2, [x3]
    (0x4822fcc4, "CASP"), // caspl x2, x3, x4, x5, [x6]
    (0xb8bfc041, "ATOMIC"), // ldapr w1, [x2]
    (0xb821705f, "ATOMIC"), // stumin w1, [x2]
    (0x9ac35c41, "CRC32"), // crc32cx w1, w2, x3
    (0x1ac34041, "CRC32"), // crc32b w1, w2, w3
    (0xd5033bdf, "ISB"), // isb #0xb
    (0x0c407c00, "UNALLOCATED"), // ld1 {v0.1d}, [x0]
];

#[test]
fn known_encodings_decode_to_their_rows() {
    // "ROW!" means: that row matches, and its format rejects the fields (UNDEFINED).
    for &(w, name) in VECTORS {
        let row = name.trim_end_matches('!');
        assert_eq!(row_name(w), row, "0x{:08x}", w);
        let undef = decode(w).op == Op::Undef;
        let want_undef = name == "UNALLOCATED" || name.ends_with('!');
        assert_eq!(undef, want_undef, "0x{:08x} ({}) decodes to {:?}", w, name, decode(w).op);
    }
}

#[test]
fn reserved_fields_are_undefined() {
    for &(w, why) in &[
        (0x52c0_0000u32, "MOVZ W with hw=2"),
        (0x1240_0000, "AND (immediate) W with N=1"),
        (0x927f_fc00, "AND (immediate) X with an all-ones element (N=1 imms=0b111111)"),
        (0x8bc0_0000, "ADD (shifted register) with shift=0b11"),
        (0x0b00_8000, "ADD (shifted register) W with imm6 >= 32"),
        (0x8b20_7400, "ADD (extended register) with imm3=5"),
        (0x1300_0000 | 1 << 22, "SBFM W with N=1"),
        (0xf860_0800, "LDR (register) with option<1>=0"),
        (0xe940_0000, "LDP with opc=11"),
        (0x6900_0000, "STGP (FEAT_MTE)"),
        (0xb8c0_0400, "LDRSW post-index with size=10 opc=11"),
        (0xd4a0_0001, "DCPS1"),
        (0xd69f_0000, "ERET with Rn other than 0b11111"),
        (0x4823_fcc4, "CASPL with an odd Rs"),
        (0x4822_fcc5, "CASPL with an odd Rt"),
        (0x1ac3_4c41, "CRC32X with sf=0"),
        (0x9ac3_4041, "CRC32B with sf=1"),
        (0xf8e1_e062, "atomic memory operation with o3=1 opc=110 (unallocated)"),
    ] {
        assert_eq!(decode(w).op, Op::Undef, "0x{:08x}: {}", w, why);
    }
}

#[test]
fn every_row_value_lies_inside_its_mask() {
    for p in PATTERNS {
        assert_eq!(p.value & !p.mask, 0, "{}", p.name);
    }
    assert_eq!(bits("1 0 xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"), (0xc000_0000, 0x8000_0000));
}

#[test]
fn random_words_decode_without_panicking() {
    // xorshift64, fixed seed: 2 million words over the whole encoding space.
    let mut s = 0x2545_f491_4f6c_dd1du64;
    let mut undef = 0;
    for _ in 0..2_000_000 {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        if decode(s as u32).op == Op::Undef {
            undef += 1;
        }
    }
    // Most of the space is SIMD/FP, SVE and unallocated: UNDEFINED here.
    assert!(undef > 500_000 && undef < 2_000_000, "{} undefined", undef);
}
