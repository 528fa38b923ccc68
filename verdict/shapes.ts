/**
 * The shapes verdict/ signs, declared here so that verdict/ depends on nothing above it
 * (design.md "Layout"). The restore model and the drift run (emulator/findings.ts) produce
 * values of their own types; app/ hands them over, and the compiler checks there that every
 * emulator finding is one of these shapes. schema.ts validates the same fields at run time from
 * the lists below, so a list is the one place a new errno, component or severity is added.
 */

/** Severities of drift and reliance findings, mildest last. */
export const SEVERITIES = ["breaking", "notable", "info"] as const;
export type Severity = typeof SEVERITIES[number];

/** Errnos a failing restore operation may carry (names as in errno.h). */
export const ERRNOS = [
  "ENOENT",
  "EINVAL",
  "EBUSY",
  "EPERM",
  "ENXIO",
  "EEXIST",
  "EACCES",
  "EFAULT",
  "ENODEV",
] as const;
export type SignedErrno = typeof ERRNOS[number];

/** Report groups of restore operations. */
export const COMPONENTS = ["vcpu", "vgic", "firmware", "timer", "vm", "its"] as const;

/** Where a fact comes from: a kernel commit, a document, or captured evidence. */
export interface FactSource {
  cite: string;
  confidence: "V" | "I" | "U";
}

/** `op` of a check the VMM itself makes before any ioctl; when it fails there is no errno. */
export const VMM_OP = "VMM";

/** One restore operation and its outcome on a target (a verdict keeps the non-`ok` ones). */
export interface OperationResult {
  op: string;
  vcpu?: number;
  /** KVM ONE_REG id, lower-case "0x…". */
  id?: string;
  /** Device attribute "group:attr". */
  attr?: string;
  name: string;
  /** The saved value, "0x…". */
  value?: string;
  component: typeof COMPONENTS[number];
  outcome: "ok" | "ignored" | "failed";
  errno?: SignedErrno;
  reason: string;
  source?: FactSource;
}

/** A difference the guest can observe between the source and the target. */
export interface DriftFinding {
  what: string;
  vcpu?: number;
  source: string;
  target: string;
  severity: Severity;
  explanation: string;
  fact?: FactSource;
}

/** Guest state that relies on a behaviour the target changes. */
export interface RelianceFinding {
  kind: string;
  vcpu?: number;
  severity: Severity;
  explanation: string;
  fact?: FactSource;
}
