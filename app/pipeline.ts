/**
 * Bytes + target specs + options → assessment → verdict → signed COSE, the one way both front
 * ends do it. Every rule about the request lives here once: the user's own profiles and hosts,
 * target resolution and its limits, the VMM flavour, the source rule (given, named in the
 * snapshot, or recognised), the instruction and time budgets, and what the signed verdict binds.
 * Client-caused failures leave as AppError (app/errors.ts); the front ends only map them.
 */
import { importSnapshot, type InputFormat } from "../snapshots/import/mod.ts";
import { type Snapshot, SnapshotError } from "../snapshots/mod.ts";
import {
  addUserHost,
  addUserProfile,
  emptyContext,
  ProfileError,
  resolveTarget,
  type Target,
  type TargetContext,
} from "../emulator/target.ts";
import { FLAVOURS, type VmmFlavour } from "../emulator/kvm/mod.ts";
import { PROBE_BUDGET } from "../emulator/probes/run.ts";
import {
  type Assessment,
  targetRefs,
  validate,
  type Validation,
  verdictTargets,
} from "../emulator/validate.ts";
import {
  buildVerdict,
  judge,
  type Signer,
  signVerdict,
  snapshotRef,
  type StatusRule,
  toHex,
  type Verdict,
} from "../verdict/mod.ts";
import { AppError } from "./errors.ts";
import { engine } from "./engine.ts";

export type { Assessment, Validation };

/** A user profile or host as JSON text, and how errors name it (a file name, `profile[0]`). */
export interface UserFile {
  text: string;
  where: string;
}

/** Most user profiles, and most user hosts, one request may carry. */
export const MAX_USER_FILES = 16;

/** The request's own profiles and hosts; an AppError invalid-profile names the part and rule. */
export function userContext(profiles: UserFile[] = [], hosts: UserFile[] = []): TargetContext {
  const ctx = emptyContext();
  for (const [what, list] of [["profile", profiles], ["host", hosts]] as const) {
    if (list.length > MAX_USER_FILES) {
      throw new AppError(
        "bad-request",
        `${list.length} ${what} parts; at most ${MAX_USER_FILES} per request`,
      );
    }
  }
  // Hosts first: they stand alone, while a profile may build on an earlier user profile.
  const parts = [
    ...hosts.map((h) => [h.where, () => addUserHost(ctx, h.text, h.where)] as const),
    ...profiles.map((p) => [p.where, () => addUserProfile(ctx, p.text, p.where)] as const),
  ];
  for (const [part, add] of parts) {
    try {
      add();
    } catch (e) {
      if (e instanceof ProfileError) {
        const detail = e.message.startsWith(part) ? e.message : `${part}: ${e.message}`;
        throw new AppError("invalid-profile", detail, { code: e.code, where: part });
      }
      throw e;
    }
  }
  return ctx;
}

/** One target spec, or an AppError unknown-target naming `where`. */
export function resolveSpec(spec: string, where: string, ctx: TargetContext): Target {
  try {
    return resolveTarget(spec, ctx);
  } catch (e) {
    if (e instanceof ProfileError) {
      throw new AppError("unknown-target", `${where}: ${e.message}`, { code: e.code, where });
    }
    throw e;
  }
}

/**
 * Refuses an empty or too long target list, unknown targets and a target named twice, before
 * any work. `name` is how errors call the list (`target`, or a JSON path in a webhook delivery).
 */
export function resolveTargets(
  specs: string[],
  ctx: TargetContext = emptyContext(),
  opts: { max?: number; name?: string } = {},
): Target[] {
  const name = opts.name ?? "target";
  if (specs.length === 0) {
    throw new AppError("bad-request", "name at least one target (<profile>@<host>)");
  }
  if (opts.max !== undefined && specs.length > opts.max) {
    throw new AppError(
      "too-many-targets",
      `${specs.length} targets in one request; ROLLSAFE_MAX_TARGETS is ${opts.max}`,
      { limit: opts.max },
    );
  }
  const seen = new Set<string>();
  return specs.map((t, i) => {
    const target = resolveSpec(t, `${name}[${i}]`, ctx);
    if (seen.has(target.id)) {
      throw new AppError("bad-request", `${name}[${i}]: ${target.id} is named twice`);
    }
    seen.add(target.id);
    return target;
  });
}

/** A VMM flavour name, or an AppError bad-request listing the known ones. */
export function vmmOf(vmm: string | undefined): VmmFlavour | undefined {
  if (vmm === undefined) return undefined;
  const f = FLAVOURS.find((x) => x.id === vmm);
  if (!f) {
    throw new AppError(
      "bad-request",
      `vmm "${vmm}" is not a known VMM flavour (known: ${FLAVOURS.map((x) => x.id).join(", ")})`,
    );
  }
  return f.id;
}

/**
 * The instruction budget is admission control on the worst case: each probe run on one vCPU
 * of one side (source or target) may retire at most PROBE_BUDGET instructions before the
 * emulator stops it (emulator/probes/run.ts), so a request may cost up to
 * PROBE_BUDGET × vCPUs × (targets + 1 source) instructions. Above the budget it is refused
 * before anything runs.
 */
export function checkInstructionBudget(vcpus: number, targets: number, budget: number): void {
  const worst = PROBE_BUDGET * BigInt(vcpus) * BigInt(targets + 1);
  if (worst > BigInt(budget)) {
    throw new AppError(
      "budget-exceeded",
      `${vcpus} vCPUs × ${targets + 1} sides (targets and source) × ${PROBE_BUDGET} ` +
        `instructions per probe run = ${worst} instructions at worst; ` +
        `ROLLSAFE_INSTRUCTION_BUDGET is ${budget}`,
      { limit: budget },
    );
  }
}

