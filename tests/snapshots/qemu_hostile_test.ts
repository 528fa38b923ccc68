/**
 * Hostile and damaged QEMU streams: each case is a real committed stream cut, with a length
 * flipped, or with a bogus vmdesc. Every one must fail with a SnapshotError that names the
 * stable code and where (a byte offset, a vmdesc path or a section path), in well under a second.
 */
import { assert, assertEquals } from "@std/assert";
import { importQemuStream } from "../../snapshots/import/qemu/mod.ts";
import { locateVmdesc } from "../../snapshots/import/qemu/vmdesc.ts";
import { SnapshotError } from "../../snapshots/mod.ts";
import { expectRefusal } from "./stream_support.ts";

const stream = Deno.readFileSync(
  new URL("../fixtures/qemu/virt-gicv3-max-smp2.qemu", import.meta.url),
);
const loc = locateVmdesc(stream)!;
const body = stream.subarray(0, loc.at);
const json = new TextDecoder().decode(loc.json);

/** The body followed by a vmdesc record carrying `text`. */
function withVmdesc(b: Uint8Array, text: string): Uint8Array {
  const j = new TextEncoder().encode(text);
  const out = new Uint8Array(b.length + 5 + j.length);
  out.set(b);
  out[b.length] = 0x06;
  new DataView(out.buffer).setUint32(b.length + 1, j.length);
  out.set(j, b.length + 5);
  return out;
}

function patched(at: number, bytes: number[]): Uint8Array {
  const out = stream.slice();
  out.set(bytes, at);
  return out;
}

/** Offset of the first occurrence of `needle` in the stream. */
function find(needle: number[] | string): number {
  const n = typeof needle === "string" ? [...new TextEncoder().encode(needle)] : needle;
  outer: for (let i = 0; i + n.length <= stream.length; i++) {
    for (let k = 0; k < n.length; k++) if (stream[i + k] !== n[k]) continue outer;
    return i;
  }
  throw new Error(`not found: ${needle}`);
}

// Section header of "ram": 0x01, be32 id, u8 3, "ram", be32 instance, be32 version; then the
// MEM_SIZE word and the first block name.
const ramIdstr = find([0x03, ...new TextEncoder().encode("ram")]);
const memSize = ramIdstr + 4 + 8;
const firstBlockName = memSize + 8;
// The first device section: arm_gicv3 (FULL, after the RAM END section).
const gicSection = find([0x09, ...new TextEncoder().encode("arm_gicv3")]) - 5;

interface Case {
  label: string;
  input: () => Uint8Array;
  code: string;
  /** Part of the message's where/detail that locates the fault. */
  says: RegExp;
}

