/**
 * Issue 18, guest state that used to break verdict building or be signed without meaning, each
 * through the real service with a crafted snapshot built from a real QEMU sample:
 * KVM_ARM_VCPU_INIT feature bits 31 and 36 (32-bit shifts wrapped: a negative hex that the
 * schema refused, a bit 36 signed as bit 4), registers of KVM's widest size (U2048, SVE Z), a
 * snapshot whose vCPUs carry no registers, and a fingerprint that is not UTF-8.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { decodeSnapshot, encodeSnapshot, type Snapshot } from "../../snapshots/mod.ts";
import { importFcFingerprint } from "../../snapshots/import/fc_fingerprint.ts";
import { SnapshotError } from "../../snapshots/errors.ts";
import { decodeVerdict, parseSign1 } from "../../verdict/mod.ts";
import { conform, VERDICT_SPEC } from "../../verdict/schema.ts";
import { FINGERPRINTS, testService } from "./helpers.ts";

const SAMPLE = await Deno.readFile(
  new URL("../../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url),
);
const SOURCE = "linux-6.1@qemu-max-nested";
const Q = `target=${SOURCE}&target=linux-6.1@neoverse-n1&source=${SOURCE}`;
const NATIVE = { "content-type": "application/vnd.rollsafe.snapshot+cbor" };

function crafted(edit: (s: Snapshot) => void): Uint8Array<ArrayBuffer> {
  const s = decodeSnapshot(SAMPLE);
  edit(s);
  return encodeSnapshot(s);
}

/** Every `value` of the KVM_ARM_VCPU_INIT operations anywhere in the JSON verdict. */
function initValues(v: unknown, out: string[] = []): string[] {
  if (Array.isArray(v)) v.forEach((x) => initValues(x, out));
  else if (typeof v === "object" && v !== null) {
    const o = v as Record<string, unknown>;
    if (o.op === "KVM_ARM_VCPU_INIT" && typeof o.value === "string") out.push(o.value);
    Object.values(o).forEach((x) => initValues(x, out));
  }
  return out;
}

Deno.test("feature bits 31 and 36 are signed as themselves, as 64-bit-safe hex", async () => {
  const t = await testService();
  try {
    const before = decodeSnapshot(SAMPLE).vcpus[0].features;
    const base = before.reduce((a, b) => a | (1n << BigInt(b)), 0n);
    for (const bit of [31, 36, 223]) {
      const body = crafted((s) => s.vcpus.forEach((v) => v.features.push(bit)));
      const r = await t.app.request(`/v1/verdicts?${Q}`, {
        method: "POST",
        headers: { ...NATIVE, accept: "application/json" },
        body,
      });
      assertEquals(r.status, 200, `bit ${bit}: ${(await r.clone().text()).slice(0, 300)}`);
      const j = await r.json();
      const want = `0x${(base | (1n << BigInt(bit))).toString(16)}`;
      const seen = initValues(j.verdict);
      assert(seen.length > 0, `bit ${bit}: the verdict shows the KVM_ARM_VCPU_INIT features`);
      for (const v of seen) assertEquals(v, want, `bit ${bit}`);
    }
  } finally {
    await t.close();
  }
});

Deno.test("a 2048-bit value (KVM_REG_SIZE_U2048, SVE Z) fits the verdict's value text", async () => {
  const t = await testService();
  try {
    // Z0 of vCPU 0: KVM_REG_ARM64 | KVM_REG_SIZE_U2048 | KVM_REG_ARM64_SVE (0x15) | n << 5.
    const z0 = 0x6080000000150000n;
    const body = crafted((s) =>
      s.vcpus.forEach((v) => v.registers.set(z0, new Uint8Array(256).fill(0xab)))
    );
    const r = await t.app.request(`/v1/verdicts?${Q}`, { method: "POST", headers: NATIVE, body });
    assertEquals(r.status, 200, (await r.clone().text()).slice(0, 300));
    const verdict = decodeVerdict(parseSign1(new Uint8Array(await r.arrayBuffer())).payload);
    // The schema takes the widest register KVM defines as value text: put one on an operation.
    const wide = `0x${"ab".repeat(256)}`;
    const edited = structuredClone(verdict) as unknown as Record<string, unknown>;
    const ops = [] as Record<string, unknown>[];
    (function walk(v: unknown) {
      if (Array.isArray(v)) v.forEach(walk);
      else if (typeof v === "object" && v !== null) {
        const o = v as Record<string, unknown>;
        if (typeof o.op === "string" && "value" in o) ops.push(o);
        Object.values(o).forEach(walk);
      }
    })(edited);
    assert(ops.length > 0, "the verdict carries operations with values");
    ops[0].value = wide;
    conform(edited, VERDICT_SPEC);
    ops[0].value = `0x${"ab".repeat(257)}`;
    let refused = false;
    try {
      conform(edited, VERDICT_SPEC);
    } catch {
      refused = true;
    }
    assert(refused, "wider than U2048 is refused");
  } finally {
    await t.close();
  }
});

Deno.test("a snapshot whose vCPUs carry no register state is refused as such, never signed", async () => {
  const t = await testService();
  try {
    const body = crafted((s) => s.vcpus.forEach((v) => v.registers = new Map()));
    const r = await t.app.request(`/v1/verdicts?${Q}`, { method: "POST", headers: NATIVE, body });
    assertEquals(r.status, 422);
    const p = await r.json();
    assertEquals(p.code, "snapshot/empty");
    assertStringIncludes(p.detail, "no register state");
    // One vCPU without registers is enough to refuse.
    const one = crafted((s) => s.vcpus[1].registers = new Map());
    const r1 = await t.app.request(`/v1/verdicts?${Q}`, {
      method: "POST",
      headers: NATIVE,
      body: one,
    });
    assertEquals(r1.status, 422);
    assertEquals((await r1.json()).where, "$.vcpus[1].registers");
  } finally {
    await t.close();
  }
});

Deno.test("a fingerprint with no registers or with invalid UTF-8 is refused, not signed", async () => {
  const real = await Deno.readFile(FINGERPRINTS[1].url);
  const doc = JSON.parse(new TextDecoder().decode(real));
  doc.guest_cpu_config.reg_modifiers = [];
  const t = await testService();
  try {
    const r = await t.app.request("/v1/verdicts?target=linux-6.1@neoverse-n1", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(doc),
    });
    assertEquals(r.status, 422, (await r.clone().text()).slice(0, 300));
    assertEquals((await r.json()).code, "snapshot/empty");
  } finally {
    await t.close();
  }
  // An invalid byte inside a string: replaced by U+FFFD it would still parse and sign.
  const text = new TextDecoder().decode(real);
  const at = text.indexOf("firecracker_version") + 2;
  const bad = new Uint8Array([...real.subarray(0, at), 0xff, ...real.subarray(at)]);
  for (
    const [bytes, where, why] of [
      [bad, `byte ${at}`, "byte 0xff starts no valid sequence"],
      [new Uint8Array([...real.subarray(0, at), 0xed, 0xa0, 0x80]), `byte ${at}`, "0xed"],
      [
        new Uint8Array([...new TextEncoder().encode('{"a":"'), 0xe2, 0x82]),
        "byte 6",
        "ends inside",
      ],
    ] as const
  ) {
    try {
      importFcFingerprint(bytes);
      throw new Error("accepted");
    } catch (e) {
      assert(e instanceof SnapshotError, String(e));
      assertEquals(e.code, "fingerprint/utf8");
      assertEquals(e.where, where);
      assertStringIncludes(e.message, why);
    }
  }
});
