/**
 * Ed25519 key material for verdicts: signers, trusted public keys, key ids, and the formats keys
 * travel in (PKCS#8 and SPKI PEM, JWK/JWKS, COSE_Key/COSE_KeySet).
 *
 * Key id (kid): the lower-case hex of the first 16 bytes of SHA-256 over the raw 32-byte public
 * key, prefixed "dev-" for the local development key. The COSE kid header (RFC 9052 §3.1,
 * label 4), the COSE_Key kid (label 2), the JWK "kid" and the DSSE "keyid" all carry this same
 * text (as UTF-8 bytes where a byte string is required). Because the kid follows from the key,
 * a keyset entry whose kid does not match its key is refused, and a verifier can recompute it.
 */
import { type CborValue, decodeSafe, encodeDeterministic } from "../cbor/mod.ts";
import {
  concatBytes,
  equalBytes,
  fromBase64,
  fromHex,
  own,
  sha256,
  toBase64,
  toBase64Url,
  toHex,
  utf8,
} from "./bytes.ts";

/** Thrown for a key that cannot be used, saying which key and why. */
export class KeyError extends Error {
  override name = "KeyError";
}

/** DER prefix of an Ed25519 PKCS#8 private key before the 32-byte seed (RFC 8410 §7). */
const PKCS8_PREFIX = fromHex("302e020100300506032b657004220420", "pkcs8 prefix");
/** DER prefix of an Ed25519 SubjectPublicKeyInfo before the 32-byte key (RFC 8410 §4). */
const SPKI_PREFIX = fromHex("302a300506032b6570032100", "spki prefix");

export const DEV_KID_PREFIX = "dev-";

/** COSE_Key labels (RFC 9052 §7.1) and OKP parameters (RFC 9053 §7.2). */
export const COSE_KEY = {
  kty: 1,
  kid: 2,
  crv: -1,
  x: -2,
  d: -4,
  /** kty value OKP (RFC 9053 §7.2, Table 19). */
  OKP: 1,
  /** crv value Ed25519 (RFC 9053 §7.1, Table 18). */
  Ed25519: 6,
} as const;

/** Signs verdicts. The private key never leaves the CryptoKey (it is not extractable). */
export interface Signer {
  kid: string;
  /** True for the local development key: its verdicts are marked and refused by default. */
  dev: boolean;
  /** Raw 32-byte Ed25519 public key. */
  publicKey: Uint8Array;
  sign(data: Uint8Array): Promise<Uint8Array>;
}

/** A public key a verifier trusts. */
export interface TrustedKey {
  kid: string;
  dev: boolean;
  publicKey: Uint8Array;
  key: CryptoKey;
}

/** kid = hex(SHA-256(raw public key)[0..16]), "dev-" prefixed for the development key. */
export async function deriveKid(publicKey: Uint8Array, dev = false): Promise<string> {
  const hex = toHex((await sha256(publicKey)).subarray(0, 16));
  return dev ? `${DEV_KID_PREFIX}${hex}` : hex;
}

/** A signer from a PKCS#8 DER Ed25519 private key. */
export async function signerFromPkcs8(
  der: Uint8Array,
  opts: { dev?: boolean } = {},
): Promise<Signer> {
  let extractable: CryptoKey;
  try {
    extractable = await crypto.subtle.importKey("pkcs8", own(der), "Ed25519", true, ["sign"]);
  } catch (e) {
    throw new KeyError(`not an Ed25519 PKCS#8 private key: ${(e as Error).message}`);
  }
  const jwk = await crypto.subtle.exportKey("jwk", extractable);
  return await signerFromJwk(jwk, opts);
}

/** A signer from the 32-byte private seed (RFC 8032 §5.1.5), as test vectors give keys. */
export async function signerFromSeed(
  seed: Uint8Array,
  opts: { dev?: boolean } = {},
): Promise<Signer> {
  if (seed.length !== 32) throw new KeyError(`an Ed25519 seed is 32 bytes, got ${seed.length}`);
  return await signerFromPkcs8(concatBytes(PKCS8_PREFIX, seed), opts);
}

