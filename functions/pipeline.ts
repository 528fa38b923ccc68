/**
 * From uploaded bytes to a signed, recorded verdict: import the snapshot, check the targets,
 * run the validate pipeline (emulator/validate.ts) under the request's instruction and time
 * budgets, build and sign the verdict (verdict/), and record snapshot and verdict in the ledger.
 * Every client-caused failure leaves here as a Problem; only bugs are other errors.
 */
import type { InputFormat } from "../snapshots/import/mod.ts";
import {
  addUserHost,
  addUserProfile,
  emptyContext,
  ProfileError,
  type Target,
  type TargetContext,
} from "../emulator/target.ts";
import { targetRefs, validate, verdictTargets } from "../emulator/validate.ts";
import { FLAVOURS, type VmmFlavour } from "../emulator/kvm/mod.ts";
import { PROBE_BUDGET } from "../emulator/probes/run.ts";
import { buildVerdict, signVerdict, snapshotRef, toHex, type Verdict } from "../verdict/mod.ts";
import { engine } from "./engine.ts";
import { Problem } from "./problem.ts";
import type { Services } from "./services.ts";
import { formatOf, readSnapshot } from "./snapshot_input.ts";
import { targetOf } from "./routes/profiles.ts";

export interface IssueInput {
  bytes: Uint8Array;
  /** The upload's Content-Type (picks the importer); absent: recognised from the bytes. */
  contentType?: string;
  targets: string[];
  vmm?: string;
  /** Source target, when the snapshot does not say where it was taken. */
  source?: string;
  nonce?: string;
  /** User kernel profiles (JSON text) that targets and source may name. */
  profiles?: string[];
  /** User hosts (JSON text) that targets and source may name. */
  hosts?: string[];
}

/** Most user profiles or hosts one request may carry. */
export const MAX_USER_FILES = 16;

/** The request's own profiles and hosts, or a 422 invalid-profile naming the part and rule. */
export function userContext(profiles: string[] = [], hosts: string[] = []): TargetContext {
  const ctx = emptyContext();
  for (const [what, list] of [["profile", profiles], ["host", hosts]] as const) {
    if (list.length > MAX_USER_FILES) {
      throw new Problem(
        "bad-request",
        `${list.length} ${what} parts; at most ${MAX_USER_FILES} per request`,
      );
    }
  }
  // Hosts first: they stand alone, while a profile may build on an earlier user profile.
  const parts = [
    ...hosts.map((h, i) => [`host[${i}]`, () => addUserHost(ctx, h, `host[${i}]`)] as const),
    ...profiles.map((p, i) =>
      [`profile[${i}]`, () => addUserProfile(ctx, p, `profile[${i}]`)] as const
    ),
  ];
  for (const [part, add] of parts) {
    try {
      add();
    } catch (e) {
      if (e instanceof ProfileError) {
        const detail = e.message.startsWith(part) ? e.message : `${part}: ${e.message}`;
        throw new Problem("invalid-profile", detail, { code: e.code, where: part });
      }
      throw e;
    }
  }
  return ctx;
}

export interface Issued {
  verdict: Verdict;
  /** COSE_Sign1 bytes. */
  cose: Uint8Array<ArrayBuffer>;
  /** SHA-256 of the COSE bytes, hex: the verdict's ledger key. */
  sha256: string;
  /** SHA-256 of the snapshot bytes, hex. */
  snapshot: string;
}

/**
 * Refuses an empty or too long target list, and unknown targets, before any work. `name` is
 * how errors call the list (the query parameter, or a JSON path in a webhook delivery).
 */
