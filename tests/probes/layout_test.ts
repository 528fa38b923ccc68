import { assert, assertEquals, assertThrows } from "@std/assert";
import {
  HEADER_SIZE,
  layoutDigest,
  PARAM,
  PROBE_ROWS,
  RESULT,
  RESULT_MAGIC,
  RESULT_SIZE,
  RESULT_VERSION,
  SLOT_SIZE,
  slotByName,
  SLOTS,
  STATE_DONE,
  STATUS,
} from "../../emulator/probes/layout.ts";
import { probeImage, withParams } from "../../emulator/probes/image.ts";
import { PROBE_IMAGE_SHA256 } from "../../emulator/probes/bin/probe_image.ts";
import { observationsInc } from "../../emulator/probes/build.ts";
import { decodeResults, showObservation } from "../../emulator/probes/results.ts";

const probes = new URL("../../emulator/probes/", import.meta.url);

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource));
  return [...d].map((b) => b.toString(16).padStart(2, "0")).join("");
}

Deno.test("probe: committed binary, embedded copy, build record and generated include agree", async () => {
  const bin = await Deno.readFile(new URL("bin/probe.bin", probes));
  assertEquals(probeImage(), bin);
  const info = JSON.parse(await Deno.readTextFile(new URL("bin/build.json", probes)));
  assertEquals(info.sha256, await sha256(bin));
  assertEquals(PROBE_IMAGE_SHA256, info.sha256);
  assertEquals(info.size, bin.length);
  assertEquals(info.slots, SLOTS.length);
  assertEquals(info.layoutDigest, `0x${layoutDigest().toString(16)}`);
  assert(/binutils.*2\.40$/i.test(info.tools.as), info.tools.as);
  // The include the binary was assembled from is exactly what the table generates today.
  assertEquals(
    await Deno.readTextFile(new URL("src/observations.inc", probes)),
    observationsInc(),
  );
});

Deno.test("probe: image starts with a branch over the parameter block", () => {
  const dv = new DataView(probeImage().buffer);
  // B imm26 = ENTRY / 4 (Arm ARM C6.2.26: 0b000101 << 26 | imm26).
  assertEquals(dv.getUint32(0, true), 0x14000000 | (PARAM.ENTRY / 4));
  assertEquals(new TextDecoder().decode(probeImage().subarray(4, 8)), "RSPB");
});

Deno.test("probe layout: every slot has a unique name and its own 16 bytes", () => {
  assertEquals(new Set(SLOTS.map((s) => s.name)).size, SLOTS.length);
  SLOTS.forEach((s, i) => assertEquals(s.offset, HEADER_SIZE + i * SLOT_SIZE, s.name));
  assertEquals(RESULT_SIZE, HEADER_SIZE + SLOTS.length * SLOT_SIZE);
  // The whole ID space op0=3 op1=0 CRn=0 CRm=0..7 op2=0..7, each encoding once.
  const ids = PROBE_ROWS.filter((r) =>
    r.op.kind === "mrs" && r.op.enc[1] === 0 && r.op.enc[2] === 0
  )
    .map((r) => r.op.kind === "mrs" ? r.op.enc.join(",") : "");
  assertEquals(ids.length, 64);
  assertEquals(new Set(ids).size, 64);
  assertEquals(slotByName("ID_AA64PFR0_EL1")?.op, { kind: "mrs", enc: [3, 0, 0, 4, 0] });
  // Timer rows are architectural MRS encodings (CNTVCT_EL0 is 3,3,14,0,2 even though KVM's id
  // with that encoding is TIMER_CVAL).
  assertEquals(slotByName("CNTVCT_EL0")?.op, { kind: "mrs", enc: [3, 3, 14, 0, 2] });
  assertEquals(
    slotByName("VENDOR_HYP_CALL_UID.x3")?.offset,
    slotByName("VENDOR_HYP_CALL_UID.x0")!.offset + 48,
  );
});

