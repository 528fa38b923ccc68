/**
 * Turns a snapshot into the ordered operations a VMM performs to restore it (the order
 * Documentation/virt/kvm/devices/arm-vgic-v3.rst and api.rst document; flavours.ts for each
 * VMM's own).
 */
import {
  COPROC,
  core,
  CORE_OFFSET,
  KVM_REG_SIZE,
  regCoproc,
  SVE_VLS,
  sveZ,
  sysregEncoding,
} from "../../snapshots/kvm/ids.ts";
import { leToBig } from "../../snapshots/kvm/ids.ts";
import { type Snapshot, VCPU_FEATURE } from "../../snapshots/model.ts";
import { isIdSpace } from "./defaults.ts";
import type { Flavour } from "./flavours.ts";

/** vGIC device attribute groups (KVM_DEV_ARM_VGIC_GRP_*), under the short name this model uses. */
export { KVM_DEV_ARM_VGIC_GRP as VGIC_GRP } from "../../snapshots/kvm/ids.ts";

/** KVM_CAP_ARM_WRITABLE_IMP_ID_REGS (api.rst §7.37). */
export const CAP_WRITABLE_IMP_ID_REGS = 239;

export const GICD_IIDR = 0x0008;
export const GICD_TYPER2 = 0x000c;
export const GITS_IIDR = 0x0004;
export const GITS_CTLR = 0x0000;
export const GITS_CBASER = 0x0080;

export type PlannedOp =
  | { kind: "enable-cap"; cap: number }
  | { kind: "smccc-filter"; base: number; count: number; action: number }
  | { kind: "counter-offset"; offset: bigint }
  | { kind: "vmm-refuses"; vcpu: number; reason: string }
  | { kind: "vmm-cpreg-list"; vcpu: number; ids: bigint[] }
  | { kind: "vcpu-init"; vcpu: number; features: number[] }
  | { kind: "one-reg"; vcpu: number; id: bigint; value: bigint; bytes: Uint8Array }
  | { kind: "finalize"; vcpu: number }
  | { kind: "vgic-create"; model: "v2" | "v3" }
  | { kind: "vgic-nr-irqs"; value: number }
  | { kind: "vgic-init" }
  | { kind: "vgic-dist"; offset: number; value: number }
  | { kind: "vgic-redist"; vcpu: number; mpidr: bigint; offset: number; value: number }
  | { kind: "vgic-cpu-v2"; vcpu: number; offset: number; value: number }
  | { kind: "vgic-cpu-sysreg"; vcpu: number; mpidr: bigint; enc: number; value: bigint }
  | { kind: "vgic-level"; vcpu: number; mpidr: bigint; vintid: number; value: number }
  | { kind: "its-reg"; offset: number; value: bigint }
  | { kind: "its-restore-tables" }
  | { kind: "mp-state"; vcpu: number; value: number };

const ICC = {
  SRE: sysregEncoding(3, 0, 12, 12, 5),
  CTLR: sysregEncoding(3, 0, 12, 12, 4),
};

/** Saved register bytes as a value (the one little-endian reader, snapshots/kvm/ids.ts). */
const leBig = leToBig;

/** V0-V31 → Z0-Z31 (slice 0), as QEMU writes an SVE vCPU's FP/SIMD registers. */
const V_AS_Z = new Map(
  Array.from({ length: 32 }, (_, n) => [core(CORE_OFFSET.v(n), KVM_REG_SIZE.U128), sveZ(n, 0)]),
);

