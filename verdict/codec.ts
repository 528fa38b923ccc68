/**
 * The verdict's bytes: deterministic CBOR (RFC 8949 §4.2.1) through cbor/, and a strict reader.
 *
 * The reader refuses, with the path or byte offset: anything the hostile-input pre-scan refuses
 * (cbor/prescan.ts: no tags at all here, no floats, no indefinite lengths, no duplicate keys);
 * any field that does not fit the layout table (schema.ts); a summary that does not follow from
 * the targets; and bytes that are not the deterministic encoding of what they decode to, so one
 * verdict has exactly one encoding and a digest of it identifies it.
 */
import {
  CborError,
  type CborValue,
  compareBytes,
  decodeSafe,
  encodeDeterministic,
} from "../cbor/mod.ts";
import { summarise, targetStatus } from "./build.ts";
import type { Summary, Verdict } from "./model.ts";
import { conform, VERDICT_SPEC, VerdictError } from "./schema.ts";

/** Bounds for reading a verdict: far above any real one (a few KiB per target). */
export const VERDICT_LIMITS = {
  maxBytes: 8 * 1024 * 1024,
  maxDepth: 8,
  maxItems: 2_000_000,
  allowedTags: [] as number[],
};

/** Validates and encodes; the same verdict always gives the same bytes. */
export function encodeVerdict(v: Verdict): Uint8Array<ArrayBuffer> {
  const checked = conform(v, VERDICT_SPEC) as Verdict;
  checkSummary(checked);
  return encodeDeterministic(checked as unknown as CborValue);
}

/**
 * A list of signed verdicts (COSE_Sign1 messages, as issued) as one CBOR array, deterministically
 * encoded: what the ledger answers for "every verdict of this snapshot" in CBOR.
 */
export function encodeVerdictList(coses: readonly Uint8Array[]): Uint8Array<ArrayBuffer> {
  return encodeDeterministic([...coses]);
}

/** Decodes and validates; throws VerdictError (layout) or CborError (bytes) saying where. */
export function decodeVerdict(bytes: Uint8Array): Verdict {
  const { value } = decodeSafe(bytes, VERDICT_LIMITS);
  const v = conform(value, VERDICT_SPEC) as Verdict;
  checkSummary(v);
  const again = encodeDeterministic(v as unknown as CborValue);
  if (compareBytes(again, bytes) !== 0) {
    throw new CborError(
      "not-deterministic",
      firstDifference(again, bytes),
      "the verdict is not in deterministic encoding (RFC 8949 §4.2.1)",
    );
  }
  return v;
}

/** The statuses and counts must follow from the targets by the rule at model.ts `Status`. */
function checkSummary(v: Verdict): void {
  for (const [i, t] of v.targets.entries()) {
    const want = targetStatus(t);
    if (t.status !== want) {
      throw new VerdictError(
        `$.targets[${i}].status`,
        `says ${t.status} but the findings give ${want}`,
      );
    }
  }
  const want = summarise(v.targets);
  for (const k of Object.keys(want) as (keyof Summary)[]) {
    if (v.summary[k] !== want[k]) {
      throw new VerdictError(
        `$.summary.${k}`,
        `says ${v.summary[k]} but the targets give ${want[k]}`,
      );
    }
  }
}

function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}
