/**
 * COSE_Sign1 (RFC 9052 §4.2) with Ed25519, written on cbor/ rather than taken from a library:
 * the npm COSE libraries either lack EdDSA or patch cbor-x process-wide (@auth0/cose 1.0.2 calls
 * cbor-x addExtension for tags 16-18 and 96-98 on import; cose-js 0.9.0 has no EdDSA). Only what a verdict needs is here, and the reader is strict:
 *
 * - tag 18 is required (untagged only when the caller opts in, RFC 9052 §4.2 allows both);
 * - exactly [protected: bstr, unprotected: map, payload: bstr, signature: bstr(64)];
 * - the protected header decodes to a map with alg -8 (EdDSA) or -19 (Ed25519) and a kid;
 * - crit (label 2) is refused wherever it appears: no extension is understood, so RFC 9052
 *   §3.1 requires the message to be rejected;
 * - a label in both buckets is refused (RFC 9052 §3);
 * - the signature is checked over the Sig_structure rebuilt from the *received* protected bytes.
 */
import { CborTag, type CborValue, decodeSafe, encodeDeterministic } from "../cbor/mod.ts";
import { own, utf8 } from "./bytes.ts";

/** CBOR tag of a COSE_Sign1 message (RFC 9052 §2, Table 1). */
export const COSE_SIGN1_TAG = 18;

/** Common header parameter labels (RFC 9052 §3.1, Table 3). */
export const HEADER = {
  alg: 1,
  crit: 2,
  content_type: 3,
  kid: 4,
} as const;

/** Algorithm ids accepted for Ed25519 signatures. */
export const ALG = {
  /** EdDSA (RFC 9053 §2.2): what is emitted, since older verifiers know only this one. */
  EdDSA: -8,
  /** Ed25519 (RFC 9864 §2.2): the fully specified id that deprecates -8; accepted. */
  Ed25519: -19,
} as const;

/** Ed25519 signatures are 64 bytes (RFC 8032 §5.1.6). */
export const ED25519_SIGNATURE_BYTES = 64;

/** The Sig_structure context string for COSE_Sign1 (RFC 9052 §4.4). */
const SIGNATURE1 = "Signature1";

/** Why a message was refused: the structure, or the signature itself. */
export class CoseError extends Error {
  override name = "CoseError";
  constructor(readonly code: "format" | "signature", message: string) {
    super(message);
  }
}

export interface Sign1 {
  /** The protected header exactly as received: the signature covers these bytes. */
  protectedBytes: Uint8Array;
  protected: Map<CborValue, CborValue>;
  unprotected: Map<CborValue, CborValue>;
  alg: number;
  kid: Uint8Array;
  contentType?: string | number;
  payload: Uint8Array;
  signature: Uint8Array;
  tagged: boolean;
}

/** Sig_structure = ["Signature1", body_protected, external_aad, payload] (RFC 9052 §4.4). */
export function sigStructure(
  protectedBytes: Uint8Array,
  externalAad: Uint8Array,
  payload: Uint8Array,
): Uint8Array<ArrayBuffer> {
  return encodeDeterministic([SIGNATURE1, protectedBytes, externalAad, payload]);
}

/** Builds a tagged COSE_Sign1 with alg -8, the kid and the content type in the protected header. */
export async function createSign1(opts: {
  payload: Uint8Array;
  kid: Uint8Array;
  contentType: string;
  externalAad: string;
  sign: (toBeSigned: Uint8Array<ArrayBuffer>) => Promise<Uint8Array>;
}): Promise<Uint8Array<ArrayBuffer>> {
  const protectedBytes = encodeDeterministic(
    new Map<CborValue, CborValue>([
      [HEADER.alg, ALG.EdDSA],
      [HEADER.content_type, opts.contentType],
      [HEADER.kid, opts.kid],
    ]),
  );
  const signature = await opts.sign(
    sigStructure(protectedBytes, utf8.encode(opts.externalAad), opts.payload),
  );
  if (signature.length !== ED25519_SIGNATURE_BYTES) {
    throw new CoseError("signature", `the signer returned ${signature.length} bytes, not 64`);
  }
  return encodeDeterministic(
    new CborTag(COSE_SIGN1_TAG, [protectedBytes, new Map(), opts.payload, signature]),
  );
}

/** Bounds for the outer message; the payload inside is a byte string the pre-scan skips. */
const MESSAGE_LIMITS = { maxBytes: 8 * 1024 * 1024 + 4096, maxDepth: 8, maxItems: 10_000 };
const HEADER_LIMITS = { maxBytes: 4096, maxDepth: 4, maxItems: 256, allowedTags: [] };

