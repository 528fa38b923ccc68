/**
 * Hostile inputs: each row is one way an uploaded snapshot can be malformed or malicious, the
 * error code it must be refused with, and where. Every row must fail in well under a second
 * and without growing the heap by more than a few MiB (the caps apply before any allocation
 * the input could size).
 */
import { assertEquals, assertLess, assertStringIncludes } from "@std/assert";
import { type CborValue, encodeDeterministic } from "../../cbor/mod.ts";
import { decodeSnapshot, SnapshotError } from "../../snapshots/mod.ts";

const ID_TPIDR = 0x6030_0000_0013_c684n;
const U64 = (v: number) => new Uint8Array(8).fill(0).map((_, i) => i === 0 ? v : 0);

type Doc = Map<CborValue, CborValue>;
const vcpu = (mpidr: number | bigint, extra: [string, CborValue][] = []): Doc =>
  new Map<CborValue, CborValue>([
    ["mpidr", mpidr],
    ["features", [2]],
    ["registers", new Map<CborValue, CborValue>([[ID_TPIDR, U64(1)]])],
    ...extra,
  ]);
const doc = (over: [string, CborValue | undefined][] = []): Doc => {
  const m: Doc = new Map<CborValue, CborValue>([
    ["format", "rollsafe-snapshot"],
    ["version", 1],
    ["vm", new Map()],
    ["vcpus", [vcpu(0x8000_0000)]],
  ]);
  for (const [k, v] of over) v === undefined ? m.delete(k) : m.set(k, v);
  return m;
};
const vgic = (model: string, nrIrqs: number, dist: Doc = new Map()): Doc =>
  new Map<CborValue, CborValue>([["model", model], ["nr_irqs", nrIrqs], ["dist", dist]]);
const enc = (d: CborValue) => encodeDeterministic(d);
const hex = (s: string) =>
  Uint8Array.from(s.replace(/\s/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) out.set(p, o), o += p.length;
  return out;
};
/** Replaces the first occurrence of `from` by `to` (same length) in the encoding. */
const patch = (b: Uint8Array, from: string, to: string) => {
  const f = new TextEncoder().encode(from), t = new TextEncoder().encode(to);
  for (let i = 0; i + f.length <= b.length; i++) {
    if (f.every((x, j) => b[i + j] === x)) {
      const c = b.slice();
      c.set(t, i);
      return c;
    }
  }
  throw new Error(`patch: ${from} not found`);
};

interface Case {
  label: string;
  input: () => Uint8Array;
  code: string;
  where?: string;
  limits?: { maxBytes?: number };
}

