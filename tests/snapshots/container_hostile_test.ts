/**
 * Containers around a QEMU stream (gzip, xz, zstd; libvirt save images) and the VMM state files
 * rollsafe recognises but does not import (Firecracker snapshot state, Cloud Hypervisor
 * state.json): real compressors on the committed stream, hostile containers with bounded time
 * and output, one-line errors naming the container.
 */
import { assert, assertEquals } from "@std/assert";
import { importSnapshot, importSnapshotFrom } from "../../snapshots/import/mod.ts";
import { encodeSnapshot, SnapshotError } from "../../snapshots/mod.ts";
import { commandRuns, type Oracle, oracleTest } from "../support/oracle.ts";
import { expectRefusal } from "./stream_support.ts";

const stream = Deno.readFileSync(
  new URL("../fixtures/qemu/virt-gicv3-max-smp2.qemu", import.meta.url),
);
const te = new TextEncoder();

const XZ: Oracle = {
  name: "xz",
  install: "apt-get install xz-utils",
  available: () => commandRuns("xz"),
};
const ZSTD: Oracle = {
  name: "zstd",
  install: "apt-get install zstd",
  available: () => commandRuns("zstd"),
};

async function compress(cmd: string[], input: Uint8Array): Promise<Uint8Array> {
  const c = new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "piped", stdout: "piped" })
    .spawn();
  const w = c.stdin.getWriter();
  await w.write(input);
  await w.close();
  return (await c.output()).stdout;
}

/** The snapshot without source.extra's container note, for comparing with the bare import. */
async function bare(b: Uint8Array): Promise<Uint8Array> {
  const s = await importSnapshot(b);
  s.source!.extra.delete("container");
  s.source!.extra.delete("libvirt_save");
  return encodeSnapshot(s);
}

function expectError(p: Promise<unknown>, code: string, says: RegExp, ms = 5000) {
  return expectRefusal(() => p, code, says, ms);
}

const whole = await bare(stream);