Deno.test("probe params: fields land at their offsets; misaligned buffer refused", () => {
  const img = withParams({
    results: 0x4020_0000n,
    gic: "v3",
    gicd: 0x0800_0000n,
    gicr: 0x080a_0000n,
    gicc: 0x0801_0000n,
  });
  const dv = new DataView(img.buffer);
  assertEquals(dv.getUint32(PARAM.FLAGS, true), 1);
  assertEquals(dv.getBigUint64(PARAM.RESULTS, true), 0x4020_0000n);
  assertEquals(dv.getBigUint64(PARAM.GICD, true), 0x0800_0000n);
  assertEquals(dv.getBigUint64(PARAM.GICR, true), 0x080a_0000n);
  // A GICv3 machine has no GICv2 CPU interface: the probe must not be told about one.
  assertEquals(dv.getBigUint64(PARAM.GICC, true), 0n);
  assertEquals(dv.getBigUint64(PARAM.UART, true), 0n);
  // The committed image itself is untouched.
  assertEquals(new DataView(probeImage().buffer).getBigUint64(PARAM.RESULTS, true), 0n);
  assertThrows(
    () => withParams({ results: 0x4020_0004n, gic: "none" }),
    Error,
    "not 8-byte aligned",
  );
});

function buffer(edit?: (dv: DataView) => void): Uint8Array {
  const b = new Uint8Array(RESULT_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(RESULT.MAGIC, RESULT_MAGIC, true);
  dv.setUint32(RESULT.VERSION, RESULT_VERSION, true);
  dv.setUint32(RESULT.SLOTS, SLOTS.length, true);
  dv.setUint32(RESULT.STATE, STATE_DONE, true);
  dv.setUint32(RESULT.SIZE, RESULT_SIZE, true);
  dv.setUint32(RESULT.DIGEST, layoutDigest(), true);
  edit?.(dv);
  return b;
}

Deno.test("probe results: statuses decode; values kept", () => {
  const midr = slotByName("MIDR_EL1")!;
  const zcr = slotByName("ZCR_EL1")!;
  const gicc = slotByName("GICC_IIDR")!;
  const r = decodeResults(buffer((dv) => {
    dv.setBigUint64(midr.offset, 0x410fd0c1n, true);
    dv.setBigUint64(midr.offset + 8, STATUS.OK, true);
    dv.setBigUint64(zcr.offset + 8, STATUS.EXCEPTION_BIT | 0x66000000n, true);
    dv.setBigUint64(gicc.offset + 8, STATUS.ABSENT, true);
  }));
  assertEquals(r.observations.get("MIDR_EL1")?.value, 0x410fd0c1n);
  assertEquals(showObservation(r.observations.get("MIDR_EL1")!), "0x410fd0c1");
  assertEquals(r.observations.get("ZCR_EL1")?.status, { kind: "exception", esr: 0x66000000n });
  assertEquals(showObservation(r.observations.get("ZCR_EL1")!), "SVE trap (ESR_EL1 0x66000000)");
  assertEquals(r.observations.get("GICC_IIDR")?.status, { kind: "absent" });
  assertEquals(r.observations.get("CTR_EL0")?.status, { kind: "not-run" });
});

Deno.test("probe results: a buffer the probe did not finish, or from another layout, is refused", () => {
  assertThrows(
    () => decodeResults(new Uint8Array(16)),
    Error,
    `16 bytes, the layout needs ${RESULT_SIZE}`,
  );
  assertThrows(() => decodeResults(new Uint8Array(RESULT_SIZE)), Error, "MAGIC (offset 0x0): 0x0");
  assertThrows(
    () => decodeResults(buffer((dv) => dv.setUint32(RESULT.STATE, 1, true))),
    Error,
    "did not finish",
  );
  assertThrows(
    () => decodeResults(buffer((dv) => dv.setUint32(RESULT.DIGEST, 0x12345678, true))),
    Error,
    "DIGEST (offset 0x1c): 0x12345678",
  );
  assertThrows(
    () =>
      decodeResults(buffer((dv) => dv.setBigUint64(slotByName("MIDR_EL1")!.offset + 8, 7n, true))),
    Error,
    "unknown slot status 0x7",
  );
});
