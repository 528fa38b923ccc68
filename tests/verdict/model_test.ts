import { assert, assertEquals, assertNotEquals, assertThrows } from "@std/assert";
import { CborError, encodeDeterministic } from "../../cbor/mod.ts";
import {
  buildVerdict,
  decodeVerdict,
  encodeVerdict,
  targetStatus,
  type Verdict,
  VerdictError,
  verdictToJSON,
} from "../../verdict/mod.ts";
import { NOW, OPS_510, sampleInput } from "./fixture.ts";

Deno.test("buildVerdict keeps only the operations that were not ok, and counts all", async () => {
  const v = buildVerdict(await sampleInput(), { now: NOW });
  assertEquals(v.targets.map((t) => t.id), ["linux-5.10@neoverse-n1", "linux-6.18@neoverse-n1"]);
  assertEquals(v.targets[0].checked, 4);
  assertEquals(v.targets[0].operations.map((o) => [o.name, o.outcome]), [
    ["OSLSR_EL1", "failed"],
    ["GICD_IGROUPR0", "ignored"],
  ]);
  assertEquals(v.targets[1].checked, 2);
  assertEquals(v.targets[1].operations, []);
  assertEquals(v.issued_at, 1795219200);
  assertEquals(v.dev_key, false);
});

Deno.test("summary counts by severity and the overall status is the worst target's", async () => {
  const v = buildVerdict(await sampleInput(), { now: NOW });
  assertEquals(v.summary, {
    status: "fail",
    targets: 2,
    restorable: 1,
    failed: 1,
    ignored: 1,
    breaking: 2,
    notable: 0,
    info: 1,
  });
  assertEquals(v.targets.map((t) => t.status), ["fail", "pass"]);
});

Deno.test("status rule: fail > warn (notable or ignored) > pass (info does not count)", () => {
  const base = { restorable: true, operations: [], drift: [], reliance: [] };
  const f = (severity: "breaking" | "notable" | "info") => ({
    what: "GICD_IIDR",
    source: "0x1",
    target: "0x2",
    severity,
    explanation: "x",
  });
  assertEquals(targetStatus(base), "pass");
  assertEquals(targetStatus({ ...base, drift: [f("info")] }), "pass");
  assertEquals(targetStatus({ ...base, drift: [f("notable")] }), "warn");
  assertEquals(targetStatus({ ...base, operations: [OPS_510[2]] }), "warn");
  assertEquals(targetStatus({ ...base, drift: [f("breaking")] }), "fail");
  assertEquals(
    targetStatus({
      ...base,
      reliance: [{ kind: "armed-timer", severity: "breaking", explanation: "x" }],
    }),
    "fail",
  );
  assertEquals(targetStatus({ ...base, restorable: false }), "fail");
});

Deno.test("determinism: the same inputs and clock give byte-identical payloads", async () => {
  const a = encodeVerdict(buildVerdict(await sampleInput(), { now: NOW }));
  const b = encodeVerdict(buildVerdict(await sampleInput(), { now: NOW }));
  assertEquals(a, b);
  const later = encodeVerdict(
    buildVerdict(await sampleInput(), { now: new Date(NOW.getTime() + 1000) }),
  );
  assertNotEquals(a, later);
});

Deno.test("encode/decode round-trips the verdict exactly", async () => {
  const v = buildVerdict(await sampleInput(), { now: NOW });
  const bytes = encodeVerdict(v);
  assertEquals(decodeVerdict(bytes), v);
  // Fields appear in deterministic order: text keys sorted by encoded bytes (shorter first).
  assertEquals(bytes[0], 0xab); // a map of 11 pairs (nonce present)
  assertEquals(bytes.subarray(1, 5), new TextEncoder().encode("cvmm"));
});

const bad: [string, (v: Record<string, unknown>) => void, string][] = [
  ["missing errno on a failed operation", (v) => {
    delete (v as unknown as Verdict).targets[0].operations[0].errno;
  }, "verdict $.targets[0].operations[0].errno: a failed operation must name its errno"],
  ["errno on an ignored operation", (v) => {
    (v as unknown as Verdict).targets[0].operations[1].errno = "EINVAL";
  }, "verdict $.targets[0].operations[1].errno: an ignored operation has no errno"],
  [
    "unknown errno",
    (v) => {
      (v as unknown as { targets: { operations: { errno: string }[] }[] }).targets[0].operations[0]
        .errno = "EFOO";
    },
    'verdict $.targets[0].operations[0].errno: expected one of ENOENT, EINVAL, EBUSY, EPERM, ENXIO, EEXIST, EACCES, EFAULT, ENODEV; got "EFOO"',
  ],
  ["restorable with a failed operation", (v) => {
    (v as unknown as Verdict).targets[0].restorable = true;
  }, "verdict $.targets[0].restorable: a target with a failed operation cannot be restorable"],
  ["short digest", (v) => {
    (v as unknown as Verdict).snapshot.sha256 = new Uint8Array(31);
  }, "verdict $.snapshot.sha256: a SHA-256 digest is 32 bytes, got 31"],
  ["unknown field", (v) => {
    v.extra = 1;
  }, "verdict $.extra: unknown field"],
  ["upper-case register id", (v) => {
    (v as unknown as Verdict).targets[0].operations[0].id = "0x603000000013C08C";
  }, 'verdict $.targets[0].operations[0].id: "0x603000000013C08C" does not match'],
  ["summary disagreeing with targets", (v) => {
    (v as unknown as Verdict).summary.breaking = 1;
  }, "verdict $.summary.breaking: says 1 but the targets give 2"],
  ["target status disagreeing with findings", (v) => {
    (v as unknown as Verdict).targets[1].status = "warn";
  }, "verdict $.targets[1].status: says warn but the findings give pass"],
  ["float where an integer belongs", (v) => {
    v.issued_at = 1.5;
  }, "verdict $.issued_at: expected an unsigned integer below 2^53; got the number 1.5"],
  ["duplicate target id", (v) => {
    (v as unknown as Verdict).targets[1].id = "linux-5.10@neoverse-n1";
  }, 'verdict $.targets[1].id: duplicate target id "linux-5.10@neoverse-n1"'],
];

