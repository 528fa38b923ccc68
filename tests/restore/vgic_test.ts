/**
 * vGIC restores: GICD_IIDR revision rules, IGROUPR writability (GICv2 before an IIDR write, the
 * group-revert and revision-1 variants), ICC_CTLR_EL1 against the host's ICH_VTR_EL2.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { resolveTarget } from "../../emulator/target.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { kvmIidr } from "../../emulator/kvm/rules_vgic.ts";
import { iccEnc } from "../../emulator/kvm/gicnames.ts";
import { importSnapshot } from "../../snapshots/import/mod.ts";
import { vgicSnapshot } from "./helpers.ts";

const IIDR = 0x0008;
const IGROUPR1 = 0x0084;
const GICR_IGROUPR0 = 0x10080;

const op = (r: ReturnType<typeof evaluateRestore>, name: string) =>
  r.operations.find((o) => o.name === name)!;

Deno.test("GICD_IIDR revision 3 restored on 5.15 is EINVAL: before 5.19 a write must equal revision 2", () => {
  const s = vgicSnapshot({ model: "v3", dist: [[IIDR, kvmIidr(3)]] });
  assertEquals(kvmIidr(3), 0x4b00343b);
  const r = evaluateRestore(s, resolveTarget("linux-5.15@neoverse-n1"), { vmm: "generic" });
  const o = op(r, "GICD_IIDR");
  assertEquals([o.outcome, o.errno], ["failed", "EINVAL"]);
  assertStringIncludes(o.reason, "revision 2");
  assertEquals(r.restorable, false);
  assertEquals(r.effective.vgic?.iidrRevision, 2);
});

Deno.test("GICD_IIDR revision 2 written on 6.1 is ignored (no a0e6ae45af17): the guest keeps revision 3", () => {
  const s = vgicSnapshot({ model: "v3", dist: [[IIDR, kvmIidr(2)]] });
  const r = evaluateRestore(s, resolveTarget("linux-6.1@neoverse-n1"), { vmm: "generic" });
  const o = op(r, "GICD_IIDR");
  assertEquals(o.outcome, "ignored");
  assertEquals(r.restorable, true);
  assertEquals(r.effective.vgic?.iidrRevision, 3);
  assertEquals(r.effective.vgic?.gicrCtlrIrCes, true);
  // With the fix (variant, or the Debian 6.12 stable build) the revision takes effect.
  for (const t of ["linux-6.1+iidr-fix@neoverse-n1", "debian-6.12@neoverse-n1"]) {
    const f = evaluateRestore(s, resolveTarget(t), { vmm: "generic" });
    assertEquals(op(f, "GICD_IIDR").outcome, "ok", t);
    assertEquals(f.effective.vgic?.iidrRevision, 2, t);
    assertEquals(f.effective.vgic?.gicrCtlrIrCes, false, t);
  }
});

Deno.test("qemu flavour with GICv2: IIDR never written, so the saved IGROUPR writes are ignored", async () => {
  // A real QEMU 7.2 GICv2 stream whose guest configured interrupt groups (IGROUPR0 0x5a5a0000).
  const s = await importSnapshot(
    Deno.readFileSync(
      new URL("../../snapshots/samples/qemu-virt-gicv2-cortex-a57-smp2.cbor", import.meta.url),
    ),
  );
  const r = evaluateRestore(s, resolveTarget("linux-6.1@qemu-a57-gicv2"));
  assertEquals(r.vmm, "qemu");
  const g = r.operations.filter((o) => o.component === "vgic" && o.outcome !== "ok");
  assertEquals(g.map((o) => [o.name, o.outcome, o.value]), [
    ["GICD_IGROUPR0", "ignored", "0x5a5a0000"],
    ["GICD_IGROUPR1", "ignored", "0xa5a55a5a"],
  ]);
  assertStringIncludes(g[0].reason, "unless userspace wrote GICD_IIDR first");
  assertEquals(
    r.operations.some((o) => o.name === "GICD_IIDR"),
    false,
    "QEMU does not write GICD_IIDR",
  );
  // The same state with a KVM IIDR written first (generic order) keeps the groups.
  const kvm = vgicSnapshot({ model: "v2", dist: [[IIDR, kvmIidr(2)], [0x80, 0x5a5a0000]] });
  const k = evaluateRestore(kvm, resolveTarget("linux-6.1@qemu-a57-gicv2"), { vmm: "generic" });
  assertEquals(op(k, "GICD_IGROUPR0").outcome, "ok");
  assertEquals(k.effective.vgic?.dist.get(0x80), 0x5a5a0000);
});

Deno.test("guest-configured groups onto the revert and revision-1 variants are ignored: the configuration is lost", () => {
  const s = vgicSnapshot({
    model: "v3",
    dist: [[IIDR, kvmIidr(3)], [IGROUPR1, 0x0000ff00]],
    redist: [[GICR_IGROUPR0, 0xfffffff0]],
  });
  for (const t of ["linux-6.1+groups-revert@neoverse-n1"]) {
    const r = evaluateRestore(s, resolveTarget(t), { vmm: "generic" });
    assertEquals(op(r, "GICD_IGROUPR1").outcome, "ignored", t);
    assertEquals(op(r, "GICR_IGROUPR0").outcome, "ignored", t);
    assertEquals(r.effective.vgic?.dist.get(IGROUPR1), 0xffffffff, "GICv3 reads group 1");
    assertEquals(r.effective.vgic?.guestGroupsWritable, false);
  }
  // Revision 1 (the proposed patch) restored from a snapshot taken at revision 1.
  const rev1 = vgicSnapshot({ model: "v3", dist: [[IIDR, kvmIidr(1)], [IGROUPR1, 0x0000ff00]] });
  const r1 = evaluateRestore(rev1, resolveTarget("linux-6.1+iidr-rev1@neoverse-n1"), {
    vmm: "generic",
  });
  assertEquals(op(r1, "GICD_IIDR").outcome, "ok");
  assertEquals(r1.effective.vgic?.iidrRevision, 1);
  assertEquals(op(r1, "GICD_IGROUPR1").outcome, "ignored");
  assertStringIncludes(op(r1, "GICD_IGROUPR1").reason, "RAO/WI");
  // Without the patch revision 1 is refused.
  const plain = evaluateRestore(rev1, resolveTarget("linux-6.1@neoverse-n1"), { vmm: "generic" });
  assertEquals([op(plain, "GICD_IIDR").outcome, op(plain, "GICD_IIDR").errno], [
    "failed",
    "EINVAL",
  ]);
});

Deno.test("ICC_CTLR_EL1 with more priority bits than the host is EINVAL; AP registers beyond PRIbits too", () => {
  // PRIbits field 6 → 7 bits; Neoverse N1 implements 5 (ICH_VTR_EL2).
  const ctlr = (6n << 8n) | (1n << 15n);
  const s = vgicSnapshot({
    model: "v3",
    dist: [],
    icc: [[iccEnc("ICC_SRE_EL1"), 7n], [iccEnc("ICC_CTLR_EL1"), ctlr], [
      iccEnc("ICC_AP1R3_EL1"),
      0n,
    ]],
  });
  const r = evaluateRestore(s, resolveTarget("linux-6.1@neoverse-n1"), { vmm: "generic" });
  const c = op(r, "ICC_CTLR_EL1");
  assertEquals([c.outcome, c.errno], ["failed", "EINVAL"]);
  assertStringIncludes(c.reason, "PRIbits 7 exceed host neoverse-n1's 5");
  assertEquals([op(r, "ICC_AP1R3_EL1").outcome, op(r, "ICC_AP1R3_EL1").errno], [
    "failed",
    "EINVAL",
  ]);
  assertEquals(op(r, "ICC_SRE_EL1").outcome, "ok");
  // A 5-bit, 16-bit-ID, A3V=1 CTLR is accepted.
  const good = vgicSnapshot({
    model: "v3",
    dist: [],
    icc: [[iccEnc("ICC_CTLR_EL1"), (4n << 8n) | (1n << 15n)]],
  });
  assertEquals(
    op(
      evaluateRestore(good, resolveTarget("linux-6.1@neoverse-n1"), { vmm: "generic" }),
      "ICC_CTLR_EL1",
    ).outcome,
    "ok",
  );
});

Deno.test("a GICv2 vGIC cannot be created on a host without GICv2 compatibility", () => {
  const s = vgicSnapshot({ model: "v2", dist: [] });
  const r = evaluateRestore(s, resolveTarget("linux-6.1@neoverse-n1"), { vmm: "generic" });
  const c = op(r, "KVM_DEV_TYPE_ARM_VGIC_V2");
  assertEquals(c.outcome, "failed");
  assertStringIncludes(c.reason, "ENODEV");
});
