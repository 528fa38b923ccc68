/**
 * VMM flavours: the order in which each VMM issues the restore and what it leaves out. The
 * flavour changes outcomes (a VMM that never writes GICD_IIDR loses GICv2 interrupt groups), so
 * every result names the flavour it assumed.
 */
import type { FactSource } from "../findings.ts";

export type VmmFlavour = "generic" | "qemu" | "firecracker" | "cloud-hypervisor";

export interface Flavour {
  id: VmmFlavour;
  summary: string;
  /** Register order: ID registers first then saved order; sorted by id; or saved order. */
  regOrder: "id-first" | "sorted" | "saved";
  /** Writes GICD_IIDR (first) during the vGIC restore. */
  writesIidr: boolean;
  /** Uses KVM_ARM_SET_COUNTER_OFFSET when the snapshot carries a counter offset. */
  counterOffset: boolean;
  /** Refuses snapshots whose vCPUs have KVM_ARM_VCPU_PMU_V3. */
  refusesPmu: boolean;
  /**
   * Loads its own cpreg list first and refuses a stream whose list does not fit the target's
   * KVM_GET_REG_LIST (qemu_load.ts); writes an SVE vCPU's FP/SIMD registers as Z registers
   * (target/arm/kvm64.c kvm_arch_put_sve), never V0-V31.
   */
  qemuLoad?: true;
  source: FactSource;
}

export const FLAVOURS: readonly Flavour[] = [
  {
    id: "generic",
    summary:
      "the documented order (vcpu-features.rst, arm-vgic-v3.rst): ID registers first, GICD_IIDR first",
    regOrder: "id-first",
    writesIidr: true,
    counterOffset: true,
    refusesPmu: false,
    source: {
      cite:
        "Documentation/virt/kvm/arm/vcpu-features.rst; Documentation/virt/kvm/devices/arm-vgic-v3.rst 'set GICD_IIDR before setting any other registers'",
      confidence: "V",
    },
  },
  {
    id: "qemu",
    summary:
      "cpreg list sorted by id (write_list_to_kvmstate at KVM_PUT_FULL_STATE), never writes GICD_IIDR",
    regOrder: "sorted",
    writesIidr: false,
    counterOffset: false,
    refusesPmu: false,
    qemuLoad: true,
    source: {
      cite:
        "QEMU target/arm/kvm.c write_list_to_kvmstate; Woodhouse cover letter 'QEMU never writes GICD_IIDR'",
      confidence: "I",
    },
  },
  {
    id: "firecracker",
    summary:
      "KVM_ARM_VCPU_INIT, SVE VLS, finalize, every register in saved order, mp_state; GIC lists without GICD_IIDR; refuses PMUv3",
    regOrder: "saved",
    writesIidr: false,
    counterOffset: false,
    refusesPmu: true,
    source: {
      cite:
        "Firecracker src/vmm/src/arch/aarch64/vcpu.rs restore_state, gic/gicv3/regs/dist_regs.rs (81b38b9)",
      confidence: "V",
    },
  },
  {
    id: "cloud-hypervisor",
    summary:
      "core registers, SVE, sys registers in saved order, mp_state; GIC from positional tables without GICD_IIDR",
    regOrder: "saved",
    writesIidr: false,
    counterOffset: false,
    refusesPmu: false,
    source: {
      cite:
        "Cloud Hypervisor hypervisor/src/kvm/aarch64 (ae44c29); GICD_IIDR not in its dist table [U]",
      confidence: "U",
    },
  },
];

export function flavour(id: string): Flavour | undefined {
  return FLAVOURS.find((f) => f.id === id);
}

/** The flavour a snapshot implies: its source VMM if rollsafe knows it, else generic. */
export function defaultFlavour(sourceVmm: string | undefined): Flavour {
  const v = (sourceVmm ?? "").toLowerCase();
  if (v.startsWith("qemu")) return flavour("qemu")!;
  if (v.startsWith("firecracker")) return flavour("firecracker")!;
  if (v.startsWith("cloud-hypervisor") || v === "ch") return flavour("cloud-hypervisor")!;
  return flavour("generic")!;
}
