/**
 * The shapes every stage of a verdict shares: the outcome of one restore operation, a drift
 * finding (what the guest observes differently), and a reliance finding (guest state that depends
 * on a behaviour the target changes). The restore model, the drift run and the verdict all use
 * these; keep them plain data (JSON- and CBOR-friendly: no bigint, no Map).
 */

/** What a target kernel does with one operation of the restore sequence. */
export type Outcome = "ok" | "ignored" | "failed";

/** Errnos the real KVM/arm64 restore path returns (names as in errno.h). */
export type Errno =
  | "ENOENT"
  | "EINVAL"
  | "EBUSY"
  | "EPERM"
  | "ENXIO"
  | "EEXIST"
  | "EACCES"
  | "EFAULT"
  // KVM_CREATE_DEVICE of a vGIC model the host cannot provide (a GICv2 on a GICv3 without
  // GICv2 compatibility); returned by the real Debian kernels (tests/fixtures/oracle).
  | "ENODEV";

/** Where a fact comes from: a kernel commit, a document, or captured evidence. */
export interface FactSource {
  /** e.g. "linux 49a1a2c70a7f", "Documentation/virt/kvm/devices/arm-vgic.rst", "oracle capture debian-6.1 2026-11-21". */
  cite: string;
  /** Confidence, as marked in the research: verified, inferred version, unverified. */
  confidence: "V" | "I" | "U";
}

/** One operation of a restore, with its evaluated outcome on one target. */
export interface OperationResult {
  /** UAPI operation, e.g. "KVM_SET_ONE_REG", "KVM_SET_DEVICE_ATTR", "KVM_ARM_VCPU_INIT". */
  op: string;
  /** vCPU index for per-vCPU operations. */
  vcpu?: number;
  /** KVM ONE_REG id as a lower-case "0x…" string (64-bit exact). */
  id?: string;
  /** Device attribute as "group:attr" with attr in "0x…" form, for KVM_{SET,GET}_DEVICE_ATTR. */
  attr?: string;
  /** Human name of the register or attribute (KVM uapi name, or S<op0>_<op1>_C<n>_C<m>_<op2>). */
  name: string;
  /** The saved value being restored, "0x…" (absent for operations without a value). */
  value?: string;
  /** Component for grouping in reports. */
  component: "vcpu" | "vgic" | "firmware" | "timer" | "vm" | "its";
  outcome: Outcome;
  /** Present when outcome is "failed". */
  errno?: Errno;
  /** Why, in one sentence naming the rule. */
  reason: string;
  /** The profile fact the rule comes from. */
  source?: FactSource;
}

export type Severity = "breaking" | "notable" | "info";

/** A difference the guest can observe between the source and the target. */
export interface DriftFinding {
  /** Register or call, e.g. "GICD_IIDR", "PSCI_VERSION", "ID_AA64PFR0_EL1". */
  what: string;
  vcpu?: number;
  /** Value on the source, "0x…" or a short text. */
  source: string;
  /** Value on the target. */
  target: string;
  severity: Severity;
  explanation: string;
  fact?: FactSource;
}

/** Guest state that relies on a behaviour the target changes. */
export interface RelianceFinding {
  /** Short machine-readable kind, e.g. "interrupt-groups", "pauth-keys", "armed-timer". */
  kind: string;
  vcpu?: number;
  severity: Severity;
  explanation: string;
  fact?: FactSource;
}
