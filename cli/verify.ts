/**
 * `rollsafe verify <verdict.cose> --snapshot <file> --target <t> --key <file> …`: the check a
 * rollback runbook runs before it touches a host. Exit 0 only if every check holds:
 *
 *   code  reason              meaning
 *   0     ok                  signed by a trusted key, for this snapshot, covers the target,
 *                             restorable there, fresh enough, nonce matches
 *   2     not-restorable      the verdict says the snapshot does not restore on that target
 *                             (same code as `rollsafe check`)
 *   3     usage / bad input   bad flags, unreadable file, unusable key file
 *   10    bad-format          not a rollsafe COSE_Sign1 verdict (structure, alg, crit, content
 *         bad-signature       type, payload layout), or the signature does not verify
 *   11    unknown-key         no trusted key has the message's kid
 *   12    snapshot-mismatch   the verdict is about other snapshot bytes
 *   13    target-not-covered  no such target in the verdict (or the name is ambiguous)
 *   15    expired             older than --max-age, or issued in the future (> 300 s skew)
 *   16    nonce-mismatch      --nonce given and the verdict's nonce differs or is absent
 *   17    dev-key-refused     signed with a development key and --accept-dev-key not given
 *
 * Checks run in that order of trust (format, dev key, key, signature, then the claims) and the
 * first failure is reported on one line on stderr. --json prints the result and the decoded
 * payload on stdout instead.
 *
 * Keys: every --key file (SPKI PEM, JWK, JWKS, COSE_Key or COSE_KeySet); without --key, the
 * ROLLSAFE_PUBLIC_KEYS / ROLLSAFE_PUBLIC_KEYS_FILE variables. With --accept-dev-key the local
 * development key (if one exists in the config directory) is trusted too.
 */
import { parseArgs } from "node:util";
import { type Command, EXIT } from "./exit.ts";
import {
  configDir,
  devPublicKey,
  envTrustedKeys,
  parsePublicKeys,
  type TrustedKey,
  verdictToJSON,
  verifyVerdict,
} from "../verdict/mod.ts";

const USAGE = "usage: rollsafe verify <verdict.cose> --snapshot <file> --target <id> " +
  "--key <file> [--key <file>…] [--max-age <30s|15m|24h|7d>] [--nonce <text>] " +
  "[--accept-dev-key] [--json]";

class UsageError extends Error {}

/** "90", "90s", "15m", "24h", "7d" → seconds. */
export function parseDuration(text: string): number {
  const m = /^(\d{1,9})([smhd]?)$/.exec(text);
  if (!m) {
    throw new UsageError(
      `--max-age ${JSON.stringify(text)} is not a duration like 30s, 15m, 24h or 7d`,
    );
  }
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2]]!;
  return Number(m[1]) * unit;
}

async function readFile(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

async function run(args: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        snapshot: { type: "string" },
        target: { type: "string" },
        key: { type: "string", multiple: true },
        "max-age": { type: "string" },
        nonce: { type: "string" },
        "accept-dev-key": { type: "boolean" },
        json: { type: "boolean" },
      },
    });
  } catch (e) {
    console.error(`rollsafe verify: ${(e as Error).message}\n${USAGE}`);
    return EXIT.BAD_INPUT;
  }
  const { values: o, positionals } = parsed;
  try {
    if (positionals.length !== 1) {
      throw new UsageError(`expected one verdict file, got ${positionals.length}`);
    }
    if (!o.snapshot) throw new UsageError("--snapshot <file> is required");
    if (!o.target) throw new UsageError("--target <id> is required");
    const maxAgeSeconds = o["max-age"] === undefined ? undefined : parseDuration(o["max-age"]);

    const keys: TrustedKey[] = [];
    try {
      for (const path of o.key ?? []) {
        keys.push(...await parsePublicKeys(await readFile(path, "key file"), path));
      }
      if (keys.length === 0) keys.push(...await envTrustedKeys());
      if (o["accept-dev-key"]) {
        const dev = await devPublicKey(configDir());
        if (dev) keys.push(dev);
      }
    } catch (e) {
      if (e instanceof UsageError) throw e;
      throw new UsageError((e as Error).message);
    }
    if (keys.length === 0) {
      throw new UsageError("no trusted keys: pass --key <file> or set ROLLSAFE_PUBLIC_KEYS(_FILE)");
    }

    const cose = await readFile(positionals[0], "verdict");
    const snapshotBytes = await readFile(o.snapshot, "snapshot");
    const r = await verifyVerdict(cose, {
      keys,
      snapshotBytes,
      target: o.target,
      maxAgeSeconds,
      nonce: o.nonce,
      acceptDevKey: o["accept-dev-key"] ?? false,
    });
    if (o.json) {
      console.log(JSON.stringify(
        {
          ok: r.ok,
          reason: r.reason,
          code: r.code,
          message: r.message,
          kid: r.kid,
          target: r.target?.id,
          verdict: r.verdict ? verdictToJSON(r.verdict) : undefined,
        },
        null,
        2,
      ));
    } else if (r.ok) {
      console.log(`ok: ${r.message}`);
    } else {
      console.error(`rollsafe verify: ${r.reason}: ${r.message}`);
    }
    return r.code;
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`rollsafe verify: ${e.message}`);
    return EXIT.BAD_INPUT;
  }
}

export const verifyCommand: Command = {
  summary: "check a signed verdict against a snapshot, target and trusted keys",
  run,
};
