/**
 * A bounds-checked big-endian cursor over a QEMU migration stream (migration/qemu-file.c writes
 * every integer big-endian). Every read checks the remaining length first, so a hostile length
 * field fails at once with the byte offset instead of allocating or running past the end.
 */
import { SnapshotError } from "../../errors.ts";
import type { QemuBudgets } from "../../limits.ts";

export function fail(code: string, where: string, detail: string): never {
  throw new SnapshotError(code, where, detail);
}

/** Counts work a stream asks for against QEMU_BUDGETS (snapshots/limits.ts). */
export class Budget {
  private used: Record<string, number> = {};
  constructor(readonly limits: QemuBudgets) {}

  /** `where` is called only on failure (this runs once per field element). */
  spend(name: keyof QemuBudgets, n: number, where: () => string): void {
    const used = (this.used[name] ?? 0) + n;
    this.used[name] = used;
    if (used > this.limits[name]) {
      fail(
        "qemu/budget",
        where(),
        `the stream asks for more than ${this.limits[name]} ${name} (QEMU_BUDGETS.${name})`,
      );
    }
  }

  /** What was spent so far, by budget name. */
  spent(): Record<string, number> {
    return { ...this.used };
  }
}

export class Reader {
  pos: number;
  /**
   * `base` is the stream offset of bytes[0] when `bytes` is a window of a longer stream, so
   * every message names the offset in the whole stream.
   */
  constructor(
    readonly bytes: Uint8Array,
    start = 0,
    readonly end = bytes.length,
    readonly base = 0,
  ) {
    this.pos = start;
  }

  /** The stream offset of window position `p`. */
  abs(p: number): number {
    return this.base + p;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Fails unless `n` more bytes are present; `what` names the field being read. */
  need(n: number, what: string): void {
    if (n > this.remaining) {
      fail(
        "qemu/truncated",
        `byte ${this.abs(this.pos)}`,
        `${what} needs ${n} byte(s) but only ${this.remaining} remain before byte ${
          this.abs(this.end)
        }`,
      );
    }
  }

  peek(): number {
    this.need(1, "a record type");
    return this.bytes[this.pos];
  }

  u8(what: string): number {
    this.need(1, what);
    return this.bytes[this.pos++];
  }

  be32(what: string): number {
    this.need(4, what);
    const b = this.bytes, p = this.pos;
    this.pos += 4;
    return ((b[p] << 24) | (b[p + 1] << 16) | (b[p + 2] << 8) | b[p + 3]) >>> 0;
  }

  be64(what: string): bigint {
    this.need(8, what);
    const hi = this.be32(what);
    const lo = this.be32(what);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** An unsigned big-endian integer of 1..8 bytes. */
  beN(n: number, what: string): bigint {
    this.need(n, what);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.bytes[this.pos + i]);
    this.pos += n;
    return v;
  }

  /** Skips `n` bytes (which must be present). */
  skip(n: number, what: string): void {
    this.need(n, what);
    this.pos += n;
  }

  /** `n` bytes as a view into the stream (no copy). */
  take(n: number, what: string): Uint8Array {
    this.need(n, what);
    const out = this.bytes.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  /** A `u8 len` + bytes string (QEMU's idstr and block names), as Latin-1 text. */
  str8(what: string): string {
    const n = this.u8(`${what} length`);
    return latin1(this.take(n, what));
  }
}

export function latin1(b: Uint8Array): string {
  let s = "";
  for (const c of b) s += String.fromCharCode(c);
  return s;
}
