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
 * deployment trusts and publishes (the configured signer's, then ROLLSAFE_PUBLIC_KEYS(_FILE))
 * as a JWKS (RFC 7517 §5) or a COSE_KeySet (RFC 9052 §7), for verifiers and key rotation.
 */
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type Command, EXIT } from "./exit.ts";
import {
  configDir,
  deriveKid,
  generateKeyPair,
  insideRepository,
  loadSigner,
  pemEncode,
  publishedKeys,
  toCoseKey,
  toCoseKeySet,
  toJwk,
  toJwks,
  toPublicPem,
} from "../verdict/mod.ts";

const USAGE =
  "usage: rollsafe keygen [--dir <dir>] | rollsafe keygen --export jwks|cose-keyset [--out <file>]";

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
  return EXIT.OK;
}

async function exportKeys(format: string, out: string | undefined): Promise<number> {
  if (format !== "jwks" && format !== "cose-keyset") {
    console.error(`rollsafe keygen: --export ${format}: expected jwks or cose-keyset`);
    return EXIT.BAD_INPUT;
  }
  let bytes: Uint8Array;
  try {
    const keys = await publishedKeys(await loadSigner());
    bytes = format === "jwks"
      ? new TextEncoder().encode(JSON.stringify(toJwks(keys), null, 2) + "\n")
      : toCoseKeySet(keys);
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}`);
    return EXIT.BAD_INPUT;
  }
  if (out === undefined) {
    await Deno.stdout.write(bytes);
  } else {
    try {
      await Deno.writeFile(out, bytes);
    } catch (e) {
      console.error(`rollsafe keygen: cannot write ${out}: ${(e as Error).message}`);
      return EXIT.BAD_INPUT;
    }
  }
  return EXIT.OK;
}

async function run(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      strict: true,
      options: { dir: { type: "string" }, export: { type: "string" }, out: { type: "string" } },
    }));
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}\n${USAGE}`);
    return EXIT.BAD_INPUT;
  }
  if (values.export !== undefined) {
    if (values.dir !== undefined) {
      console.error(`rollsafe keygen: --dir does not apply to --export\n${USAGE}`);
      return EXIT.BAD_INPUT;
    }
    return await exportKeys(values.export, values.out);
  }
  if (values.out !== undefined) {
    console.error(`rollsafe keygen: --out applies to --export only\n${USAGE}`);
    return EXIT.BAD_INPUT;
  }
  let dir: string;
  try {
    dir = values.dir ?? join(configDir(), "keys");
  } catch (e) {
    console.error(`rollsafe keygen: ${(e as Error).message}`);
    return EXIT.BAD_INPUT;
  }
  return await generate(dir);
}

export const keygenCommand: Command = {
  summary: "make a production signing key pair, or export the trusted public keys",
  run,
};
