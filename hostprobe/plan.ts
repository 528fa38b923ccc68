/**
 * Restore plans for `hostprobe replay`: the ordered KVM operations a VMM performs to restore a
 * snapshot, as a line-oriented text a small C program can parse (format in hostprobe/PLAN.md),
 * and the JSON lines hostprobe prints back, one per operation, with the real kernel's result.
 *
 * The restore model (emulator/kvm/) produces `PlanOp[]`; `encodePlan` turns them into the text
 * hostprobe reads; `parseReplayOutput` turns hostprobe's output into `ReplayResult[]`, index for
 * index with the plan's operations.
 */

import { regSize } from "../snapshots/kvm/ids.ts";

export { regSize };

/** A 64-bit quantity: a bigint, or a "0x…" hex string (as in emulator/findings.ts). */
export type U64 = bigint | string;

/**
 * A register or attribute value. A bigint or "0x…" string is the value as a number (it is stored
 * little-endian in the register's width, which KVM derives from the ONE_REG id); a Uint8Array is
 * the raw little-endian bytes exactly as KVM_GET_ONE_REG returns them (e.g. 256-byte SVE Z regs).
 */
export type Value = U64 | Uint8Array;

/** `struct kvm_vcpu_init.features[0]` bit numbers, under their uapi prefix. */
export { VCPU_FEATURE as KVM_ARM_VCPU } from "../snapshots/model.ts";

export { KVM_DEV_ARM_VGIC_GRP } from "../snapshots/kvm/ids.ts";

/** KVM_DEV_ARM_VGIC_GRP_ADDR attribute types (KVM_VGIC_V{2,3}_ADDR_TYPE_*). */
export const KVM_VGIC_ADDR_TYPE = {
  V2_DIST: 0,
  V2_CPU: 1,
  V3_DIST: 2,
  V3_REDIST: 3,
  ITS: 4,
  V3_REDIST_REGION: 5,
} as const;

/**
 * Guest-physical addresses hostprobe's own captures use for the vGIC frames; any non-overlapping
 * 64 KiB-aligned addresses work, these are QEMU virt's.
 */
export const DEFAULT_VGIC_ADDRS = {
  v3: { dist: 0x08000000n, redist: 0x080a0000n },
  v2: { dist: 0x08000000n, cpu: 0x08010000n },
} as const;

/** One operation of a restore plan. Each becomes one line of the plan text. */
export type PlanOp =
  /** Close the current VM (if any) and create a fresh one (KVM_CREATE_VM). */
  | { op: "vm" }
  /** KVM_ENABLE_CAP on the VM fd, e.g. KVM_CAP_ARM_WRITABLE_IMP_ID_REGS (239). */
  | { op: "enable_cap"; cap: number; args?: U64[] }
  /**
   * KVM_CREATE_VCPU (if vCPU `vcpu` does not exist yet) then KVM_ARM_VCPU_INIT with the
   * target from KVM_ARM_PREFERRED_TARGET and these feature bit numbers (`KVM_ARM_VCPU`).
   */
  | { op: "vcpu_init"; vcpu: number; features: number[] }
  /** KVM_ARM_VCPU_FINALIZE(feature), e.g. KVM_ARM_VCPU.SVE after setting KVM_REG_ARM64_SVE_VLS. */
  | { op: "finalize"; vcpu: number; feature: number }
  /** KVM_SET_ONE_REG; hostprobe then reads the register back (KVM_GET_ONE_REG) and reports it. */
  | { op: "set_one_reg"; vcpu: number; id: U64; value: Value }
  /** KVM_GET_ONE_REG; reports the value. */
  | { op: "get_one_reg"; vcpu: number; id: U64 }
  /** KVM_CREATE_DEVICE of KVM_DEV_TYPE_ARM_VGIC_V3 or _V2 (one vGIC per VM). */
  | { op: "create_vgic"; version: "v3" | "v2" }
  /**
   * KVM_SET_DEVICE_ATTR on the vGIC device. The value's width follows the group: 64-bit for
   * ADDR and CPU_SYSREGS, 32-bit otherwise; CTRL takes no value. hostprobe reads it back where
   * the group is readable and reports the read-back.
   */
  | { op: "set_device_attr"; group: number; attr: U64; value?: U64 }
  /** KVM_GET_DEVICE_ATTR on the vGIC device; reports the value. */
  | { op: "get_device_attr"; group: number; attr: U64 }
  /** KVM_SET_DEVICE_ATTR(KVM_DEV_ARM_VGIC_GRP_CTRL, KVM_DEV_ARM_VGIC_CTRL_INIT). */
  | { op: "vgic_init" }
  /** KVM_ARM_SET_COUNTER_OFFSET (VM ioctl, 6.4+), `struct kvm_arm_counter_offset`. */
  | { op: "set_counter_offset"; offset: U64; reserved?: U64 }
  /** KVM_ARM_GET_REG_WRITABLE_MASKS (VM ioctl, 6.7+) for range 0; reports the non-zero masks. */
  | { op: "writable_masks" }
  /**
   * KVM_RUN of a stub guest that makes one SMCCC call (HVC #0, x0 = fn, x1 = arg) and stores the
   * returned x0 to an unbacked address; the result's `value` is that x0. It sets PC and PSTATE,
   * so put it after the registers you care about were checked. Useful for "after the first
   * KVM_RUN" rules (EBUSY) and for what the guest sees (PSCI_VERSION, SMCCC_ARCH_FEATURES).
   */
  | { op: "run"; vcpu: number; fn: U64; arg?: U64 }
  /**
   * KVM_RUN of a stub guest (MMU off) that reads the 32-bit device register at guest-physical
   * `addr` (e.g. a vGIC register: QEMU virt's distributor is at 0x08000000); `value` is what the
   * guest read. Sets PC and PSTATE like `run`.
   */
  | { op: "guest_read32"; vcpu: number; addr: U64 }
  /** As guest_read32, but the guest first writes `value`; `value` in the result is the read-back. */
  | { op: "guest_write32"; vcpu: number; addr: U64; value: U64 };

