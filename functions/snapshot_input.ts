/**
 * Reading an uploaded snapshot: which importer a body goes to. A specific Content-Type
 * (snapshots/import/mod.ts MEDIA_TYPES) names the format, and the body's first bytes must agree
 * with it: a disagreement is a 415 that says what the body looks like and what the header says,
 * rather than the importer's baffling error three layers down. Generic types (what `curl
 * --data-binary` and `fetch` send by default) and no Content-Type at all let the first bytes
 * decide. Any other type is a 415. Importer errors become 422 problems with the SnapshotError's
 * code and where.
 */
import {
  formatForMediaType,
  importSnapshot,
  type InputFormat,
  MEDIA_TYPES,
  sniffFormat,
} from "../snapshots/import/mod.ts";
import { type Snapshot, SnapshotError } from "../snapshots/mod.ts";
import { Problem } from "./problem.ts";

/**
 * Content types that say nothing about the format: the first bytes decide. `curl --data-binary`
 * sends application/x-www-form-urlencoded, and browsers send a file of unknown type as
 * application/octet-stream.
 */
export const GENERIC_MEDIA_TYPES: readonly string[] = [
  "application/octet-stream",
  "application/x-www-form-urlencoded",
];

/** Media types a snapshot upload may carry, for the OpenAPI document. */
export const SNAPSHOT_MEDIA_TYPES: readonly string[] = [
  ...new Set([...Object.keys(MEDIA_TYPES), ...GENERIC_MEDIA_TYPES]),
];

/** What each format looks like, for messages. */
const LOOKS_LIKE: Record<InputFormat, string> = {
  native: "a rollsafe CBOR snapshot",
  qemu: 'a QEMU migration stream ("QEVM")',
  "fc-fingerprint": "a Firecracker CPU fingerprint (JSON)",
};

function essence(contentType: string): string {
  return contentType.split(";")[0].trim().toLowerCase();
}

/**
 * The importer format for a Content-Type header, checked against the body when it is given;
 * undefined means "recognise the bytes". Without the body (before the upload is read) only the
 * header is checked, so an unusable type is refused before the upload costs anything.
 */
export function formatOf(
  contentType: string | undefined,
  body?: Uint8Array,
): InputFormat | undefined {
  if (contentType === undefined || contentType.trim() === "") return undefined;
  if (GENERIC_MEDIA_TYPES.includes(essence(contentType))) return undefined;
  const f = formatForMediaType(contentType);
  if (f === undefined) {
    throw new Problem(
      "unsupported-media-type",
      `Content-Type "${contentType.slice(0, 100)}" is not a snapshot format; use one of: ${
        SNAPSHOT_MEDIA_TYPES.join(", ")
      }`,
    );
  }
  if (body !== undefined) {
    const seen = sniffFormat(body);
    if (seen !== undefined && seen !== f) {
      throw new Problem(
        "unsupported-media-type",
        `the body looks like ${LOOKS_LIKE[seen]}; Content-Type says ${essence(contentType)} (${
          LOOKS_LIKE[f]
        }): send it as ${
          Object.keys(MEDIA_TYPES).find((m) => MEDIA_TYPES[m] === seen)
        } or application/octet-stream`,
      );
    }
  }
  return f;
}

/** Imports the bytes or throws a 415/422 Problem saying what is wrong, and where. */
export async function readSnapshot(
  bytes: Uint8Array,
  contentType: string | undefined,
  maxBytes: number,
): Promise<Snapshot> {
  const format = formatOf(contentType, bytes);
  try {
    return await importSnapshot(bytes, { format, limits: { maxBytes } });
  } catch (e) {
    if (e instanceof SnapshotError) {
      throw new Problem("invalid-snapshot", e.message, { code: e.code, where: e.where });
    }
    throw e;
  }
}
