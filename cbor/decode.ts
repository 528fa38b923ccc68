/**
 * Safe decoding of untrusted CBOR: a byte cap, the non-recursive pre-scan, then cbor-x
 * (pinned at 1.6.8, imported as `cbor-x/decode` so no native addon or env access is involved).
 *
 * The decoder is configured so the data model is RFC 8949's, not cbor-x's extensions: maps stay
 * `Map`s with their real key types, no records, and byte strings are copied out of the input so
 * a decoded snapshot does not pin the upload buffer.
 */
import { Decoder, Tag } from "cbor-x/decode";
import { CborError, CborTag, type CborValue } from "./value.ts";
import { prescan, type PrescanLimits, type PrescanReport } from "./prescan.ts";

export interface DecodeLimits extends PrescanLimits {
  /** Largest input accepted, checked before anything is read. */
  maxBytes: number;
}

const decoder = new Decoder(
  {
    useRecords: false,
    mapsAsObjects: false,
    copyBuffers: true,
  } as ConstructorParameters<typeof Decoder>[0],
);

/** Decodes one CBOR item from `bytes` within `limits`; throws CborError with the byte offset. */
export function decodeSafe(
  bytes: Uint8Array,
  limits: DecodeLimits,
): { value: CborValue; report: PrescanReport } {
  if (bytes.length > limits.maxBytes) {
    throw new CborError(
      "size",
      0,
      `input is ${bytes.length} bytes, above the limit of ${limits.maxBytes}`,
    );
  }
  const report = prescan(bytes, limits);
  let raw: unknown;
  const had = Object.hasOwn(bytes, "dataView");
  try {
    raw = decoder.decode(bytes);
  } catch (e) {
    // The pre-scan accepted it, so this is a decoder limitation, still the input's fault.
    throw new CborError("decode", -1, `decoder refused the input: ${(e as Error).message}`);
  } finally {
    // cbor-x caches a DataView on the input array as an own property; leave the caller's
    // bytes as they were.
    if (!had) delete (bytes as { dataView?: DataView }).dataView;
  }
  return { value: normalise(raw), report };
}

/** Turns cbor-x's tag objects into CborTag; everything else is already in the data model. */
function normalise(v: unknown): CborValue {
  if (v instanceof Tag) return new CborTag(Number(v.tag), normalise(v.value));
  if (Array.isArray(v)) return v.map(normalise);
  if (v instanceof Map) {
    const m = new Map<CborValue, CborValue>();
    for (const [k, x] of v) m.set(normalise(k), normalise(x));
    return m;
  }
  return v as CborValue;
}
