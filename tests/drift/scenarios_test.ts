/**
 * Drift and reliance on real snapshots and real profiles: the QEMU 7.2 sample streams
 * (snapshots/samples, from tests/fixtures/qemu/guest.S, a guest that put interrupts into group 0:
 * GICD_IGROUPR1 = 0xa5a55a5a, GICR_IGROUPR0 = 0x5a5a0000 + vCPU) on the QEMU `-cpu max` host, and
 * the Firecracker Neoverse-N1 fingerprints on the Neoverse-N1 host. The expected findings follow
 * from the profile facts each target cites (the kernel commits in emulator/profiles/data/).
 */
import { assert, assertEquals } from "@std/assert";
import { decodeSnapshot, type Snapshot } from "../../snapshots/mod.ts";
import { importFcFingerprint } from "../../snapshots/import/fc_fingerprint.ts";
import { evaluateRestore, type VmmFlavour } from "../../emulator/kvm/mod.ts";
import { resolveTarget } from "../../emulator/target.ts";
import { analyseReliance, type RestoredTarget, runDrift } from "../../emulator/drift/mod.ts";
import type { DriftFinding } from "../../emulator/findings.ts";

const samples = new URL("../../snapshots/samples/", import.meta.url);
/** The shared Firecracker fingerprints (as tests/snapshots/fingerprint_import_test.ts reads them). */
const fingerprints = new URL("../fixtures/firecracker-fingerprints/", import.meta.url);

async function sample(name: string): Promise<Snapshot> {
  return decodeSnapshot(await Deno.readFile(new URL(name, samples)));
}

function restored(s: Snapshot, spec: string, vmm?: VmmFlavour): RestoredTarget {
  const target = resolveTarget(spec);
  return { target, restore: evaluateRestore(s, target, vmm ? { vmm } : {}) };
}

type Row = [
  what: string,
  vcpu: number | undefined,
  source: string,
  target: string,
  severity: string,
];
/** ID-space rows: what each kernel shows is the profile's sanitised host value (its data). */
const isIdRow = (what: string) => /^(ID_|MVFR|S3_0_C0_)/.test(what);

/** The findings outside the ID space, as rows. */
const rows = (fs: DriftFinding[]): Row[] =>
  fs.filter((f) => !isIdRow(f.what)).map((f) => [f.what, f.vcpu, f.source, f.target, f.severity]);

/**
 * ID-register findings must be explained by the restore: a register both kernels took the saved
 * value of cannot differ. Returns the ID rows for the caller to check further.
 */
function idRows(run: { findings: DriftFinding[] }, src: RestoredTarget, tgt: RestoredTarget) {
  const took = (r: RestoredTarget, name: string) =>
    r.restore.operations.some((o) => o.name === name && o.outcome === "ok");
  const ids = run.findings.filter((f) => isIdRow(f.what));
  for (const f of ids) {
    assert(
      !(took(src, f.what) && took(tgt, f.what)),
      `${f.what} restored on both sides yet differs`,
    );
  }
  return ids;
}

/** Every SPI word the sample's guest left in group 0 (QEMU resets groups to 0) goes to group 1. */
const V3_GROUPS_LOST: Row[] = [
  ["GICD_IGROUPR1", undefined, "0xa5a55a5a", "0xffffffff", "breaking"],
  ...[2, 3, 4, 5, 6, 7, 8].map((n): Row => [
    `GICD_IGROUPR${n}`,
    undefined,
    "0x0",
    "0xffffffff",
    "breaking",
  ]),
  ["GICR_IGROUPR0", 0, "0x5a5a0000", "0xffffffff", "breaking"],
  ["GICR_IGROUPR0", 1, "0x5a5a0001", "0xffffffff", "breaking"],
];

const V3_RAO_WI: Row[] = [
  [
    "GICD_IGROUPR[last SPI word] after writing 0x5a5a5a5a",
    undefined,
    "0x5a5a5a5a",
    "0xffffffff",
    "notable",
  ],
  ["GICR_IGROUPR0 after writing 0x5a5a5a5a", undefined, "0x5a5a5a5a", "0xffffffff", "notable"],
];

