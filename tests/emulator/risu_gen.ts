/**
 * A seeded generator of random A64 instruction sequences over the implemented integer ISA, in
 * the spirit of QEMU's RISU: each sequence starts from a known register/flag/memory state, runs
 * straight-line code with forward branches only, and ends at a known label, so the final state
 * can be compared between the emulator and `qemu-aarch64`.
 *
 * The generator emits GNU assembler text. It also emits, per sequence, a prologue that loads the
 * initial state from a table and an epilogue that stores the final state into an output table
 * (for the QEMU side); the emulator side skips both and sets the state directly.
 *
 * Constraints that keep both sides architecturally defined (no CONSTRAINED UNPREDICTABLE
 * choices): loads/stores stay inside the sequence's own 256-byte scratch area and are naturally
 * aligned (the emulator runs with stage 1 off, where data accesses are Device memory; atomics
 * need natural alignment anyway); writeback
 * bases differ from the data registers; store-exclusives follow a matching load-exclusive with no
 * store in between and use a status register distinct from the others; every sequence starts with
 * CLREX; SP stays 16-byte aligned when it is a base.
 */

/** Free registers: destinations may be any of these. x24/x25 are bases, x26 the index. */
const FREE = [...Array(24).keys(), 27, 28, 29, 30];
const BASES = [24, 25, 31];
export const SCRATCH_BYTES = 256;
/** x0..x30, sp, nzcv */
export const STATE_WORDS = 33;

/** Deterministic 64-bit PRNG (xorshift64*). */
export class Rng {
  #s: bigint;
  constructor(seed: bigint) {
    this.#s = BigInt.asUintN(64, seed ^ 0x9e3779b97f4a7c15n) || 1n;
  }
  u64(): bigint {
    let x = this.#s;
    x ^= x >> 12n;
    x = BigInt.asUintN(64, x ^ (x << 25n));
    x ^= x >> 27n;
    this.#s = x;
    return BigInt.asUintN(64, x * 0x2545f4914f6cdd1dn);
  }
  int(n: number): number {
    return Number(this.u64() % BigInt(n));
  }
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  pick<T>(a: readonly T[]): T {
    return a[this.int(a.length)]!;
  }
  chance(p: number): boolean {
    return this.int(1_000_000) < p * 1_000_000;
  }
}

const INTERESTING = [
  0n,
  1n,
  2n,
  0x7fn,
  0x80n,
  0xffn,
  0x7fffn,
  0x8000n,
  0xffffn,
  0x7fff_ffffn,
  0x8000_0000n,
  0xffff_ffffn,
  0x1_0000_0000n,
  0x7fff_ffff_ffff_ffffn,
  0x8000_0000_0000_0000n,
  0xffff_ffff_ffff_ffffn,
  0xffff_ffff_ffff_fffen,
  0xffff_ffff_8000_0000n,
  0x5555_5555_5555_5555n,
  0xaaaa_aaaa_aaaa_aaaan,
];

function value(r: Rng): bigint {
  switch (r.int(4)) {
    case 0:
      return r.pick(INTERESTING);
    case 1:
      return BigInt(r.range(0, 300));
    case 2:
      return BigInt.asUintN(64, -BigInt(r.range(1, 300)));
    default:
      return r.u64();
  }
}

const CONDS = [
  "eq",
  "ne",
  "cs",
  "cc",
  "mi",
  "pl",
  "vs",
  "vc",
  "hi",
  "ls",
  "ge",
  "lt",
  "gt",
  "le",
  "al",
  "nv",
];
const EXTENDS = ["uxtb", "uxth", "uxtw", "uxtx", "sxtb", "sxth", "sxtw", "sxtx"];

/** One generated sequence. */
export interface Sequence {
  index: number;
  /** Assembly lines of the body (between the b_N and e_N labels). */
  body: string[];
  /** Initial x0..x30, sp, nzcv (NZCV in bits 31:28). */
  init: bigint[];
  /** Initial scratch bytes. */
  scratch: Uint8Array;
  /** Instructions emitted per class (the generator's classes, or "edge case"). */
  classes: Record<string, number>;
}

/** Addresses the harness is linked at (both QEMU and the emulator use them). */
export const TEXT_BASE = 0x40_0000n;
export const DATA_BASE = 0x100_0000n;

interface Ctx {
  r: Rng;
  seq: number;
  body: string[];
  /** Tracked base register values (x24, x25, sp). */
  base: Map<number, bigint>;
  scratchBase: bigint;
  x26: bigint;
  labels: number;
  /** Forward labels waiting to be placed: [label, instruction index at which to place]. */
  pending: [string, number][];
  count: number;
}

function xr(n: number, sf: boolean): string {
  if (n === 31) return sf ? "xzr" : "wzr";
  return (sf ? "x" : "w") + n;
}
function spr(n: number, sf: boolean): string {
  if (n === 31) return sf ? "sp" : "wsp";
  return (sf ? "x" : "w") + n;
}
/** A source register: any of x0..x30 or zr. */
function src(c: Ctx, sf: boolean): string {
  return xr(c.r.int(32), sf);
}
function dst(c: Ctx, sf: boolean): string {
  return xr(c.r.pick(FREE), sf);
}
function hex(v: bigint): string {
  return "0x" + v.toString(16);
}

