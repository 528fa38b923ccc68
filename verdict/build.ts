/**
 * Building a verdict from the pipeline's results: keeps the operations that were not `ok`,
 * computes each target's status and the summary (the judge, judge.ts), stamps
 * the time, and validates the whole against the layout table so a bad input is refused here,
 * with its path, rather than signed.
 */
import type { DriftFinding, OperationResult, RelianceFinding } from "./shapes.ts";
import { ENGINE_VERSION } from "../version.ts";
import { sha256 } from "./bytes.ts";
import {
  type DataRef,
  type EngineIdentity,
  type SnapshotRef,
  type Summary,
  type TargetVerdict,
  type Verdict,
  VERDICT_FORMAT,
  VERDICT_VERSION,
} from "./model.ts";
import { conform, VERDICT_SPEC, VerdictError } from "./schema.ts";
import { targetStatus, worst } from "./judge.ts";

export interface TargetInput {
  /** Defaults to "<profile id>@<host id>". */
  id?: string;
  profile: DataRef;
  host: DataRef;
  restorable: boolean;
  /** Every evaluated operation of the restore, `ok` ones included (they are counted, not kept). */
  operations: OperationResult[];
  drift?: DriftFinding[];
  reliance?: RelianceFinding[];
}

export interface VerdictInput {
  snapshot: SnapshotRef;
  source: { profile: DataRef; host: DataRef };
  vmm: string;
  engine: Omit<EngineIdentity, "version" | "probes"> & {
    /** Defaults to version.ts ENGINE_VERSION. */
    version?: string;
    probes?: Record<string, Uint8Array>;
  };
  targets: TargetInput[];
  nonce?: string;
}

export interface BuildOptions {
  /** The issue time; the only clock the verdict reads, so tests can fix it. */
  now: Date;
  /** Marks the payload as signed by a development key (signVerdict sets this from the signer). */
  devKey?: boolean;
}

/** Builds and validates a verdict; throws VerdictError naming the offending input path. */
export function buildVerdict(input: VerdictInput, opts: BuildOptions): Verdict {
  const ms = opts.now.getTime();
  if (!Number.isFinite(ms) || ms < 0) {
    throw new VerdictError("$.issued_at", `the clock gave an invalid or pre-1970 time`);
  }
  if (!Array.isArray(input.targets)) throw new VerdictError("$.targets", "expected an array");
  const targets: TargetVerdict[] = input.targets.map((t, i) => {
    if (!Array.isArray(t.operations)) {
      throw new VerdictError(`$.targets[${i}].operations`, "expected an array");
    }
    const partial = {
      id: t.id ?? `${t.profile?.id}@${t.host?.id}`,
      profile: t.profile,
      host: t.host,
      restorable: t.restorable,
      checked: t.operations.length,
      operations: t.operations.filter((o) => o.outcome !== "ok"),
      drift: t.drift ?? [],
      reliance: t.reliance ?? [],
    };
    return { ...partial, status: targetStatus(partial) };
  });
  const draft: Verdict = {
    format: VERDICT_FORMAT,
    version: VERDICT_VERSION,
    snapshot: input.snapshot,
    source: input.source,
    vmm: input.vmm,
    engine: {
      version: input.engine.version ?? ENGINE_VERSION,
      git_revision: input.engine.git_revision,
      wasm_sha256: input.engine.wasm_sha256,
      probes: input.engine.probes ?? {},
    },
    targets,
    summary: summarise(targets),
    issued_at: Math.floor(ms / 1000),
    nonce: input.nonce,
    dev_key: opts.devKey ?? false,
  };
  return conform(draft, VERDICT_SPEC) as Verdict;
}

/** The status of one target: judge.ts decides (re-exported here for older importers). */
export { targetStatus };

/** Counts over all targets; the overall status is the worst target status. */
export function summarise(targets: readonly TargetVerdict[]): Summary {
  const s: Summary = {
    status: "pass",
    targets: targets.length,
    restorable: 0,
    failed: 0,
    ignored: 0,
    breaking: 0,
    notable: 0,
    info: 0,
  };
  for (const t of targets) {
    if (t.restorable) s.restorable++;
    for (const o of t.operations) {
      if (o.outcome === "failed") s.failed++;
      if (o.outcome === "ignored") s.ignored++;
    }
    for (const f of [...t.drift, ...t.reliance]) s[f.severity]++;
    s.status = worst([s.status, targetStatus(t)]);
  }
  return s;
}

/** SHA-256 and size of the exact snapshot bytes. */
export async function snapshotRef(bytes: Uint8Array): Promise<SnapshotRef> {
  return { sha256: await sha256(bytes), size: bytes.length };
}

/** A profile or host file named by id and pinned by the digest of its bytes. */
export async function dataRef(id: string, bytes: Uint8Array): Promise<DataRef> {
  return { id, sha256: await sha256(bytes) };
}

/**
 * The engine identity from the bytes that actually ran: the wasm module and the probe binaries.
 * The git revision is passed in (a build-time value or ROLLSAFE_GIT_REVISION), never looked up.
 */
export async function engineIdentity(parts: {
  wasm: Uint8Array;
  probes?: Record<string, Uint8Array>;
  gitRevision?: string;
}): Promise<VerdictInput["engine"]> {
  const probes: Record<string, Uint8Array> = {};
  for (const [name, bytes] of Object.entries(parts.probes ?? {})) {
    probes[name] = await sha256(bytes);
  }
  return {
    version: ENGINE_VERSION,
    git_revision: parts.gitRevision,
    wasm_sha256: await sha256(parts.wasm),
    probes,
  };
}
