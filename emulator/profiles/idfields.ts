/**
 * ID register fields the profiles talk about (Arm ARM DDI0487 K.a, D19 "AArch64 System Register
 * Descriptions"). Every ID register field is 4 bits wide; fields not named here print as
 * `bits[hi:lo]`.
 */

export interface IdField {
  reg: string;
  field: string;
  shift: number;
  /** Width in bits: 4 for every ID register field; CTR_EL0 has narrower ones. */
  width: number;
  /** Signed fields (e.g. FP, AdvSIMD: 0xf = not implemented) compare as signed. */
  signed?: boolean;
}

const ROWS: [reg: string, field: string, shift: number, signed?: boolean, width?: number][] = [
  ["ID_AA64PFR0_EL1", "EL0", 0],
  ["ID_AA64PFR0_EL1", "EL1", 4],
  ["ID_AA64PFR0_EL1", "EL2", 8],
  ["ID_AA64PFR0_EL1", "EL3", 12],
  ["ID_AA64PFR0_EL1", "FP", 16, true],
  ["ID_AA64PFR0_EL1", "AdvSIMD", 20, true],
  ["ID_AA64PFR0_EL1", "GIC", 24],
  ["ID_AA64PFR0_EL1", "RAS", 28],
  ["ID_AA64PFR0_EL1", "SVE", 32],
  ["ID_AA64PFR0_EL1", "SEL2", 36],
  ["ID_AA64PFR0_EL1", "MPAM", 40],
  ["ID_AA64PFR0_EL1", "AMU", 44],
  ["ID_AA64PFR0_EL1", "DIT", 48],
  ["ID_AA64PFR0_EL1", "RME", 52],
  ["ID_AA64PFR0_EL1", "CSV2", 56],
  ["ID_AA64PFR0_EL1", "CSV3", 60],
  ["ID_AA64PFR1_EL1", "BT", 0],
  ["ID_AA64PFR1_EL1", "SSBS", 4],
  ["ID_AA64PFR1_EL1", "MTE", 8],
  ["ID_AA64PFR1_EL1", "RAS_frac", 12],
  ["ID_AA64PFR1_EL1", "MPAM_frac", 16],
  ["ID_AA64PFR1_EL1", "SME", 24],
  ["ID_AA64PFR1_EL1", "CSV2_frac", 32],
  ["ID_AA64DFR0_EL1", "DebugVer", 0],
  ["ID_AA64DFR0_EL1", "TraceVer", 4],
  ["ID_AA64DFR0_EL1", "PMUVer", 8],
  ["ID_AA64DFR0_EL1", "BRPs", 12],
  ["ID_AA64DFR0_EL1", "WRPs", 20],
  ["ID_AA64DFR0_EL1", "CTX_CMPs", 28],
  ["ID_AA64DFR0_EL1", "PMSVer", 32],
  ["ID_AA64DFR0_EL1", "DoubleLock", 36, true],
  ["ID_AA64DFR0_EL1", "TraceFilt", 40],
  ["ID_AA64DFR0_EL1", "TraceBuffer", 44],
  ["ID_AA64DFR0_EL1", "MTPMU", 48, true],
  ["ID_DFR0_EL1", "CopDbg", 0],
  ["ID_DFR0_EL1", "CopSDbg", 4],
  ["ID_DFR0_EL1", "MMapDbg", 8],
  ["ID_DFR0_EL1", "CopTrc", 12],
  ["ID_DFR0_EL1", "MMapTrc", 16],
  ["ID_DFR0_EL1", "MProfDbg", 20],
  ["ID_DFR0_EL1", "PerfMon", 24],
  ["ID_AA64MMFR1_EL1", "HCX", 40],
  ["ID_AA64ISAR1_EL1", "DPB", 0],
  ["ID_AA64ISAR1_EL1", "APA", 4],
  ["ID_AA64ISAR1_EL1", "API", 8],
  ["ID_AA64ISAR1_EL1", "JSCVT", 12],
  ["ID_AA64ISAR1_EL1", "FCMA", 16],
  ["ID_AA64ISAR1_EL1", "LRCPC", 20],
  ["ID_AA64ISAR1_EL1", "GPA", 24],
  ["ID_AA64ISAR1_EL1", "GPI", 28],
  ["ID_AA64ISAR2_EL1", "GPA3", 8],
  ["ID_AA64ISAR2_EL1", "APA3", 12],
  ["CLIDR_EL1", "Ctype1", 0, false, 3],
  ["CLIDR_EL1", "Ctype2", 3, false, 3],
  ["CLIDR_EL1", "Ctype3", 6, false, 3],
  ["CLIDR_EL1", "Ctype4", 9, false, 3],
  ["CLIDR_EL1", "Ctype5", 12, false, 3],
  ["CLIDR_EL1", "Ctype6", 15, false, 3],
  ["CLIDR_EL1", "Ctype7", 18, false, 3],
  ["CLIDR_EL1", "LoUIS", 21, false, 3],
  ["CLIDR_EL1", "LoC", 24, false, 3],
  ["CLIDR_EL1", "LoUU", 27, false, 3],
  ["CLIDR_EL1", "ICB", 30, false, 3],
  ["CTR_EL0", "IminLine", 0],
  ["CTR_EL0", "L1Ip", 14, false, 2],
  ["CTR_EL0", "DminLine", 16],
  ["CTR_EL0", "ERG", 20],
  ["CTR_EL0", "CWG", 24],
  ["CTR_EL0", "IDC", 28, false, 1],
  ["CTR_EL0", "DIC", 29, false, 1],
];

export const ID_FIELDS: readonly IdField[] = ROWS.map(([reg, field, shift, signed, width]) => ({
  reg,
  field,
  shift,
  width: width ?? 4,
  signed,
}));

const BY_KEY = new Map(ID_FIELDS.map((f) => [`${f.reg}.${f.field}`, f]));

export function idField(reg: string, field: string): IdField | undefined {
  return BY_KEY.get(`${reg}.${field}`);
}

/** The fields of `reg` covering the bits of `mask`: named rows, else 4-bit `bits[hi:lo]` slots. */
export function fieldsIn(reg: string, mask: bigint): IdField[] {
  const out: IdField[] = [];
  const named = ID_FIELDS.filter((f) => f.reg === reg);
  let rest = mask;
  for (const f of named) {
    const m = fieldMask(f);
    if ((rest & m) !== 0n) {
      out.push(f);
      rest &= ~m;
    }
  }
  for (let shift = 0; shift < 64 && rest !== 0n; shift += 4) {
    const m = 0xfn << BigInt(shift);
    if ((rest & m) !== 0n) {
      out.push({ reg, field: `bits${shift + 3}_${shift}`, shift, width: 4 });
      rest &= ~m;
    }
  }
  return out.sort((a, b) => a.shift - b.shift);
}

export function fieldMask(f: IdField): bigint {
  return ((1n << BigInt(f.width)) - 1n) << BigInt(f.shift);
}

/** The field's value; signed fields sign-extend (0xf = -1 = "not implemented"). */
export function getField(v: bigint, f: IdField): number {
  const x = Number((v >> BigInt(f.shift)) & ((1n << BigInt(f.width)) - 1n));
  return f.signed && x >= 1 << (f.width - 1) ? x - (1 << f.width) : x;
}

export function setField(v: bigint, f: IdField, x: number): bigint {
  const m = fieldMask(f);
  return (v & ~m) | ((BigInt(x) << BigInt(f.shift)) & m);
}