Deno.test("containers: gzip-compressed stream (DecompressionStream) imports as the bare one", async () => {
  const gz = new Uint8Array(
    await new Response(new Blob([stream]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  assertEquals(await bare(gz), whole);
  assertEquals((await importSnapshot(gz)).source!.extra.get("container"), "gzip");
});

for (
  const [oracle, cmd] of [[XZ, ["xz", "-0", "-c"]], [ZSTD, ["zstd", "-1", "-q", "-c"]]] as const
) {
  oracleTest({
    name: `containers: ${oracle.name}-compressed stream imports as the bare one`,
    needs: [oracle],
    fn: async () => {
      const c = await compress([...cmd], stream);
      assertEquals(await bare(c), whole);
    },
  });
  oracleTest({
    name: `containers: ${oracle.name} bomb (128 MiB of zeros) stops at once, decompressor killed`,
    needs: [oracle],
    fn: async () => {
      const zeros = new Uint8Array(1 << 20);
      async function* gib() {
        for (let i = 0; i < 128; i++) yield zeros;
      }
      const c = new Deno.Command(cmd[0], { args: cmd.slice(1), stdin: "piped", stdout: "piped" })
        .spawn();
      const feed = ReadableStream.from(gib()).pipeTo(c.stdin);
      const bomb = (await c.output()).stdout;
      await feed;
      assert(bomb.length < 2 << 20, `${bomb.length} bytes`);
      await expectError(importSnapshot(bomb), "input/format", /not a rollsafe snapshot/);
    },
  });
}

Deno.test("containers: decompressed output is capped", async () => {
  const gz = new Uint8Array(
    await new Response(new Blob([stream]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  await expectError(
    importSnapshot(gz, { maxBytes: 100_000 }),
    "input/decompressed-size",
    /gzip input decompresses to more than 100000 bytes/,
  );
});

Deno.test("containers: damaged gzip is one line", async () => {
  const bad = Uint8Array.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3, 4, 5, 6, 7, 8]);
  await expectError(importSnapshot(bad), "input/gzip", /not valid gzip data/);
});

/** A libvirt header (host order, little-endian) + XML + the stream. */
function libvirt(xml: string, opts: { magic?: string; version?: number; format?: number } = {}) {
  const x = te.encode(xml + "\0");
  const out = new Uint8Array(92 + x.length + stream.length);
  out.set(te.encode(opts.magic ?? "LibvirtQemudSave"));
  const dv = new DataView(out.buffer);
  dv.setUint32(16, opts.version ?? 2, true);
  dv.setUint32(20, x.length, true);
  dv.setUint32(24, 1, true);
  dv.setUint32(28, opts.format ?? 0, true);
  out.set(x, 92);
  out.set(stream, 92 + x.length);
  return out;
}

const DOMAIN = "<domain type='qemu'><name>t</name><os><type arch='aarch64' machine='virt-7.2'>" +
  "hvm</type></os><cpu mode='custom' match='exact'><model fallback='forbid'>max</model></cpu>" +
  "</domain>";

Deno.test("containers: libvirt header layout (hand-made) is unwrapped, metadata kept", async () => {
  const s = await importSnapshot(libvirt(DOMAIN));
  const meta = s.source!.extra.get("libvirt_save") as Map<string, unknown>;
  assertEquals(meta.get("machine"), "virt-7.2");
  assertEquals(meta.get("cpu_model"), "max");
  assertEquals(meta.get("cpu_mode"), "custom");
  assertEquals(await bare(libvirt(DOMAIN)), whole);
});

Deno.test("containers: libvirt XML bomb is never expanded", async () => {
  // Billion laughs: rollsafe reads two attributes by text matching and never expands entities.
  let ents = '<!ENTITY l0 "lol">';
  for (let i = 1; i < 10; i++) ents += `<!ENTITY l${i} "${`&l${i - 1};`.repeat(10)}">`;
  const xml = `<?xml version="1.0"?><!DOCTYPE domain [${ents}]>` +
    DOMAIN.replace("<name>t</name>", "<name>&l9;</name>");
  // It is not a <domain> document at its start, so it is refused as such, fast.
  await expectError(importSnapshot(libvirt(xml)), "libvirt/xml", /<domain>/, 1000);
});

const HOSTILE: [string, () => Uint8Array, string, RegExp][] = [
  ["truncated header", () => te.encode("LibvirtQemudSave\x02\0\0"), "libvirt/truncated", /92/],
  [
    "partial save",
    () => libvirt(DOMAIN, { magic: "LibvirtQemudPart" }),
    "libvirt/partial",
    /not finished/,
  ],
  ["version 7", () => libvirt(DOMAIN, { version: 7 }), "libvirt/version", /version 7/],
  ["format 9", () => libvirt(DOMAIN, { format: 9 }), "libvirt/format", /format 9/],
  ["bzip2 format", () => libvirt(DOMAIN, { format: 2 }), "libvirt/format", /bzip2/],
  [
    "XML length above the cap",
    () => {
      const b = libvirt(DOMAIN);
      new DataView(b.buffer).setUint32(20, 0x7fff_ffff, true);
      return b;
    },
    "libvirt/xml-size",
    /cap/,
  ],
  [
    "XML length past the end",
    () => libvirt(DOMAIN).subarray(0, 120),
    "libvirt/truncated",
    /declares/,
  ],
  ["gzip format with a raw stream", () => libvirt(DOMAIN, { format: 1 }), "input/gzip", /gzip/],
  [
    "Firecracker aarch64 snapshot state",
    () => Uint8Array.from([0x01, 0x00, 0xaa, 0xaa, 0x84, 0x19, 0x10, 0x07, 0, 0, 0, 0]),
    "input/fc-snapshot",
    /Firecracker snapshot state file \(aarch64/,
  ],
  [
    "Cloud Hypervisor state.json",
    () => te.encode('{"snapshots":{"vm":{"snapshots":{},"snapshot_data":null}}}'),
    "input/cloud-hypervisor",
    /Cloud Hypervisor snapshot state\.json/,
  ],
];

for (const [label, input, code, says] of HOSTILE) {
  Deno.test(`containers hostile: ${label}`, async () => {
    await expectError(importSnapshot(input()), code, says);
    // The same through the streaming entry point, in small chunks.
    const b = input();
    async function* chunks() {
      for (let i = 0; i < b.length; i += 7) yield b.slice(i, i + 7);
    }
    await expectError(importSnapshotFrom(chunks()), code, says);
  });
}

Deno.test("containers hostile: 240 seeded byte mutations of gzip/libvirt/bare streams are all one-line SnapshotErrors or snapshots", async () => {
  const gz = new Uint8Array(
    await new Response(new Blob([stream]).stream().pipeThrough(new CompressionStream("gzip")))
      .arrayBuffer(),
  );
  const lv = libvirt(DOMAIN);
  let seed = 1;
  const rnd = () => (seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32;
  for (const [name, base] of [["gzip", gz], ["libvirt", lv], ["bare", stream]] as const) {
    for (let i = 0; i < 40; i++) {
      const b = base.slice();
      // Mostly in the headers, where the containers' lengths and magics are.
      for (let k = 0, n = 1 + Math.floor(rnd() * 4); k < n; k++) {
        b[Math.floor(rnd() * Math.min(b.length, rnd() < 0.5 ? 200 : b.length))] = rnd() * 256;
      }
      const input = rnd() < 0.2 ? b.subarray(0, Math.floor(rnd() * b.length)) : b;
      const chunks = async function* () {
        for (let j = 0; j < input.length; j += 4099) yield input.slice(j, j + 4099);
      };
      for (const run of [() => importSnapshot(input), () => importSnapshotFrom(chunks())]) {
        const t0 = performance.now();
        try {
          await run();
        } catch (e) {
          assert(e instanceof SnapshotError, `${name} #${i}: ${e}`);
          assert(!e.message.includes("\n"), `${name} #${i}: ${e.message}`);
        }
        assert(performance.now() - t0 < 3000, `${name} #${i} took too long`);
      }
    }
  }
});
