// hostprobe capture lines → keyed document, the leaf diff, and the committed fixtures' shape.
import { assert, assertEquals, assertThrows } from "@std/assert";
import { captureToDocument, diffDocuments } from "../../hostprobe/capture.ts";
import { readFixture, stableDifferences } from "../../hostprobe/fixtures.ts";
import { captureToHost } from "../../hostprobe/host.ts";
import type { CaptureLine } from "../../hostprobe/oracle.ts";

const lines = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l) as CaptureLine);

const SMALL = lines(`
{"kind":"header","tool":"hostprobe","format":1,"mode":"capture","uname":{"release":"6.1.0-56-arm64"}}
{"kind":"cap","name":"KVM_CAP_COUNTER_OFFSET","number":227,"value":0,"system":0}
{"kind":"reg","set":"psci-0.2","id":"0x603000000013df11","result":"ENOENT","errno":2}
{"kind":"reg","set":"psci-0.2","id":"0x6030000000140000","value":"0x10001","result":"ok","errno":0}
{"kind":"psci_set","set":"psci-0.2","version":"1.2","value":"0x10002","result":"EINVAL","errno":22,"readback":"0x10001"}
{"kind":"done"}
`);

Deno.test("captureToDocument keys each fact by what it is about", () => {
  const doc = captureToDocument(SMALL);
  assertEquals(doc.caps, { KVM_CAP_COUNTER_OFFSET: { number: 227, value: 0 } });
  assertEquals(doc.regs, {
    "psci-0.2": { "0x603000000013df11": "ENOENT", "0x6030000000140000": "0x10001" },
  });
  assertEquals(doc.firmware, { psciSet: { "psci-0.2": { "1.2": "EINVAL" } } });
  assertEquals(doc.complete, true);
});

Deno.test("captureToDocument refuses unknown kinds, repeated facts and truncated captures", () => {
  assertThrows(
    () => captureToDocument([...SMALL.slice(0, 2), { kind: "mystery" }]),
    Error,
    'capture line 3: unknown kind "mystery"',
  );
  assertThrows(
    () => captureToDocument([...SMALL.slice(0, 3), SMALL[2], SMALL[5]]),
    Error,
    "capture line 4: regs / psci-0.2 / 0x603000000013df11 reported twice",
  );
  assertThrows(() => captureToDocument(SMALL.slice(0, 5)), Error, 'no "done" line');
});

Deno.test("diffDocuments reports changed, missing and added leaves, minus ignored ones", () => {
  const a = { x: { y: "ok", z: "0x1" }, c: 1 };
  const b = { x: { y: "EINVAL", w: "0x2" }, c: 1 };
  assertEquals(diffDocuments(a, b), [
    { path: "x / w", expected: undefined, actual: "0x2" },
    { path: "x / y", expected: "ok", actual: "EINVAL" },
    { path: "x / z", expected: "0x1", actual: undefined },
  ]);
  assertEquals(diffDocuments(a, b, (p) => p.startsWith("x /")), []);
});

for (
  const [kernel, gic] of [
    ["debian-6.1", 3],
    ["debian-6.12", 3],
    ["debian-6.1.176", 3],
    ["debian-6.1", 2],
    ["debian-6.12", 2],
  ] as const
) {
  Deno.test(`fixture ${kernel} GICv${gic} host: complete, provenance, only counters volatile`, async () => {
    const f = await readFixture(kernel, gic);
    assertEquals(f.capture.complete, true);
    assertEquals(f.hostGic, gic);
    assert(/^linux-image-/.test(f.kernel.package), f.kernel.package);
    assert(/^[0-9a-f]{64}$/.test(f.kernel.debSha256));
    assertEquals(
      f.generatedBy,
      `deno task oracle fixtures ${kernel}${gic === 2 ? " --gicv2" : ""}`,
    );
    for (const p of f.volatile) {
      assert(/ \/ 0x603000000013df(1a|01)$/.test(p), `unexpected volatile leaf ${p}`);
    }
    // a fixture agrees with itself once the volatile leaves are set aside
    assertEquals(stableDifferences(f, f.capture), []);
  });
}

Deno.test("host description from the debian-6.1 capture: QEMU max under nested KVM", async () => {
  const h = captureToHost(await readFixture("debian-6.1"));
  const reg = (name: string) => (h.registers as Record<string, { value: string }>)[name].value;
  // QEMU 7.2 'max': MIDR 0x000f0510 (implementer 0, "max" part 0x051)
  assertEquals(reg("MIDR_EL1"), "0xf0510");
  const gic = h.gicCpuInterface as Record<string, unknown>;
  // ICC_CTLR_EL1 0x8c00: PRIbits 4 → 5 bits, IDbits 1 → 24 bits, SEIS 0, A3V 1
  assertEquals(gic.ICC_CTLR_EL1, "0x8c00");
  assertEquals([gic.priorityBits, gic.idBits, gic.seis, gic.a3v], [5, 24, 0, 1]);
  // SVE VLS 0xffff: vector lengths 128..2048 bits
  assertEquals((h.sve as { vectorLengthsBits: number[] }).vectorLengthsBits.length, 16);
});
