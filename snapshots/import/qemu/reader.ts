/**
 * A bounds-checked big-endian cursor over a QEMU migration stream (migration/qemu-file.c writes
 * every integer big-endian). Every read checks the remaining length first, so a hostile length
 * field fails at once with the byte offset instead of allocating or running past the end.
 */
import { SnapshotError } from "../../errors.ts";

export function fail(code: string, where: string, detail: string): never {
  throw new SnapshotError(code, where, detail);
}

export class Reader {
  pos: number;
  constructor(readonly bytes: Uint8Array, start = 0, readonly end = bytes.length) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  /** Fails unless `n` more bytes are present; `what` names the field being read. */
  need(n: number, what: string): void {
    if (n > this.remaining) {
      fail(
        "qemu/truncated",
        `byte ${this.pos}`,
        `${what} needs ${n} byte(s) but only ${this.remaining} remain before byte ${this.end}`,
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
