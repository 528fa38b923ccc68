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
import { EXIT } from "./exit.ts";
import { type CommandSpec, type ParsedArgs, UsageError } from "./args.ts";
import { readInput } from "./io.ts";
import {
  configDir,
  devPublicKey,
  envTrustedKeys,
  parsePublicKeys,
  type TrustedKey,
  verdictToJSON,
  verifyVerdict,
} from "../verdict/mod.ts";

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

async function run(p: ParsedArgs): Promise<number> {
  const v = (name: string) => p.values.get(name)?.[0];
  const o = {
    snapshot: v("snapshot"),
    target: v("target"),
    key: p.values.get("key"),
    "max-age": v("max-age"),
    nonce: v("nonce"),
    "accept-dev-key": p.flags.has("accept-dev-key"),
    json: p.flags.has("json"),
  };
  const positionals = p.positionals;
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

    const cose = positionals[0] === "-"
      ? await readInput("-", "verdict")
      : await readFile(positionals[0], "verdict");
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

export const verifyCommand: CommandSpec = {
  name: "verify",
  summary: "check a signed verdict against a snapshot, target and trusted keys",
  args: [{ name: "<verdict.cose>", help: "the COSE_Sign1 verdict (- for stdin)" }],
  options: [
    {
      name: "snapshot",
      value: "file",
      required: true,
      help: "the snapshot the verdict must be about",
    },
    { name: "target", value: "profile@host", required: true, help: "the target it must cover" },
    {
      name: "key",
      value: "file",
      repeat: true,
      help:
        "trusted public keys: SPKI PEM, JWK, JWKS, COSE_Key or COSE_KeySet (default: ROLLSAFE_PUBLIC_KEYS[_FILE])",
    },
    { name: "max-age", value: "30s|15m|24h|7d", help: "refuse verdicts older than this" },
    { name: "nonce", value: "text", help: "the nonce the verdict must carry" },
    { name: "accept-dev-key", help: "trust the local development key too" },
    { name: "json", help: "print the result and the decoded verdict as JSON" },
  ],
  examples: [
    "rollsafe verify verdict.cose --snapshot vm.snap --target amzn2023-6.1@neoverse-n1 --key keys.jwks --max-age 24h",
  ],
  notes:
    "Exit codes: 0 ok, 2 not restorable, 3 usage, 10 bad format or signature, 11 unknown key,\n" +
    "12 other snapshot, 13 target not covered, 15 expired, 16 nonce mismatch, 17 development key refused.",
  run,
};
