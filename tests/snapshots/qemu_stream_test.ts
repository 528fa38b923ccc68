/**
 * The QEMU importer reading a stream chunk by chunk (a file, a pipe, a decompressor) gives the
 * snapshot it gives for the same bytes held whole, at any chunk size, including chunks that
 * split every record and page.
 */
import { assert, assertEquals } from "@std/assert";
import { importQemuStream, importQemuStreamFrom } from "../../snapshots/import/qemu/mod.ts";
import { encodeSnapshot, SnapshotError } from "../../snapshots/mod.ts";
import { COMMITTED, specName } from "../fixtures/qemu/make.ts";

const load = (name: string) =>
  Deno.readFileSync(new URL(`../fixtures/qemu/${name}.qemu`, import.meta.url));

async function* chunked(b: Uint8Array, size: number) {
  for (let i = 0; i < b.length; i += size) yield b.slice(i, i + size);
}

for (const spec of COMMITTED) {
  for (const size of [13, 4093, 65536, 1 << 20]) {
    Deno.test(`qemu stream: ${specName(spec)} in ${size}-byte chunks equals the whole import`, async () => {
      const b = load(specName(spec));
      for (const memory of [true, false]) {
        const whole = encodeSnapshot(importQemuStream(b, { memory }));
        const streamed = encodeSnapshot(await importQemuStreamFrom(chunked(b, size), { memory }));
        assertEquals(streamed, whole, `memory ${memory}`);
      }
    });
  }
}

Deno.test("qemu stream: a stream cut inside RAM fails with the stream offset", async () => {
  const b = load(specName(COMMITTED[0])).subarray(0, 200_000);
  let err: unknown;
  try {
    await importQemuStreamFrom(chunked(b, 4096));
  } catch (e) {
    err = e;
  }
  assert(err instanceof SnapshotError, String(err));
  assertEquals(err.code, "qemu/truncated");
  assert(/byte 1\d{5}/.test(err.message), err.message);
});
