/** Signing a verdict: the deterministic payload inside a COSE_Sign1 made with the signer's key. */
import { createSign1, parseSign1 } from "./cose.ts";
import { decodeVerdict, encodeVerdict } from "./codec.ts";
import { DEV_KID_PREFIX, type Signer } from "./keys.ts";
import { type Verdict, VERDICT_AAD, VERDICT_CONTENT_TYPE } from "./model.ts";
import { utf8 } from "./bytes.ts";

/**
 * COSE_Sign1 bytes of `verdict` signed by `signer`. The payload's `dev_key` is taken from the
 * signer (it, not the caller, knows whether the key is a development key). Deterministic:
 * the same verdict and key give the same bytes.
 */
export async function signVerdict(
  verdict: Verdict,
  signer: Signer,
): Promise<Uint8Array<ArrayBuffer>> {
  if (signer.dev !== signer.kid.startsWith(DEV_KID_PREFIX)) {
    throw new Error(`signer ${signer.kid}: dev flag and kid prefix disagree`);
  }
  const payload = encodeVerdict({ ...verdict, dev_key: signer.dev });
  return await createSign1({
    payload,
    kid: utf8.encode(signer.kid),
    contentType: VERDICT_CONTENT_TYPE,
    externalAad: VERDICT_AAD,
    sign: (tbs) => signer.sign(tbs),
  });
}

/**
 * The payload inside COSE bytes, decoded and validated but NOT verified: for showing what was
 * just signed (`rollsafe check --json`), never for trusting a received verdict (verify.ts).
 */
export function unverifiedPayload(cose: Uint8Array): Verdict {
  return decodeVerdict(parseSign1(cose).payload);
}
