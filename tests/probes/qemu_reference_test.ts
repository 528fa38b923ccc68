/**
 * The committed probe binary on real QEMU 7.2 (`virt`, TCG, `-cpu max`, GICv3 and GICv2): it must
 * run to its end and report the values QEMU's models are documented or independently measured to
 * give (MIDR, ID_AA64PFR0, GICD_TYPER/IIDR/PIDR2 and PSCI_VERSION were recorded on QEMU 7.2.22
 * with a separate probe; QEMU's models: target/arm/cpu64.c, hw/intc/arm_gicv3_dist.c).
 */
import { assertEquals } from "@std/assert";
import { oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { runProbeOnQemu } from "../../hostprobe/qemu_probe.ts";
import { decodeResults, type ProbeResults } from "../../emulator/probes/results.ts";

function value(r: ProbeResults, name: string): string {
  const o = r.observations.get(name);
  if (!o) throw new Error(`no observation ${name}`);
  if (o.status.kind === "exception") return `exception 0x${o.status.esr.toString(16)}`;
  if (o.status.kind !== "ok") return o.status.kind;
  return `0x${o.value.toString(16)}`;
}

oracleTest({
  name: "probe on QEMU 7.2 virt,gic-version=3 -cpu max: reference values",
  needs: [QEMU_SYSTEM],
  fn: async () => {
    const r = decodeResults((await runProbeOnQemu("v3")).buffer);
    assertEquals(r.asyncExceptions, 0);
    const got = (n: string) => value(r, n);
    assertEquals(got("MIDR_EL1"), "0xf0510");
    assertEquals(got("MPIDR_EL1"), "0x80000000");
    assertEquals(got("ID_AA64PFR0_EL1"), "0x1201001121110022"); // GIC=1: system-register CPU interface
    assertEquals(got("ID_AA64ISAR0_EL1"), "0x1221111110212120");
    assertEquals(got("ID_AA64MMFR0_EL1"), "0x32310201126");
    assertEquals(got("ID_AA64DFR0_EL1"), "0x10305609");
    assertEquals(got("CurrentEL"), "0x4");
    assertEquals(got("CNTFRQ_EL0"), "0x3b9aca0");
    assertEquals(got("GICD_TYPER"), "0x37a0007");
    assertEquals(got("GICD_IIDR"), "0x43b");
    assertEquals(got("GICD_PIDR2"), "0x3b");
    assertEquals(got("PSCI_VERSION"), "0x10001");
    // Not documented in research, but structural: a GICv3 machine has no GICv2 CPU interface
    // frame, and QEMU's GIC (GICD_CTLR.DS=1) lets EL1 write interrupt groups.
    assertEquals(got("GICC_IIDR"), "absent");
    assertEquals(got("GICD_IGROUPR[last SPI word] after writing 0x5a5a5a5a"), "0x5a5a5a5a");
    assertEquals(got("GICR_IGROUPR0 after writing 0xa5a5a5a5"), "0xa5a5a5a5");
    // ICC_CTLR_EL1 and ICC_SRE_EL1 answer: the CPU has the GICv3 system-register interface.
    assertEquals(got("ICC_SRE_EL1"), "0x7");
  },
});

oracleTest({
  name: "probe on QEMU 7.2 virt,gic-version=2 -cpu max: GICv2 frames, no ICC_* registers",
  needs: [QEMU_SYSTEM],
  fn: async () => {
    const r = decodeResults((await runProbeOnQemu("v2")).buffer);
    const got = (n: string) => value(r, n);
    assertEquals(got("MIDR_EL1"), "0xf0510");
    // ID_AA64PFR0_EL1.GIC (bits 27:24) is 0 without a GICv3 CPU interface.
    assertEquals(got("ID_AA64PFR0_EL1"), "0x1201001120110022");
    assertEquals(got("GICD_IIDR"), "0x43b");
    // GICv2 ID registers sit at 0xFD0..0xFFC of the distributor: ArchRev 2.
    assertEquals(got("GICD_PIDR2"), "0x2b");
    assertEquals(got("GICR_CTLR"), "absent");
    assertEquals(got("GICD_TYPER2"), "absent");
    // ICC_SRE_EL1 is UNDEFINED at EL1 without the system-register interface (EC 0, IL 1).
    assertEquals(got("ICC_SRE_EL1"), "exception 0x2000000");
    assertEquals(got("PSCI_VERSION"), "0x10001");
    assertEquals(got("GICD_IGROUPR[last SPI word] after writing 0x5a5a5a5a"), "0x5a5a5a5a");
  },
});