/** A signer from a private JWK (RFC 8037 §2: kty OKP, crv Ed25519, d and x). */
export async function signerFromJwk(
  jwk: JsonWebKey,
  opts: { dev?: boolean } = {},
): Promise<Signer> {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519") {
    throw new KeyError(`JWK is kty ${jwk.kty} crv ${jwk.crv}; expected OKP Ed25519 (RFC 8037)`);
  }
  if (typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new KeyError("private JWK needs both 'd' and 'x' (RFC 8037 §2)");
  }
  const publicKey = fromBase64(jwk.x, "JWK x");
  if (publicKey.length !== 32) throw new KeyError(`JWK x is ${publicKey.length} bytes, not 32`);
  let key: CryptoKey;
  try {
    key = await crypto.subtle.importKey(
      "jwk",
      { kty: "OKP", crv: "Ed25519", d: jwk.d, x: jwk.x },
      "Ed25519",
      false,
      ["sign"],
    );
  } catch (e) {
    throw new KeyError(`Ed25519 private JWK refused: ${(e as Error).message}`);
  }
  // WebCrypto does not check that x belongs to d; a mismatched pair would sign verdicts no
  // one can verify, so prove the pair with one signature now.
  const probe = utf8.encode("rollsafe key pair check");
  const verifyKey = await importPublicKey(publicKey);
  const sig = new Uint8Array(await crypto.subtle.sign("Ed25519", key, probe));
  if (!(await crypto.subtle.verify("Ed25519", verifyKey, sig, probe))) {
    throw new KeyError("JWK x is not the public key of d");
  }
  const dev = opts.dev ?? false;
  return {
    kid: await deriveKid(publicKey, dev),
    dev,
    publicKey,
    sign: async (data) => new Uint8Array(await crypto.subtle.sign("Ed25519", key, own(data))),
  };
}

/**
 * A signer from text: a PKCS#8 PEM ("-----BEGIN PRIVATE KEY-----"), bare base64 of the PKCS#8
 * DER, or a private JWK as JSON. `what` names the source in errors.
 */
export async function signerFromText(
  text: string,
  what: string,
  opts: { dev?: boolean } = {},
): Promise<Signer> {
  const t = text.trim();
  try {
    if (t.startsWith("{")) {
      let jwk: JsonWebKey;
      try {
        jwk = JSON.parse(t);
      } catch (e) {
        throw new KeyError(`not valid JSON: ${(e as Error).message}`);
      }
      return await signerFromJwk(jwk, opts);
    }
    const der = t.includes("-----BEGIN") ? pemDecode(t, "PRIVATE KEY") : fromBase64(t, "key");
    return await signerFromPkcs8(der, opts);
  } catch (e) {
    throw new KeyError(`${what}: ${(e as Error).message}`);
  }
}

/** A new key pair: the PKCS#8 DER private key and the raw public key. */
export async function generateKeyPair(): Promise<{ pkcs8: Uint8Array; publicKey: Uint8Array }> {
  const pair = await crypto.subtle.generateKey("Ed25519", true, [
    "sign",
    "verify",
  ]) as CryptoKeyPair;
  return {
    pkcs8: new Uint8Array(await crypto.subtle.exportKey("pkcs8", pair.privateKey)),
    publicKey: new Uint8Array(await crypto.subtle.exportKey("raw", pair.publicKey)),
  };
}

export async function importPublicKey(publicKey: Uint8Array): Promise<CryptoKey> {
  if (publicKey.length !== 32) {
    throw new KeyError(`an Ed25519 public key is 32 bytes, got ${publicKey.length}`);
  }
  return await crypto.subtle.importKey("raw", own(publicKey), "Ed25519", true, ["verify"]);
}

