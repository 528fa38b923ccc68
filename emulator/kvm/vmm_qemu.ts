/**
 * QEMU 7.2's register restore on KVM/arm64, as rows: which KVM_SET_ONE_REG writes
 * kvm_arch_put_registers issues for one vCPU at KVM_PUT_FULL_STATE, in what order
 * (target/arm/kvm64.c), and what kvm_arch_init_vcpu does before (target/arm/kvm64.c,
 * target/arm/kvm.c). The restore model orders a QEMU-flavoured plan with qemuPutOrder; the
 * stream importer (snapshots/import/qemu/cpu.ts) produces exactly the ids these rows name.
 *
 *   kvm_arch_init_vcpu: KVM_ARM_VCPU_INIT (features), then for an SVE CPU
 *     kvm_arm_sve_set_vls (KVM_REG_ARM64_SVE_VLS from the destination's own -cpu sve<N>
 *     properties, never from the stream) and KVM_ARM_VCPU_FINALIZE(KVM_ARM_VCPU_SVE).
 *   kvm_arch_put_registers: the rows of QEMU_PUT_ROWS below, then KVM_SET_VCPU_EVENTS and
 *     KVM_SET_MP_STATE (kvm_arm_sync_mpstate_to_kvm).
 */
import {
  COPROC,
  core,
  CORE_OFFSET,
  KVM_REG_SIZE,
  regCoproc,
  sveFfr,
  sveP,
  sveZ,
} from "../../snapshots/kvm/ids.ts";
import type { FactSource } from "../findings.ts";

export const QEMU_PUT_SOURCE: FactSource = {
  cite:
    "QEMU v7.2.0 target/arm/kvm64.c kvm_arch_put_registers, kvm_arch_put_sve, kvm_arch_put_fpsimd; target/arm/kvm.c write_list_to_kvmstate",
  confidence: "V",
};

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/**
 * One step of kvm_arch_put_registers: the ids it writes, and for which vCPUs ("sve": only a
 * CPU with SVE, "no-sve": only one without, "all": every vCPU). "cpreg-list" is
 * write_list_to_kvmstate: every other id in QEMU's cpreg list, in the list's order (sorted by
 * id, as kvm_arm_init_cpreg_list sorts KVM_GET_REG_LIST).
 */
export interface PutRow {
  step: string;
  when: "all" | "sve" | "no-sve";
  ids: bigint[] | "cpreg-list";
}

export const QEMU_PUT_ROWS: readonly PutRow[] = [
  { step: "X0..X30", when: "all", ids: range(31).map((n) => core(CORE_OFFSET.x(n))) },
  { step: "SP (SP_EL0)", when: "all", ids: [core(CORE_OFFSET.SP)] },
  { step: "SP_EL1", when: "all", ids: [core(CORE_OFFSET.SP_EL1)] },
  { step: "PSTATE", when: "all", ids: [core(CORE_OFFSET.PSTATE)] },
  { step: "PC", when: "all", ids: [core(CORE_OFFSET.PC)] },
  { step: "ELR_EL1", when: "all", ids: [core(CORE_OFFSET.ELR_EL1)] },
  { step: "SPSR[0..4]", when: "all", ids: range(5).map((n) => core(CORE_OFFSET.spsr(n))) },
  // kvm_arch_put_sve when cpu_isar_feature(aa64_sve), else kvm_arch_put_fpsimd.
  { step: "Z0..Z31", when: "sve", ids: range(32).map((n) => sveZ(n, 0)) },
  { step: "P0..P15", when: "sve", ids: range(16).map((n) => sveP(n, 0)) },
  { step: "FFR", when: "sve", ids: [sveFfr(0)] },
  {
    step: "V0..V31",
    when: "no-sve",
    ids: range(32).map((n) => core(CORE_OFFSET.v(n), KVM_REG_SIZE.U128)),
  },
  { step: "FPSR", when: "all", ids: [core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32)] },
  { step: "FPCR", when: "all", ids: [core(CORE_OFFSET.FPCR, KVM_REG_SIZE.U32)] },
  { step: "cpreg list", when: "all", ids: "cpreg-list" },
];

/**
 * A vCPU's register ids in the order QEMU writes them. Ids the rows place come in row order;
 * the rest are the cpreg list, sorted. Core and SVE ids the rows do not write for this vCPU
 * (V regs of an SVE vCPU, Z/P/FFR of one without) are returned in `notWritten`: QEMU never
 * issues them, so they are not restore operations at all.
 */
export function qemuPutOrder(
  ids: Iterable<bigint>,
  sve: boolean,
): { order: bigint[]; notWritten: bigint[] } {
  const have = new Set(ids);
  const order: bigint[] = [];
  const placed = new Set<bigint>();
  for (const row of QEMU_PUT_ROWS) {
    if (row.ids === "cpreg-list") {
      const rest = [...have].filter((id) =>
        !placed.has(id) && regCoproc(id) !== COPROC.CORE && regCoproc(id) !== COPROC.SVE
      ).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      order.push(...rest);
      continue;
    }
    const applies = row.when === "all" || (row.when === "sve") === sve;
    for (const id of row.ids) {
      if (!applies) continue;
      placed.add(id);
      if (have.has(id)) order.push(id);
    }
  }
  const written = new Set(order);
  return { order, notWritten: [...have].filter((id) => !written.has(id)) };
}
