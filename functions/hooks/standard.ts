/**
 * Standard Webhooks signatures (standardwebhooks.com, spec "Verifying webhook authenticity"):
 * `webhook-signature` holds space-separated `v1,<base64 HMAC-SHA256>` entries over
 * `${webhook-id}.${webhook-timestamp}.${raw body}`; the secret is `whsec_<base64>`; receivers
 * reject timestamps more than 5 minutes from their clock. Other versions (`v1a`, Ed25519) are
 * skipped, as the spec asks, and a message with no acceptable entry fails.
 */
import { timingSafeEqual } from "../auth.ts";
import { Problem } from "../problem.ts";

/** ±5 minutes, from the spec. */
export const TOLERANCE_SECONDS = 5 * 60;

/**
 * Most entries a webhook-signature list may hold. Senders list one entry per active secret (two
 * during a rotation); the cap is checked on the header text before any HMAC is computed, and the
 * HMAC itself is computed once per message whatever the list holds, so neither a long list nor a
 * large body multiplies the work.
 */
export const MAX_SIGNATURE_ENTRIES = 8;
/** A v1 entry is "v1," and 44 base64 characters; room for other versions' longer values. */
export const MAX_SIGNATURE_HEADER = 1024;

const enc = new TextEncoder();

function signedContent(id: string, ts: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const head = enc.encode(`${id}.${ts}.`);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

async function key(secret: Uint8Array): Promise<CryptoKey> {
  return await crypto.subtle.importKey(
    "raw",
    new Uint8Array(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** The `webhook-signature` value a sender would put on this message. */
export async function signStandard(
  secret: Uint8Array,
  id: string,
  ts: number,
  body: Uint8Array,
): Promise<string> {
  const mac = new Uint8Array(
    await crypto.subtle.sign("HMAC", await key(secret), signedContent(id, String(ts), body)),
  );
  return "v1," + btoa(String.fromCharCode(...mac));
}

/**
 * Throws a Problem unless the headers carry a valid v1 signature of `body` made within the
 * tolerance of `now` (seconds). Returns the webhook-id for de-duplication.
 */
export async function verifyStandard(
  secret: Uint8Array,
  headers: Headers,
  body: Uint8Array,
  now: number,
): Promise<string> {
  const id = headers.get("webhook-id");
  const ts = headers.get("webhook-timestamp");
  const sigs = headers.get("webhook-signature");
  for (
    const [name, v] of [["webhook-id", id], ["webhook-timestamp", ts], ["webhook-signature", sigs]]
  ) {
    if (v === null || v === "") throw new Problem("bad-signature", `${name} header missing`);
  }
  if (!/^[0-9]{1,12}$/.test(ts!)) {
    throw new Problem("bad-signature", `webhook-timestamp "${ts}" is not Unix seconds`);
  }
  const skew = Number(ts) - now;
  if (Math.abs(skew) > TOLERANCE_SECONDS) {
    throw new Problem(
      "bad-signature",
      `webhook-timestamp ${ts} is ${Math.abs(skew)} s ${skew < 0 ? "old" : "in the future"}; ` +
        `the tolerance is ±${TOLERANCE_SECONDS} s`,
    );
  }
  if (sigs!.length > MAX_SIGNATURE_HEADER) {
    throw new Problem(
      "bad-signature",
      `webhook-signature is ${sigs!.length} characters; at most ${MAX_SIGNATURE_HEADER} accepted`,
    );
  }
  const entries = sigs!.split(" ").filter((e) => e !== "");
  if (entries.length > MAX_SIGNATURE_ENTRIES) {
    throw new Problem(
      "bad-signature",
      `webhook-signature lists ${entries.length} entries; at most ${MAX_SIGNATURE_ENTRIES} accepted`,
    );
  }
  let expected: Uint8Array | undefined;
  let sawV1 = false;
  for (const entry of entries) {
    const [version, b64] = entry.split(",", 2);
    if (version !== "v1" || b64 === undefined) continue;
    sawV1 = true;
    let mac: Uint8Array;
    try {
      mac = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    } catch {
      continue;
    }
    // One HMAC for the message, compared in constant time with each entry.
    expected ??= new Uint8Array(
      await crypto.subtle.sign("HMAC", await key(secret), signedContent(id!, ts!, body)),
    );
    if (timingSafeEqual(mac, expected)) return id!;
  }
  throw new Problem(
    "bad-signature",
    sawV1
      ? "no v1 entry of webhook-signature matches HMAC-SHA256 of id.timestamp.body under the secret"
      : 'webhook-signature has no "v1,<base64>" entry',
  );
}
