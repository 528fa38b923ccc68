/**
 * Where signing keys come from.
 *
 * Production key (the service and `rollsafe check` in CI), from the environment:
 *   ROLLSAFE_SIGNING_KEY       the Ed25519 private key: PKCS#8 PEM, bare base64 of the PKCS#8
 *                              DER, or a private JWK (RFC 8037) as JSON;
 *   ROLLSAFE_SIGNING_KEY_FILE  or a path to a file holding one of those (e.g. keygen's .pem);
 *   ROLLSAFE_SIGNING_KID       optional; when set it must equal the kid derived from the key
 *                              (keys.ts), so a deployment paired with the wrong key fails loudly.
 * Extra trusted public keys (rotation: verdicts signed by retired keys still verify):
 *   ROLLSAFE_PUBLIC_KEYS       a JWKS (or single JWK) as JSON;
 *   ROLLSAFE_PUBLIC_KEYS_FILE  a path to a keyset file in any format keys.ts reads.
 *
 * Development key (no production key configured): generated on first use and kept in
 *   $ROLLSAFE_CONFIG_DIR, else $XDG_CONFIG_HOME/rollsafe, else $HOME/.config/rollsafe,
 * as `dev-signing-key.pem` (mode 0600, directory 0700), never inside the rollsafe repository.
 * Its kid starts with "dev-" and every verdict it signs says `dev_key: true`.
 */
import { isAbsolute, join, relative, resolve } from "node:path";
import {
  generateKeyPair,
  KeyError,
  parsePublicKeys,
  pemEncode,
  type Signer,
  signerFromText,
  type TrustedKey,
  trustedKeyOf,
} from "./keys.ts";

/** Environment lookup: a plain record (tests) or a getter such as `Deno.env.get`. */
export type Env = Record<string, string | undefined> | ((name: string) => string | undefined);

export const DEV_KEY_FILE = "dev-signing-key.pem";

const DEV_KEY_NOTE = "rollsafe development signing key: verdicts signed with it are marked " +
  "dev_key and refused by default.\nNever use it in production; run `rollsafe keygen` instead.\n";

function lookup(env: Env | undefined, name: string): string | undefined {
  if (env === undefined) return Deno.env.get(name);
  const v = typeof env === "function" ? env(name) : env[name];
  return v === "" ? undefined : v;
}

/** The user's rollsafe configuration directory (see the header for the order). */
export function configDir(env?: Env): string {
  const explicit = lookup(env, "ROLLSAFE_CONFIG_DIR");
  if (explicit) return resolve(explicit);
  const xdg = lookup(env, "XDG_CONFIG_HOME");
  // XDG Base Directory spec: a relative XDG_CONFIG_HOME is invalid and must be ignored.
  if (xdg && isAbsolute(xdg)) return join(xdg, "rollsafe");
  const home = lookup(env, "HOME");
  if (!home) {
    throw new KeyError(
      "no configuration directory: set ROLLSAFE_CONFIG_DIR, XDG_CONFIG_HOME or HOME",
    );
  }
  return join(home, ".config", "rollsafe");
}

export interface LoadSignerOptions {
  env?: Env;
  /** Overrides configDir(env) for the development key. */
  configDir?: string;
  /** Whether to fall back to the development key (default true); false makes it an error. */
  allowDevKey?: boolean;
}

/**
 * The production signer when the environment names one, else the development signer
 * (created on first use). Throws KeyError saying which variable or file is wrong.
 */
export async function loadSigner(opts: LoadSignerOptions = {}): Promise<Signer> {
  const inline = lookup(opts.env, "ROLLSAFE_SIGNING_KEY");
  const file = lookup(opts.env, "ROLLSAFE_SIGNING_KEY_FILE");
  if (inline !== undefined && file !== undefined) {
    throw new KeyError("set ROLLSAFE_SIGNING_KEY or ROLLSAFE_SIGNING_KEY_FILE, not both");
  }
  if (inline !== undefined || file !== undefined) {
    const text = inline ?? await readText(file!, "ROLLSAFE_SIGNING_KEY_FILE");
    const what = inline !== undefined
      ? "ROLLSAFE_SIGNING_KEY"
      : `ROLLSAFE_SIGNING_KEY_FILE ${file}`;
    const signer = await signerFromText(text, what);
    const kid = lookup(opts.env, "ROLLSAFE_SIGNING_KID");
    if (kid !== undefined && kid !== signer.kid) {
      throw new KeyError(
        `ROLLSAFE_SIGNING_KID is "${kid}" but the key's kid is ${signer.kid} (SHA-256 of the public key, first 16 bytes)`,
      );
    }
    return signer;
  }
  if (opts.allowDevKey === false) {
    throw new KeyError(
      "no production signing key: set ROLLSAFE_SIGNING_KEY or ROLLSAFE_SIGNING_KEY_FILE",
    );
  }
  return await devSigner(opts.configDir ?? configDir(opts.env), { create: true });
}