/** Parses a COSE_Sign1 and checks its structure and header; throws CoseError("format"). */
export function parseSign1(bytes: Uint8Array, opts: { acceptUntagged?: boolean } = {}): Sign1 {
  let top: CborValue;
  try {
    top = decodeSafe(bytes, { ...MESSAGE_LIMITS, allowedTags: [COSE_SIGN1_TAG] })
      .value;
  } catch (e) {
    throw new CoseError("format", `not a COSE_Sign1 message: ${(e as Error).message}`);
  }
  const tagged = top instanceof CborTag;
  if (tagged) {
    top = (top as CborTag).value;
  } else if (!opts.acceptUntagged) {
    throw new CoseError("format", `not a COSE_Sign1 message: tag ${COSE_SIGN1_TAG} is required`);
  }
  if (!Array.isArray(top) || top.length !== 4) {
    throw new CoseError("format", "COSE_Sign1 must be an array of 4 items (RFC 9052 §4.2)");
  }
  const [protectedBytes, unprotected, payload, signature] = top;
  if (!(protectedBytes instanceof Uint8Array)) {
    throw new CoseError("format", "COSE_Sign1 protected header must be a byte string");
  }
  if (!(unprotected instanceof Map)) {
    throw new CoseError("format", "COSE_Sign1 unprotected header must be a map");
  }
  if (payload === null) {
    throw new CoseError("format", "COSE_Sign1 payload is detached (nil); a verdict carries it");
  }
  if (!(payload instanceof Uint8Array)) {
    throw new CoseError("format", "COSE_Sign1 payload must be a byte string");
  }
  if (!(signature instanceof Uint8Array)) {
    throw new CoseError("format", "COSE_Sign1 signature must be a byte string");
  }
  if (signature.length !== ED25519_SIGNATURE_BYTES) {
    throw new CoseError(
      "format",
      `COSE_Sign1 signature is ${signature.length} bytes; Ed25519 signatures are 64`,
    );
  }
  let header: CborValue;
  try {
    header = protectedBytes.length === 0
      ? new Map()
      : decodeSafe(protectedBytes, HEADER_LIMITS).value;
  } catch (e) {
    throw new CoseError("format", `COSE_Sign1 protected header: ${(e as Error).message}`);
  }
  if (!(header instanceof Map)) {
    throw new CoseError("format", "COSE_Sign1 protected header must encode a map");
  }
  for (const label of header.keys()) {
    if (unprotected.has(label)) {
      throw new CoseError(
        "format",
        `header label ${String(label)} is in both buckets (RFC 9052 §3 forbids it)`,
      );
    }
  }
  if (header.has(HEADER.crit) || unprotected.has(HEADER.crit)) {
    throw new CoseError(
      "format",
      "COSE_Sign1 has critical headers (label 2), and none are understood (RFC 9052 §3.1)",
    );
  }
  const alg = header.get(HEADER.alg);
  if (alg === undefined) {
    throw new CoseError("format", "COSE_Sign1 protected header has no alg (label 1)");
  }
  if (alg !== ALG.EdDSA && alg !== ALG.Ed25519) {
    throw new CoseError(
      "format",
      `COSE_Sign1 alg ${String(alg)} is not EdDSA (-8) or Ed25519 (-19)`,
    );
  }
  const kid = header.get(HEADER.kid);
  if (!(kid instanceof Uint8Array) || kid.length === 0) {
    throw new CoseError("format", "COSE_Sign1 protected header has no kid byte string (label 4)");
  }
  const contentType = header.get(HEADER.content_type);
  if (
    contentType !== undefined && typeof contentType !== "string" && typeof contentType !== "number"
  ) {
    throw new CoseError("format", "COSE_Sign1 content type (label 3) must be text or an integer");
  }
  return {
    protectedBytes,
    protected: header,
    unprotected,
    alg,
    kid,
    contentType,
    payload,
    signature,
    tagged,
  };
}

/** Checks the Ed25519 signature over the Sig_structure built from the received bytes. */
export async function checkSign1(
  msg: Sign1,
  publicKey: CryptoKey,
  externalAad: string,
): Promise<boolean> {
  const tbs = sigStructure(msg.protectedBytes, utf8.encode(externalAad), msg.payload);
  return await crypto.subtle.verify("Ed25519", publicKey, own(msg.signature), tbs);
}
