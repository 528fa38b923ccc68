/**
 * What QEMU itself checks when it loads a migration stream on the target, before any KVM call
 * that could fail: its cpreg list (every KVM_GET_REG_LIST id except the core and SVE registers,
 * which it migrates in its own fields; target/arm/kvm.c reg_syncs_via_cpreg_list) against the
 * target kernel's list.
 *
 * target/arm/machine.c: `VMSTATE_INT32_LE(cpreg_vmstate_array_len, ARMCPU)` refuses a saved
 * length above the target's ("Invalid value N expecting positive value <= M", "Failed to load
 * cpu:cpreg_vmstate_array_len"); cpu_post_load then fails on the first saved index that is not in
 * the target's list ("register in their list but not ours"). Either way the load ends with
 * "load of migration failed: Invalid argument" and QEMU exits 1: the guest never runs.
 * Measured with Debian's QEMU 7.2 on Debian 6.12 → 6.1 (tests/fixtures/vmm/*.rollback.*).
 */
import { COPROC, regCoproc } from "../../snapshots/kvm/ids.ts";
import type { FactSource } from "../findings.ts";

export const QEMU_CPREG_SOURCE: FactSource = {
  cite:
    "QEMU target/arm/machine.c vmstate_arm_cpu VMSTATE_INT32_LE(cpreg_vmstate_array_len) and cpu_post_load; target/arm/kvm.c reg_syncs_via_cpreg_list",
  confidence: "V",
};

/** The ids QEMU keeps in its cpreg list (and so in the stream's cpreg_vmstate_indexes). */
export function cpregIds(ids: Iterable<bigint>): bigint[] {
  return [...ids].filter((id) => regCoproc(id) !== COPROC.CORE && regCoproc(id) !== COPROC.SVE)
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

export interface CpregLoad {
  /** The vmstate field QEMU fails on, or undefined when it loads. */
  field?: "cpreg_vmstate_array_len" | "cpreg_vmstate_indexes";
  reason: string;
}

const hex = (id: bigint) => `0x${id.toString(16)}`;

/** QEMU's load of a saved cpreg list onto a target whose KVM lists `targetIds`. */
export function qemuCpregLoad(
  saved: Iterable<bigint>,
  targetIds: Iterable<bigint>,
  name: (id: bigint) => string,
): CpregLoad {
  const ours = new Set(cpregIds(targetIds));
  const theirs = cpregIds(saved);
  const missing = theirs.filter((id) => !ours.has(id));
  const list = missing.slice(0, 6).map((id) => `${hex(id)} ${name(id)}`).join(", ") +
    (missing.length > 6 ? `, … (${missing.length})` : "");
  if (theirs.length > ours.size) {
    return {
      field: "cpreg_vmstate_array_len",
      reason: `QEMU refuses the stream before touching KVM: "Invalid value ${theirs.length} ` +
        `expecting positive value <= ${ours.size}", "Failed to load cpu:cpreg_vmstate_array_len" ` +
        `(the saved cpreg list has ${theirs.length} registers, the target kernel lists ` +
        `${ours.size}; not listed there: ${list})`,
    };
  }
  if (missing.length) {
    return {
      field: "cpreg_vmstate_indexes",
      reason: `QEMU refuses the stream in cpu_post_load ("error while loading state for ` +
        `instance 0x0 of device 'cpu'"): saved registers the target kernel does not list: ${list}`,
    };
  }
  return {
    reason: `QEMU loads the cpreg list: its ${theirs.length} registers are all in the ` +
      `target's list of ${ours.size}`,
  };
}
