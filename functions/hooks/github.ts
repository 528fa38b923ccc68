/**
 * GitHub webhook signatures: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(secret, raw body)>`
 * (docs.github.com, "Validating webhook deliveries"). Checked over the raw bytes before anything
 * parses them, with crypto.subtle.verify, which compares in constant time.
 */
import { Problem } from "../problem.ts";

const enc = new TextEncoder();

async function hmacKey(secret: Uint8Array<ArrayBuffer>): Promise<CryptoKey> {
  return await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, [
    "sign",
    "verify",
  ]);
}

/** The header value GitHub would send for `body` signed with `secret`. */
export async function signGithub(secret: string, body: Uint8Array<ArrayBuffer>): Promise<string> {
  const mac = await crypto.subtle.sign("HMAC", await hmacKey(enc.encode(secret)), body);
  return "sha256=" +
    Array.from(new Uint8Array(mac), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Throws a Problem unless `header` is a valid X-Hub-Signature-256 of `body` under `secret`. */
export async function verifyGithub(
  secret: string,
  header: string | null,
  body: Uint8Array<ArrayBuffer>,
): Promise<void> {
  if (header === null) {
    throw new Problem("bad-signature", "X-Hub-Signature-256 header missing");
  }
  const m = /^sha256=([0-9a-fA-F]{64})$/.exec(header.trim());
  if (!m) {
    throw new Problem(
      "bad-signature",
      'X-Hub-Signature-256 is not "sha256=" followed by 64 hex digits',
    );
  }
  const sig = new Uint8Array(32);
  for (let i = 0; i < 32; i++) sig[i] = parseInt(m[1].slice(2 * i, 2 * i + 2), 16);
  const ok = await crypto.subtle.verify("HMAC", await hmacKey(enc.encode(secret)), sig, body);
  if (!ok) {
    throw new Problem(
      "bad-signature",
      "X-Hub-Signature-256 does not match HMAC-SHA256 of the body under the configured secret",
    );
  }
}