/** One line of `hostprobe replay` output: the real result of the operation at `index`. */
export interface ReplayResult {
  /** 0-based index of the operation in the plan (comments and blank lines do not count). */
  index: number;
  /** 1-based line number in the plan text. */
  line: number;
  /** The operation name (`PlanOp["op"]`). */
  op: PlanOp["op"];
  /** The ioctl that ran, e.g. "KVM_SET_ONE_REG". */
  ioctl: string;
  /** "ok", or the errno name the kernel returned (e.g. "ENOENT"), or "ESKIPPED" if a
   * prerequisite (VM, vCPU, device) was missing because an earlier operation failed. */
  result: string;
  /** errno number (0 when result is "ok"). */
  errno: number;
  vcpu?: number;
  /** ONE_REG id, "0x…" 16 hex digits. */
  id?: string;
  group?: number;
  /** Device attribute, "0x…" 16 hex digits. */
  attr?: string;
  /** The value written (set ops) or read (get ops), "0x…" hex, most significant digit first. */
  value?: string;
  /** For set ops that succeeded: the value read back right after, "0x…", if the read worked. */
  readback?: string;
  /** For set ops that succeeded: "ok" or the errno name of the read-back. */
  readbackResult?: string;
  /** For run: the KVM_EXIT_* reason (6 = KVM_EXIT_MMIO, the stub's normal exit). */
  exitReason?: number;
  /** For writable_masks: id → mask ("0x…") of every ID register with a non-zero mask. */
  masks?: Record<string, string>;
}

/** Errors in a plan or in hostprobe output, naming where and why. */
export class PlanError extends Error {
  override name = "PlanError";
}

const U64_MAX = (1n << 64n) - 1n;

function u64(v: U64, what: string): bigint {
  let n: bigint;
  if (typeof v === "bigint") n = v;
  else if (/^0x[0-9a-fA-F]{1,16}$/.test(v)) n = BigInt(v);
  else throw new PlanError(`${what}: "${v}" is not a 0x-prefixed hex number of at most 64 bits`);
  if (n < 0n || n > U64_MAX) throw new PlanError(`${what}: ${n} is outside 0..2^64-1`);
  return n;
}

function hex(n: bigint): string {
  return n.toString(16);
}

function valueHex(v: Value, bytes: number, what: string): string {
  if (v instanceof Uint8Array) {
    if (v.length !== bytes) {
      throw new PlanError(`${what}: ${v.length} value bytes for a ${bytes}-byte register`);
    }
    let s = "";
    for (let i = v.length - 1; i >= 0; i--) s += v[i].toString(16).padStart(2, "0");
    return s.replace(/^0+(?=.)/, "");
  }
  let n: bigint;
  if (typeof v === "bigint") n = v;
  else if (/^0x[0-9a-fA-F]+$/.test(v)) n = BigInt(v);
  else throw new PlanError(`${what}: "${v}" is not a 0x-prefixed hex number`);
  if (n < 0n || n >= 1n << BigInt(bytes * 8)) {
    throw new PlanError(`${what}: value 0x${n.toString(16)} does not fit ${bytes} bytes`);
  }
  return hex(n);
}

function smallInt(n: number, max: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > max) {
    throw new PlanError(`${what}: ${n} is not an integer in 0..${max}`);
  }
  return n;
}