Deno.test("drift: linux-6.1 → linux-6.1+iidr-rev1 (snapshot saved at IIDR revision 1, VMM writes GICD_IIDR)", async () => {
  const s = await sample("qemu-virt-gicv3-max-smp2.cbor");
  // The state a revision-1 kernel saves: KVM's GICD_IIDR with Revision 1 (0x4b<<24 | 1<<12 |
  // 0x43b). linux-6.1 refuses revision 1 (EINVAL, keeps 3); the variant accepts it.
  s.vm.vgic!.dist.set(0x8, 0x4b00143b);
  const src = restored(s, "linux-6.1@qemu-tcg-max", "generic");
  const tgt = restored(s, "linux-6.1+iidr-rev1@qemu-tcg-max", "generic");
  const iidr = (r: RestoredTarget) => r.restore.operations.find((o) => o.name === "GICD_IIDR");
  assertEquals([iidr(src)?.outcome, iidr(src)?.errno], ["failed", "EINVAL"]);
  assertEquals(iidr(tgt)?.outcome, "ok");
  const run = await runDrift(s, src, tgt);
  assertEquals(rows(run.findings), [
    ["GICD_IIDR", undefined, "0x4b00343b", "0x4b00143b", "notable"],
    ["GICR_CTLR", undefined, "0x6", "0x0", "notable"],
    ...V3_GROUPS_LOST,
    ...V3_RAO_WI,
  ]);
  const ctlr = run.findings.find((f) => f.what === "GICR_CTLR")!;
  assert(ctlr.explanation.includes("GICR_CTLR.{IR,CES} disappear"), ctlr.explanation);
  // Cited from the target's own profile: the variant's fact that the revision write takes effect.
  assertEquals(ctlr.fact, tgt.target.profile.facts["vgic.iidr.honoured"].source);
  const reliance = analyseReliance(s, run, tgt);
  assertEquals(reliance.map((r) => [r.kind, r.vcpu, r.severity]), [
    ["interrupt-groups", undefined, "breaking"],
    // LPIs are not enabled in the sample (GICR_CTLR.EnableLPIs = 0): nothing depends on IR yet.
    ["gicr-ctlr", 0, "info"],
    ["gicr-ctlr", 1, "info"],
  ]);
});

Deno.test("drift: linux-6.1 → linux-5.10 (QEMU restore): PSCI 1.1 → 1.0, IIDR 3 → 2, GICR_CTLR.{IR,CES} gone", async () => {
  const s = await sample("qemu-virt-gicv3-max-smp2.cbor");
  const src = restored(s, "linux-6.1@qemu-tcg-max");
  const tgt = restored(s, "linux-5.10@qemu-tcg-max");
  const run = await runDrift(s, src, tgt);
  // The two kernels sanitise the debug ID fields differently (profile idshow facts) and neither
  // accepts the QEMU-saved value, so each shows its own.
  assertEquals(idRows(run, src, tgt).map((f) => f.what), ["ID_AA64DFR0_EL1"]);
  assertEquals(rows(run.findings), [
    ["GICD_IIDR", undefined, "0x4b00343b", "0x4b00243b", "notable"],
    ["GICR_CTLR", undefined, "0x6", "0x0", "notable"],
    ["PSCI_VERSION", undefined, "0x10001", "0x10000", "notable"],
    // PSCI 1.1 adds SYSTEM_RESET2 (DEN0022 F); a 1.0 kernel does not offer it.
    ["PSCI_FEATURES(SYSTEM_RESET2)", undefined, "0x0", "0xffffffffffffffff", "breaking"],
    ["PSCI_FEATURES(SYSTEM_RESET2_64)", undefined, "0x0", "0xffffffffffffffff", "breaking"],
    // WORKAROUND_3 discovery came with a5905d6af492 (5.17, the fw-wa3 register group).
    [
      "SMCCC_ARCH_FEATURES(SMCCC_ARCH_WORKAROUND_3)",
      undefined,
      "0x0",
      "0xffffffffffffffff",
      "notable",
    ],
  ]);
  const psci = run.findings.find((f) => f.what === "PSCI_VERSION")!;
  assert(psci.explanation.includes("from 1.1 to 1.0"), psci.explanation);
  // QEMU writes neither GICD_IIDR nor (from TCG) a PSCI version: both come from 5.10's defaults,
  // and the findings cite those facts of the target's profile.
  const facts = tgt.target.profile.facts;
  assertEquals(psci.fact, facts["psci.default"].source);
  assertEquals(
    run.findings.find((f) => f.what === "GICD_IIDR")!.fact,
    facts["vgic.iidr.defaultRevision"].source,
  );
});