export interface CheckLimits {
  /** Most targets per request (ROLLSAFE_MAX_TARGETS); unlimited when absent. */
  maxTargets?: number;
  /** Largest snapshot the native decoder accepts, bytes. */
  maxBytes?: number;
  /** ROLLSAFE_INSTRUCTION_BUDGET: refused before anything runs when the worst case is above. */
  instructionBudget?: number;
  /** ROLLSAFE_TIME_BUDGET_MS: a validation that took longer is refused, not signed. */
  timeBudgetMs?: number;
}

export interface CheckRequest {
  /** The uploaded or read bytes, exactly. */
  bytes: Uint8Array;
  /** The importer to use; recognised from the bytes when absent. */
  format?: InputFormat;
  /** Target specs, `<profile>@<host>`. */
  targets: string[];
  /** How errors call the target list (default `target`). */
  targetsName?: string;
  /** Source target spec, when the snapshot does not say where it was taken. */
  source?: string;
  vmm?: string;
  profiles?: UserFile[];
  hosts?: UserFile[];
  /** Run the guest probes (drift and reliance). Default true. */
  probes?: boolean;
  limits?: CheckLimits;
}

export interface Checked {
  bytes: Uint8Array;
  snapshot: Snapshot;
  /** The source side (when known), how it was chosen, and each target's assessment. */
  validation: Validation;
  /** The VMM flavour the restore model used. */
  vmm: string;
}

/** Reads, resolves and assesses: everything up to (not including) the verdict. */
export async function check(req: CheckRequest): Promise<Checked> {
  const limits = req.limits ?? {};
  const started = Date.now();
  const ctx = userContext(req.profiles, req.hosts);
  const targets = resolveTargets(req.targets, ctx, {
    max: limits.maxTargets,
    name: req.targetsName,
  });
  const source = req.source === undefined ? undefined : resolveSpec(req.source, "source", ctx);
  const vmm = vmmOf(req.vmm);
  let snapshot: Snapshot;
  try {
    snapshot = await importSnapshot(req.bytes, {
      format: req.format,
      limits: limits.maxBytes === undefined ? undefined : { maxBytes: limits.maxBytes },
    });
  } catch (e) {
    if (e instanceof SnapshotError) {
      throw new AppError("invalid-snapshot", e.message, { code: e.code, where: e.where });
    }
    throw e;
  }
  if (limits.instructionBudget !== undefined && req.probes !== false) {
    checkInstructionBudget(snapshot.vcpus.length, targets.length, limits.instructionBudget);
  }
  let validation: Validation;
  try {
    validation = await validate(snapshot, targets, { vmm, source, ctx, probes: req.probes });
  } catch (e) {
    // The snapshot itself may name a source target that does not exist.
    if (e instanceof ProfileError) {
      throw new AppError("unknown-target", `source: ${e.message}`, {
        code: e.code,
        where: e.where,
      });
    }
    throw e;
  }
  const elapsed = Date.now() - started;
  if (limits.timeBudgetMs !== undefined && elapsed > limits.timeBudgetMs) {
    throw new AppError(
      "budget-exceeded",
      `validation took ${elapsed} ms; ROLLSAFE_TIME_BUDGET_MS is ${limits.timeBudgetMs}`,
      { limit: limits.timeBudgetMs },
    );
  }
  return {
    bytes: req.bytes,
    snapshot,
    validation,
    vmm: validation.targets[0]?.restore.vmm ?? vmm ?? "generic",
  };
}

export interface SignOptions {
  signer: Signer;
  /** The issue time (the only clock the verdict reads). */
  now: Date;
  /** ROLLSAFE_GIT_REVISION, bound into the engine identity when given. */
  gitRevision?: string;
  nonce?: string;
}

export interface Signed {
  verdict: Verdict;
  /** COSE_Sign1 bytes. */
  cose: Uint8Array<ArrayBuffer>;
  /** SHA-256 of the COSE bytes, hex: the verdict's ledger key. */
  sha256: string;
  /** SHA-256 of the snapshot bytes, hex. */
  snapshot: string;
}

/** The verdict over a check, signed. A verdict binds its source: without one, source-required. */
export async function sign(c: Checked, opts: SignOptions): Promise<Signed> {
  const source = c.validation.source;
  if (!source) {
    throw new AppError(
      "source-required",
      "the signed verdict binds the source target, and the snapshot neither names one nor " +
        "matches exactly one built-in kernel profile and host: name the source <profile>@<host>",
    );
  }
  const snapshot = await snapshotRef(c.bytes);
  const verdict = buildVerdict({
    snapshot,
    source: targetRefs(source.target),
    vmm: c.vmm,
    engine: await engine(opts.gitRevision),
    targets: verdictTargets(c.validation.targets),
    nonce: opts.nonce,
  }, { now: opts.now });
  const cose = await signVerdict(verdict, opts.signer);
  return {
    verdict: { ...verdict, dev_key: opts.signer.dev },
    cose,
    sha256: toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", cose))),
    snapshot: toHex(snapshot.sha256),
  };
}

/** The judge's rule (verdict/judge.ts) for one assessment, read as the target it signs. */
export function judgeAssessment(a: Assessment): StatusRule {
  return judge({
    restorable: a.restore.restorable,
    operations: a.restore.operations,
    drift: a.drift,
    reliance: a.reliance,
  });
}