/** Register order within a vCPU for the flavour. */
function orderRegs(ids: bigint[], f: Flavour): bigint[] {
  if (f.regOrder === "sorted") return [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  if (f.regOrder === "saved") return ids;
  return [...ids.filter(isIdSpace), ...ids.filter((id) => !isIdSpace(id))];
}

export function planRestore(s: Snapshot, f: Flavour): PlannedOp[] {
  const ops: PlannedOp[] = [];
  // VM-wide set-up that must precede vCPU creation or the first KVM_RUN.
  for (const cap of s.vm.caps) {
    if (cap === CAP_WRITABLE_IMP_ID_REGS) ops.push({ kind: "enable-cap", cap });
  }
  for (const r of s.vm.smcccFilter) {
    ops.push({ kind: "smccc-filter", base: r.base, count: r.count, action: r.action });
  }
  if (s.vm.counterOffset !== undefined && f.counterOffset) {
    ops.push({ kind: "counter-offset", offset: s.vm.counterOffset });
  }
  s.vcpus.forEach((v, i) => {
    if (f.refusesPmu && v.features.includes(VCPU_FEATURE.PMU_V3)) {
      ops.push({
        kind: "vmm-refuses",
        vcpu: i,
        reason:
          "Firecracker refuses KVM_ARM_VCPU_PMU_V3 in the saved kvm_vcpu_init (UnsupportedPmuV3)",
      });
    }
    ops.push({ kind: "vcpu-init", vcpu: i, features: [...v.features].sort((a, b) => a - b) });
    const vls = v.registers.get(SVE_VLS);
    if (vls) ops.push({ kind: "one-reg", vcpu: i, id: SVE_VLS, value: leBig(vls), bytes: vls });
    if (v.features.includes(VCPU_FEATURE.SVE)) ops.push({ kind: "finalize", vcpu: i });
    const ids = [...v.registers.keys()].filter((id) => id !== SVE_VLS);
    if (f.qemuLoad) ops.push({ kind: "vmm-cpreg-list", vcpu: i, ids });
    const asZ = f.qemuLoad && v.features.includes(VCPU_FEATURE.SVE) ? V_AS_Z : undefined;
    const ordered = f.id === "cloud-hypervisor"
      ? [
        ...ids.filter((id) => regCoproc(id) === COPROC.CORE),
        ...ids.filter((id) => regCoproc(id) !== COPROC.CORE),
      ]
      : orderRegs(ids, f);
    for (const id of ordered) {
      const b = v.registers.get(id)!;
      const z = asZ?.get(id);
      if (z !== undefined) {
        // the V register is the low 128 bits of the Z register; the rest is zero
        const bytes = new Uint8Array(256);
        bytes.set(b);
        ops.push({ kind: "one-reg", vcpu: i, id: z, value: leBig(b), bytes });
      } else ops.push({ kind: "one-reg", vcpu: i, id, value: leBig(b), bytes: b });
    }
  });
  const g = s.vm.vgic;
  if (g) {
    ops.push({ kind: "vgic-create", model: g.model });
    ops.push({ kind: "vgic-nr-irqs", value: g.nrIrqs });
    ops.push({ kind: "vgic-init" });
    const dist = [...g.dist.entries()].sort((a, b) => a[0] - b[0]);
    if (f.writesIidr) {
      const iidr = g.dist.get(GICD_IIDR);
      if (iidr !== undefined) ops.push({ kind: "vgic-dist", offset: GICD_IIDR, value: iidr });
    }
    for (const [off, val] of dist) {
      if (off !== GICD_IIDR) ops.push({ kind: "vgic-dist", offset: off, value: val });
    }
    s.vcpus.forEach((v, i) => {
      for (const [off, val] of [...(v.redist ?? new Map()).entries()].sort((a, b) => a[0] - b[0])) {
        ops.push({ kind: "vgic-redist", vcpu: i, mpidr: v.mpidr, offset: off, value: val });
      }
    });
    s.vcpus.forEach((v, i) => {
      for (const [off, val] of [...(v.gicc ?? new Map()).entries()].sort((a, b) => a[0] - b[0])) {
        ops.push({ kind: "vgic-cpu-v2", vcpu: i, offset: off, value: val });
      }
      // ICC_SRE_EL1 first, then ICC_CTLR_EL1 (it decides which AP registers exist), then the rest.
      const icc = [...(v.icc ?? new Map()).entries()];
      const rank = (e: number) => (e === ICC.SRE ? 0 : e === ICC.CTLR ? 1 : 2);
      icc.sort((a, b) => rank(a[0]) - rank(b[0]) || a[0] - b[0]);
      for (const [enc, val] of icc) {
        ops.push({ kind: "vgic-cpu-sysreg", vcpu: i, mpidr: v.mpidr, enc, value: val });
      }
    });
    s.vcpus.forEach((v, i) => {
      for (
        const [vintid, val] of [...(v.level ?? new Map()).entries()].sort((a, b) => a[0] - b[0])
      ) {
        ops.push({ kind: "vgic-level", vcpu: i, mpidr: v.mpidr, vintid, value: val });
      }
    });
    if (g.its) {
      // arm-vgic-its.rst: IIDR before the tables, CBASER, the other GITS_* registers, RESTORE_TABLES,
      // then GITS_CTLR last.
      const its = [...g.its.entries()];
      const rank = (o: number) =>
        o === GITS_IIDR ? 0 : o === GITS_CBASER ? 1 : o === GITS_CTLR ? 3 : 2;
      its.sort((a, b) => rank(a[0]) - rank(b[0]) || a[0] - b[0]);
      for (const [off, val] of its) {
        if (off === GITS_CTLR) ops.push({ kind: "its-restore-tables" });
        ops.push({ kind: "its-reg", offset: off, value: val });
      }
      if (!g.its.has(GITS_CTLR)) ops.push({ kind: "its-restore-tables" });
    }
  }
  s.vcpus.forEach((v, i) => {
    if (v.mpState !== undefined) ops.push({ kind: "mp-state", vcpu: i, value: v.mpState });
  });
  return ops;
}

/** GICv3 attr affinity: Aff3:Aff2:Aff1:Aff0 packed in 32 bits (arm-vgic-v3.rst). */
export function mpidrAttr(mpidr: bigint): bigint {
  return (((mpidr >> 32n) & 0xffn) << 24n) | (mpidr & 0xffffffn);
}