Deno.test("drift: amzn2023-6.18 → amzn2023-6.1 on the Neoverse-N1 fingerprint: cache geometry changes", async () => {
  const s = importFcFingerprint(
    await Deno.readFile(new URL("ARM_NEOVERSE_N1_6.18host.json", fingerprints)),
  );
  const src = restored(s, "amzn2023-6.18@neoverse-n1");
  const tgt = restored(s, "amzn2023-6.1@neoverse-n1");
  const run = await runDrift(s, src, tgt);
  assertEquals(idRows(run, src, tgt).map((f) => f.what), ["ID_AA64DFR0_EL1"]);
  assertEquals(rows(run.findings), [
    // 6.3+ fabricates CLIDR/CCSIDR (7af0c2534f4c) and lets the VMM restore them; 6.1 shows the
    // physical N1 hierarchy (L1 I+D, L2 unified; no L3) and refuses the saved values.
    ["CLIDR_EL1", undefined, "0x3000123", "0x82000023", "notable"],
    ["CCSIDR_EL1.L1D", undefined, "0x2", "0x701fe01a", "notable"],
    ["CCSIDR_EL1.L1I", undefined, "0x2", "0x201fe01a", "notable"],
    ["CCSIDR_EL1.L2D", undefined, "0x2", "0x70ffe03a", "notable"],
    ["CCSIDR_EL1.L3D", undefined, "0x2", "0x0", "notable"],
    ["PSCI_VERSION", undefined, "0x10003", "0x10001", "notable"],
    ["PSCI_FEATURES(SYSTEM_OFF2)", undefined, "0x2", "0xffffffffffffffff", "breaking"],
    ["PSCI_FEATURES(SYSTEM_OFF2_64)", undefined, "0x2", "0xffffffffffffffff", "breaking"],
  ]);
  const clidr = run.findings.find((f) => f.what === "CLIDR_EL1")!;
  assert(
    /cache/.test(clidr.fact?.cite ?? "") || /CLIDR/.test(clidr.fact?.cite ?? ""),
    clidr.fact?.cite,
  );
  const ops = tgt.restore.operations.filter((o) => o.name === "CLIDR_EL1");
  assertEquals(ops.map((o) => [o.outcome, o.errno]), [["failed", "EINVAL"]]);
});

Deno.test("reliance: a guest with configured interrupt groups restored onto the groups-revert variant", async () => {
  for (
    const [file, lost] of [["qemu-virt-gicv3-max-smp2.cbor", 287], [
      "qemu-virt-gicv2-cortex-a57-smp2.cbor",
      24,
    ]] as const
  ) {
    const s = await sample(file);
    const tgt = restored(s, "linux-6.1+groups-revert@qemu-tcg-max");
    const run = await runDrift(s, restored(s, "linux-6.1@qemu-tcg-max"), tgt);
    const r = analyseReliance(s, run, tgt).filter((f) => f.kind === "interrupt-groups");
    assertEquals(r.map((f) => f.severity), ["breaking"], file);
    assert(r[0].explanation.includes(`configured ${lost} interrupt(s)`), r[0].explanation);
    assert(r[0].explanation.includes("GICD_IGROUPR1=0xa5a55a5a"), r[0].explanation);
  }
});

Deno.test("drift: the same target on both sides reports nothing", async () => {
  for (
    const [file, spec] of [
      ["qemu-virt-gicv3-max-smp2.cbor", "linux-6.1@qemu-tcg-max"],
      ["qemu-virt-gicv2-cortex-a57-smp2.cbor", "linux-5.10@qemu-tcg-max"],
    ]
  ) {
    const s = await sample(file);
    // Two independent evaluations and machines, not one object twice.
    const tgt = restored(s, spec);
    const run = await runDrift(s, restored(s, spec), tgt);
    assertEquals(run.findings, [], `${file} on ${spec}`);
    assertEquals(run.source.runs.length, 2);
    // QEMU never writes GICD_IIDR, so KVM ignores its GICv2 IGROUPR restore even on an
    // identical target (arm-vgic.rst): the guest's GICv2 groups are lost there too.
    assertEquals(
      analyseReliance(s, run, tgt).map((f) => [f.kind, f.severity]),
      file.includes("v2") ? [["interrupt-groups", "breaking"]] : [],
      file,
    );
  }
  const fp = importFcFingerprint(
    await Deno.readFile(new URL("ARM_NEOVERSE_N1_6.1host.json", fingerprints)),
  );
  const run = await runDrift(
    fp,
    restored(fp, "amzn2023-6.1@neoverse-n1"),
    restored(fp, "amzn2023-6.1@neoverse-n1"),
  );
  assertEquals(run.findings, []);
});