const CASES: Case[] = [
  { label: "empty input", input: () => new Uint8Array(), code: "cbor/truncated", where: "byte 0" },
  { label: "a lone map head", input: () => hex("a5"), code: "cbor/truncated" },
  {
    label: "truncated in the middle",
    input: () => enc(doc()).slice(0, 40),
    code: "cbor/truncated",
  },
  {
    label: "array claiming 2^64-1 items",
    input: () => hex("9bffffffffffffffff"),
    code: "cbor/truncated",
  },
  { label: "byte string claiming 2 GiB", input: () => hex("5a7fffffff00"), code: "cbor/truncated" },
  {
    label: "map claiming 2^32-1 pairs",
    input: () => hex("ba ffffffff 00"),
    code: "cbor/truncated",
  },
  {
    label: "nesting 100,000 arrays deep",
    input: () => concat(new Uint8Array(100_000).fill(0x81), hex("00")),
    code: "cbor/depth",
  },
  {
    label: "indefinite-length array (the 1-byte cbor-x OOM of 1.6.5)",
    input: () => hex("9f"),
    code: "cbor/indefinite",
  },
  {
    label: "indefinite-length byte string",
    input: () => hex("5f 41 00 ff"),
    code: "cbor/indefinite",
  },
  { label: "value-sharing tag 28", input: () => hex("d81c 81 d81d 00"), code: "cbor/tag" },
  { label: "shared-reference tag 29", input: () => hex("d81d 00"), code: "cbor/tag" },
  {
    label: "cbor-x record extension tag 57343",
    input: () => hex("d9dfff 83 19e000 00 00"),
    code: "cbor/tag",
  },
  { label: "bignum tag 2 as a register id", input: () => hex("c2 41 01"), code: "cbor/tag" },
  { label: "a float", input: () => hex("fb 3ff8000000000000"), code: "cbor/float" },
  { label: "unassigned simple value", input: () => hex("e0"), code: "cbor/simple" },
  { label: "reserved additional information 28", input: () => hex("1c"), code: "cbor/reserved" },
  {
    label: "bytes after the snapshot",
    input: () => concat(enc(doc()), hex("00")),
    code: "cbor/trailing",
  },
  {
    label: "duplicate top-level key",
    input: () => patch(enc(doc([["vx", 1]])), "vx", "vm"),
    code: "cbor/duplicate-key",
  },
  {
    label: "duplicate register id",
    input: () => {
      const d = doc([["vcpus", [
        vcpu(0x8000_0000, [[
          "registers",
          new Map<CborValue, CborValue>([[ID_TPIDR, U64(1)], [ID_TPIDR + 1n, U64(2)]]),
        ]]),
      ]]]);
      const b = enc(d);
      // Turn the second id (…c685) into the first (…c684).
      const i = b.findIndex((_, k) => b[k] === 0xc6 && b[k + 1] === 0x85);
      b[i + 1] = 0x84;
      return b;
    },
    code: "cbor/duplicate-key",
  },
  {
    label: "non-shortest integer (0x1801 for 1) that would hide a duplicate key",
    input: () => concatVersion(),
    code: "cbor/non-shortest",
  },
  { label: "invalid UTF-8 in a text string", input: () => hex("62 c328"), code: "cbor/utf8" },
  {
    label: "2,000,001 items",
    input: () => concat(hex("9a001e8481"), new Uint8Array(2_000_001)),
    code: "cbor/items",
  },
  { label: "byte cap", input: () => enc(doc()), code: "cbor/size", limits: { maxBytes: 16 } },
  { label: "top level is an array", input: () => enc([1, 2]), code: "schema/type", where: "$" },
  {
    label: "vcpus missing",
    input: () => enc(doc([["vcpus", undefined]])),
    code: "schema/missing",
    where: "$",
  },
  {
    label: "another format",
    input: () => enc(doc([["format", "qemu"]])),
    code: "snapshot/format",
    where: "$.format",
  },
  {
    label: "future version",
    input: () => enc(doc([["version", 2]])),
    code: "snapshot/version",
    where: "$.version",
  },
  {
    label: "vcpus is a map",
    input: () => enc(doc([["vcpus", new Map()]])),
    code: "schema/type",
    where: "$.vcpus",
  },
  {
    label: "no vCPUs",
    input: () => enc(doc([["vcpus", []]])),
    code: "vcpu/count",
    where: "$.vcpus",
  },
  {
    label: "513 vCPUs",
    input: () => enc(doc([["vcpus", Array.from({ length: 513 }, (_, i) => vcpu(i))]])),
    code: "vcpu/count",
  },
  {
    label: "U64 register with 4 bytes of data",
    input: () =>
      enc(
        doc([["vcpus", [
          vcpu(0, [["registers", new Map<CborValue, CborValue>([[ID_TPIDR, new Uint8Array(4)]])]]),
        ]]]),
      ),
    code: "reg/size",
    where: "$.vcpus[0].registers[0x603000000013c684]",
  },
  {
    label: "32-bit ARM register id",
    input: () =>
      enc(
        doc([["vcpus", [
          vcpu(0, [[
            "registers",
            new Map<CborValue, CborValue>([[0x4020_0000_0000_0001n, new Uint8Array(4)]]),
          ]]),
        ]]]),
      ),
    code: "reg/arch",
  },
  {
    label: "register value is an integer, not bytes",
    input: () =>
      enc(
        doc([["vcpus", [
          vcpu(0, [["registers", new Map<CborValue, CborValue>([[ID_TPIDR, 5]])]]),
        ]]]),
      ),
    code: "schema/type",
    where: "$.vcpus[0].registers[0x603000000013c684]",
  },
  {
    label: "negative MPIDR",
    input: () => enc(doc([["vcpus", [vcpu(-1)]]])),
    code: "schema/range",
    where: "$.vcpus[0].mpidr",
  },
  {
    label: "two vCPUs with one MPIDR",
    input: () => enc(doc([["vcpus", [vcpu(1), vcpu(1)]]])),
    code: "vcpu/mpidr",
    where: "$.vcpus[1].mpidr",
  },
  {
    label: "feature bit beyond kvm_vcpu_init",
    input: () => enc(doc([["vcpus", [vcpu(0, [["features", [300]]])]]])),
    code: "vcpu/features",
  },
  {
    label: "NR_IRQS 63",
    input: () => enc(doc([["vm", new Map([["vgic", vgic("v3", 63)]])]])),
    code: "vgic/nr-irqs",
    where: "$.vm.vgic.nr_irqs",
  },
  {
    label: "NR_IRQS 1056",
    input: () => enc(doc([["vm", new Map([["vgic", vgic("v3", 1056)]])]])),
    code: "vgic/nr-irqs",
  },
  {
    label: "GIC model v4",
    input: () => enc(doc([["vm", new Map([["vgic", vgic("v4", 64)]])]])),
    code: "vgic/model",
  },
  {
    label: "unaligned distributor offset",
    input: () => enc(doc([["vm", new Map([["vgic", vgic("v3", 64, new Map([[0x82, 0]]))]])]])),
    code: "vgic/offset",
    where: "$.vm.vgic.dist[0x82]",
  },
  {
    label: "distributor value wider than 32 bits",
    input: () =>
      enc(
        doc([[
          "vm",
          new Map([[
            "vgic",
            vgic("v3", 64, new Map<CborValue, CborValue>([[0x80, 0x1_0000_0000]])),
          ]]),
        ]]),
      ),
    code: "schema/range",
    where: "$.vm.vgic.dist[0x80]",
  },
  {
    label: "redistributor state for one of two vCPUs",
    input: () =>
      enc(doc([
        ["vm", new Map([["vgic", vgic("v3", 64)]])],
        ["vcpus", [vcpu(0, [["redist", new Map([[0x10080, 0xffff_ffff]])]]), vcpu(1)]],
      ])),
    code: "vgic/vcpu-count",
    where: "$.vcpus[1].redist",
  },
  {
    label: "redistributor state without a vGIC",
    input: () => enc(doc([["vcpus", [vcpu(0, [["redist", new Map([[0x10080, 0]])]])]]])),
    code: "vgic/missing",
  },
  {
    label: "GICv2 CPU interface on a GICv3",
    input: () =>
      enc(
        doc([["vm", new Map([["vgic", vgic("v3", 64)]])], ["vcpus", [
          vcpu(0, [["gicc", new Map([[0, 1]])]]),
        ]]]),
      ),
    code: "vgic/model",
  },
  {
    label: "ICC register with op0=2",
    input: () =>
      enc(
        doc([["vm", new Map([["vgic", vgic("v3", 64)]])], ["vcpus", [
          vcpu(0, [["icc", new Map([[0x8000, 0]])]]),
        ]]]),
      ),
    code: "vgic/icc",
  },
  {
    label: "memory page of the wrong size",
    input: () =>
      enc(
        doc([["memory", [
          region(0x4000_0000, 0x2000, new Map<CborValue, CborValue>([[0, new Uint8Array(100)]])),
        ]]]),
      ),
    code: "memory/page",
    where: "$.memory[0].pages[0x0]",
  },
  {
    label: "overlapping memory regions",
    input: () => enc(doc([["memory", [region(0x4000_0000, 0x2000), region(0x4000_1000, 0x1000)]]])),
    code: "memory/overlap",
  },
  {
    label: "page size 1234",
    input: () => enc(doc([["memory", [region(0x4000_0000, 0x2000, new Map(), 1234)]]])),
    code: "memory/page-size",
  },
  {
    label: "page outside its region",
    input: () =>
      enc(
        doc([["memory", [
          region(
            0x4000_0000,
            0x1000,
            new Map<CborValue, CborValue>([[0x1000, new Uint8Array(4096)]]),
          ),
        ]]]),
      ),
    code: "memory/page",
  },
];