/**
 * A trusted key from raw bytes. A given kid must be the derived one (plain or "dev-"); without
 * one the key is a production key.
 */
export async function trustedKey(publicKey: Uint8Array, kid?: string): Promise<TrustedKey> {
  const key = await importPublicKey(publicKey);
  const plain = await deriveKid(publicKey);
  if (kid !== undefined && kid !== plain && kid !== `${DEV_KID_PREFIX}${plain}`) {
    throw new KeyError(`kid "${kid}" does not belong to this key (its kid is ${plain})`);
  }
  const dev = kid !== undefined && kid.startsWith(DEV_KID_PREFIX);
  return { kid: kid ?? plain, dev, publicKey: new Uint8Array(publicKey), key };
}

/** The public half of a signer, as a verifier would hold it. */
export async function trustedKeyOf(signer: Signer): Promise<TrustedKey> {
  return await trustedKey(signer.publicKey, signer.kid);
}

/**
 * Reads public keys in any of the formats rollsafe writes: SPKI PEM ("-----BEGIN PUBLIC KEY"),
 * a JWK or JWKS as JSON (RFC 7517 §4–5, RFC 8037), or a COSE_Key or COSE_KeySet as CBOR
 * (RFC 9052 §7). `source` names the file or variable in errors.
 */
export async function parsePublicKeys(bytes: Uint8Array, source: string): Promise<TrustedKey[]> {
  try {
    const text = new TextDecoder().decode(bytes).trim();
    if (text.startsWith("-----BEGIN")) {
      const der = pemDecode(text, "PUBLIC KEY");
      if (der.length !== 44 || !equalBytes(der.subarray(0, 12), SPKI_PREFIX)) {
        throw new KeyError("PUBLIC KEY is not an Ed25519 SubjectPublicKeyInfo (RFC 8410 §4)");
      }
      return [await trustedKey(der.subarray(12))];
    }
    if (text.startsWith("{")) return await fromJson(text);
    return await fromCose(bytes);
  } catch (e) {
    throw new KeyError(`${source}: ${(e as Error).message}`);
  }
}

async function fromJson(text: string): Promise<TrustedKey[]> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new KeyError(`not valid JSON: ${(e as Error).message}`);
  }
  const obj = doc as { keys?: unknown };
  const list = Array.isArray(obj.keys) ? obj.keys : [doc];
  if (list.length === 0) throw new KeyError("JWKS has no keys");
  const out: TrustedKey[] = [];
  for (const [i, k] of list.entries()) {
    const jwk = k as JsonWebKey & { kid?: unknown };
    const where = `key ${i}`;
    if (typeof jwk !== "object" || jwk === null) throw new KeyError(`${where}: not a JSON object`);
    if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.x !== "string") {
      throw new KeyError(`${where}: expected an OKP Ed25519 JWK with x (RFC 8037 §2)`);
    }
    if ("d" in jwk) throw new KeyError(`${where}: contains a private key ('d'); publish only x`);
    if (jwk.kid !== undefined && typeof jwk.kid !== "string") {
      throw new KeyError(`${where}: kid must be text`);
    }
    try {
      out.push(await trustedKey(fromBase64(jwk.x, "x"), jwk.kid));
    } catch (e) {
      throw new KeyError(`${where}: ${(e as Error).message}`);
    }
  }
  return out;
}

