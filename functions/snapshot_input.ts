/**
 * Reading an uploaded snapshot: the Content-Type picks the importer (snapshots/import/mod.ts
 * MEDIA_TYPES), an absent one lets the importer recognise the bytes, an unknown one is a 415.
 * Importer errors become 422 problems carrying the SnapshotError's code and where.
 */
import {
  formatForMediaType,
  importSnapshot,
  type InputFormat,
  MEDIA_TYPES,
} from "../snapshots/import/mod.ts";
import { type Snapshot, SnapshotError } from "../snapshots/mod.ts";
import { Problem } from "./problem.ts";

/** Media types a snapshot upload may carry, for the OpenAPI document. */
export const SNAPSHOT_MEDIA_TYPES: readonly string[] = Object.keys(MEDIA_TYPES);

/** The importer format for a Content-Type header; undefined means "recognise the bytes". */
export function formatOf(contentType: string | undefined): InputFormat | undefined {
  if (contentType === undefined || contentType.trim() === "") return undefined;
  const f = formatForMediaType(contentType);
  if (f === undefined) {
    throw new Problem(
      "unsupported-media-type",
      `Content-Type "${contentType.slice(0, 100)}" is not a snapshot format; use one of: ${
        SNAPSHOT_MEDIA_TYPES.join(", ")
      }`,
    );
  }
  return f;
}

/** Imports the bytes or throws a 422 Problem saying what is wrong, and where. */
export async function readSnapshot(
  bytes: Uint8Array,
  format: InputFormat | undefined,
  maxBytes: number,
): Promise<Snapshot> {
  try {
    return await importSnapshot(bytes, { format, limits: { maxBytes } });
  } catch (e) {
    if (e instanceof SnapshotError) {
      throw new Problem("invalid-snapshot", e.message, { code: e.code, where: e.where });
    }
    throw e;
  }
}
