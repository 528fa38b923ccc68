/**
 * rollsafe's emulator configured as QEMU 7.2's TCG `virt` machine with `-cpu max` (not a KVM
 * kernel: QEMU's own GIC and PSCI). Identification values come from QEMU's own saved state of the
 * same machine (the committed migration stream tests/fixtures/qemu/virt-gicv3-max-smp2.qemu, as
 * imported into snapshots/samples/qemu-virt-gicv3-max-smp2.cbor: QEMU's cpreg values), the GIC
 * CPU interface and counter frequency from the qemu-tcg-max host file, and the `virt` GIC/PSCI
 * facts read at EL1 under QEMU 7.2.22 by a separate probe (hw/intc/arm_gicv3_dist.c,
 * hw/arm/virt.c), all recorded independently of this project's probe.
 */
import { Machine, type MachineConfig } from "../../emulator/machine.ts";
import { resolveHost } from "../../emulator/hosts/loader.ts";
import { hostHex, hostNum } from "../../emulator/hosts/loader.ts";
import { decodeSnapshot, regValue, sysreg } from "../../snapshots/mod.ts";
import { PROBE_SCRATCH_SIZE, probeScratch, runProbe } from "../../emulator/probes/run.ts";
import type { ProbeResults } from "../../emulator/probes/results.ts";
import { SLOTS } from "../../emulator/probes/layout.ts";

export const host = resolveHost("qemu-tcg-max");
const stream = decodeSnapshot(
  Deno.readFileSync(
    new URL("../../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url),
  ),
);

/**
 * Probe rows configured from QEMU's saved state: every MRS row of the identification space
 * (op0=3, op1 ∈ {0,1,3}, CRn=0: ID registers, MIDR/REVIDR/AIDR, CTR/CLIDR) the stream carries.
 */
export const QEMU_ID_ROWS: { name: string; encoding: number; value: bigint }[] = SLOTS.flatMap(
  (slot) => {
    if (slot.op.kind !== "mrs") return [];
    const [op0, op1, crn, crm, op2] = slot.op.enc;
    if (op0 !== 3 || crn !== 0 || ![0, 1, 3].includes(op1)) return [];
    const id = sysreg(op0, op1, crn, crm, op2);
    const value = regValue(stream.vcpus[0], id);
    return value === undefined ? [] : [{ name: slot.name, encoding: Number(id & 0xffffn), value }];
  },
);

/**
 * Rows QEMU does not migrate (MIDR_EL1, ID_AA64PFR0_EL1 and the like are computed, not stored),
 * taken from the qemu-tcg-max host file where it gives them.
 */
export const HOST_ID_ROWS: { name: string; encoding: number; value: bigint }[] = SLOTS.flatMap(
  (slot) => {
    if (slot.op.kind !== "mrs" || QEMU_ID_ROWS.some((r) => r.name === slot.name)) return [];
    const value = slot.name === "MIDR_EL1"
      ? hostHex(host, "midr")
      : hostHex(host, `idreg.${slot.name}`);
    if (value === undefined) return [];
    const [op0, op1, crn, crm, op2] = slot.op.enc;
    return [{
      name: slot.name,
      encoding: Number(sysreg(op0, op1, crn, crm, op2) & 0xffffn),
      value,
    }];
  },
);

/** QEMU virt (QEMU 7.2.22, hw/intc/arm_gicv3_dist.c and target/arm/psci.c): GICD_IIDR 0x43b, PSCI 1.1, 256 INTIDs
 * on GICv3 (GICD_TYPER.ITLinesNumber 7); GICv2 gets num-irq NUM_IRQS + 32 = 288 (hw/arm/virt.c). */
const QEMU_VIRT = { gicdIidr: 0x43b, psci: 0x1_0001n, nrIrqsV3: 256, nrIrqsV2: 288 };

/** GIC fields of the ID registers (Arm ARM D24.2): 0 without a GICv3 system-register interface. */
const GIC_FIELD: Record<string, bigint> = {
  ID_AA64PFR0_EL1: 0xfn << 24n,
  ID_PFR1_EL1: 0xfn << 28n,
};

export function qemuTcgConfig(gic: "v2" | "v3"): MachineConfig {
  const sysregs = [...QEMU_ID_ROWS, ...HOST_ID_ROWS].map(({ name, encoding, value }) => ({
    encoding,
    value: gic === "v2" && GIC_FIELD[name] ? value & ~GIC_FIELD[name] : value,
  }));
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
