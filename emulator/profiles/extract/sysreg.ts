/**
 * Reads the kernel's register description file, arch/arm64/tools/sysreg (the input of
 * gen-sysreg.awk), into registers with their fields. The same file generates the kernel's
 * `<REG>_<FIELD>_MASK/_SHIFT` and enum constants, so `symbols()` yields the values the C code of
 * sys_regs.c and cpufeature.c refers to.
 */

export interface SysregField {
  name: string;
  hi: number;
  lo: number;
  /** The sysreg directive: Field, Enum, UnsignedEnum, SignedEnum. */
  kind: string;
  /** Enum item names → values (Enum/UnsignedEnum/SignedEnum only). */
  values?: Record<string, number>;
}

export interface Sysreg {
  name: string;
  /** op0, op1, CRn, CRm, op2 (absent for a SysregFields block). */
  encoding?: [number, number, number, number, number];
  fields: SysregField[];
  /** Bits the file declares Res0 (the kernel's `<REG>_RES0`). */
  res0: bigint;
  res1: bigint;
  /** 1-based line of the Sysreg directive. */
  line: number;
}

export class SourceError extends Error {
  constructor(where: string, why: string) {
    super(`${where}: ${why}`);
    this.name = "SourceError";
  }
}

function range(spec: string, where: string): [number, number] {
  const m = /^(\d+)(?::(\d+))?$/.exec(spec);
  if (!m) throw new SourceError(where, `bad bit range "${spec}"`);
  const hi = Number(m[1]);
  const lo = m[2] === undefined ? hi : Number(m[2]);
  if (hi > 63 || lo > hi) throw new SourceError(where, `bad bit range "${spec}"`);
  return [hi, lo];
}

export const bitsMask = (hi: number, lo: number): bigint =>
  ((1n << BigInt(hi - lo + 1)) - 1n) << BigInt(lo);

/** Parses the sysreg file; `file` names it in errors. */
export function parseSysreg(text: string, file: string): Map<string, Sysreg> {
  const regs = new Map<string, Sysreg>();
  const blocks = new Map<string, Sysreg>(); // SysregFields, for `Fields <name>`
  let cur: Sysreg | undefined;
  let curIsBlock = false;
  let en: SysregField | undefined;
  const lines = text.split("\n");
  lines.forEach((raw, i) => {
    const where = `${file}:${i + 1}`;
    const line = raw.replace(/#.*$/, "").trim();
    if (!line) return;
    const w = line.split(/\s+/);
    switch (w[0]) {
      case "Sysreg":
        cur = {
          name: w[1],
          encoding: w.slice(2, 7).map(Number) as Sysreg["encoding"],
          fields: [],
          res0: 0n,
          res1: 0n,
          line: i + 1,
        };
        curIsBlock = false;
        return;
      case "SysregFields":
        cur = { name: w[1], fields: [], res0: 0n, res1: 0n, line: i + 1 };
        curIsBlock = true;
        return;
      case "EndSysreg":
      case "EndSysregFields":
        if (!cur) throw new SourceError(where, `${w[0]} outside a register`);
        (curIsBlock ? blocks : regs).set(cur.name, cur);
        cur = undefined;
        return;
    }
    if (!cur) return; // directives we do not model outside registers
    if (en) {
      if (w[0] === "EndEnum") {
        en = undefined;
        return;
      }
      const m = /^0b([01]+)$/.exec(w[0]);
      if (!m || !w[1]) throw new SourceError(where, `bad enum item "${line}"`);
      en.values![w[1]] = parseInt(m[1], 2);
      return;
    }
    switch (w[0]) {
      case "Res0":
      case "Res1":
      case "Raz":
      case "Unkn": {
        const [hi, lo] = range(w[1], where);
        if (w[0] === "Res0") cur.res0 |= bitsMask(hi, lo);
        if (w[0] === "Res1") cur.res1 |= bitsMask(hi, lo);
        return;
      }
      case "Field": {
        const [hi, lo] = range(w[1], where);
        cur.fields.push({ name: w[2], hi, lo, kind: "Field" });
        return;
      }
      case "Enum":
      case "UnsignedEnum":
      case "SignedEnum": {
        const [hi, lo] = range(w[1], where);
        en = { name: w[2], hi, lo, kind: w[0], values: {} };
        cur.fields.push(en);
        return;
      }
      case "Fields": {
        const b = blocks.get(w[1]);
        if (!b) throw new SourceError(where, `Fields ${w[1]} before its SysregFields block`);
        cur.fields.push(...b.fields);
        cur.res0 |= b.res0;
        cur.res1 |= b.res1;
        return;
      }
      default:
        throw new SourceError(where, `unknown directive "${w[0]}"`);
    }
  });
  if (cur) throw new SourceError(file, `register ${cur.name} is not closed`);
  // SysregFields blocks generate constants too (ZCR_ELx_LEN_SHIFT …); they have no encoding
  for (const [k, b] of blocks) if (!regs.has(k)) regs.set(k, b);
  return regs;
}

/** The constants gen-sysreg.awk defines for these registers (name → value). */
export function symbols(regs: Map<string, Sysreg>): Map<string, bigint> {
  const out = new Map<string, bigint>();
  for (const r of regs.values()) {
    out.set(`${r.name}_RES0`, r.res0);
    out.set(`${r.name}_RES1`, r.res1);
    for (const f of r.fields) {
      const m = bitsMask(f.hi, f.lo);
      const p = `${r.name}_${f.name}`;
      out.set(p, m);
      out.set(`${p}_MASK`, m);
      out.set(`${p}_SHIFT`, BigInt(f.lo));
      out.set(`${p}_WIDTH`, BigInt(f.hi - f.lo + 1));
      for (const [k, v] of Object.entries(f.values ?? {})) out.set(`${p}_${k}`, BigInt(v));
    }
  }
  return out;
}