/** A valid logical immediate for `datasize` bits (DecodeBitMasks with immediate=TRUE). */
function bitmask(r: Rng, datasize: number): bigint {
  const sizes = [2, 4, 8, 16, 32, 64].filter((e) => e <= datasize);
  const e = r.pick(sizes);
  const ones = r.range(1, e - 1);
  const rot = r.int(e);
  const emask = (1n << BigInt(e)) - 1n;
  let elem = (1n << BigInt(ones)) - 1n;
  elem = ((elem >> BigInt(rot)) | (elem << BigInt(e - rot))) & emask;
  let v = 0n;
  for (let i = 0; i < datasize; i += e) v |= elem << BigInt(i);
  return v;
}

function edgeish(r: Rng, max: number): number {
  return r.chance(0.4) ? r.pick([0, 1, max - 1, max, Math.max(0, max - 2)]) : r.range(0, max);
}

/** A label placed `skip`..`skip+within-1` instructions after the next one emitted. */
function forwardLabel(c: Ctx, skip = 1, within = 6): string {
  const name = `L${c.seq}_${c.labels++}`;
  c.pending.push([name, c.count + skip + c.r.int(within)]);
  return name;
}

type Gen = (c: Ctx) => void;

function emit(c: Ctx, line: string): void {
  c.body.push(line);
  c.count++;
}

/** Memory access: picks a base and an offset that keep [addr, addr+bytes) in scratch, aligned. */
function pickAccess(
  c: Ctx,
  bytes: number,
  offsets: (b: bigint) => number[],
  align = bytes,
): { base: number; off: number } | undefined {
  const bases = c.r.chance(0.5) ? BASES : [...BASES].reverse();
  for (const b of bases) {
    const bv = c.base.get(b)!;
    const ok = offsets(bv).filter((o) => {
      const a = bv + BigInt(o);
      return a >= c.scratchBase && a + BigInt(bytes) <= c.scratchBase + BigInt(SCRATCH_BYTES) &&
        a % BigInt(align) === 0n;
    });
    if (ok.length > 0) return { base: b, off: c.r.pick(ok) };
  }
  return undefined;
}

/** Writeback access: pre-index accesses base+off, post-index the old base; the new base must
 * stay within 256 bytes of the scratch area and SP must stay 16-byte aligned. */
function pickWriteback(
  c: Ctx,
  bytes: number,
  align: number,
  pre: boolean,
  lo: number,
  hi: number,
): { base: number; off: number } | undefined {
  // A forward branch may skip this instruction, and the tracked base would then be wrong.
  if (c.pending.some((p) => p[1] > c.count)) return undefined;
  const bases = c.r.chance(0.5) ? BASES : [...BASES].reverse();
  const end = c.scratchBase + BigInt(SCRATCH_BYTES);
  for (const b of bases) {
    const bv = c.base.get(b)!;
    const ok = mult(lo, hi, align).filter((o) => {
      const nb = bv + BigInt(o);
      const a = pre ? nb : bv;
      if (a < c.scratchBase || a + BigInt(bytes) > end || a % BigInt(align) !== 0n) return false;
      if (nb < c.scratchBase - 256n || nb > end + 256n) return false;
      return b !== 31 || nb % 16n === 0n;
    });
    if (ok.length > 0) return { base: b, off: c.r.pick(ok) };
  }
  return undefined;
}

function mult(lo: number, hi: number, step: number): number[] {
  const out: number[] = [];
  for (let o = Math.ceil(lo / step) * step; o <= hi; o += step) out.push(o);
  return out;
}

const SIZES: { ld: string; st: string; bytes: number; sf: boolean }[] = [
  { ld: "ldrb", st: "strb", bytes: 1, sf: false },
  { ld: "ldrh", st: "strh", bytes: 2, sf: false },
  { ld: "ldr", st: "str", bytes: 4, sf: false },
  { ld: "ldr", st: "str", bytes: 8, sf: true },
];
const SIGNED = [
  { op: "ldrsb", bytes: 1 },
  { op: "ldrsh", bytes: 2 },
];

/** Store data never comes from a base register (a writeback store of its own base is
 * CONSTRAINED UNPREDICTABLE). */
function storeSrc(c: Ctx, sf: boolean): string {
  return xr(c.r.pick([...FREE, 26, 31]), sf);
}

function dataReg(c: Ctx, sf: boolean, load: boolean): string {
  return load ? dst(c, sf) : storeSrc(c, sf);
}

