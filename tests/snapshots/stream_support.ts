/**
 * Shared by the QEMU stream tests: a byte builder for hand-made stream pieces (big-endian, as
 * migration/qemu-file.c writes) and the one way a refused input is checked (a SnapshotError
 * with the stable code, a message that locates the fault, one line, in bounded time).
 */
import { assert } from "@std/assert";
import { SnapshotError } from "../../snapshots/mod.ts";

const te = new TextEncoder();

export class StreamBytes {
  parts: number[] = [];
  u8(v: number) {
    this.parts.push(v & 0xff);
    return this;
  }
  be32(v: number) {
    for (let s = 24; s >= 0; s -= 8) this.u8(v >>> s);
    return this;
  }
  be64(v: bigint) {
    for (let s = 56n; s >= 0n; s -= 8n) this.u8(Number((v >> s) & 0xffn));
    return this;
  }
  /** QEMU's u8 length + bytes string (idstr, RAM block names). */
  str8(s: string) {
    this.u8(s.length);
    for (const b of te.encode(s)) this.u8(b);
    return this;
  }
  raw(b: Uint8Array | number[]) {
    for (const x of b) this.u8(x);
    return this;
  }
  bytes(): Uint8Array {
    return Uint8Array.from(this.parts);
  }
}

/**
 * Runs `f` and checks it is refused: a SnapshotError whose code starts with `code` (an exact
 * code, or a family such as "qemu/"), whose message matches `says`, on one line, within `ms`.
 */
export async function expectRefusal(
  f: () => unknown,
  code: string,
  says: RegExp,
  ms = 5000,
): Promise<SnapshotError> {
  const t0 = performance.now();
  let err: unknown;
  try {
    await f();
  } catch (e) {
    err = e;
  }
  const took = performance.now() - t0;
  assert(err instanceof SnapshotError, `expected a SnapshotError, got ${err}`);
  assert(err.code.startsWith(code), `code ${err.code}, wanted ${code}: ${err.message}`);
  assert(says.test(err.message), `message "${err.message}" does not match ${says}`);
  assert(!err.message.includes("\n"), "one line");
  assert(took < ms, `took ${took.toFixed(0)} ms`);
  return err;
}
