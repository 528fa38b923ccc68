/**
 * The one judge: how a target's restore outcome and findings become a status, how statuses
 * combine over targets, and which exit code a command returns for each. `rollsafe check`,
 * `rollsafe verify`, the signed verdict (build.ts, and codec.ts when it re-checks a payload),
 * the webhook summary and the web page all read these two tables; nothing else decides.
 *
 * What a breaking finding on a restorable target means: the restore succeeds, but the guest
 * observes a change the kernel cannot hide and that the guest is known to act on (e.g. the
 * interrupt groups it configured read back as reset values). A rollback gate must not proceed
 * on that, so it is `fail` everywhere, with the same exit code (2) as "not restorable";
 * `verify` names it `breaking` rather than `not-restorable` so the runbook log says which.
 */
import type { DriftFinding, RelianceFinding } from "./shapes.ts";

export type Status = "pass" | "warn" | "fail";

/** What the judge reads of one target (a TargetVerdict, or an assessment seen as one). */
export interface Judged {
  restorable: boolean;
  operations?: readonly { outcome: string }[];
  drift?: readonly DriftFinding[];
  reliance?: readonly RelianceFinding[];
}

/** Why a target got its status; the `verify` reason of a refusal is the same name. */
export type Cause = "not-restorable" | "breaking" | "notable" | "ignored" | "clean";

/**
 * The rules, first match wins. One row per cause: the condition, the status it gives, and a
 * sentence for people. Exported so the README and tests can be checked against the rows.
 */
export interface StatusRule {
  cause: Cause;
  status: Status;
  /** `rollsafe verify`'s reason when every check of the message held and this rule decided. */
  reason: "not-restorable" | "breaking" | "warnings" | "ok";
  when: (t: Judged) => boolean;
  /** What a report prints for the target. */
  label: string;
  meaning: string;
}

export const STATUS_RULES: readonly StatusRule[] = [
  {
    cause: "not-restorable",
    reason: "not-restorable",
    status: "fail",
    when: (t) => t.restorable !== true,
    label: "NOT RESTORABLE",
    meaning: "an operation of the restore fails on the target kernel",
  },
  {
    cause: "breaking",
    reason: "breaking",
    status: "fail",
    when: (t) => findings(t).some((f) => f.severity === "breaking"),
    label: "BREAKING for the guest",
    meaning: "restorable, but the guest would observe a breaking change",
  },
  {
    cause: "notable",
    reason: "warnings",
    status: "warn",
    when: (t) => findings(t).some((f) => f.severity === "notable"),
    label: "restorable with warnings",
    meaning: "restorable, with a notable guest-visible change",
  },
  {
    cause: "ignored",
    reason: "warnings",
    status: "warn",
    when: (t) => (t.operations ?? []).some((o) => o.outcome === "ignored"),
    label: "restorable with warnings",
    meaning: "restorable, but the kernel ignores some written state",
  },
  {
    cause: "clean",
    reason: "ok",
    status: "pass",
    when: () => true,
    label: "restorable",
    meaning: "restorable, nothing above info",
  },
];

/**
 * Per status: its rank (the overall status is the worst target's) and the exit code of
 * `rollsafe check` and of `rollsafe verify` once every check of the signed message held.
 * README.md's exit-code table is tested against these rows (tests/verdict/judge_test.ts).
 */
export const STATUS_TABLE: Readonly<Record<Status, { rank: number; exit: number; text: string }>> =
  {
    pass: { rank: 0, exit: 0, text: "restorable" },
    warn: { rank: 1, exit: 1, text: "restorable with warnings" },
    fail: { rank: 2, exit: 2, text: "NOT safe to restore" },
  };

function findings(t: Judged) {
  return [...(t.drift ?? []), ...(t.reliance ?? [])];
}

/** The first rule that holds for `t`. */
export function judge(t: Judged): StatusRule {
  return STATUS_RULES.find((r) => r.when(t))!;
}

/** The status of one target. */
export function targetStatus(t: Judged): Status {
  return judge(t).status;
}

/** The worst of the statuses; `pass` for none. */
export function worst(statuses: Iterable<Status>): Status {
  let w: Status = "pass";
  for (const s of statuses) if (STATUS_TABLE[s].rank > STATUS_TABLE[w].rank) w = s;
  return w;
}

/** The exit code for a status (check, and verify after its own checks). */
export function exitCode(status: Status): number {
  return STATUS_TABLE[status].exit;
}
