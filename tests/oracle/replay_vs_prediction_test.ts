// rollsafe's prediction against the real kernel, operation by operation: evaluate a snapshot's
// restore on `debian-6.x@qemu-max-nested` (emulator/kvm), turn the evaluated sequence into a
// hostprobe plan (toPlan), replay it on the real Debian kernel, and require that every operation's
// real result is the predicted outcome: ok → 0; failed → that errno; ignored → 0 with a read-back
// that is not the written value.
import { assertEquals } from "@std/assert";
import { DEBIAN_ARM64_KERNELS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import type { Snapshot } from "../../snapshots/model.ts";
import type { KernelName } from "../../hostprobe/oracle.ts";
import { checkPredictions, oracleHost } from "../../hostprobe/predict.ts";
import { fingerprint, vgicSnapshot } from "../restore/helpers.ts";

const ICC_SRE_EL1 = 0xc665; // op0 3, op1 0, CRn 12, CRm 12, op2 5
const ICC_CTLR_EL1 = 0xc664; // op2 4

interface Case {
  name: string;
  snapshot: () => Snapshot;
  vmm: "firecracker" | "generic" | "qemu";
  gic: 2 | 3;
}

/** Snapshots replayed on each kernel: the real N1 register dumps and small vGIC states. */
const CASES: Case[] = [
  { name: "n1-5_10", snapshot: () => fingerprint("5.10"), vmm: "firecracker", gic: 3 },
  { name: "n1-6_1", snapshot: () => fingerprint("6.1"), vmm: "firecracker", gic: 3 },
  { name: "n1-6_18", snapshot: () => fingerprint("6.18"), vmm: "firecracker", gic: 3 },
  // Neoverse V1/V2 dumps: V2 (no AArch32) has ID_DFR0_EL1 = 0, which 6.12's set_id_dfr0_el1
  // refuses (CopDbg below Armv8) on a host with AArch32 at EL0; all nine CPU × host-kernel dumps
  // are checked against committed real results in predictions_fixture_test.ts
  { name: "v1-6_18", snapshot: () => fingerprint("6.18", "V1"), vmm: "firecracker", gic: 3 },
  { name: "v2-6_1", snapshot: () => fingerprint("6.1", "V2"), vmm: "firecracker", gic: 3 },
  {
    // a 4.19-5.18-era GICv3 save: IIDR revision 2, interrupts moved to group 0
    name: "vgic-v3-rev2-groups",
    snapshot: () =>
      vgicSnapshot({
        model: "v3",
        dist: [[0x8, 0x4b00243b], [0x84, 0x0]],
        redist: [[0x10080, 0x0]],
        icc: [[ICC_SRE_EL1, 0x7n], [ICC_CTLR_EL1, 0x8c00n]],
      }),
    vmm: "generic",
    gic: 3,
  },
  {
    // IIDR revision 1 (the 2026 proposal) and an ICC_CTLR_EL1 from a host with 7 priority bits
    name: "vgic-v3-rev1-pri7",
    snapshot: () =>
      vgicSnapshot({
        model: "v3",
        dist: [[0x8, 0x4b00143b], [0x84, 0xffffffff]],
        icc: [[ICC_SRE_EL1, 0x7n], [ICC_CTLR_EL1, 0x8e00n]],
      }),
    vmm: "generic",
    gic: 3,
  },
  {
    // GICv2 groups saved without IIDR (QEMU never writes GICD_IIDR): ignored on restore
    name: "vgic-v2-groups-no-iidr",
    snapshot: () => vgicSnapshot({ model: "v2", dist: [[0x84, 0xffffffff]] }),
    vmm: "qemu",
    gic: 2,
  },
  {
    name: "vgic-v2-groups-iidr-rev2",
    snapshot: () => vgicSnapshot({ model: "v2", dist: [[0x8, 0x4b00243b], [0x84, 0xffffffff]] }),
    vmm: "generic",
    gic: 2,
  },
];

for (const kernel of ["debian-6.1", "debian-6.12"] as KernelName[]) {
  for (const gic of [3, 2] as const) {
    const cases = CASES.filter((c) => c.gic === gic);
    oracleTest({
      name: `predictions equal real results on ${kernel}@${oracleHost(gic)}: ${
        cases.map((c) => c.name).join(", ")
      }`,
      needs: [QEMU_SYSTEM, DEBIAN_ARM64_KERNELS],
      fn: async (t) => {
        const { run, checks } = await checkPredictions({
          kernel,
          gic,
          cases: cases.map((c) => ({ name: c.name, snapshot: c.snapshot(), vmm: c.vmm })),
          timeoutMs: 300_000,
        });
        console.error(`${kernel}: ${run.kernel.package} ${run.kernel.version}, ${run.seconds} s`);
        // Not vacuous: the compared operations include rejections (GICv3 host) or an ignored
        // write (GICv2 host), not only successes.
        const compared = new Set(
          checks.flatMap((c) =>
            c.result.operations.filter((_, i) => c.planIndex[i] >= 0).map((o) => o.outcome)
          ),
        );
        const needed = gic === 3 ? "failed" : "ignored";
        assertEquals(compared.has(needed), true, `a "${needed}" prediction is under comparison`);
        for (const c of checks) {
          await t.step(c.name, () => {
            assertEquals(c.real.length, c.planOps, "one real result per plan operation");
            assertEquals(
              c.disagreements,
              [],
              `${c.name} on ${run.kernel.package} ${run.kernel.version}: ` +
                `${c.disagreements.length} of ${c.compared} predictions disagree with the kernel`,
            );
          });
        }
      },
    });
  }
}
