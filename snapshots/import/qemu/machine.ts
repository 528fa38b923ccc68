/**
 * Facts about QEMU machine types that the stream does not carry but the snapshot needs: where
 * guest RAM sits, how many interrupts the GIC has and how vCPU indexes become MPIDRs. One row
 * per machine family; each fact cites the QEMU source it comes from.
 */
import { fail } from "./reader.ts";

export interface MachineFacts {
  family: string;
  /** QEMU version from a versioned machine type ("virt-7.2" → "7.2"). */
  version?: string;
  /** RAM block name → guest physical base. */
  ramBase: Map<string, bigint>;
  /** The GIC's num-irq property (SGIs and PPIs included). */
  numIrq: number;
  /** MPIDR_EL1 Aff0 cluster size for vCPU index → affinity, by GIC version. */
  clusterSize: (gicVersion: 2 | 3) => number;
  /**
   * Whether the emulated (TCG) GICv3 has LPIs. hw/arm/virt.c create_gic sets "has-lpi" when
   * vms->tcg_its, which virt_instance_init sets from the machine type alone (false for
   * virt-6.1 and older: VirtMachineClass.no_tcg_its), not from `its=off`: a 7.2 GICv3 without
   * an ITS still reports GICD_TYPER.LPIS (seen by a guest on -M virt-7.2,its=off).
   */
  tcgLpis: boolean;
}

/** hw/arm/virt.c (QEMU 7.2). */
const VIRT = {
  family: "virt",
  // base_memmap[VIRT_MEM] = { GiB, LEGACY_RAMLIMIT_BYTES }; the block is "mach-virt.ram"
  // (machvirt_init: memory_region_add_subregion(sysmem, vms->memmap[VIRT_MEM].base, ...)).
  ramBase: new Map([["mach-virt.ram", 0x4000_0000n]]),
  // create_gic: qdev_prop_set_uint32(vms->gic, "num-irq", NUM_IRQS + 32), NUM_IRQS = 256
  // (include/hw/arm/virt.h).
  numIrq: 256 + 32,
};

/**
 * virt_cpu_mp_affinity: clusters of GICV3_TARGETLIST_BITS (16) vCPUs with GICv3 and
 * GIC_TARGETLIST_BITS (8) with GICv2, unless the machine type sets
 * disallow_affinity_adjustment (virt-2.6 and older), which keeps ARM_DEFAULT_CPUS_PER_CLUSTER
 * (8).
 */
function virtClusterSize(version: string | undefined) {
  const old = version !== undefined && versionBelow(version, 2, 7);
  return (gic: 2 | 3) => (old ? 8 : gic === 3 ? 16 : 8);
}

function versionBelow(v: string, major: number, minor: number): boolean {
  const [a, b] = v.split(".").map(Number);
  return a < major || (a === major && b < minor);
}

/** Every RAM block name that some supported machine maps as guest RAM. */
export const GUEST_RAM_BLOCKS = new Set([...VIRT.ramBase.keys()]);

export function machineFacts(machine: string): MachineFacts {
  const m = /^virt(?:-(\d+\.\d+))?$/.exec(machine);
  if (!m) {
    fail(
      "qemu/machine",
      "configuration",
      `machine type "${machine}" is not supported (only QEMU's arm "virt" machine is)`,
    );
  }
  return {
    ...VIRT,
    version: m[1],
    clusterSize: virtClusterSize(m[1]),
    tcgLpis: m[1] === undefined || !versionBelow(m[1], 6, 2),
  };
}

/**
 * MPIDR_EL1 of vCPU `index` under TCG: arm_cpu_mp_affinity(idx, clustersz) gives
 * Aff1 = idx / clustersz, Aff0 = idx % clustersz (target/arm/cpu.c), and mpidr_read_val sets
 * bit 31 (RES1 with the multiprocessing extensions, ARM_FEATURE_V7MP) (target/arm/helper.c).
 */
export function tcgMpidr(index: number, clusterSize: number): bigint {
  const aff1 = Math.floor(index / clusterSize);
  const aff0 = index % clusterSize;
  return (1n << 31n) | (BigInt(aff1) << 8n) | BigInt(aff0);
}
