/**
 * Work bounded by the stream's real content (issue 18, 1a/1b): streams crafted to make the
 * importer loop or allocate far beyond their size fail with a one-line "qemu/budget" or
 * "qemu/ram-size" error naming the budget, in well under 5 s and 512 MB of RSS, or import
 * with memory that does not grow with the amplification.
 */
import { assert, assertEquals } from "@std/assert";
import { importQemuStream, importQemuStreamFrom } from "../../snapshots/import/qemu/mod.ts";
import { QEMU_BUDGETS } from "../../snapshots/limits.ts";
import { SnapshotError } from "../../snapshots/mod.ts";
import { expectRefusal, StreamBytes } from "./stream_support.ts";

const te = new TextEncoder();

/** QEVM header + CONFIGURATION "virt-7.2". */
function header(): StreamBytes {
  return new StreamBytes().be32(0x5145564d).be32(3).u8(0x07).be32(8).raw(te.encode("virt-7.2"));
}

function finish(o: StreamBytes, vmdesc: unknown): Uint8Array {
  o.u8(0x00); // QEMU_VM_EOF
  const j = te.encode(JSON.stringify(vmdesc));
  o.u8(0x06).be32(j.length).raw(j);
  return o.bytes();
}

/**
 * The refusal, and what it cost in memory: RSS growth across the import, because the suite's
 * parallel test modules share this process and its absolute RSS is theirs too.
 */
async function expectError(input: Uint8Array, code: string, says: RegExp): Promise<void> {
  const before = Deno.memoryUsage().rss;
  await expectRefusal(() => importQemuStream(input), code, says);
  const grew = Deno.memoryUsage().rss - before;
  assert(grew < 256 * 1024 * 1024, `RSS grew by ${grew} bytes`);
}

Deno.test("qemu budget: zero-byte fields in a 65536-element struct array (array_len × fields)", async () => {
  // A 64 KiB "cpu" section whose vmdesc describes each 1-byte element as 2,000 fields, all
  // but one of 0 bytes: 131 million field visits from 64 KiB of stream.
  const n = 65536;
  const fields = [
    ...Array.from({ length: 1999 }, (_, i) => ({ name: `z${i}`, type: "uint8", size: 0 })),
    { name: "b", type: "uint8", size: 1 },
  ];
  const o = header().u8(0x04).be32(1).str8("cpu").be32(0).be32(22).raw(new Uint8Array(n));
  const input = finish(o, {
    page_size: 4096,
    devices: [{
      name: "cpu",
      instance_id: 0,
      vmsd_name: "cpu",
      version: 22,
      fields: [{
        name: "a",
        type: "struct",
        size: 1,
        array_len: n,
        struct: { vmsd_name: "e", version: 1, fields },
      }],
    }],
  });
  assert(input.length < 200_000, `${input.length} bytes`);
  await expectError(input, "qemu/budget", /zeroByteElements/);
});

Deno.test("qemu budget: the same array in a section the importer does not map is stepped over", async () => {
  const n = 65536;
  const o = header().u8(0x04).be32(1).str8("pl011").be32(0).be32(2).raw(new Uint8Array(n));
  const input = finish(o, {
    page_size: 4096,
    devices: [{
      name: "pl011",
      instance_id: 0,
      vmsd_name: "pl011",
      version: 2,
      fields: [{
        name: "a",
        type: "struct",
        size: 1,
        array_len: n,
        struct: {
          vmsd_name: "e",
          version: 1,
          fields: Array.from(
            { length: 2000 },
            (_, i) => ({ name: `f${i}`, type: "uint8", size: 0 }),
          ),
        },
      }],
    }],
  });
  const t0 = performance.now();
  // Stepped over by its 65536 × 1 described bytes; then there is no cpu section.
  await expectError(input, "qemu/cpu", /no cpu section/);
  assert(performance.now() - t0 < 1000);
});

/** A RAM section listing `blocks`, then `records` zero-page records with fill byte `fill`. */
function zeroFills(block: string, records: number, fill: number): Uint8Array {
  const o = header().u8(0x01).be32(0).str8("ram").be32(0).be32(4);
  o.be64((4n << 30n) | 0x04n).str8(block).be64(4n << 30n);
  for (let i = 0; i < records; i++) {
    o.be64((BigInt(i) << 12n) | 0x02n | (i ? 0x20n : 0n));
    if (i === 0) o.str8(block);
    o.u8(fill);
  }
  o.be64(0x10n); // EOS
  return finish(o, { page_size: 4096, devices: [] });
}

Deno.test("qemu budget: 1.8 MB of non-zero zero-page fills into guest RAM hit the page cap", async () => {
  // 200,000 9-byte records would be 800 MB of pages; they share one filled page and stop at
  // the 256 MiB cap on kept guest pages.
  const input = zeroFills("mach-virt.ram", 200_000, 0xff);
  assert(input.length < 2_000_000);
  await expectError(input, "qemu/ram-size", /mach-virt\.ram.*256|268435456/);
});

Deno.test("qemu budget: non-zero fills in a block that is not guest RAM cost no pages", async () => {
  // The same records into a flash block: counted, never kept (before, ~1.4 GB from 180 KB).
  const before = Deno.memoryUsage().rss;
  await expectError(zeroFills("virt.flash0", 200_000, 0xff), "qemu/cpu", /no cpu section/);
  assert(Deno.memoryUsage().rss - before < 128 * 1024 * 1024);
});

Deno.test("qemu budget: the non-zero fill budget is named when exceeded", () => {
  const input = zeroFills("virt.flash0", 40, 0x01);
  let err: unknown;
  try {
    importQemuStream(input, { budgets: { nonZeroFills: 10 } });
  } catch (e) {
    err = e;
  }
  assert(err instanceof SnapshotError);
  assertEquals(err.code, "qemu/budget");
  assert(/nonZeroFills/.test(err.message), err.message);
});

Deno.test("qemu budget: device state after the RAM sections is bounded while streaming", async () => {
  // A FULL section followed by endless bytes: the stream is refused once the device-state
  // budget is passed, without reading the rest.
  let sent = 0;
  async function* endless() {
    yield Uint8Array.from(header().u8(0x04).be32(1).str8("cpu").be32(0).be32(22).parts);
    for (;;) {
      sent += 1 << 20;
      yield new Uint8Array(1 << 20);
    }
  }
  let err: unknown;
  try {
    await importQemuStreamFrom(endless(), { budgets: { deviceStateBytes: 4 << 20 } });
  } catch (e) {
    err = e;
  }
  assert(err instanceof SnapshotError);
  assertEquals(err.code, "qemu/budget");
  assert(/deviceStateBytes/.test(err.message), err.message);
  assert(sent < 16 << 20, `read ${sent} bytes`);
});

Deno.test("qemu budget: every budget is a positive number", () => {
  for (const [k, v] of Object.entries(QEMU_BUDGETS)) assert(v > 0, k);
});