const GENS: [number, string, Gen][] = [
  // Add/subtract (immediate)
  [6, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["add", "adds", "sub", "subs"]);
    const rn = c.r.chance(0.15) ? spr(31, sf) : xr(c.r.pick(FREE.concat([24, 25, 26])), sf);
    const sh = c.r.chance(0.3) ? ", lsl #12" : "";
    emit(c, `${op} ${dst(c, sf)}, ${rn}, #${edgeish(c.r, 4095)}${sh}`);
  }],
  // Add/subtract (shifted register)
  [6, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["add", "adds", "sub", "subs"]);
    const sh = c.r.pick(["lsl", "lsr", "asr"]);
    emit(
      c,
      `${op} ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}, ${sh} #${edgeish(c.r, sf ? 63 : 31)}`,
    );
  }],
  // Add/subtract (extended register)
  [5, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["add", "adds", "sub", "subs"]);
    const ext = c.r.pick(EXTENDS);
    const mW = !sf || !ext.endsWith("x");
    const rn = c.r.chance(0.2) ? spr(31, sf) : xr(c.r.int(31), sf);
    const rd = op.endsWith("s") ? dst(c, sf) : xr(c.r.pick(FREE), sf);
    emit(c, `${op} ${rd}, ${rn}, ${src(c, !mW)}, ${ext} #${c.r.range(0, 4)}`);
  }],
  // Add/subtract with carry
  [3, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["adc", "adcs", "sbc", "sbcs"]);
    emit(c, `${op} ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}`);
  }],
  // Logical (immediate)
  [4, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["and", "orr", "eor", "ands"]);
    emit(c, `${op} ${dst(c, sf)}, ${src(c, sf)}, #${hex(bitmask(c.r, sf ? 64 : 32))}`);
  }],
  // Logical (shifted register)
  [5, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["and", "orr", "eor", "ands", "bic", "orn", "eon", "bics"]);
    const sh = c.r.pick(["lsl", "lsr", "asr", "ror"]);
    emit(
      c,
      `${op} ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}, ${sh} #${edgeish(c.r, sf ? 63 : 31)}`,
    );
  }],
  // Move wide
  [4, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["movz", "movn", "movk"]);
    const hw = c.r.int(sf ? 4 : 2) * 16;
    emit(c, `${op} ${dst(c, sf)}, #${hex(BigInt(c.r.int(0x10000)))}, lsl #${hw}`);
  }],
  // Bitfield
  [5, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["sbfm", "bfm", "ubfm"]);
    const m = sf ? 63 : 31;
    emit(c, `${op} ${dst(c, sf)}, ${src(c, sf)}, #${edgeish(c.r, m)}, #${edgeish(c.r, m)}`);
  }],
  // Extract
  [2, "integer", (c) => {
    const sf = c.r.chance(0.5);
    emit(c, `extr ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}, #${edgeish(c.r, sf ? 63 : 31)}`);
  }],
  // Conditional select
  [4, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["csel", "csinc", "csinv", "csneg"]);
    emit(c, `${op} ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}, ${c.r.pick(CONDS)}`);
  }],
  // Conditional compare
  [3, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["ccmp", "ccmn"]);
    const y = c.r.chance(0.5) ? src(c, sf) : `#${c.r.int(32)}`;
    emit(c, `${op} ${src(c, sf)}, ${y}, #${c.r.int(16)}, ${c.r.pick(CONDS)}`);
  }],
  // Multiply
  [4, "integer", (c) => {
    const k = c.r.int(4);
    if (k === 0) {
      const sf = c.r.chance(0.5);
      const op = c.r.pick(["madd", "msub"]);
      emit(c, `${op} ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}, ${src(c, sf)}`);
    } else if (k === 1) {
      const op = c.r.pick(["smaddl", "smsubl", "umaddl", "umsubl"]);
      emit(c, `${op} ${dst(c, true)}, ${src(c, false)}, ${src(c, false)}, ${src(c, true)}`);
    } else {
      const op = c.r.pick(["smulh", "umulh", "mul", "mneg"]);
      emit(c, `${op} ${dst(c, true)}, ${src(c, true)}, ${src(c, true)}`);
    }
  }],
  // Divide and variable shifts
  [4, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const op = c.r.pick(["udiv", "sdiv", "lslv", "lsrv", "asrv", "rorv"]);
    emit(c, `${op} ${dst(c, sf)}, ${src(c, sf)}, ${src(c, sf)}`);
  }],
  // Data processing (1 source)
  [3, "integer", (c) => {
    const sf = c.r.chance(0.5);
    const ops = ["rbit", "rev16", "rev", "clz", "cls"].concat(sf ? ["rev32"] : []);
    emit(c, `${c.r.pick(ops)} ${dst(c, sf)}, ${src(c, sf)}`);
  }],
  // PC-relative addresses
  [1, "integer", (c) => {
    const op = c.r.pick(["adr", "adrp"]);
    emit(c, `${op} ${dst(c, true)}, ${op === "adrp" ? "b_" + c.seq : "."}`);
  }],
  // Loads/stores, unsigned scaled offset
  [5, "load/store", (c) => {
    const s = c.r.pick(SIZES);
    const load = c.r.chance(0.5);
    const a = pickAccess(c, s.bytes, () => mult(0, 255, s.bytes));
    if (!a) return;
    emit(c, `${load ? s.ld : s.st} ${dataReg(c, s.sf, load)}, [${spr(a.base, true)}, #${a.off}]`);
  }],
  // Loads, signed
  [3, "load/store", (c) => {
    const s = c.r.pick([...SIGNED, { op: "ldrsw", bytes: 4 }]);
    const sf = s.op === "ldrsw" || c.r.chance(0.5);
    const a = pickAccess(c, s.bytes, () => mult(0, 255, s.bytes));
    if (!a) return;
    emit(c, `${s.op} ${dst(c, sf)}, [${spr(a.base, true)}, #${a.off}]`);
  }],
  // Unscaled (LDUR/STUR family)
  [3, "load/store", (c) => {
    const k = c.r.int(3);
    const s = c.r.pick(SIZES);
    const a = pickAccess(c, s.bytes, () => mult(-256, 255, s.bytes));
    if (!a) return;
    const m = `[${spr(a.base, true)}, #${a.off}]`;
    if (k === 0) emit(c, `${s.ld.replace("ldr", "ldur")} ${dst(c, s.sf)}, ${m}`);
    else if (k === 1) emit(c, `${s.st.replace("str", "stur")} ${storeSrc(c, s.sf)}, ${m}`);
    else if (s.bytes <= 4) {
      const op = s.bytes === 1 ? "ldursb" : s.bytes === 2 ? "ldursh" : "ldursw";
      emit(c, `${op} ${dst(c, op === "ldursw" || c.r.chance(0.5))}, ${m}`);
    }
  }],
  // Unprivileged (LDTR/STTR family): at EL0 the same as LDUR/STUR
  [1, "load/store", (c) => {
    const s = c.r.pick(SIZES);
    const a = pickAccess(c, s.bytes, () => mult(-256, 255, s.bytes));
    if (!a) return;
    const m = `[${spr(a.base, true)}, #${a.off}]`;
    const k = c.r.int(3);
    if (k === 0) emit(c, `${s.ld.replace("ldr", "ldtr")} ${dst(c, s.sf)}, ${m}`);
    else if (k === 1) emit(c, `${s.st.replace("str", "sttr")} ${storeSrc(c, s.sf)}, ${m}`);
    else if (s.bytes <= 4) {
      const op = s.bytes === 1 ? "ldtrsb" : s.bytes === 2 ? "ldtrsh" : "ldtrsw";
      emit(c, `${op} ${dst(c, op === "ldtrsw" || c.r.chance(0.5))}, ${m}`);
    }
  }],
  // Pre/post-index with writeback
  [4, "load/store", (c) => {
    const s = c.r.pick(SIZES);
    const load = c.r.chance(0.5);
    const pre = c.r.chance(0.5);
    const a = pickWriteback(c, s.bytes, s.bytes, pre, -256, 255);
    if (!a) return;
    const op = load ? s.ld : s.st;
    const rt = dataReg(c, s.sf, load);
    const b = spr(a.base, true);
    emit(c, pre ? `${op} ${rt}, [${b}, #${a.off}]!` : `${op} ${rt}, [${b}], #${a.off}`);
    c.base.set(a.base, c.base.get(a.base)! + BigInt(a.off));
  }],
  // Register offset
  [4, "load/store", (c) => {
    const s = c.r.pick(SIZES);
    const load = c.r.chance(0.5);
    const lg = Math.log2(s.bytes);
    const shift = c.r.chance(0.5) ? lg : 0;
    const ext = c.r.pick(["lsl", "uxtw", "sxtw", "sxtx"]);
    const idx = ext === "uxtw" || ext === "sxtw" ? "w26" : "x26";
    const off = Number(c.x26) << shift;
    const a = pickAccess(c, s.bytes, () => [off]);
    if (!a) return;
    const amt = ext === "lsl" ? ` #${shift}` : shift ? ` #${shift}` : c.r.chance(0.5) ? "" : " #0";
    const mode = ext === "lsl" && shift === 0 && c.r.chance(0.5) ? "" : `, ${ext}${amt}`;
    emit(
      c,
      `${load ? s.ld : s.st} ${dataReg(c, s.sf, load)}, [${spr(a.base, true)}, ${idx}${mode}]`,
    );
  }],
  // Literal loads (the literal sits in the code, skipped over by a branch)
  [1, "load/store", (c) => {
    const name = `P${c.seq}_${c.labels++}`;
    const over = `Q${c.seq}_${c.labels++}`;
    const k = c.r.int(4);
    const ins = k === 0
      ? `ldr ${dst(c, true)}, ${name}`
      : k === 1
      ? `ldr ${dst(c, false)}, ${name}`
      : k === 2
      ? `ldrsw ${dst(c, true)}, ${name}`
      : `prfm pldl1keep, ${name}`;
    emit(c, ins);
    emit(c, `b ${over}`);
    c.body.push(`.balign 8`, `${name}: .quad ${hex(value(c.r))}`, `${over}:`);
  }],
  // Pairs
  [4, "load/store", (c) => {
    const k = c.r.int(3);
    const sf = c.r.chance(0.5);
    const bytes = k === 2 ? 4 : sf ? 8 : 4;
    const load = k === 2 || c.r.chance(0.5);
    const mode = c.r.int(4); // 0 offset, 1 pre, 2 post, 3 non-temporal offset
    const nt = mode === 3 && k !== 2;
    const a = mode === 1 || mode === 2
      ? pickWriteback(c, 2 * bytes, bytes, mode === 1, -64 * bytes, 63 * bytes)
      : pickAccess(c, 2 * bytes, () => mult(-64 * bytes, 63 * bytes, bytes), bytes);
    if (!a) return;
    const r1 = c.r.pick(FREE);
    let r2 = c.r.pick(FREE);
    if (load) { while (r2 === r1) r2 = c.r.pick(FREE); }
    const regSf = k === 2 ? true : sf;
    const t1 = load ? xr(r1, regSf) : storeSrc(c, sf);
    const t2 = load ? xr(r2, regSf) : storeSrc(c, sf);
    const op = k === 2 ? "ldpsw" : nt ? (load ? "ldnp" : "stnp") : load ? "ldp" : "stp";
    const b = spr(a.base, true);
    const m = mode === 1
      ? `[${b}, #${a.off}]!`
      : mode === 2
      ? `[${b}], #${a.off}`
      : `[${b}, #${a.off}]`;
    emit(c, `${op} ${t1}, ${t2}, ${m}`);
    if (mode === 1 || mode === 2) c.base.set(a.base, c.base.get(a.base)! + BigInt(a.off));
  }],
  // Exclusives and acquire/release
  [3, "exclusive", (c) => {
    const k = c.r.int(3);
    if (k === 2) {
      const s = c.r.pick(SIZES);
      const a = pickAccess(c, s.bytes, () => [0]);
      if (!a) return;
      const sfx = s.bytes === 1 ? "b" : s.bytes === 2 ? "h" : "";
      const load = c.r.chance(0.5);
      emit(c, `${load ? "ldar" : "stlr"}${sfx} ${dataReg(c, s.sf, load)}, [${spr(a.base, true)}]`);
      return;
    }
    const pair = k === 1;
    const sf = c.r.chance(0.5);
    const s = pair ? { bytes: sf ? 8 : 4, sf } : c.r.pick(SIZES);
    const total = pair ? s.bytes * 2 : s.bytes;
    const a = pickAccess(c, total, () => [0]);
    if (!a) return;
    const sfx = pair ? "" : s.bytes === 1 ? "b" : s.bytes === 2 ? "h" : "";
    const x = pair ? "xp" : "xr";
    const acq = c.r.chance(0.5);
    const b = spr(a.base, true);
    const r1 = c.r.pick(FREE);
    let r2 = c.r.pick(FREE);
    while (r2 === r1) r2 = c.r.pick(FREE);
    emit(
      c,
      `ld${acq ? "a" : ""}${x}${sfx} ${xr(r1, s.sf)}${pair ? ", " + xr(r2, s.sf) : ""}, [${b}]`,
    );
    // A few register-only instructions in between.
    for (let n = c.r.int(3); n > 0; n--) {
      const sfv = c.r.chance(0.5);
      emit(c, `add ${dst(c, sfv)}, ${xr(c.r.int(31), sfv)}, #${c.r.int(100)}`);
    }
    if (c.r.chance(0.1)) emit(c, "clrex");
    const d1 = c.r.pick(FREE);
    const d2 = c.r.pick(FREE);
    let st = c.r.pick(FREE);
    while (st === d1 || (pair && st === d2)) st = c.r.pick(FREE);
    emit(
      c,
      `st${acq ? "l" : ""}${x}${sfx} w${st}, ${xr(d1, s.sf)}${
        pair ? ", " + xr(d2, s.sf) : ""
      }, [${b}]`,
    );
  }],
  // Prefetch (never faults, never accesses)
  [1, "load/store", (c) => {
    const b = spr(c.r.pick(BASES), true);
    const op = c.r.pick(["pldl1keep", "pstl2strm", "plil3keep"]);
    emit(
      c,
      c.r.chance(0.5)
        ? `prfm ${op}, [${b}, #${c.r.int(64) * 8}]`
        : `prfum ${op}, [${b}, #${c.r.range(-256, 255)}]`,
    );
  }],
  // Branches (forward only)
  [5, "branch", (c) => {
    const k = c.r.int(8);
    // ADR + BR/BLR/RET is two instructions: the target must lie beyond the second.
    const l = forwardLabel(c, k >= 5 ? 2 : 1);
    if (k === 0) emit(c, `b.${c.r.pick(CONDS.slice(0, 14))} ${l}`);
    else if (k === 1) emit(c, `${c.r.pick(["cbz", "cbnz"])} ${src(c, c.r.chance(0.5))}, ${l}`);
    else if (k === 2) {
      emit(c, `${c.r.pick(["tbz", "tbnz"])} ${xr(c.r.int(31), true)}, #${c.r.int(64)}, ${l}`);
    } else if (k === 3) emit(c, `b ${l}`);
    else if (k === 4) emit(c, `bl ${l}`);
    else {
      const t = c.r.pick(FREE.filter((x) => x !== 30 || k !== 6));
      c.body.push(`adr x${t}, ${l}\n${k === 5 ? "br" : k === 6 ? "blr" : "ret"} x${t}`);
      c.count += 2;
    }
  }],
  // System: flags, barriers, hints
  [2, "system", (c) => {
    const k = c.r.int(6);
    if (k === 0) emit(c, `mrs ${dst(c, true)}, nzcv`);
    else if (k === 1) emit(c, `msr nzcv, ${src(c, true)}`);
    else emit(c, c.r.pick(["nop", "dmb ish", "dsb sy", "isb", "clrex", "dmb ld", "sevl"]));
  }],
  // Atomic memory operations (FEAT_LSE) and LDAPR (FEAT_LRCPC): [Xn] only, naturally aligned
  [3, "atomic", (c) => {
    const s = c.r.pick(SIZES);
    const sfx = s.bytes === 1 ? "b" : s.bytes === 2 ? "h" : "";
    const a = pickAccess(c, s.bytes, () => [0]);
    if (!a) return;
    const b = spr(a.base, true);
    const k = c.r.int(10);
    const order = c.r.pick(["", "a", "l", "al"]);
    const rs = c.r.pick(FREE);
    let rt = c.r.pick(FREE);
    while (rt === rs) rt = c.r.pick(FREE);
    if (k < 8) {
      const op = ["add", "clr", "eor", "set", "smax", "smin", "umax", "umin"][k]!;
      // ST<op> is LD<op> with Rt = ZR (no acquire form).
      if (c.r.chance(0.2)) {
        emit(c, `st${op}${order.includes("l") ? "l" : ""}${sfx} ${xr(rs, s.sf)}, [${b}]`);
      } else emit(c, `ld${op}${order}${sfx} ${xr(rs, s.sf)}, ${xr(rt, s.sf)}, [${b}]`);
    } else if (k === 8) emit(c, `swp${order}${sfx} ${xr(rs, s.sf)}, ${xr(rt, s.sf)}, [${b}]`);
    else emit(c, `ldapr${sfx} ${xr(rt, s.sf)}, [${b}]`);
  }],
  // Compare and swap (FEAT_LSE): CAS on 1..8 bytes, CASP on an even register pair
  [2, "atomic", (c) => {
    const order = c.r.pick(["", "a", "l", "al"]);
    if (c.r.chance(0.7)) {
      const s = c.r.pick(SIZES);
      const sfx = s.bytes === 1 ? "b" : s.bytes === 2 ? "h" : "";
      const a = pickAccess(c, s.bytes, () => [0]);
      if (!a) return;
      const rs = c.r.pick(FREE);
      let rt = c.r.pick(FREE);
      while (rt === rs) rt = c.r.pick(FREE);
      emit(c, `cas${order}${sfx} ${xr(rs, s.sf)}, ${xr(rt, s.sf)}, [${spr(a.base, true)}]`);
      return;
    }
    const sf = c.r.chance(0.5);
    const a = pickAccess(c, sf ? 16 : 8, () => [0]);
    if (!a) return;
    const pairs = [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 28];
    const rs = c.r.pick(pairs);
    let rt = c.r.pick(pairs);
    while (rt === rs) rt = c.r.pick(pairs);
    emit(
      c,
      `casp${order} ${xr(rs, sf)}, ${xr(rs + 1, sf)}, ${xr(rt, sf)}, ${xr(rt + 1, sf)}, [${
        spr(a.base, true)
      }]`,
    );
  }],
  // CRC32 and CRC32C (FEAT_CRC32)
  [2, "crc32", (c) => {
    const k = c.r.int(4);
    const op = `crc32${c.r.chance(0.5) ? "c" : ""}${"bhwx"[k]}`;
    emit(c, `${op} ${dst(c, false)}, ${src(c, false)}, ${src(c, k === 3)}`);
  }],
];