function region(base: number, size: number, pages: Doc = new Map(), pageSize = 4096): Doc {
  return new Map<CborValue, CborValue>([["base", base], ["size", size], ["page_size", pageSize], [
    "pages",
    pages,
  ]]);
}

/** The valid document with `"version": 1` re-encoded as the non-shortest `18 01`. */
function concatVersion(): Uint8Array {
  const b = enc(doc());
  const key = new TextEncoder().encode("version");
  const i = b.findIndex((_, k) => key.every((x, j) => b[k + j] === x));
  const at = i + key.length; // the value byte 0x01
  return concat(b.slice(0, at), hex("1801"), b.slice(at + 1));
}

Deno.test(`hostile table has at least 30 labelled cases (${CASES.length})`, () => {
  assertLess(29, CASES.length);
  assertEquals(new Set(CASES.map((c) => c.label)).size, CASES.length);
});

for (const c of CASES) {
  Deno.test(`hostile: ${c.label} → ${c.code}`, () => {
    const input = c.input();
    const heap0 = Deno.memoryUsage().heapUsed;
    const t0 = performance.now();
    let err: unknown;
    try {
      decodeSnapshot(input, c.limits);
    } catch (e) {
      err = e;
    }
    const ms = performance.now() - t0;
    if (!(err instanceof SnapshotError)) {
      throw new Error(
        `expected SnapshotError ${c.code}, got ${err === undefined ? "success" : String(err)}`,
      );
    }
    assertEquals(err.code, c.code, err.message);
    if (c.where) assertEquals(err.where, c.where, err.message);
    assertStringIncludes(err.message, err.detail);
    assertLess(ms, 1000, `took ${ms.toFixed(1)} ms`);
    assertLess(
      Deno.memoryUsage().heapUsed - heap0,
      64 * 1024 * 1024,
      "heap grew by more than 64 MiB",
    );
  });
}