async function fromCose(bytes: Uint8Array): Promise<TrustedKey[]> {
  const { value } = decodeSafe(bytes, {
    maxBytes: 1024 * 1024,
    maxDepth: 4,
    maxItems: 100_000,
    allowedTags: [],
  });
  const list = Array.isArray(value) ? value : [value];
  if (list.length === 0) throw new KeyError("COSE_KeySet is empty");
  const out: TrustedKey[] = [];
  for (const [i, k] of list.entries()) {
    const where = `COSE_Key ${i}`;
    if (!(k instanceof Map)) throw new KeyError(`${where}: not a map`);
    if (k.get(COSE_KEY.kty) !== COSE_KEY.OKP || k.get(COSE_KEY.crv) !== COSE_KEY.Ed25519) {
      throw new KeyError(`${where}: expected kty 1 (OKP) and crv 6 (Ed25519) (RFC 9053 §7.2)`);
    }
    if (k.has(COSE_KEY.d)) throw new KeyError(`${where}: contains a private key (label -4)`);
    const x = k.get(COSE_KEY.x);
    if (!(x instanceof Uint8Array)) {
      throw new KeyError(`${where}: x (label -2) must be a byte string`);
    }
    const kid = k.get(COSE_KEY.kid);
    if (kid !== undefined && !(kid instanceof Uint8Array)) {
      throw new KeyError(`${where}: kid (label 2) must be a byte string`);
    }
    try {
      out.push(await trustedKey(x, kid === undefined ? undefined : new TextDecoder().decode(kid)));
    } catch (e) {
      throw new KeyError(`${where}: ${(e as Error).message}`);
    }
  }
  return out;
}

/** Public JWK (RFC 8037 §2). */
export function toJwk(k: { kid: string; publicKey: Uint8Array }): JsonWebKey & { kid: string } {
  return { kty: "OKP", crv: "Ed25519", x: toBase64Url(k.publicKey), kid: k.kid, use: "sig" };
}

/** JWK Set (RFC 7517 §5). */
export function toJwks(
  keys: readonly { kid: string; publicKey: Uint8Array }[],
): { keys: JsonWebKey[] } {
  return { keys: keys.map(toJwk) };
}

function coseKeyValue(k: { kid: string; publicKey: Uint8Array }): Map<CborValue, CborValue> {
  return new Map<CborValue, CborValue>([
    [COSE_KEY.kty, COSE_KEY.OKP],
    [COSE_KEY.kid, utf8.encode(k.kid)],
    [COSE_KEY.crv, COSE_KEY.Ed25519],
    [COSE_KEY.x, new Uint8Array(k.publicKey)],
  ]);
}

/** COSE_Key (RFC 9052 §7), deterministic CBOR. */
export function toCoseKey(k: { kid: string; publicKey: Uint8Array }): Uint8Array<ArrayBuffer> {
  return encodeDeterministic(coseKeyValue(k));
}

/** COSE_KeySet = [+ COSE_Key] (RFC 9052 §7), deterministic CBOR. */
export function toCoseKeySet(
  keys: readonly { kid: string; publicKey: Uint8Array }[],
): Uint8Array<ArrayBuffer> {
  return encodeDeterministic(keys.map(coseKeyValue));
}

/** SPKI PEM of a public key (RFC 8410 §4, RFC 7468 §13). */
export function toPublicPem(publicKey: Uint8Array): string {
  return pemEncode("PUBLIC KEY", concatBytes(SPKI_PREFIX, publicKey));
}

/** PEM text (RFC 7468 §2): base64 in lines of 64 characters between the labels. */
export function pemEncode(label: string, der: Uint8Array): string {
  const b64 = toBase64(der).replace(/(.{64})/g, "$1\n").replace(/\n$/, "");
  return `-----BEGIN ${label}-----\n${b64}\n-----END ${label}-----\n`;
}

/** The DER inside the first PEM block labelled `label`; text outside the block is ignored (RFC 7468 §5.2). */
export function pemDecode(text: string, label: string): Uint8Array<ArrayBuffer> {
  const begin = `-----BEGIN ${label}-----`;
  const end = `-----END ${label}-----`;
  const a = text.indexOf(begin);
  const b = text.indexOf(end, a + begin.length);
  if (a < 0 || b < 0) {
    const found = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1];
    throw new KeyError(
      found ? `PEM block is "${found}", expected "${label}"` : `no PEM block "${label}"`,
    );
  }
  return fromBase64(text.slice(a + begin.length, b), `PEM ${label}`);
}