const TOTAL_WEIGHT = GENS.reduce((s, g) => s + g[0], 0);

/** The instruction classes the generator emits, for the per-class report. */
export const CLASSES = [...new Set(GENS.map((g) => g[1]))];

function pickGen(r: Rng): [string, Gen] {
  let n = r.int(TOTAL_WEIGHT);
  for (const [w, cls, g] of GENS) {
    if (n < w) return [cls, g];
    n -= w;
  }
  return [GENS[0]![1], GENS[0]![2]];
}

function scratchAddr(i: number): bigint {
  return DATA_BASE + BigInt(i * SCRATCH_BYTES);
}

function initialState(r: Rng, scratch: bigint, x26: bigint): bigint[] {
  const s: bigint[] = [];
  for (let i = 0; i < 31; i++) s.push(value(r));
  s[24] = scratch + 64n;
  s[25] = scratch + 128n;
  s[26] = x26;
  s.push(scratch + 192n); // sp
  s.push(BigInt(r.int(16)) << 28n); // nzcv
  return s;
}

function placeLabels(c: Ctx): string[] {
  // Instruction ordinals count instruction lines; a line may hold several instructions that
  // must not be entered in the middle (ADR + BR), so a label aimed inside it goes before it.
  const out: string[] = [];
  let ord = 0;
  for (const line of c.body) {
    const isInsn = !line.startsWith(".") && !line.endsWith(":") && !/^[A-Z]\d+_\d+: /.test(line);
    if (isInsn) {
      const n = line.split("\n").length;
      out.push(...c.pending.filter((p) => p[1] >= ord && p[1] < ord + n).map((p) => `${p[0]}:`));
      ord += n;
    }
    out.push(line);
  }
  // Labels at or past the end land on the epilogue label.
  out.push(...c.pending.filter((p) => p[1] >= ord).map((p) => `${p[0]}:`));
  return out;
}

