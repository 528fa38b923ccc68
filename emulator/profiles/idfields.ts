/**
 * ID register fields by their architectural names: the one lookup the restore model, the drift
 * findings and the renderers use to name a field (`ID_AA64DFR0_EL1.PMUVer`, never `bits11_8` for a
 * field the kernel's register description names).
 */
import fieldNames from "./extracted/idreg-fields.json" with { type: "json" };

export interface IdField {
  reg: string;
  field: string;
  shift: number;
  /** Width in bits: 4 for most ID register fields; CLIDR_EL1 and CTR_EL0 have others. */
  width: number;
  /** Signed fields (e.g. FP, AdvSIMD: 0xf = not implemented) compare as signed. */
  signed?: boolean;
}

/**
 * Every ID register's fields, by the names of the kernel's own register description
 * (arch/arm64/tools/sysreg), extracted with their positions and signedness by
 * `deno task kernel:extract` (emulator/profiles/extract/). Registers the sysreg file does not
 * describe (MIDR_EL1, REVIDR_EL1, AIDR_EL1) have no named fields.
 */
const NAMED = (fieldNames as { regs: Record<string, (string | number)[][]> }).regs;

export const ID_FIELDS: readonly IdField[] = Object.entries(NAMED).flatMap(([reg, rows]) =>
  rows.map(([field, hi, lo, signed]) => ({
    reg,
    field: field as string,
    shift: lo as number,
    width: (hi as number) - (lo as number) + 1,
    signed: signed === 1 ? true : undefined,
  }))
);

const BY_KEY = new Map(ID_FIELDS.map((f) => [`${f.reg}.${f.field}`, f]));
const BY_REG = Map.groupBy(ID_FIELDS, (f) => f.reg);

export function idField(reg: string, field: string): IdField | undefined {
  return BY_KEY.get(`${reg}.${field}`);
}

/**
 * The fields of `reg` covering the bits of `mask`: the architectural fields, then 4-bit
 * `bits<hi>_<lo>` slots for bits no field names (RES0 space, or a register without a description).
 */
export function fieldsIn(reg: string, mask: bigint): IdField[] {
  const out: IdField[] = [];
  const named = BY_REG.get(reg) ?? [];
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
