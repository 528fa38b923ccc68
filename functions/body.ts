/**
 * Reading a request body under a byte cap by counting what actually streams in. hono's bodyLimit
 * trusts a Content-Length header when one is present (hono src/middleware/body-limit), so a caller
 * declaring 10 bytes and sending 10 GB would get through it; here the declared length only
 * allows an early refusal, and the count of received bytes is what stops the read.
 */
import { Problem } from "./problem.ts";

/** The body as bytes, or a 413 Problem as soon as more than `maxBytes` have arrived. */
export async function readCapped(req: Request, maxBytes: number): Promise<Uint8Array> {
  const declared = req.headers.get("content-length");
  if (declared !== null) {
    if (!/^[0-9]{1,20}$/.test(declared.trim())) {
      throw new Problem("bad-request", `Content-Length "${declared}" is not a decimal length`);
    }
    if (Number(declared) > maxBytes) {
      throw new Problem(
        "payload-too-large",
        `Content-Length ${declared} is above the ${maxBytes}-byte limit (ROLLSAFE_MAX_BODY_BYTES)`,
        { limit: maxBytes },
      );
    }
  }
  if (req.body === null) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.length;
      if (total > maxBytes) {
        // Stop reading: cancelling tells the server to drop the rest instead of buffering it.
        await reader.cancel("body over the byte cap").catch(() => {});
        throw new Problem(
          "payload-too-large",
          `body exceeded the ${maxBytes}-byte limit (ROLLSAFE_MAX_BODY_BYTES) after ${total} bytes` +
            (declared === null ? "" : ` although Content-Length declared ${declared}`),
          { limit: maxBytes },
        );
      }
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  if (chunks.length === 1) return chunks[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