/** Generates `count` random sequences from `seed`. */
export function generate(seed: bigint, count: number, firstIndex = 0): Sequence[] {
  const r = new Rng(seed);
  const out: Sequence[] = [];
  for (let k = 0; k < count; k++) {
    const i = firstIndex + k;
    const sb = scratchAddr(i);
    const x26 = BigInt(r.pick([0, 8, 16]));
    const init = initialState(r, sb, x26);
    const c: Ctx = {
      r,
      seq: i,
      body: [],
      base: new Map([[24, init[24]!], [25, init[25]!], [31, init[31]!]]),
      scratchBase: sb,
      x26,
      labels: 0,
      pending: [],
      count: 0,
    };
    emit(c, "clrex");
    const n = r.range(8, 24);
    const classes: Record<string, number> = {};
    while (c.count < n) {
      const [cls, gen] = pickGen(r);
      const before = c.count;
      gen(c);
      if (c.count > before) classes[cls] = (classes[cls] ?? 0) + c.count - before;
    }
    const scratch = new Uint8Array(SCRATCH_BYTES);
    for (let j = 0; j < SCRATCH_BYTES; j += 8) {
      new DataView(scratch.buffer).setBigUint64(j, value(r), true);
    }
    out.push({ index: i, body: placeLabels(c), init, scratch, classes });
  }
  return out;
}

