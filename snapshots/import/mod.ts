/**
 * One entry point for every input format rollsafe reads: the native CBOR snapshot, QEMU
 * migration streams (bare, gzip/xz/zstd-compressed, or inside a libvirt save image) and
 * Firecracker CPU fingerprints. The format is taken from an explicit hint (CLI argument or
 * HTTP Content-Type) when given, else recognised from the first bytes. Firecracker snapshot
 * state files and Cloud Hypervisor snapshots are recognised and refused with the reason.
 *
 * importSnapshotFrom reads a stream of chunks (a file, stdin, an HTTP body): QEMU streams are
 * parsed as they arrive, so their size is not bounded by memory; the other formats are small
 * and read whole within `limits.maxBytes`.
 */
import { SnapshotError } from "../errors.ts";
import { decodeSnapshot } from "../codec.ts";
import { checkMeaning } from "../validate.ts";
import type { Snapshot } from "../model.ts";
import type { CborValue, DecodeLimits } from "../../cbor/mod.ts";
import { importFcFingerprint } from "./fc_fingerprint.ts";
import { SNAPSHOT_LIMITS } from "../limits.ts";
import {
  type Chunks,
  compressionOf,
  decompress,
  fromBytes,
  openInput,
  Peekable,
  readAll,
  type SourceOptions,
} from "./source.ts";
import { type LibvirtSave, looksLikeLibvirt, readLibvirtHeader } from "./libvirt.ts";

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

export interface ImportOptions extends SourceOptions {
  /** Format to use; recognised from the bytes when absent. */
  format?: InputFormat;
  /** Decode limits for native snapshots. */
  limits?: Partial<DecodeLimits>;
  /** Keep guest memory from QEMU streams (default true; `check` needs none). */
  memory?: boolean;
}

type Importer = (bytes: Uint8Array, o: ImportOptions) => Snapshot | Promise<Snapshot>;

const IMPORTERS: Record<InputFormat, Importer> = {
  native: (b, o) => decodeSnapshot(b, o.limits),
  "fc-fingerprint": (b) => importFcFingerprint(b),
  qemu: async (b, o) => {
    // Loaded on demand: the QEMU importer is the largest and most callers never need it.
    const { importQemuStream } = await import("./qemu/mod.ts");
    return importQemuStream(b, { memory: o.memory });
  },
};

/** Reads any supported input held in memory into a validated snapshot. Throws SnapshotError. */
export async function importSnapshot(
  bytes: Uint8Array,
  opts: ImportOptions = {},
): Promise<Snapshot> {
  if (compressionOf(bytes) || looksLikeLibvirt(bytes) || (!opts.format && fcSnapshotArch(bytes))) {
    return await importSnapshotFrom(fromBytes(bytes), opts);
  }
  const format = opts.format ?? sniffFormat(bytes);
  if (!format) unknownFormat();
  if (format === "fc-fingerprint") refuseCloudHypervisor(bytes);
  const snapshot = await IMPORTERS[format](bytes, opts);
  checkMeaning(snapshot);
  return snapshot;
}

function unknownFormat(): never {
  throw new SnapshotError(
    "input/format",
    "byte 0",
    'not a rollsafe snapshot (CBOR map), a QEMU migration stream ("QEVM", bare, gzip, xz ' +
      "or zstd), a libvirt save image or a Firecracker fingerprint (JSON)",
  );
}

/**
 * Reads any supported input from a stream of chunks. QEMU streams (bare, compressed or in a
 * libvirt save image) are imported as they arrive; other formats are read whole within
 * `limits.maxBytes`.
 */
export async function importSnapshotFrom(
  source: Chunks,
  opts: ImportOptions = {},
  wrappedIn?: string,
): Promise<Snapshot> {
  const input = new Peekable(source);
  const head = await input.peek(64);
  // Compression and libvirt's container wrap a format; an explicit format names what is inside.
  const compression = compressionOf(head);
  if (compression) {
    if (wrappedIn) {
      throw new SnapshotError(
        "input/format",
        "byte 0",
        `${compression} data inside ${wrappedIn}: nested compression is not accepted`,
      );
    }
    return await importSnapshotFrom(decompress(input, compression, opts), opts, compression);
  }
  if (looksLikeLibvirt(head)) {
    const { save, compression: inner } = await readLibvirtHeader(input);
    const stream = inner === "raw" ? input : decompress(input, inner, opts);
    const s = await importQemuFrom(stream, opts, "libvirt save image");
    s.source?.extra.set("libvirt_save", libvirtMeta(save));
    return s;
  }
  const arch = opts.format ? undefined : fcSnapshotArch(head);
  if (arch) {
    throw new SnapshotError(
      "input/fc-snapshot",
      "byte 0",
      `a Firecracker snapshot state file (${arch}, magic 0x${
        leU64(head).toString(16)
      }): not supported yet. Its MicrovmState (vCPU registers, GIC state) is a bincode/` +
        "versionize serialization of Firecracker's Rust structs with no self-description, " +
        "whose layout changes with the snapshot version; import the host's CPU template " +
        "fingerprint (fc-fingerprint) instead",
    );
  }
  const format = opts.format ?? sniffFormat(head);
  if (format === "qemu") return await importQemuFrom(input, opts, wrappedIn);
  if (!format) unknownFormat();
  const max = opts.limits?.maxBytes ?? SNAPSHOT_LIMITS.maxBytes;
  const bytes = await readAll(input, max, wrappedIn ? `the ${wrappedIn} input` : "the input");
  return await importSnapshot(bytes, { ...opts, format });
}

