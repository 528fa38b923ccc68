/**
 * The CBOR data model as rollsafe handles it (RFC 8949 §2): what the safe decoder returns and
 * what the deterministic encoder accepts. Integers that do not fit a JS safe integer are bigint;
 * maps keep their key types (never coerced to strings), so KVM ids stay exact.
 */
export type CborValue =
  | number
  | bigint
  | string
  | Uint8Array
  | boolean
  | null
  | undefined
  | CborValue[]
  | Map<CborValue, CborValue>
  | CborTag
  | { readonly [key: string]: CborValue };

/** A tagged item (RFC 8949 §3.4). */
export class CborTag {
  constructor(readonly tag: number, readonly value: CborValue) {}
}

/** Any CBOR failure, with the byte offset (for decoding) or path (for encoding) where it happened. */
export class CborError extends Error {
  override name = "CborError";
  constructor(
    /** Stable machine-readable reason, e.g. "truncated", "depth", "tag", "duplicate-key". */
    readonly code: string,
    /** Byte offset into the input for decode errors; -1 when not applicable. */
    readonly offset: number,
    message: string,
  ) {
    super(offset >= 0 ? `CBOR at byte ${offset}: ${message}` : `CBOR: ${message}`);
  }
}
