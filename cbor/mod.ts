/** CBOR for rollsafe: deterministic encoding, a hostile-input pre-scan, and safe decoding. */
export { CborError, CborTag, type CborValue } from "./value.ts";
export { compareBytes, encodeDeterministic } from "./encode.ts";
export { prescan, type PrescanLimits, type PrescanReport } from "./prescan.ts";
export { type DecodeLimits, decodeSafe } from "./decode.ts";
