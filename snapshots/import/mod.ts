/**
 * One entry point for every input format rollsafe reads: the native CBOR snapshot, QEMU
 * migration streams and Firecracker CPU fingerprints. The format is taken from an explicit
 * hint (CLI argument or HTTP Content-Type) when given, else recognised from the first bytes.
 */
import { SnapshotError } from "../errors.ts";
import { decodeSnapshot } from "../codec.ts";
import { checkMeaning } from "../validate.ts";
import type { Snapshot } from "../model.ts";
import type { DecodeLimits } from "../../cbor/mod.ts";
import { importFcFingerprint } from "./fc_fingerprint.ts";

export type InputFormat = "native" | "qemu" | "fc-fingerprint";

export const INPUT_FORMATS: readonly InputFormat[] = ["native", "qemu", "fc-fingerprint"];

/** Media types accepted over HTTP, by format. */
export const MEDIA_TYPES: Record<string, InputFormat> = {
  "application/cbor": "native",
  "application/vnd.rollsafe.snapshot+cbor": "native",
  "application/vnd.qemu.migration": "qemu",
  "application/octet-stream": "native",
  "application/vnd.firecracker.fingerprint+json": "fc-fingerprint",
  "application/json": "fc-fingerprint",
};

/** QEMU's stream magic, "QEVM" as a big-endian u32 (migration/savevm.c QEMU_VM_FILE_MAGIC). */
const QEMU_MAGIC = [0x51, 0x45, 0x56, 0x4d];

/** Recognises the format from the first bytes, or undefined. */
export function sniffFormat(bytes: Uint8Array): InputFormat | undefined {
  if (bytes.length >= 4 && QEMU_MAGIC.every((b, i) => bytes[i] === b)) return "qemu";
  let i = 0;
  while (
    i < bytes.length && i < 64 &&
    (bytes[i] === 0x20 || bytes[i] === 0x0a || bytes[i] === 0x0d || bytes[i] === 0x09)
  ) i++;
  if (bytes[i] === 0x7b /* { */) return "fc-fingerprint";
  // A native snapshot is a CBOR map (major type 5).
  if (bytes.length > 0 && bytes[0] >> 5 === 5) return "native";
  return undefined;
}

/** Maps a Content-Type header (parameters ignored) to a format, or undefined. */
export function formatForMediaType(
  contentType: string | null | undefined,
): InputFormat | undefined {
  if (!contentType) return undefined;
  return MEDIA_TYPES[contentType.split(";")[0].trim().toLowerCase()];
}

export interface ImportOptions {
  /** Format to use; recognised from the bytes when absent. */
  format?: InputFormat;
  /** Decode limits for native snapshots. */
  limits?: Partial<DecodeLimits>;
}

type Importer = (bytes: Uint8Array, o: ImportOptions) => Snapshot | Promise<Snapshot>;

const IMPORTERS: Record<InputFormat, Importer> = {
  native: (b, o) => decodeSnapshot(b, o.limits),
  "fc-fingerprint": (b) => importFcFingerprint(b),
  qemu: async (b) => {
    // Loaded on demand: the QEMU importer is the largest and most callers never need it.
    const { importQemuStream } = await import("./qemu/mod.ts");
    return importQemuStream(b);
  },
};

/** Reads any supported input into a validated snapshot. Throws SnapshotError. */
export async function importSnapshot(
  bytes: Uint8Array,
  opts: ImportOptions = {},
): Promise<Snapshot> {
  const format = opts.format ?? sniffFormat(bytes);
  if (!format) {
    throw new SnapshotError(
      "input/format",
      "byte 0",
      'not a rollsafe snapshot (CBOR map), a QEMU migration stream ("QEVM") or a Firecracker fingerprint (JSON)',
    );
  }
  const snapshot = await IMPORTERS[format](bytes, opts);
  checkMeaning(snapshot);
  return snapshot;
}
