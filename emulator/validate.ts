/**
 * The validate pipeline: one snapshot, one or more targets → per target, the restore outcomes
 * (emulator/kvm), what the guest would observe differently from the source (emulator/drift,
 * probes run in the emulator on both sides) and the guest state that relies on what the target
 * changes (reliance). `rollsafe check` and the HTTP service both call `validate`.
 *
 * The source side is the target the snapshot was taken on: given by the caller, named in the
 * snapshot (`source.profile` + `source.host`), or recognised from the snapshot's kernel release
 * and MIDR when exactly one built-in profile and host match. Without a source there is nothing
 * to compare the guest's view with: drift is then reported as not run (in `notes`), and reliance
 * is judged against the target alone.
 */
import type { Snapshot } from "../snapshots/model.ts";
import { hex } from "../snapshots/kvm/ids.ts";
import type { DriftFinding, RelianceFinding } from "./findings.ts";
import {
  defaultFlavour,
  evaluateRestore,
  flavour,
  planRestore,
  type RestoreResult,
  type VmmFlavour,
} from "./kvm/mod.ts";
import { analyseReliance, DriftError, type DriftRun, runDrift } from "./drift/mod.ts";
import { emptyContext, resolveTarget, type Target, type TargetContext } from "./target.ts";
import { builtinProfileIds, profileFile } from "./profiles/loader.ts";
import { builtinHostIds, hostHex, resolveHost } from "./hosts/loader.ts";

export interface Assessment {
  target: Target;
  restore: RestoreResult;
  drift: DriftFinding[];
  reliance: RelianceFinding[];
  /** What could not be assessed and why (e.g. drift without a source). */
  notes: string[];
}

export interface ValidateOptions {
  /** VMM flavour; default: the snapshot's VMM if known, else generic (emulator/kvm/flavours.ts). */
  vmm?: VmmFlavour;
  /** The source target; default: named in or recognised from the snapshot. */
  source?: Target | string;
  /** User-supplied profiles and hosts that target specs may name. */
  ctx?: TargetContext;
  /** Run the guest probes (drift and reliance). Default true. */
  probes?: boolean;
}

export interface Validation {
  /** The source side, when known. */
  source?: Assessment;
  /** How the source was chosen: "given", "named in the snapshot", or "recognised: …". */
  sourceHow?: string;
  targets: Assessment[];
}

/** The source target named in, or recognised from, the snapshot; undefined if neither. */
export function inferSource(
  s: Snapshot,
  ctx: TargetContext = emptyContext(),
): { target: Target; how: string } | undefined {
  const src = s.source;
  if (!src) return undefined;
  if (src.profile && src.host) {
    return {
      target: resolveTarget(`${src.profile}@${src.host}`, ctx),
      how: "named in the snapshot",
    };
  }
  const kernel = src.kernel?.trim();
  const profiles = kernel
    ? builtinProfileIds().filter((id) => {
      const k = profileFile(id)?.kernel;
      return k !== undefined && (k === kernel || k.split(" ")[0] === kernel);
    })
    : src.profile
    ? [src.profile]
    : [];
  const midr = src.midr;
  const hosts = src.host
    ? [src.host]
    : midr === undefined
    ? []
    : builtinHostIds().filter((id) => hostHex(resolveHost(id), "midr") === midr);
  if (profiles.length !== 1 || hosts.length !== 1) return undefined;
  const target = resolveTarget(`${profiles[0]}@${hosts[0]}`, ctx);
  return {
    target,
    how: `recognised: kernel ${kernel ?? src.profile} is ${profiles[0]}, MIDR ${
      midr === undefined ? "(given host)" : hex(midr)
    } is ${hosts[0]}`,
  };
}

/** Assesses `snapshot` on each target. Throws ProfileError for an unknown target. */
export async function validate(
  snapshot: Snapshot,
  targets: (Target | string)[],
  opts: ValidateOptions = {},
): Promise<Validation> {
  const ctx = opts.ctx ?? emptyContext();
  const resolve = (t: Target | string) => (typeof t === "string" ? resolveTarget(t, ctx) : t);
  const resolved = targets.map(resolve);
  let sourceTarget: Target | undefined;
  let sourceHow: string | undefined;
  if (opts.source !== undefined) {
    sourceTarget = resolve(opts.source);
    sourceHow = "given";
  } else {
    const inferred = inferSource(snapshot, ctx);
    sourceTarget = inferred?.target;
    sourceHow = inferred?.how;
  }
  const vmm = opts.vmm;
  // One restore plan for every side: it depends on the snapshot and the VMM, not the target.
  const plan = planRestore(snapshot, vmm ? flavour(vmm)! : defaultFlavour(snapshot.source?.vmm));
  const sourceRestore = sourceTarget
    ? evaluateRestore(snapshot, sourceTarget, { vmm, plan })
    : undefined;
  const probes = opts.probes ?? true;

  const assessOne = async (target: Target): Promise<Assessment> => {
    const restore = evaluateRestore(snapshot, target, { vmm, plan });
    const a: Assessment = { target, restore, drift: [], reliance: [], notes: [] };
    if (!probes) {
      a.notes.push("guest probes not run (drift and reliance skipped on request)");
      return a;
    }
    // Without a source the target is compared with itself: no drift by construction, but the
    // probe runs on the target still ground the reliance rules.
    const from = sourceTarget && sourceRestore
      ? { target: sourceTarget, restore: sourceRestore }
      : { target, restore };
    if (!sourceTarget) {
      a.notes.push(
        "drift not assessed: the source kernel and host are unknown (give --source <profile@host>)",
      );
    }
    let run: DriftRun;
    try {
      run = await runDrift(snapshot, from, { target, restore });
    } catch (e) {
      if (e instanceof DriftError) {
        a.notes.push(`guest probes could not run: ${e.message}`);
        return a;
      }
      throw e;
    }
    if (sourceTarget) a.drift = run.findings;
    a.reliance = analyseReliance(snapshot, run, { target, restore });
    return a;
  };

  const out: Validation = { targets: [] };
  for (const t of resolved) out.targets.push(await assessOne(t));
  if (sourceTarget && sourceRestore) {
    out.source = {
      target: sourceTarget,
      restore: sourceRestore,
      drift: [],
      reliance: [],
      notes: [],
    };
    out.sourceHow = sourceHow;
  }
  return out;
}

/**
 * The profile and host a target binds into a verdict: their ids and the SHA-256 of their
 * canonical JSON, which `profile.digest` / `host.digest` already hold (profiles/loader.ts
 * profileCanonical, hosts/loader.ts hostCanonical). The shape of verdict/model.ts DataRef.
 */
export function targetRefs(t: Target): {
  profile: { id: string; sha256: Uint8Array };
  host: { id: string; sha256: Uint8Array };
} {
  return {
    profile: { id: t.profile.id, sha256: hexBytes(t.profile.digest) },
    host: { id: t.host.id, sha256: hexBytes(t.host.digest) },
  };
}

/** Each assessed target in the verdict input's shape (verdict/model.ts VerdictInput.targets). */
export function verdictTargets(as: Assessment[]) {
  return as.map((a) => ({
    id: a.target.id,
    ...targetRefs(a.target),
    restorable: a.restore.restorable,
    operations: a.restore.operations,
    drift: a.drift,
    reliance: a.reliance,
  }));
}

function hexBytes(h: string): Uint8Array {
  return Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));
}
