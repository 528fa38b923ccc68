//! What the guest reads from the identification registers: the configured (host) value with
//! every feature field cut to what this emulator executes, so that a guest is never told a
//! feature exists and then takes UNDEF on it. KVM restore paths (ONE_REG) keep the configured
//! values untouched; only MRS from the guest goes through here, and only on boards that ask for
//! it (config key ID_CAP: the virt board that boots real kernels). Probe machines read the
//! configured values, because drift and reliance compare what the target kernel presents.
//!
//! Rows name the ID_AA64 registers by their index in the identification space (CRm*8+op2) and
//! list the fields the emulator implements with the highest value it implements; a field not
//! listed reads 0 ("not implemented") — except the signed fields whose "not implemented" is
//! 0xF, which are listed as `Absent`. Registers without a row (MIDR, MPIDR, the AArch32 view)
//! read as configured. Field positions: ARM ARM D19.2 (ID_AA64PFR0_EL1 ... ID_AA64MMFR2_EL1).

#[derive(Clone, Copy)]
pub enum Cap {
    /// Unsigned field: min(configured, n).
    Max(u8),
    /// Read as configured (descriptive, or a signed field whose 0 means "implemented").
    Keep,
    /// Signed field reading 0xF: not implemented.
    Absent,
}

pub struct IdRow {
    pub name: &'static str,
    pub index: usize,
    /// (lsb, cap) of the fields that are not simply "not implemented".
    pub fields: &'static [(u32, Cap)],
}

use Cap::*;

#[rustfmt::skip]
pub const ID_ROWS: &[IdRow] = &[
    // EL0 [3:0], EL1 [7:4]: AArch64 only (1); EL2/EL3 absent; FP [19:16], AdvSIMD [23:20]: no
    // FP/SIMD instructions; GIC [27:24] as the board; DIT [51:48]; CSV2 [59:56], CSV3 [63:60]
    // describe speculation, which the interpreter has none of.
    IdRow { name: "ID_AA64PFR0_EL1", index: 0x20, fields: &[(0, Max(1)), (4, Max(1)), (16, Absent), (20, Absent), (24, Keep), (48, Max(1)), (56, Keep), (60, Keep)] },
    // SSBS [7:4] = 1: PSTATE.SSBS (no MRS/MSR SSBS-specific speculation to model).
    IdRow { name: "ID_AA64PFR1_EL1", index: 0x21, fields: &[(4, Max(1))] },
    IdRow { name: "ID_AA64ZFR0_EL1", index: 0x24, fields: &[] },
    IdRow { name: "ID_AA64SMFR0_EL1", index: 0x25, fields: &[] },
    // DebugVer, BRPs, WRPs, CTX_CMPs, PMUVer as configured (the registers exist as storage);
    // DoubleLock [39:36] is signed.
    IdRow { name: "ID_AA64DFR0_EL1", index: 0x28, fields: &[(0, Keep), (8, Keep), (12, Keep), (20, Keep), (28, Keep), (36, Keep)] },
    IdRow { name: "ID_AA64DFR1_EL1", index: 0x29, fields: &[] },
    // CRC32 [19:16] = 1, Atomic [23:20] = 2 (LSE); no AES/SHA/RDM/DP/FHM/FlagM/RNDR; TLB [59:56]: every TLBI form is accepted
    // (each invalidates everything), so outer-shareable and range forms work.
    IdRow { name: "ID_AA64ISAR0_EL1", index: 0x30, fields: &[(16, Max(1)), (20, Max(2)), (56, Max(2))] },
    // LRCPC [23:20] = 1 (LDAPR); no DPB, pointer authentication, JSCVT, FCMA, FRINTTS, SB...
    IdRow { name: "ID_AA64ISAR1_EL1", index: 0x31, fields: &[(20, Max(1))] },
    IdRow { name: "ID_AA64ISAR2_EL1", index: 0x32, fields: &[] },
    // PARange [3:0], ASIDBits [7:4] and the granule fields (TGran16 [23:20] unsigned;
    // TGran64 [27:24], TGran4 [31:28] signed) as configured, and the stage-2 granule fields
    // [43:32] (EL2's business). BigEnd [11:8], BigEndEL0 [19:16]: little-endian only.
    IdRow { name: "ID_AA64MMFR0_EL1", index: 0x38, fields: &[(0, Keep), (4, Keep), (12, Keep), (20, Max(1)), (24, Keep), (28, Keep), (32, Keep), (36, Keep), (40, Keep)] },
    // HAFDBS [3:0] = 2 (access flag and dirty state), VMIDBits [7:4] (EL2's), PAN [23:20] = 1
    // (no AT S1E1RP/WP, so not PAN2).
    IdRow { name: "ID_AA64MMFR1_EL1", index: 0x39, fields: &[(0, Max(2)), (4, Keep), (20, Max(1))] },
    // CnP [3:0] (the TTBR bit is accepted and has no effect on one TLB), UAO [7:4], TTL [51:48]
    // (TLBI hints, all satisfied by full invalidation).
    IdRow { name: "ID_AA64MMFR2_EL1", index: 0x3a, fields: &[(0, Max(1)), (4, Max(1)), (48, Max(1))] },
    IdRow { name: "ID_AA64MMFR3_EL1", index: 0x3b, fields: &[] },
    IdRow { name: "ID_AA64MMFR4_EL1", index: 0x3c, fields: &[] },
];

/// What MRS returns for identification register `index`: cut per the rows below when the board
/// asked for it (ID_CAP), else the configured value, as KVM presents it.
pub fn guest_view(cpu: &crate::cpu::Cpu, index: usize) -> u64 {
    if cpu.id_cap {
        guest_value(index, cpu.id[index])
    } else {
        cpu.id[index]
    }
}

/// The value the guest reads for identification register `index` configured as `v`, cut.
pub fn guest_value(index: usize, v: u64) -> u64 {
    let row = match ID_ROWS.iter().find(|r| r.index == index) {
        Some(r) => r,
        None => return v,
    };
    let mut out = 0u64;
    for &(lsb, cap) in row.fields {
        let f = (v >> lsb) & 0xf;
        let g = match cap {
            Max(n) => f.min(n as u64),
            Keep => f,
            Absent => 0xf,
        };
        out |= g << lsb;
    }
    out
}
