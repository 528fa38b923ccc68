/**
 * The same probe binary on real QEMU 7.2 (TCG, `virt`, `-cpu max`) and on rollsafe's emulator
 * configured as that machine (qemu_tcg_machine.ts: QEMU's own saved ID registers, the
 * qemu-tcg-max host's GIC/timer facts, QEMU virt's GIC and PSCI), compared row by row: the whole
 * identification space, the GIC identification, PSCI_VERSION and interrupt-group writability.
 */
import { assertEquals } from "@std/assert";
import { oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { runProbeOnQemu } from "../../hostprobe/qemu_probe.ts";
import { emulatorAsQemu, host, HOST_ID_ROWS, QEMU_ID_ROWS } from "./qemu_tcg_machine.ts";
import { hostHex } from "../../emulator/hosts/loader.ts";
import { decodeResults, type Observation, showObservation } from "../../emulator/probes/results.ts";
import { SLOTS } from "../../emulator/probes/layout.ts";

const GIC_ROWS = ["GICD_IIDR", "GICD_TYPER", "GICD_PIDR2"];
const FIRMWARE_ROWS = ["PSCI_VERSION"];
/** Further rows: the host file's cntfrq and GIC CPU interface, the emulator's EL and DCZID. */
const HOST_ROWS = ["CNTFRQ_EL0", "ICC_SRE_EL1", "ICC_CTLR_EL1", "CurrentEL", "DCZID_EL0"];

/**
 * Where the emulator differs from QEMU's TCG machine on purpose: its GIC is KVM's vGIC (what the
 * product predicts), not QEMU's TCG GIC. Each entry must keep failing to match; a new difference
 * or a vanished one fails the test.
 */
const KNOWN: Record<"v2" | "v3", Record<string, string>> = {
  v3: {
    // vgic-mmio-v3.c vgic_mmio_read_v3_misc: without an ITS, IDbits = INTERRUPT_ID_BITS_SPIS - 1
    // and no LPIS; KVM sets neither A3V nor No1N. QEMU's virt GICv3 has an ITS (LPIS, 16 ID
    // bits) and sets A3V and No1N.
    GICD_TYPER: "QEMU 0x37a0007, emulator 0x480007",
  },
  v2: {
    // KVM's GICv2 distributor (vgic-mmio-v2.c) has no ID-register rows; unhandled offsets of the
    // region read as zero. QEMU's arm_gic returns the GICv2 PIDR2 (ArchRev 2).
    GICD_PIDR2: "QEMU 0x2b, emulator 0x0",
  },
};
const GROUP_ROWS = SLOTS.map((s) => s.name).filter((n) => n.includes("after writing 0x"));

/** Same outcome: same value when both answered; both took an exception (ESR may differ). */
function view(o: Observation): string {
  return o.status.kind === "exception" ? "exception" : showObservation(o);
}

Deno.test("qemu-tcg-max host facts agree with QEMU's own saved registers", () => {
  // The configuration takes its ID values from the stream; the host file must not contradict it.
  const byName = new Map(QEMU_ID_ROWS.map((r) => [r.name, r.value]));
  const facts: [string, bigint | undefined][] = [
    ["MIDR_EL1", hostHex(host, "midr")],
    ["CLIDR_EL1", hostHex(host, "cache.clidr")],
    ...Object.keys(host.facts).filter((k) => k.startsWith("idreg.")).map((
      k,
    ): [string, bigint | undefined] => [k.slice(6), hostHex(host, k)]),
  ];
  let both = 0;
  for (const [name, v] of facts) {
    if (!byName.has(name)) continue; // QEMU does not migrate it (computed at run time)
    both++;
    assertEquals(byName.get(name), v, name);
  }
  assertEquals(both >= 3, true, `${both} registers in both`);
  // Stream and host together describe the ID space (all but ID_PFR1_EL1, which QEMU computes
  // and the host file does not give) plus REVIDR, AIDR, CTR and CLIDR.
  assertEquals(QEMU_ID_ROWS.length + HOST_ID_ROWS.length >= 60, true);
});

for (const gic of ["v3", "v2"] as const) {
  oracleTest({
    name: `probe: emulator as QEMU virt,gic-version=${
      gic === "v3" ? 3 : 2
    } -cpu max equals real QEMU 7.2`,
    needs: [QEMU_SYSTEM],
    fn: async () => {
      const qemu = decodeResults((await runProbeOnQemu(gic)).buffer);
      const emu = await emulatorAsQemu(gic);
      const rows = [
        ...QEMU_ID_ROWS.map((r) => r.name),
        ...HOST_ID_ROWS.map((r) => r.name),
        "MPIDR_EL1",
        ...HOST_ROWS,
        ...GIC_ROWS,
        ...FIRMWARE_ROWS,
        ...GROUP_ROWS,
      ];
      const differ = rows.filter((n) =>
        view(qemu.observations.get(n)!) !== view(emu.observations.get(n)!)
      );
      const got = Object.fromEntries(
        differ.map((n) => [
          n,
          `QEMU ${view(qemu.observations.get(n)!)}, emulator ${view(emu.observations.get(n)!)}`,
        ]),
      );
      assertEquals(got, KNOWN[gic]);
      // The unallocated encodings of op0=3 op1=0 CRn=0 CRm=0 are UNDEFINED on both.
      for (const op2 of [1, 2, 3, 4, 7]) {
        const n = `S3_0_C0_C0_${op2}`;
        assertEquals(view(emu.observations.get(n)!), view(qemu.observations.get(n)!), n);
      }
    },
  });
}