async function importQemuFrom(
  source: Chunks,
  opts: ImportOptions,
  wrappedIn?: string,
): Promise<Snapshot> {
  const { importQemuStreamFrom } = await import("./qemu/mod.ts");
  const s = await importQemuStreamFrom(source, { memory: opts.memory });
  if (wrappedIn) s.source?.extra.set("container", wrappedIn);
  checkMeaning(s);
  return s;
}

function libvirtMeta(save: LibvirtSave): Map<CborValue, CborValue> {
  const m = new Map<CborValue, CborValue>([
    ["version", save.version],
    ["format", save.format],
    ["was_running", save.wasRunning],
    ["xml_bytes", save.xmlBytes],
  ]);
  if (save.machine) m.set("machine", save.machine);
  if (save.cpuMode) m.set("cpu_mode", save.cpuMode);
  if (save.cpuModel) m.set("cpu_model", save.cpuModel);
  if (save.domain) m.set("domain", save.domain);
  return m;
}

/**
 * Firecracker's state file starts with a little-endian u64 magic: 0x0710_1984_AAAA_0000
 * (aarch64) or 0x0710_1984_8664_0000 (x86_64), with the snapshot format version in the low
 * 16 bits in the versionize era (src/snapshot/src/lib.rs SNAPSHOT_MAGIC_ID / BASE_MAGIC_ID).
 */
export function fcSnapshotArch(head: Uint8Array): string | undefined {
  if (head.length < 8) return undefined;
  const base = leU64(head) & ~0xffffn;
  if (base === 0x0710_1984_aaaa_0000n) return "aarch64";
  if (base === 0x0710_1984_8664_0000n) return "x86_64";
  return undefined;
}

function leU64(b: Uint8Array): bigint {
  let v = 0n;
  for (let i = 7; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
  return v;
}

/**
 * Cloud Hypervisor's snapshot directory holds config.json, state.json and memory-ranges
 * (vmm/src/lib.rs, SNAPSHOT_STATE_FILE / SNAPSHOT_CONFIG_FILE); state.json is its
 * `Snapshot` tree: {"snapshots": {...}, "snapshot_data": ...} (vm-migration/src/lib.rs).
 */
export const CLOUD_HYPERVISOR_FILES = ["state.json", "config.json"];

const CH_UNSUPPORTED = "not supported yet. Its vCPU state is serde JSON of kvm-bindings " +
  "structs (kvm_one_reg lists, vGIC state) nested under Cloud Hypervisor's device-manager " +
  "ids, which rollsafe does not map to its snapshot model yet";

function refuseCloudHypervisor(bytes: Uint8Array): void {
  // Only a cheap look at the start: the fingerprint importer parses the JSON itself.
  const start = new TextDecoder().decode(bytes.subarray(0, 256));
  if (
    /^\s*\{\s*"(snapshots|snapshot_data|id)"\s*:/.test(start) &&
    !/"cpuid|"reg_modifiers|"vcpu_features/.test(start)
  ) {
    throw new SnapshotError(
      "input/cloud-hypervisor",
      "$",
      `a Cloud Hypervisor snapshot state.json: ${CH_UNSUPPORTED}`,
    );
  }
}

/**
 * Reads a path ("-" for stdin). A directory is recognised as a Cloud Hypervisor snapshot when
 * it holds state.json and config.json, and refused with the reason.
 */
export async function importPath(path: string, opts: ImportOptions = {}): Promise<Snapshot> {
  if (path !== "-") {
    let dir = false;
    try {
      dir = (await Deno.stat(path)).isDirectory;
    } catch { /* openInput reports it */ }
    if (dir) {
      const has = await Promise.all(
        CLOUD_HYPERVISOR_FILES.map((f) => Deno.stat(`${path}/${f}`).then(() => true, () => false)),
      );
      throw new SnapshotError(
        "input/cloud-hypervisor",
        path,
        has.every(Boolean)
          ? `a Cloud Hypervisor snapshot directory: ${CH_UNSUPPORTED}`
          : "a directory, not a snapshot file",
      );
    }
  }
  return await importSnapshotFrom(await openInput(path), opts);
}
