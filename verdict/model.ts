/**
 * The verdict payload: what rollsafe signs. One CBOR map with text keys (so the JSON rendering
 * and a Python reader see the same names), encoded deterministically (RFC 8949 §4.2.1), so the
 * same inputs and the same clock give the same bytes and the same Ed25519 signature.
 *
 * Digests are byte strings of 32 bytes in CBOR and lower-case hex in JSON. 64-bit register values
 * stay "0x…" text, as the finding types already carry them. Times are whole seconds since the
 * Unix epoch (the NumericDate of RFC 8392 §2, without fractions).
 */
import type { DriftFinding, OperationResult, RelianceFinding } from "./shapes.ts";

/** `format` of every verdict; a reader refuses anything else. */
export const VERDICT_FORMAT = "rollsafe.verdict";
/** `version` of this layout; a change to any field's meaning bumps it. */
export const VERDICT_VERSION = 1;
/** COSE content type (RFC 9052 §3.1, label 3) of a signed verdict's payload. */
export const VERDICT_CONTENT_TYPE = "application/vnd.rollsafe.verdict+cbor";
/**
 * External AAD (RFC 9052 §4.3) of every verdict signature: a domain separator, so a signature
 * made by a rollsafe key over something else can never pass as a verdict, nor the reverse.
 */
export const VERDICT_AAD = "rollsafe/verdict/v1";

/** Outcome per target and overall: the rules are the judge's table (judge.ts STATUS_RULES). */
import type { Status } from "./judge.ts";
export type { Status };

/** A piece of input data named by id and pinned by the SHA-256 of its exact bytes. */
export interface DataRef {
  id: string;
  sha256: Uint8Array;
}

export interface SnapshotRef {
  /** SHA-256 of the exact snapshot bytes as uploaded (not of a decoded or re-encoded form). */
  sha256: Uint8Array;
  size: number;
}

/** What produced the verdict, so a verdict can be traced to the code and data that made it. */
export interface EngineIdentity {
  /** version.ts ENGINE_VERSION. */
  version: string;
  /** Git revision of the engine, when the build knows it (never looked up at run time). */
  git_revision?: string;
  /** SHA-256 of the emulator wasm module bytes that ran. */
  wasm_sha256: Uint8Array;
  /** SHA-256 of each guest probe binary that ran, by probe name. */
  probes: Record<string, Uint8Array>;
}

/** The result for one target: a kernel profile on a host. */
export interface TargetVerdict {
  /** The name `rollsafe verify --target` matches, e.g. "linux-6.1@neoverse-n1". */
  id: string;
  profile: DataRef;
  host: DataRef;
  restorable: boolean;
  status: Status;
  /** How many restore operations were evaluated in total, `ok` ones included. */
  checked: number;
  /** The operations whose outcome was not `ok`, in restore order. */
  operations: OperationResult[];
  drift: DriftFinding[];
  reliance: RelianceFinding[];
}

/** Counts over all targets, and the overall status. */
export interface Summary {
  status: Status;
  targets: number;
  restorable: number;
  /** Operations with outcome `failed`. */
  failed: number;
  /** Operations with outcome `ignored`. */
  ignored: number;
  /** Drift and reliance findings by severity. */
  breaking: number;
  notable: number;
  info: number;
}

export interface Verdict {
  format: typeof VERDICT_FORMAT;
  version: typeof VERDICT_VERSION;
  snapshot: SnapshotRef;
  /** The profile and host the snapshot was taken on. */
  source: { profile: DataRef; host: DataRef };
  /** VMM flavour whose restore order was replayed, e.g. "qemu", "firecracker", "cloud-hypervisor". */
  vmm: string;
  engine: EngineIdentity;
  targets: TargetVerdict[];
  summary: Summary;
  /** Seconds since the Unix epoch, UTC. */
  issued_at: number;
  /** Caller-chosen text echoed back, so CI can tell a fresh verdict from a replayed one. */
  nonce?: string;
  /** True when signed with the local development key: such verdicts prove nothing. */
  dev_key: boolean;
}
