/** Indirection to the QEMU migration-stream importer (loaded on demand by mod.ts). */
import { SnapshotError } from "../errors.ts";
import type { Snapshot } from "../model.ts";

export function importQemuStream(_bytes: Uint8Array): Snapshot {
  throw new SnapshotError("input/unsupported", "$", "the QEMU stream importer is not built yet");
}
