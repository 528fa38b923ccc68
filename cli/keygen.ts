/**
 * `rollsafe keygen [--dir <dir>]`: makes a new production Ed25519 key pair and prints its kid.
 * Files, named by kid, in --dir (default: <config dir>/keys, see verdict/keystore.ts):
 *   <kid>.private.pem       PKCS#8 private key (mode 0600): set ROLLSAFE_SIGNING_KEY_FILE to it
 *                           (or ROLLSAFE_SIGNING_KEY to its text) where verdicts are signed;
 *   <kid>.public.jwk.json   public JWK (RFC 8037) for `rollsafe verify --key`;
 *   <kid>.public.cose_key   the same as a COSE_Key (RFC 9052 §7);
 *   <kid>.public.pem        the same as SPKI PEM (RFC 8410).
 * Refuses to write inside the rollsafe repository and never overwrites a file.
 *
 * `rollsafe keygen --export jwks|cose-keyset [--out <file>]`: writes the public keys this
 * deployment publishes as a JWKS (RFC 7517 §5) or a COSE_KeySet (RFC 9052 §7), for verifiers and
 * key rotation: the configured signer's (ROLLSAFE_SIGNING_KEY[_FILE]) if there is one, else the
 * key `keygen` made last in --dir, then ROLLSAFE_PUBLIC_KEYS(_FILE). The development key is never
 * exported: a verifier that trusted it would accept verdicts signed on any developer's machine.
 */
import { join } from "node:path";
import { EXIT } from "./exit.ts";
import type { CommandSpec, ParsedArgs } from "./args.ts";
import { writeOutput } from "./io.ts";
import {
  configDir,
  deriveKid,
  envTrustedKeys,
  generateKeyPair,
  insideRepository,
  loadSigner,
  parsePublicKeys,
  pemEncode,
  publishedKeys,
  toCoseKey,
  toCoseKeySet,
  toJwk,
  toJwks,
  toPublicPem,
  type TrustedKey,
} from "../verdict/mod.ts";

async function generate(dir: string): Promise<number> {
  if (insideRepository(dir)) {
    console.error(
      `rollsafe keygen: refusing to write a private key inside the repository (${dir})`,
    );
    return EXIT.BAD_INPUT;
  }
  const { pkcs8, publicKey } = await generateKeyPair();
  const kid = await deriveKid(publicKey);
  const pub = { kid, publicKey };
  const files: [string, Uint8Array | string, number][] = [
    [`${kid}.private.pem`, pemEncode("PRIVATE KEY", pkcs8), 0o600],
    [`${kid}.public.jwk.json`, JSON.stringify(toJwk(pub), null, 2) + "\n", 0o644],
    [`${kid}.public.cose_key`, toCoseKey(pub), 0o644],
    [`${kid}.public.pem`, toPublicPem(publicKey), 0o644],
  ];
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    for (const [name, data, mode] of files) {
      const opts = { createNew: true, mode };
      const path = join(dir, name);
      if (typeof data === "string") await Deno.writeTextFile(path, data, opts);
      else await Deno.writeFile(path, data, opts);
      console.error(`wrote ${path}`);
    }
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}`);
    return EXIT.BAD_INPUT;
  }
  console.log(kid);
  const priv = join(dir, `${kid}.private.pem`);
  console.error(
    [
      "",
      "next steps:",
      `  export ROLLSAFE_SIGNING_KEY_FILE=${priv}   # sign verdicts with it (check --out, task start)`,
      `  rollsafe keygen --export jwks --dir ${dir} --out keys.jwks   # publish the public key`,
      `  rollsafe verify verdict.cose --snapshot vm.snap --target <profile@host> --key keys.jwks`,
    ].join("\n"),
  );
  return EXIT.OK;
}

/** The public key `keygen` wrote last into `dir` (newest `<kid>.public.jwk.json`), if any. */
async function newestKey(dir: string): Promise<{ key: TrustedKey; path: string } | undefined> {
  let best: { path: string; mtime: number } | undefined;
  try {
    for await (const e of Deno.readDir(dir)) {
      if (!e.isFile || !/^[0-9a-f]{32}\.public\.jwk\.json$/.test(e.name)) continue;
      const path = join(dir, e.name);
      const mtime = (await Deno.stat(path)).mtime?.getTime() ?? 0;
      if (!best || mtime > best.mtime) best = { path, mtime };
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  if (!best) return undefined;
  const [key] = await parsePublicKeys(await Deno.readFile(best.path), best.path);
  return { key, path: best.path };
}

/** The keys to publish: see the module comment. */
async function keysToPublish(dir: string): Promise<TrustedKey[]> {
  if (Deno.env.get("ROLLSAFE_SIGNING_KEY") || Deno.env.get("ROLLSAFE_SIGNING_KEY_FILE")) {
    return await publishedKeys(await loadSigner());
  }
  const made = await newestKey(dir);
  if (!made) {
    throw new Error(
      `no production key to export: none in ${dir} and ROLLSAFE_SIGNING_KEY(_FILE) is not set; run \`rollsafe keygen\` first (the development key is never exported)`,
    );
  }
  console.error(`rollsafe keygen: exporting ${made.key.kid} (${made.path})`);
  const seen = new Set([made.key.kid]);
  return [made.key, ...(await envTrustedKeys()).filter((k) => !seen.has(k.kid) && seen.add(k.kid))];
}

async function exportKeys(
  format: string,
  out: string | undefined,
  dir: string,
): Promise<number> {
  if (format !== "jwks" && format !== "cose-keyset") {
    console.error(`rollsafe keygen: --export ${format}: expected jwks or cose-keyset`);
    return EXIT.BAD_INPUT;
  }
  let bytes: Uint8Array;
  try {
    const keys = await keysToPublish(dir);
    bytes = format === "jwks"
      ? new TextEncoder().encode(JSON.stringify(toJwks(keys), null, 2) + "\n")
      : toCoseKeySet(keys);
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}`);
    return EXIT.BAD_INPUT;
  }
  try {
    await writeOutput(out ?? "-", bytes, "--out");
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}`);
    return EXIT.BAD_INPUT;
  }
  return EXIT.OK;
}

async function run(p: ParsedArgs): Promise<number> {
  const values = {
    dir: p.values.get("dir")?.[0],
    export: p.values.get("export")?.[0],
    out: p.values.get("out")?.[0],
  };
  if (values.export === undefined && values.out !== undefined) {
    console.error(`rollsafe keygen: --out applies to --export only`);
    return EXIT.BAD_INPUT;
  }
  let dir: string;
  try {
    dir = values.dir ?? join(configDir(), "keys");
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}`);
    return EXIT.BAD_INPUT;
  }
  if (values.export !== undefined) return await exportKeys(values.export, values.out, dir);
  return await generate(dir);
}

export const keygenCommand: CommandSpec = {
  name: "keygen",
  summary: "make a production signing key pair, or export the public keys to publish",
  options: [
    {
      name: "dir",
      value: "dir",
      help: "where the key files are written / looked up (default <config dir>/keys)",
    },
    { name: "export", value: "jwks|cose-keyset", help: "write the public keys to publish instead" },
    { name: "out", short: "o", value: "file", help: "with --export: the file (default stdout)" },
  ],
  examples: [
    "rollsafe keygen",
    "rollsafe keygen --export jwks --out keys.jwks",
    "rollsafe keygen --dir /etc/rollsafe/keys && rollsafe keygen --export cose-keyset --dir /etc/rollsafe/keys -o keys.cose",
  ],
  run,
};
