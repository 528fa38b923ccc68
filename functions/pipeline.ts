/**
 * From uploaded bytes to a signed, recorded verdict. The work is app/ (the same pipeline
 * `rollsafe check` runs); this module keeps what only the service has: its limits from the
 * configuration, the Content-Type → importer choice, the mapping of AppError to the Problem of
 * the same type, and recording snapshot and verdict in the ledger.
 * Every client-caused failure leaves here as a Problem; only bugs are other errors.
 */
import * as app from "../app/mod.ts";
import { emptyContext, type Target, type TargetContext } from "../emulator/target.ts";
import type { VmmFlavour } from "../emulator/kvm/mod.ts";
import type { Verdict } from "../verdict/mod.ts";
import { Problem } from "./problem.ts";
import type { Services } from "./services.ts";
import { formatOf } from "./snapshot_input.ts";

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
export const MAX_USER_FILES = app.MAX_USER_FILES;

export interface Issued {
  verdict: Verdict;
  /** COSE_Sign1 bytes. */
  cose: Uint8Array<ArrayBuffer>;
  /** SHA-256 of the COSE bytes, hex: the verdict's ledger key. */
  sha256: string;
  /** SHA-256 of the snapshot bytes, hex. */
  snapshot: string;
}

/** Runs `f`, turning an AppError into the Problem of the same type. */
export function mapped<T>(f: () => T): T {
  try {
    return f();
  } catch (e) {
    throw problemOf(e);
  }
}

/** The Problem for an AppError; anything else unchanged. */
export function problemOf(e: unknown): unknown {
  return e instanceof app.AppError ? new Problem(e.type, e.detail, e.extensions) : e;
}

const userFiles = (what: string, list: string[] = []) =>
  list.map((text, i) => ({ text, where: `${what}[${i}]` }));

/** The request's own profiles and hosts, or a 422 invalid-profile naming the part and rule. */
export function userContext(profiles: string[] = [], hosts: string[] = []): TargetContext {
  return mapped(() => app.userContext(userFiles("profile", profiles), userFiles("host", hosts)));
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
  return mapped(() => app.resolveTargets(targets, ctx, { max, name }));
}

/** A VMM flavour name from a request, or a 400 listing the known ones. */
export function vmmOf(vmm: string | undefined): VmmFlavour | undefined {
  return mapped(() => app.vmmOf(vmm));
}

/** app/ checkInstructionBudget as a 422 budget-exceeded. */
export function checkInstructionBudget(vcpus: number, targets: number, budget: number): void {
  mapped(() => app.checkInstructionBudget(vcpus, targets, budget));
}

export async function issueVerdict(s: Services, input: IssueInput): Promise<Issued> {
  const limits = s.config.limits;
  let issued: app.Signed;
  try {
    const checked = await app.check({
      bytes: input.bytes,
      format: formatOf(input.contentType, input.bytes),
      targets: input.targets,
      source: input.source,
      vmm: input.vmm,
      profiles: userFiles("profile", input.profiles),
      hosts: userFiles("host", input.hosts),
      limits: {
        maxTargets: limits.maxTargets,
        maxBytes: limits.maxBodyBytes,
        instructionBudget: limits.instructionBudget,
        timeBudgetMs: limits.timeBudgetMs,
      },
    });
    issued = await app.sign(checked, {
      signer: await s.signer(),
      now: s.now(),
      gitRevision: s.env("ROLLSAFE_GIT_REVISION"),
      nonce: input.nonce,
    });
  } catch (e) {
    throw problemOf(e);
  }
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
    targets: issued.verdict.targets.map((t) => t.id),
    status: issued.verdict.summary.status,
    issuedAt: issued.verdict.issued_at,
    cose: issued.cose,
  });
  return issued;
}