/** Hand-written edge cases: [body, register overrides, nzcv]. Registers default to 0. */
export const EDGE_CASES: {
  name: string;
  body: string[];
  regs: Record<number, bigint>;
  nzcv?: number;
}[] = [
  {
    name: "adds 64 signed overflow",
    body: ["adds x0, x1, x2"],
    regs: { 1: 0x7fff_ffff_ffff_ffffn, 2: 1n },
  },
  {
    name: "adds 64 carry out",
    body: ["adds x0, x1, x2"],
    regs: { 1: 0xffff_ffff_ffff_ffffn, 2: 1n },
  },
  { name: "adds 32 overflow", body: ["adds w0, w1, w2"], regs: { 1: 0x7fff_ffffn, 2: 1n } },
  {
    name: "adds 32 carry, high bits ignored",
    body: ["adds w0, w1, w2"],
    regs: { 1: 0xdead_ffff_ffffn, 2: 1n },
  },
  { name: "subs 0-1 borrow", body: ["subs x0, x1, x2"], regs: { 1: 0n, 2: 1n } },
  {
    name: "subs INT_MIN-1 overflow",
    body: ["subs x0, x1, #1"],
    regs: { 1: 0x8000_0000_0000_0000n },
  },
  { name: "cmp equal sets Z and C", body: ["cmp x1, x2"], regs: { 1: 5n, 2: 5n } },
  { name: "negs of INT_MIN", body: ["negs x0, x1"], regs: { 1: 0x8000_0000_0000_0000n } },
  {
    name: "adc with carry in",
    body: ["adcs x0, x1, x2"],
    regs: { 1: 0xffff_ffff_ffff_ffffn, 2: 0n },
    nzcv: 2,
  },
  { name: "sbc without carry", body: ["sbcs w0, w1, w2"], regs: { 1: 0n, 2: 0n }, nzcv: 0 },
  {
    name: "lsl #63",
    body: ["lsl x0, x1, #63", "lsr x2, x1, #63", "asr x3, x4, #63"],
    regs: { 1: 3n, 4: 1n << 63n },
  },
  {
    name: "lsl/lsr/asr/ror 32 #31",
    body: ["lsl w0, w1, #31", "lsr w2, w3, #31", "asr w4, w3, #31", "ror w5, w1, #31"],
    regs: { 1: 3n, 3: 0x8000_0000n },
  },
  {
    name: "variable shifts mod datasize",
    body: ["lslv x0, x1, x2", "lsrv w3, w1, w2", "asrv x4, x5, x6", "rorv w7, w1, w6"],
    regs: { 1: 0x1234_5678_9abc_def0n, 2: 65n, 5: 1n << 63n, 6: 0xffn },
  },
  ...EXTENDS.map((e) => ({
    name: `add extended ${e} #4`,
    body: [`add x0, x1, ${e.endsWith("x") ? "x2" : "w2"}, ${e} #4`, `sub w3, w1, w2, ${e} #1`],
    regs: { 1: 0x1000n, 2: 0xffff_ffff_8765_8381n },
  })),
  {
    name: "bitfield lsb/width extremes",
    body: [
      "ubfx x0, x1, #0, #64",
      "sbfx x2, x1, #63, #1",
      "ubfx w3, w1, #31, #1",
      "sbfx w4, w1, #0, #32",
      "bfi x5, x1, #63, #1",
      "bfxil w6, w1, #0, #1",
    ],
    regs: { 1: 0x8000_0000_8000_0001n, 5: 0x1234n, 6: 0xffff_ffffn },
  },
  {
    name: "raw bitfield immr=imms=63 and 0",
    body: [
      "sbfm x0, x1, #63, #63",
      "ubfm x2, x1, #0, #0",
      "bfm x3, x1, #63, #0",
      "sbfm w4, w1, #31, #0",
    ],
    regs: { 1: 0x8000_0000_0000_0001n, 3: 0xaaaan },
  },
  {
    name: "extr lsb 0 and 63",
    body: ["extr x0, x1, x2, #0", "extr x3, x1, x2, #63", "extr w4, w1, w2, #31"],
    regs: { 1: 0x1111_2222_3333_4444n, 2: 0xaaaa_bbbb_cccc_ddddn },
  },
  {
    name: "udiv/sdiv by zero",
    body: ["udiv x0, x1, x2", "sdiv x3, x1, x2", "udiv w4, w1, w2", "sdiv w5, w1, w2"],
    regs: { 1: 1234n, 2: 0n },
  },
  {
    name: "sdiv INT_MIN / -1",
    body: ["sdiv x0, x1, x2", "sdiv w3, w4, w2"],
    regs: { 1: 0x8000_0000_0000_0000n, 2: 0xffff_ffff_ffff_ffffn, 4: 0x8000_0000n },
  },
  {
    name: "smulh/umulh extremes",
    body: ["smulh x0, x1, x1", "umulh x2, x1, x1", "smulh x3, x1, x4"],
    regs: { 1: 0x8000_0000_0000_0000n, 4: 0xffff_ffff_ffff_ffffn },
  },
  {
    name: "madd/msub wrap",
    body: [
      "madd x0, x1, x2, x3",
      "msub w4, w1, w2, w3",
      "smaddl x5, w1, w2, x3",
      "umsubl x6, w1, w2, x3",
    ],
    regs: { 1: 0xffff_ffff_ffff_ffffn, 2: 0x8000_0001n, 3: 7n },
  },
  {
    name: "clz/cls of 0 and -1",
    body: ["clz x0, x1", "cls x2, x1", "clz w3, w4", "cls w5, w4", "cls x6, x7"],
    regs: { 1: 0n, 4: 0xffff_ffff_ffff_ffffn, 7: 0x3fffn },
  },
  {
    name: "rbit/rev/rev16/rev32",
    body: [
      "rbit x0, x1",
      "rev x2, x1",
      "rev16 x3, x1",
      "rev32 x4, x1",
      "rev w5, w1",
      "rev16 w6, w1",
      "rbit w7, w1",
    ],
    regs: { 1: 0x0123_4567_89ab_cdefn },
  },
  {
    name: "ccmp false takes immediate flags",
    body: ["ccmp x1, x2, #0b1010, eq"],
    regs: { 1: 1n, 2: 2n },
    nzcv: 0,
  },
  {
    name: "ccmn true computes flags",
    body: ["ccmn w1, #31, #0, ne"],
    regs: { 1: 0xffff_ffe1n },
    nzcv: 0,
  },
  {
    name: "csneg/csinv/csinc",
    body: ["csneg x0, x1, x2, eq", "csinv w3, w1, w2, eq", "csinc x4, x1, x2, ne"],
    regs: { 1: 5n, 2: 0x8000_0000_0000_0000n },
    nzcv: 0,
  },
  {
    name: "logical imm 32 high bits cleared",
    body: ["orr w0, w1, #0x55555555", "eor w2, w1, #0xff00ff00", "ands w3, w1, #0x80000000"],
    regs: { 1: 0xffff_ffff_8000_0000n },
  },
  {
    name: "movk keeps other halves; movn 32",
    body: ["movk x0, #0xbeef, lsl #48", "movn w1, #0", "movn x2, #0xffff, lsl #16"],
    regs: { 0: 0x1111_2222_3333_4444n },
  },
  {
    name: "ldxr/stxr success then failure",
    body: [
      "ldxr x0, [x24]",
      "add x0, x0, #1",
      "stxr w1, x0, [x24]",
      "stxr w2, x0, [x24]",
      "ldr x3, [x24]",
    ],
    regs: {},
  },
  {
    name: "stxr to another address fails",
    body: [
      "ldxr x0, [x24]",
      "stxr w1, x0, [x25]",
      "ldaxp x2, x3, [x24]",
      "stlxp w4, x3, x2, [x24]",
      "ldp x5, x6, [x24]",
    ],
    regs: {},
  },
  {
    name: "ldxrb/stxrh size mismatch fails",
    body: [
      "ldxrb w0, [x24]",
      "stxrb w1, w0, [x24]",
      "ldxrh w2, [x24]",
      "clrex",
      "stxrh w3, w2, [x24]",
    ],
    regs: {},
  },
  {
    name: "sign extending loads",
    body: [
      "ldrsb x0, [x24]",
      "ldrsb w1, [x24]",
      "ldrsh x2, [x24]",
      "ldrsh w3, [x24]",
      "ldrsw x4, [x24]",
      "ldpsw x5, x6, [x24]",
    ],
    regs: {},
  },
  {
    name: "pre/post index writeback on sp",
    body: [
      "stp x1, x2, [sp, #-16]!",
      "ldp x3, x4, [sp], #16",
      "str x1, [sp, #-32]!",
      "ldr x5, [sp], #32",
    ],
    regs: { 1: 0x1111n, 2: 0x2222n },
  },
];

