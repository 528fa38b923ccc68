/**
 * Bearer-token authentication (RFC 6750) for the routes that spend CPU or write the ledger.
 * Tokens are configured as SHA-256 digests (ROLLSAFE_API_TOKEN_SHA256), so the environment never
 * holds a usable token. The presented token is hashed and compared with every configured digest
 * in constant time: the comparison touches every byte of every digest whatever matches, so the
 * response time says nothing about how close a guess was.
 */
import { Problem } from "./problem.ts";

const enc = new TextEncoder();

/** SHA-256 of a token, as configured. */
export async function tokenHash(token: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", enc.encode(token)));
}

/** Constant-time equality of two byte strings of the same length (false if lengths differ). */
export function timingSafeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

const CHALLENGE = 'Bearer realm="rollsafe"';

/**
 * Checks the Authorization header against the configured digests; throws a 401 Problem with a
 * WWW-Authenticate challenge (RFC 6750 §3) naming what was wrong. No digests: open service.
 */
export async function requireBearer(
  authorization: string | null,
  hashes: readonly Uint8Array[],
): Promise<void> {
  if (hashes.length === 0) return;
  if (authorization === null) {
    throw new Problem("unauthorized", "this service requires an Authorization: Bearer token", {}, {
      "www-authenticate": CHALLENGE,
    });
  }
  // RFC 6750 §2.1: the scheme is case-insensitive, the token is b64token.
  const m = /^Bearer +([A-Za-z0-9\-._~+/]+=*)$/i.exec(authorization);
  if (!m) {
    throw new Problem(
      "unauthorized",
      'the Authorization header is not "Bearer <token>" (RFC 6750 §2.1)',
      {},
      { "www-authenticate": `${CHALLENGE}, error="invalid_request"` },
    );
  }
  const presented = await tokenHash(m[1]);
  let match = false;
  for (const h of hashes) match = timingSafeEqual(presented, h) || match;
  if (!match) {
    throw new Problem("unauthorized", "the bearer token is not one this service accepts", {}, {
      "www-authenticate": `${CHALLENGE}, error="invalid_token"`,
    });
  }
}
