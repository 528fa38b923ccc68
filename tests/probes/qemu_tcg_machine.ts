/**
 * rollsafe's emulator configured as QEMU 7.2's TCG `virt` machine with `-cpu max` (not a KVM
 * kernel: QEMU's own GIC and PSCI), from the qemu-tcg-max host file and QEMU virt facts that were
 * recorded independently of this project's probe (research/emulator.md §2.3).
 */
import { Machine, type MachineConfig } from "../../emulator/machine.ts";
import { resolveHost } from "../../emulator/hosts/loader.ts";
import { hostHex, hostNum } from "../../emulator/hosts/loader.ts";
import { regId } from "../../snapshots/kvm/names.ts";
import { PROBE_SCRATCH_SIZE, probeScratch, runProbe } from "../../emulator/probes/run.ts";
import type { ProbeResults } from "../../emulator/probes/results.ts";

const host = resolveHost("qemu-tcg-max");

/** ID registers whose QEMU value the host file gives (the others it does not predict). */
export const QEMU_DESCRIBED_ID_REGS: string[] = [
  "MIDR_EL1",
  ...Object.keys(host.facts).filter((k) => k.startsWith("idreg.")).map((k) => k.slice(6)),
];

/** QEMU virt (research/emulator.md §2.3, QEMU 7.2.22): GICD_IIDR 0x43b, PSCI 1.1, 256 INTIDs
 * on GICv3 (GICD_TYPER.ITLinesNumber 7); GICv2 gets num-irq NUM_IRQS + 32 = 288 (hw/arm/virt.c). */
const QEMU_VIRT = { gicdIidr: 0x43b, psci: 0x1_0001n, nrIrqsV3: 256, nrIrqsV2: 288 };

export function qemuTcgConfig(gic: "v2" | "v3"): MachineConfig {
  const sysregs = QEMU_DESCRIBED_ID_REGS.map((name) => {
    const v = name === "MIDR_EL1" ? hostHex(host, "midr") : hostHex(host, `idreg.${name}`);
    return { encoding: Number(regId(name)! & 0xffffn), value: v! };
  });
  // Without a GICv3 CPU interface ID_AA64PFR0_EL1.GIC (bits 27:24) reads 0 (Arm ARM D24.2.65).
  if (gic === "v2") {
    const pfr0 = sysregs.find((s) => s.encoding === Number(regId("ID_AA64PFR0_EL1")! & 0xffffn));
    if (pfr0) pfr0.value &= ~(0xfn << 24n);
  }
  const clidr = hostHex(host, "cache.clidr");
  if (clidr !== undefined) {
    sysregs.push({ encoding: Number(regId("CLIDR_EL1")! & 0xffffn), value: clidr });
  }
  return {
    vcpus: 1,
    ram: [],
    cntfrq: Number(hostHex(host, "cntfrq") ?? 62_500_000n),
    sysregs,
    gic: {
      model: gic === "v3" ? 3 : 2,
      nrIrqs: gic === "v3" ? QEMU_VIRT.nrIrqsV3 : QEMU_VIRT.nrIrqsV2,
      iidr: QEMU_VIRT.gicdIidr,
      groupMode: "writable",
      v2GroupsUserWritableNeedsIidr: false,
      priBits: hostNum(host, "gic.priBits"),
      idBits: hostNum(host, "gic.idBits"),
    },
    firmwareFields: [{ field: 1, value: QEMU_VIRT.psci }, { field: 0, value: QEMU_VIRT.psci }],
  };
}

/** Runs the probe on the emulator configured as QEMU virt -cpu max. */
export async function emulatorAsQemu(gic: "v2" | "v3"): Promise<ProbeResults> {
  const config = qemuTcgConfig(gic);
  const scratch = probeScratch([{ base: 0x4000_0000n, size: 0x800_0000n }]);
  const m = await Machine.create({ ...config, ram: [{ base: scratch, size: PROBE_SCRATCH_SIZE }] });
  return runProbe(m, 0, {
    scratch,
    gic,
    gicd: 0x0800_0000n,
    gicr: 0x080a_0000n,
    gicc: 0x0801_0000n,
  });
}