/** One line of plan text for one operation (no newline). */
export function encodeOp(o: PlanOp, where = "operation"): string {
  switch (o.op) {
    case "vm":
    case "vgic_init":
    case "writable_masks":
      return o.op;
    case "enable_cap": {
      const args = (o.args ?? []).map((a, i) => hex(u64(a, `${where}: args[${i}]`)));
      if (args.length > 4) throw new PlanError(`${where}: KVM_ENABLE_CAP takes at most 4 args`);
      return ["enable_cap", smallInt(o.cap, 0xffff, `${where}: cap`), ...args].join(" ");
    }
    case "vcpu_init": {
      let mask = 0n;
      for (const f of o.features) mask |= 1n << BigInt(smallInt(f, 31, `${where}: feature`));
      return `vcpu_init ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${hex(mask)}`;
    }
    case "finalize":
      return `finalize ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${
        smallInt(o.feature, 31, `${where}: feature`)
      }`;
    case "set_one_reg": {
      const id = u64(o.id, `${where}: id`);
      const size = regSize(id);
      if (size > 256) throw new PlanError(`${where}: id 0x${hex(id)} has size ${size} > 256`);
      return `set_one_reg ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${hex(id)} ${
        valueHex(o.value, size, `${where}: register 0x${hex(id)}`)
      }`;
    }
    case "get_one_reg":
      return `get_one_reg ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${
        hex(u64(o.id, `${where}: id`))
      }`;
    case "create_vgic":
      if (o.version !== "v3" && o.version !== "v2") {
        throw new PlanError(`${where}: vGIC version must be "v3" or "v2"`);
      }
      return `create_vgic ${o.version}`;
    case "set_device_attr": {
      const g = smallInt(o.group, 0xffffffff, `${where}: group`);
      const a = hex(u64(o.attr, `${where}: attr`));
      return o.value === undefined
        ? `set_device_attr ${g} ${a}`
        : `set_device_attr ${g} ${a} ${hex(u64(o.value, `${where}: value`))}`;
    }
    case "get_device_attr":
      return `get_device_attr ${smallInt(o.group, 0xffffffff, `${where}: group`)} ${
        hex(u64(o.attr, `${where}: attr`))
      }`;
    case "run":
      return `run ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${hex(u64(o.fn, `${where}: fn`))} ${
        hex(u64(o.arg ?? 0n, `${where}: arg`))
      }`;
    case "guest_read32":
      return `guest_read32 ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${
        hex(u64(o.addr, `${where}: addr`))
      }`;
    case "guest_write32": {
      const v = u64(o.value, `${where}: value`);
      if (v > 0xffffffffn) throw new PlanError(`${where}: value 0x${hex(v)} does not fit 32 bits`);
      return `guest_write32 ${smallInt(o.vcpu, 63, `${where}: vcpu`)} ${
        hex(u64(o.addr, `${where}: addr`))
      } ${hex(v)}`;
    }
    case "set_counter_offset":
      return `set_counter_offset ${hex(u64(o.offset, `${where}: offset`))} ${
        hex(u64(o.reserved ?? 0n, `${where}: reserved`))
      }`;
    default: {
      const bad: never = o;
      throw new PlanError(`${where}: unknown operation ${JSON.stringify(bad)}`);
    }
  }
}

/** The plan text hostprobe reads: a header comment, then one operation per line. */
export function encodePlan(ops: PlanOp[], title = "rollsafe restore plan"): string {
  const lines = [`# ${title.replace(/[\r\n]/g, " ")}`, "# format: hostprobe/PLAN.md"];
  ops.forEach((o, i) => lines.push(encodeOp(o, `plan operation ${i}`)));
  return lines.join("\n") + "\n";
}

const OPS = new Set<string>([
  "vm",
  "enable_cap",
  "vcpu_init",
  "finalize",
  "set_one_reg",
  "get_one_reg",
  "create_vgic",
  "set_device_attr",
  "get_device_attr",
  "vgic_init",
  "set_counter_offset",
  "writable_masks",
  "run",
  "guest_read32",
  "guest_write32",
]);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The `{"kind":"op",…}` lines of hostprobe replay output, in order. Other JSON kinds (header,
 * done) and non-JSON lines (kernel console noise) are skipped; a line that starts with `{"kind"`
 * but does not parse, or an op line missing a field, is an error naming the line.
 */
export function parseReplayOutput(text: string): ReplayResult[] {
  const out: ReplayResult[] = [];
  const lines = text.split("\n");
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n].replace(/\r$/, "").trim();
    if (!line.startsWith('{"kind"')) continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch (e) {
      throw new PlanError(`replay output line ${n + 1}: not JSON (${(e as Error).message})`);
    }
    if (!isRecord(v) || v.kind !== "op") continue;
    const where = `replay output line ${n + 1}`;
    if (typeof v.index !== "number" || typeof v.line !== "number") {
      throw new PlanError(`${where}: op result without numeric index/line`);
    }
    if (typeof v.op !== "string" || !OPS.has(v.op)) {
      throw new PlanError(`${where}: unknown op ${JSON.stringify(v.op)}`);
    }
    if (typeof v.result !== "string" || typeof v.errno !== "number") {
      throw new PlanError(`${where}: op result without result/errno`);
    }
    if (v.index !== out.length) {
      throw new PlanError(`${where}: result index ${v.index}, expected ${out.length}`);
    }
    const { kind: _kind, ...rest } = v;
    out.push(rest as unknown as ReplayResult);
  }
  return out;
}
