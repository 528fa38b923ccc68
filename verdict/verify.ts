/**
 * Verifying a signed verdict the way a rollback runbook needs it: not only "is the signature
 * good", but "is this a verdict, by a key I trust, about *this* snapshot, covering *this*
 * target, saying it restores, recent enough, and answering *my* nonce".
 *
 * Checks run in the order of VERIFY_REASONS and the first failing one is reported, so a forged
 * or unknown-key message never gets as far as having its claims read.
 */
import { equalBytes, sha256, toHex } from "./bytes.ts";
import { checkSign1, parseSign1 } from "./cose.ts";
import { decodeVerdict } from "./codec.ts";
import { DEV_KID_PREFIX, type TrustedKey } from "./keys.ts";
import { exitCode, judge } from "./judge.ts";
import { type TargetVerdict, type Verdict, VERDICT_AAD, VERDICT_CONTENT_TYPE } from "./model.ts";

/**
 * Why verification did not end in a plain yes, with the exit code `rollsafe verify` returns for
 * it. Codes 10+ are verify's own refusals of the message; once the message holds, the target's
 * signed status is judged by verdict/judge.ts and its exit code is the one `rollsafe check`
 * returns for the same status: `not-restorable` and `breaking` (status fail) 2, `warnings`
 * (status warn) 1.
 */
export const VERIFY_REASONS = {
  /** Not a COSE_Sign1 verdict: structure, header, algorithm, content type or payload layout. */
  "bad-format": 10,
  /** A development key signed it and the caller did not pass acceptDevKey / --accept-dev-key. */
  "dev-key-refused": 17,
  /** No trusted key has the message's kid. */
  "unknown-key": 11,
  /** The Ed25519 signature does not verify under the trusted key. */
  "bad-signature": 10,
  /** The verdict is about other snapshot bytes. */
  "snapshot-mismatch": 12,
  /** The verdict has no target by that name (or the name is ambiguous). */
  "target-not-covered": 13,
  /** The verdict says the snapshot does not restore on that target (status fail). */
  "not-restorable": 2,
  /** Restorable, but the guest would observe a breaking change (status fail). */
  "breaking": 2,
  /** Older than maxAgeSeconds, or issued in the future beyond the clock skew allowance. */
  "expired": 15,
  /** The verdict's nonce is absent or differs from the expected one. */
  "nonce-mismatch": 16,
  /** Every check held; the target is restorable with warnings (status warn). */
  "warnings": 1,
} as const;

export type VerifyReason = keyof typeof VERIFY_REASONS;

/** How far in the future issued_at may be before it counts as wrong (clock skew). */
export const CLOCK_SKEW_SECONDS = 300;

export interface VerifyOptions {
  /** The trusted public keys (keys.ts parsePublicKeys, keystore.ts envTrustedKeys). */
  keys: readonly TrustedKey[];
  /** The snapshot file's bytes (digest and size are compared) … */
  snapshotBytes?: Uint8Array;
  /** … or its SHA-256, when the bytes are not at hand. One of the two is required. */
  snapshotDigest?: Uint8Array;
  /** Target id, or a profile id that names exactly one target of the verdict. */
  target: string;
  maxAgeSeconds?: number;
  nonce?: string;
  acceptDevKey?: boolean;
  /** Accept a COSE_Sign1 without tag 18 (RFC 9052 §4.2 allows it; rollsafe always tags). */
  acceptUntagged?: boolean;
  /** The clock for the age check. */
  now?: Date;
}

export interface VerifyResult {
  ok: boolean;
  reason: VerifyReason | "ok";
  /** 0 when ok, else VERIFY_REASONS[reason]. */
  code: number;
  /** One line saying what was checked or what failed, for people and logs. */
  message: string;
  /** The kid from the protected header, once the structure was readable. */
  kid?: string;
  /** The payload, once the signature verified. */
  verdict?: Verdict;
  /** The matched target, once found. */
  target?: TargetVerdict;
}