/** Registers and memory for an edge case, placed like sequence `index`. */
export function edgeSequence(index: number, e: (typeof EDGE_CASES)[number], r: Rng): Sequence {
  const sb = scratchAddr(index);
  const init = initialState(r, sb, 8n);
  for (let i = 0; i < 31; i++) if (![24, 25, 26].includes(i)) init[i] = e.regs[i] ?? 0n;
  init[32] = BigInt(e.nzcv ?? 0) << 28n;
  const scratch = new Uint8Array(SCRATCH_BYTES);
  for (let j = 0; j < SCRATCH_BYTES; j += 8) {
    new DataView(scratch.buffer).setBigUint64(j, value(r), true);
  }
  return {
    index,
    body: ["clrex", ...e.body],
    init,
    scratch,
    classes: { "edge case": e.body.length },
  };
}

/** The harness: state table, scratch areas and output table in .data; one block per sequence. */
export function harness(seqs: Sequence[]): string {
  const n = seqs.length;
  const L: string[] = [];
  L.push(".text", ".globl _start", "_start:");
  for (const s of seqs) {
    const st = `st+${s.index * STATE_WORDS * 8}`;
    const out = `out+${s.index * STATE_WORDS * 8}`;
    L.push(`adrp x30, ${st}`, `add x30, x30, :lo12:${st}`);
    L.push("ldr x0, [x30, #256]", "msr nzcv, x0", "ldr x0, [x30, #248]", "mov sp, x0");
    for (let r = 0; r < 30; r += 2) L.push(`ldp x${r}, x${r + 1}, [x30, #${r * 8}]`);
    L.push("ldr x30, [x30, #240]");
    L.push(`b_${s.index}:`, ...s.body, `e_${s.index}:`);
    L.push("msr tpidr_el0, x0", `adrp x0, ${out}`, `add x0, x0, :lo12:${out}`);
    L.push(
      "str x1, [x0, #8]",
      "mrs x1, nzcv",
      "str x1, [x0, #256]",
      "mov x1, sp",
      "str x1, [x0, #248]",
    );
    for (let r = 2; r < 30; r += 2) L.push(`stp x${r}, x${r + 1}, [x0, #${r * 8}]`);
    L.push("str x30, [x0, #240]", "mrs x1, tpidr_el0", "str x1, [x0]");
  }
  const outBytes = n * STATE_WORDS * 8;
  // write(1, out, outBytes); write(1, scratch, n * 256); exit(0)
  for (const [sym, len] of [["out", outBytes], ["scratch", n * SCRATCH_BYTES]] as const) {
    L.push(
      "mov x0, #1",
      `adrp x1, ${sym}`,
      `add x1, x1, :lo12:${sym}`,
      `ldr x2, =${len}`,
      "mov x8, #64",
      "svc #0",
    );
  }
  L.push("mov x0, #0", "mov x8, #93", "svc #0", ".ltorg");
  L.push(".data", ".balign 4096", "scratch:");
  for (const s of seqs) L.push(`.byte ${Array.from(s.scratch).join(",")}`);
  L.push(".balign 16", "st:");
  for (const s of seqs) L.push(`.quad ${s.init.map(hex).join(",")}`);
  L.push(".balign 16", "out:", `.zero ${outBytes}`);
  return L.join("\n") + "\n";
}