for (const [what, mutate, message] of bad) {
  Deno.test(`encodeVerdict refuses ${what}, naming the path`, async () => {
    const v = structuredClone(buildVerdict(await sampleInput(), { now: NOW })) as unknown as Record<
      string,
      unknown
    >;
    mutate(v);
    const e = assertThrows(() => encodeVerdict(v as unknown as Verdict), VerdictError);
    assert(e.message.startsWith(message), `${e.message}\n  expected to start with\n${message}`);
  });
  // The deterministic encoder refuses floats, so that row is checked at the CBOR level below.
  if (what.startsWith("float")) continue;
  Deno.test(`decodeVerdict refuses ${what} in the bytes`, async () => {
    const v = structuredClone(buildVerdict(await sampleInput(), { now: NOW })) as unknown as Record<
      string,
      unknown
    >;
    mutate(v);
    // Encode around the validator, as a foreign producer would.
    const bytes = encodeDeterministic(v as never);
    const e = assertThrows(() => decodeVerdict(bytes), VerdictError);
    assert(e.message.startsWith(message), `${e.message}\n  expected to start with\n${message}`);
  });
}

Deno.test("buildVerdict refuses bad pipeline input with its path", async () => {
  const input = await sampleInput({ vmm: "Fire Cracker" });
  assertThrows(
    () => buildVerdict(input, { now: NOW }),
    VerdictError,
    'verdict $.vmm: "Fire Cracker" does not match',
  );
  assertThrows(
    () => buildVerdict({ ...input, vmm: "qemu", targets: [] }, { now: NOW }),
    VerdictError,
    "verdict $.targets: a verdict covers at least one target",
  );
  assertThrows(
    () => buildVerdict({ ...input, vmm: "qemu" }, { now: new Date(NaN) }),
    VerdictError,
    "verdict $.issued_at",
  );
});

Deno.test("decodeVerdict refuses non-deterministic bytes, floats, tags and trailing bytes", async () => {
  const bytes = encodeVerdict(buildVerdict(await sampleInput(), { now: NOW }));
  // issued_at (0x1a 4-byte uint) re-encoded in 8 bytes: same value, not the shortest form.
  const at = indexOf(bytes, [0x69, ...new TextEncoder().encode("issued_at"), 0x1a]);
  assert(at > 0);
  const head = at + 10;
  const long = new Uint8Array([
    ...bytes.subarray(0, head),
    0x1b,
    0,
    0,
    0,
    0,
    ...bytes.subarray(head + 1),
  ]);
  const e = assertThrows(() => decodeVerdict(long), CborError, "not in deterministic encoding");
  assertEquals(e.offset, head);

  const float = new Uint8Array(bytes);
  float[head] = 0xfa; // float32 of the same 4 bytes
  assertThrows(() => decodeVerdict(float), CborError, "floating-point");

  assertThrows(
    () => decodeVerdict(new Uint8Array([...bytes, 0])),
    CborError,
    "after the top-level item",
  );
  assertThrows(
    () => decodeVerdict(new Uint8Array([0xc1, ...bytes])),
    CborError,
    "tag 1 is not allowed",
  );
  const cut = assertThrows(() => decodeVerdict(bytes.subarray(0, bytes.length - 1)), CborError);
  assertEquals(cut.code, "truncated");
});

Deno.test("verdictToJSON renders digests as hex, the time as RFC 3339, 64-bit values as text", async () => {
  const v = buildVerdict(await sampleInput(), { now: NOW });
  const j = verdictToJSON(v) as Record<string, never>;
  const snapshot = j.snapshot as Record<string, unknown>;
  assertEquals(snapshot.sha256, "4b1706b7ed0ef66e4b5d62178454e706811e162c1577248b49b74f8ea6db391d");
  assertEquals(j.issued_at_utc, "2026-11-21T00:00:00Z");
  const t0 = (j.targets as Record<string, never>[])[0];
  assertEquals((t0.operations as Record<string, unknown>[])[0].id, "0x603000000013c08c");
  assertEquals(((t0.profile as Record<string, unknown>).sha256 as string).length, 64);
  // Plain JSON: a stringify/parse round trip changes nothing.
  assertEquals(JSON.parse(JSON.stringify(j)), j);
});

function indexOf(hay: Uint8Array, needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= hay.length; i++) {
    for (let j = 0; j < needle.length; j++) if (hay[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}