/**
 * The development signer kept in `dir`. With `create`, a missing key is generated; two processes
 * racing to create it both end up with the one that reached the disk first.
 */
export async function devSigner(dir: string, opts: { create: boolean }): Promise<Signer> {
  refuseRepository(dir);
  const path = join(dir, DEV_KEY_FILE);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound) || !opts.create) {
      throw new KeyError(`development key ${path}: ${(e as Error).message}`);
    }
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const { pkcs8 } = await generateKeyPair();
    try {
      await Deno.writeTextFile(path, DEV_KEY_NOTE + pemEncode("PRIVATE KEY", pkcs8), {
        createNew: true,
        mode: 0o600,
      });
    } catch (w) {
      if (!(w instanceof Deno.errors.AlreadyExists)) {
        throw new KeyError(`development key ${path}: ${(w as Error).message}`);
      }
    }
    text = await Deno.readTextFile(path);
  }
  return await signerFromText(text, `development key ${path}`, { dev: true });
}

/** The development key's public half, if one exists in `dir` (never creates one). */
export async function devPublicKey(dir: string): Promise<TrustedKey | undefined> {
  try {
    await Deno.stat(join(dir, DEV_KEY_FILE));
  } catch {
    return undefined;
  }
  return await trustedKeyOf(await devSigner(dir, { create: false }));
}

/**
 * Extra trusted public keys from ROLLSAFE_PUBLIC_KEYS (JWKS JSON) and ROLLSAFE_PUBLIC_KEYS_FILE.
 * Empty when neither is set.
 */
export async function envTrustedKeys(env?: Env): Promise<TrustedKey[]> {
  const out: TrustedKey[] = [];
  const inline = lookup(env, "ROLLSAFE_PUBLIC_KEYS");
  if (inline !== undefined) {
    out.push(...await parsePublicKeys(new TextEncoder().encode(inline), "ROLLSAFE_PUBLIC_KEYS"));
  }
  const file = lookup(env, "ROLLSAFE_PUBLIC_KEYS_FILE");
  if (file !== undefined) {
    out.push(
      ...await parsePublicKeys(
        await readBytes(file, "ROLLSAFE_PUBLIC_KEYS_FILE"),
        `ROLLSAFE_PUBLIC_KEYS_FILE ${file}`,
      ),
    );
  }
  return out;
}

/**
 * The keys a deployment publishes (GET …/keys, keygen --export): its signer's public key first,
 * then the extra trusted keys, without duplicates. A development signer is included and its
 * kid says so.
 */
export async function publishedKeys(signer: Signer, env?: Env): Promise<TrustedKey[]> {
  const all = [await trustedKeyOf(signer), ...await envTrustedKeys(env)];
  const seen = new Set<string>();
  return all.filter((k) => !seen.has(k.kid) && seen.add(k.kid));
}

async function readText(path: string, what: string): Promise<string> {
  return new TextDecoder().decode(await readBytes(path, what));
}

async function readBytes(path: string, what: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new KeyError(`${what} ${path}: ${(e as Error).message}`);
  }
}

/** True if `dir` is inside the rollsafe checkout this module was loaded from. */
export function insideRepository(dir: string): boolean {
  const here = new URL("..", import.meta.url);
  if (here.protocol !== "file:") return false;
  const rel = relative(resolve(decodeURIComponent(here.pathname)), resolve(dir));
  return !rel.startsWith("..") && !isAbsolute(rel);
}

/** A private key inside the repository would end up committed; refuse the location. */
function refuseRepository(dir: string): void {
  if (insideRepository(dir)) {
    throw new KeyError(
      `refusing to keep a signing key inside the rollsafe repository (${dir}); set ROLLSAFE_CONFIG_DIR elsewhere`,
    );
  }
}