const CASES: Case[] = [
  { label: "empty", input: () => new Uint8Array(0), code: "qemu/truncated", says: /byte 0/ },
  {
    label: "not QEVM",
    input: () => patched(0, [0x51, 0x45, 0x56, 0x4e]),
    code: "qemu/magic",
    says: /magic 0x5145564e/,
  },
  {
    label: "file version 2",
    input: () => patched(4, [0, 0, 0, 2]),
    code: "qemu/version",
    says: /byte 4/,
  },
  ...[9, 1000, 200_000, loc.at - 10, loc.at + 3, stream.length - 1].map((n) => ({
    label: `cut at byte ${n}`,
    input: () => stream.subarray(0, n),
    code: "qemu/vmdesc-missing",
    says: /byte \d+.*no JSON vmdesc/,
  })),
  ...[200_000, gicSection + 40, loc.at - 1].map((n) => ({
    label: `body cut at byte ${n}, vmdesc kept`,
    input: () => withVmdesc(body.subarray(0, n), json),
    code: "qemu/",
    says: /byte \d+/,
  })),
  {
    label: "vmdesc length one too large",
    input: () => {
      const out = stream.slice();
      new DataView(out.buffer).setUint32(loc.at + 1, loc.json.length + 1);
      return out;
    },
    code: "qemu/vmdesc-missing",
    says: /vmdesc/,
  },
  {
    label: "ram idstr length flipped to 0xff",
    input: () => patched(ramIdstr, [0xff]),
    code: "qemu/",
    says: /byte \d+/,
  },
  {
    label: "MEM_SIZE total flipped huge",
    input: () => patched(memSize, [0x7f]),
    code: "qemu/",
    says: /byte \d+/,
  },
  {
    label: "first RAM block name length flipped",
    input: () => patched(firstBlockName, [0xfe]),
    code: "qemu/",
    says: /byte \d+/,
  },
  {
    label: "device section idstr length off by one",
    input: () => patched(gicSection + 5, [0x0a]),
    code: "qemu/",
    says: /byte \d+/,
  },
  {
    label: "vmdesc is not JSON",
    input: () => withVmdesc(body, "{not json"),
    code: "qemu/vmdesc",
    says: /not valid JSON/,
  },
  {
    label: "vmdesc without devices",
    input: () => withVmdesc(body, '{"page_size":4096}'),
    code: "qemu/vmdesc",
    says: /vmdesc\.devices/,
  },
  {
    label: "vmdesc with a field size changed",
    input: () =>
      withVmdesc(
        body,
        json.replace(
          '"gicd_ctlr", "type": "uint32", "size": 4',
          '"gicd_ctlr", "type": "uint32", "size": 8',
        ),
      ),
    code: "qemu/",
    says: /arm_gicv3|byte \d+/,
  },
  {
    label: "vmdesc claims 2^20 cpreg entries",
    input: () => withVmdesc(body, json.replaceAll('"array_len": 304', '"array_len": 1048576')),
    code: "qemu/truncated",
    says: /cpreg_vmstate_indexes/,
  },
  {
    label: "vmdesc lists one device fewer",
    input: () => {
      const d = JSON.parse(json);
      d.devices.pop();
      return withVmdesc(body, JSON.stringify(d));
    },
    code: "qemu/vmdesc-mismatch",
    says: /globalstate\[0\]/,
  },
  {
    label: "vmdesc structs nested 200 deep",
    input: () => {
      let s = '{"vmsd_name":"x","version":1,"fields":[]}';
      for (let i = 0; i < 200; i++) {
        s =
          `{"vmsd_name":"x","version":1,"fields":[{"name":"f","type":"struct","size":1,"struct":${s}}]}`;
      }
      return withVmdesc(
        body,
        `{"page_size":4096,"devices":[${s.slice(0, -1)},"name":"x","instance_id":0}]}`,
      );
    },
    code: "qemu/vmdesc",
    says: /nest deeper/,
  },
  {
    label: "vmdesc above the size cap",
    input: () => withVmdesc(body, `{"page_size":4096,"devices":[],"pad":"${" ".repeat(9 << 20)}"}`),
    code: "qemu/vmdesc-missing",
    says: /no JSON vmdesc/,
  },
  {
    label: "vmdesc claims 2^20 zero-byte struct elements",
    input: () =>
      withVmdesc(
        body,
        json.replace(
          '"fields": [{"name": "gicd_ctlr"',
          '"fields": [{"name": "z", "type": "struct", "size": 0, "array_len": 1048576, ' +
            '"struct": {"vmsd_name": "z", "version": 1, "fields": []}}, {"name": "gicd_ctlr"',
        ),
      ),
    code: "qemu/vmdesc",
    says: /1048576 struct elements of 0 bytes/,
  },
  {
    label: "cpu subsection renamed",
    input: () => {
      const at = find("cpu/vfp");
      return patched(at, [...new TextEncoder().encode("cpu/vfq")]);
    },
    code: "qemu/subsection",
    says: /cpu\[0\].*cpu\/vfq/,
  },
];

for (const c of CASES) {
  Deno.test(`qemu hostile: ${c.label}`, async () => {
    const input = c.input();
    await expectRefusal(() => importQemuStream(input), c.code, c.says, 500);
  });
}

Deno.test("qemu hostile: the undamaged stream imports (the cases above are real damage)", () => {
  assertEquals(importQemuStream(withVmdesc(body, json)).vcpus.length, 2);
});

Deno.test("qemu hostile: guest pages above the caller's byte cap are refused", () => {
  let err: unknown;
  try {
    importQemuStream(stream, { maxPageBytes: 8192 });
  } catch (e) {
    err = e;
  }
  assert(err instanceof SnapshotError);
  assertEquals(err.code, "qemu/ram-size");
  assert(/mach-virt\.ram/.test(err.where), err.message);
  // Without memory the same stream imports, pages unread into the snapshot.
  assertEquals(importQemuStream(stream, { memory: false, maxPageBytes: 0 }).memory, undefined);
});