export async function verifyVerdict(bytes: Uint8Array, opts: VerifyOptions): Promise<VerifyResult> {
  if (opts.snapshotBytes === undefined && opts.snapshotDigest === undefined) {
    throw new TypeError("verifyVerdict needs snapshotBytes or snapshotDigest");
  }
  const fail = (
    reason: VerifyReason,
    message: string,
    extra: Partial<VerifyResult> = {},
  ): VerifyResult => ({ ok: false, reason, code: VERIFY_REASONS[reason], message, ...extra });

  let msg;
  try {
    msg = parseSign1(bytes, { acceptUntagged: opts.acceptUntagged });
  } catch (e) {
    return fail("bad-format", (e as Error).message);
  }
  let kid: string;
  try {
    kid = new TextDecoder("utf-8", { fatal: true }).decode(msg.kid);
  } catch {
    return fail("bad-format", `kid ${toHex(msg.kid)} is not UTF-8 text`);
  }
  if (msg.contentType !== VERDICT_CONTENT_TYPE) {
    return fail(
      "bad-format",
      `content type is ${JSON.stringify(msg.contentType ?? null)}, not ${VERDICT_CONTENT_TYPE}`,
      { kid },
    );
  }
  const dev = kid.startsWith(DEV_KID_PREFIX);
  if (dev && !opts.acceptDevKey) {
    return fail(
      "dev-key-refused",
      `signed with development key ${kid}; pass --accept-dev-key only outside production`,
      { kid },
    );
  }
  const key = opts.keys.find((k) => k.kid === kid);
  if (!key) {
    return fail("unknown-key", `kid ${kid} is not among the ${opts.keys.length} trusted key(s)`, {
      kid,
    });
  }
  if (!(await checkSign1(msg, key.key, VERDICT_AAD))) {
    return fail("bad-signature", `signature does not verify under key ${kid}`, { kid });
  }

  let verdict: Verdict;
  try {
    verdict = decodeVerdict(msg.payload);
  } catch (e) {
    return fail("bad-format", `signed payload: ${(e as Error).message}`, { kid });
  }
  if (verdict.dev_key !== dev) {
    return fail(
      "bad-format",
      `payload dev_key is ${verdict.dev_key} but kid ${kid} says ${dev ? "" : "not "}development`,
      { kid },
    );
  }
  const ctx = { kid, verdict };

  const want = opts.snapshotBytes !== undefined
    ? await sha256(opts.snapshotBytes)
    : opts.snapshotDigest!;
  if (!equalBytes(want, verdict.snapshot.sha256)) {
    return fail(
      "snapshot-mismatch",
      `verdict is for snapshot sha256 ${toHex(verdict.snapshot.sha256)}, not ${toHex(want)}`,
      ctx,
    );
  }
  if (opts.snapshotBytes !== undefined && opts.snapshotBytes.length !== verdict.snapshot.size) {
    return fail(
      "snapshot-mismatch",
      `verdict is for a snapshot of ${verdict.snapshot.size} bytes, the file has ${opts.snapshotBytes.length}`,
      ctx,
    );
  }

  const found = findTarget(verdict, opts.target);
  if (typeof found === "string") return fail("target-not-covered", found, ctx);
  const withTarget = { ...ctx, target: found };
  // The same judge that set the signed status (decodeVerdict refused any disagreement), asked
  // again for the cause, so a refusal says which rule.
  const judged = judge(found);
  if (judged.reason === "not-restorable") {
    const failed = found.operations.filter((o) => o.outcome === "failed");
    const first = failed[0];
    return fail(
      "not-restorable",
      `verdict says not restorable on ${found.id}: ${failed.length} failed operation(s)` +
        (first ? `, first ${first.op} ${first.name}: ${first.errno}` : ""),
      withTarget,
    );
  }
  if (judged.reason === "breaking") {
    const breaking = [...found.drift, ...found.reliance].filter((f) => f.severity === "breaking");
    const first = breaking[0];
    return fail(
      "breaking",
      `verdict says restorable on ${found.id} but the guest would observe ${breaking.length} ` +
        `breaking change(s), first ${"what" in first ? first.what : first.kind}: ` +
        first.explanation,
      withTarget,
    );
  }

  if (opts.maxAgeSeconds !== undefined) {
    const now = Math.floor((opts.now ?? new Date()).getTime() / 1000);
    const age = now - verdict.issued_at;
    if (age > opts.maxAgeSeconds) {
      return fail(
        "expired",
        `verdict issued ${age} s ago (${
          iso(verdict.issued_at)
        }), above the maximum age of ${opts.maxAgeSeconds} s`,
        withTarget,
      );
    }
    if (-age > CLOCK_SKEW_SECONDS) {
      return fail(
        "expired",
        `verdict issued ${-age} s in the future (${iso(verdict.issued_at)}); clocks disagree`,
        withTarget,
      );
    }
  }
  if (opts.nonce !== undefined && verdict.nonce !== opts.nonce) {
    return fail(
      "nonce-mismatch",
      verdict.nonce === undefined
        ? `verdict has no nonce; expected ${JSON.stringify(opts.nonce)}`
        : `verdict nonce ${JSON.stringify(verdict.nonce)} is not ${JSON.stringify(opts.nonce)}`,
      withTarget,
    );
  }

  const says = `verdict by ${kid}${dev ? " (DEVELOPMENT key)" : ""}: restorable on ${found.id}` +
    ` (status ${found.status}), snapshot ${toHex(verdict.snapshot.sha256).slice(0, 16)}…, ` +
    `issued ${iso(verdict.issued_at)}`;
  if (judged.reason !== "ok") return fail(judged.reason, `${says}; ${judged.meaning}`, withTarget);
  return { ok: true, reason: "ok", code: exitCode(judged.status), message: says, ...withTarget };
}

/** The target named by `name`: an exact id, else the one target with that profile id. */
function findTarget(v: Verdict, name: string): TargetVerdict | string {
  const exact = v.targets.find((t) => t.id === name);
  if (exact) return exact;
  const byProfile = v.targets.filter((t) => t.profile.id === name);
  if (byProfile.length === 1) return byProfile[0];
  const ids = v.targets.map((t) => t.id).join(", ");
  return byProfile.length > 1
    ? `target "${name}" is ambiguous: it is the profile of ${byProfile.length} targets (${ids}); name one`
    : `verdict does not cover target "${name}"; it covers ${ids}`;
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString().replace(".000Z", "Z");
}