export function checkTargets(
  targets: string[],
  max: number,
  name = "target",
  ctx: TargetContext = emptyContext(),
): Target[] {
  if (targets.length === 0) {
    throw new Problem("bad-request", "name at least one target (target=<profile>@<host>)");
  }
  if (targets.length > max) {
    throw new Problem(
      "too-many-targets",
      `${targets.length} targets in one request; ROLLSAFE_MAX_TARGETS is ${max}`,
      { limit: max },
    );
  }
  const seen = new Set<string>();
  return targets.map((t, i) => {
    const target = targetOf(t, `${name}[${i}]`, ctx);
    if (seen.has(target.id)) {
      throw new Problem("bad-request", `${name}[${i}]: ${target.id} is named twice`);
    }
    seen.add(target.id);
    return target;
  });
}

/** A VMM flavour name from a request, or a 400 listing the known ones. */
export function vmmOf(vmm: string | undefined): VmmFlavour | undefined {
  if (vmm === undefined) return undefined;
  const f = FLAVOURS.find((x) => x.id === vmm);
  if (!f) {
    throw new Problem(
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
    throw new Problem(
      "budget-exceeded",
      `${vcpus} vCPUs × ${targets + 1} sides (targets and source) × ${PROBE_BUDGET} ` +
        `instructions per probe run = ${worst} instructions at worst; ` +
        `ROLLSAFE_INSTRUCTION_BUDGET is ${budget}`,
      { limit: budget },
    );
  }
}

async function hexDigest(b: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b))));
}

export async function issueVerdict(s: Services, input: IssueInput): Promise<Issued> {
  const limits = s.config.limits;
  const started = Date.now();
  const ctx = userContext(input.profiles, input.hosts);
  const targets = checkTargets(input.targets, limits.maxTargets, "target", ctx);
  const source = input.source === undefined ? undefined : targetOf(input.source, "source", ctx);
  const vmm = vmmOf(input.vmm);
  const format: InputFormat | undefined = formatOf(input.contentType);
  const snapshot = await readSnapshot(input.bytes, format, limits.maxBodyBytes);
  checkInstructionBudget(snapshot.vcpus.length, targets.length, limits.instructionBudget);
  let v;
  try {
    v = await validate(snapshot, targets, { vmm, source, ctx });
  } catch (e) {
    // The snapshot itself may name a source target that does not exist.
    if (e instanceof ProfileError) {
      throw new Problem("unknown-target", `source: ${e.message}`, { code: e.code, where: e.where });
    }
    throw e;
  }
  const elapsed = Date.now() - started;
  if (elapsed > limits.timeBudgetMs) {
    throw new Problem(
      "budget-exceeded",
      `validation took ${elapsed} ms; ROLLSAFE_TIME_BUDGET_MS is ${limits.timeBudgetMs}`,
      { limit: limits.timeBudgetMs },
    );
  }
  if (!v.source) {
    throw new Problem(
      "source-required",
      "the signed verdict binds the source target, and the snapshot neither names one nor " +
        "matches exactly one built-in kernel profile and host: give source=<profile>@<host>",
    );
  }
  const verdict = buildVerdict({
    snapshot: await snapshotRef(input.bytes),
    source: targetRefs(v.source.target),
    vmm: v.targets[0]?.restore.vmm ?? vmm ?? "generic",
    engine: await engine(s.env),
    targets: verdictTargets(v.targets),
    nonce: input.nonce,
  }, { now: s.now() });
  const signer = await s.signer();
  const cose = await signVerdict(verdict, signer);
  const issued: Issued = {
    verdict: { ...verdict, dev_key: signer.dev },
    cose,
    sha256: await hexDigest(cose),
    snapshot: await hexDigest(input.bytes),
  };
  const ledger = await s.ledger();
  await ledger.putSnapshot({
    sha256: issued.snapshot,
    contentType: input.contentType ?? "",
    bytes: input.bytes,
    storedAt: Math.floor(s.now().getTime() / 1000),
  });
  await ledger.putVerdict({
    sha256: issued.sha256,
    snapshot: issued.snapshot,
    targets: verdict.targets.map((t) => t.id),
    status: verdict.summary.status,
    issuedAt: verdict.issued_at,
    cose,
  });
  return issued;
}
