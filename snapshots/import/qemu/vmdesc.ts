/**
 * The JSON "vmdesc" QEMU appends after the stream's EOF marker (migration/savevm.c,
 * qemu_savevm_state_complete_precopy_non_iterable: QEMU_VM_VMDESCRIPTION 0x06, be32 length,
 * JSON text). It describes, per device section and in stream order, every field actually
 * written: name, type, byte size, array length, nested struct descriptions and the subsections
 * that were sent (migration/vmstate.c vmsd_desc_field_start/end). The importer reads device
 * payloads with it instead of hard-coding QEMU's vmstate tables, so a field added by a newer
 * QEMU is skipped by size rather than misread.
 */
import { fail } from "./reader.ts";

/** QEMU_VM_VMDESCRIPTION (migration/savevm.c). */
export const QEMU_VM_VMDESCRIPTION = 0x06;
/**
 * Largest vmdesc accepted. QEMU 7.2's virt machine writes about 20 KiB for 2 vCPUs and about
 * 8 KiB more per vCPU, so 8 MiB covers KVM's 512-vCPU maximum with room to spare.
 */
export const MAX_VMDESC_BYTES = 8 * 1024 * 1024;
/** Struct descriptions nest two or three deep in practice (gicv3 → cpu → subsection). */
const MAX_DESC_DEPTH = 16;
/** Field and element counts: the largest real array is 1020 (GIC IRQ state). */
const MAX_ARRAY_LEN = 1 << 20;

export interface FieldDesc {
  name: string;
  type: string;
  /** Bytes written for one element (for a struct: the whole element, subsections included). */
  size: number;
  /** Present when QEMU compressed an array of identical elements into one entry. */
  arrayLen?: number;
  /** Present when an array was written element by element (structs with subsections). */
  index?: number;
  struct?: StructDesc;
  where: string;
}

export interface StructDesc {
  vmsdName: string;
  version: number;
  /**
   * A legacy SaveVMHandlers section (no VMStateDescription, e.g. "slirp"): QEMU writes its
   * payload with the handler's save_state and describes it as one "data" buffer of the bytes
   * it measured (migration/savevm.c vmstate_save_old_style), with no vmsd_name and no version.
   */
  oldStyle: boolean;
  fields: FieldDesc[];
  subsections: StructDesc[];
  where: string;
}

export interface DeviceDesc extends StructDesc {
  /** The section idstr, e.g. "cpu", "arm_gicv3", "0000:00:00.0/gpex_root". */
  name: string;
  instanceId: number;
}

export interface VmDesc {
  pageSize: number;
  devices: DeviceDesc[];
  /** QEMU 8.2+ also describes the configuration section. */
  configuration?: StructDesc;
}

export interface VmdescLocation {
  /** Offset of the 0x06 byte: the stream proper ends here. */
  at: number;
  json: Uint8Array;
}

/**
 * Finds the vmdesc record: the last position p, within MAX_VMDESC_BYTES of the end, where
 * bytes[p] is 0x06, the be32 after it equals the number of bytes left after the length, and the
 * JSON opens with "{". Returns undefined if there is none.
 */
export function locateVmdesc(
  bytes: Uint8Array,
  maxBytes = MAX_VMDESC_BYTES,
): VmdescLocation | undefined {
  const end = bytes.length;
  const lowest = Math.max(0, end - maxBytes - 5);
  for (let p = end - 6; p >= lowest; p--) {
    if (bytes[p] !== QEMU_VM_VMDESCRIPTION || bytes[p + 5] !== 0x7b) continue;
    const len =
      ((bytes[p + 1] << 24) | (bytes[p + 2] << 16) | (bytes[p + 3] << 8) | bytes[p + 4]) >>>
      0;
    if (len === end - p - 5) return { at: p, json: bytes.subarray(p + 5) };
  }
  return undefined;
}

type Json = Record<string, unknown>;

function obj(v: unknown, where: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) {
    fail("qemu/vmdesc", where, "expected a JSON object");
  }
  return v as Json;
}

function int(o: Json, k: string, where: string, max = 0xffff_ffff): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    fail(
      "qemu/vmdesc",
      `${where}.${k}`,
      `expected an integer in 0..${max}, got ${JSON.stringify(v)}`,
    );
  }
  return v;
}

function str(o: Json, k: string, where: string): string {
  const v = o[k];
  if (typeof v !== "string") fail("qemu/vmdesc", `${where}.${k}`, "expected a string");
  return v;
}

function list(o: Json, k: string, where: string, optional: boolean): unknown[] {
  const v = o[k];
  if (v === undefined && optional) return [];
  if (!Array.isArray(v)) fail("qemu/vmdesc", `${where}.${k}`, "expected an array");
  return v;
}

function readStruct(v: unknown, where: string, depth: number): StructDesc {
  if (depth > MAX_DESC_DEPTH) {
    fail("qemu/vmdesc", where, `struct descriptions nest deeper than ${MAX_DESC_DEPTH}`);
  }
  const o = obj(v, where);
  return {
    // Old-style (non-vmsd) devices have no vmsd_name; their one field is a raw buffer.
    vmsdName: o.vmsd_name === undefined ? "" : str(o, "vmsd_name", where),
    version: o.version === undefined ? 0 : int(o, "version", where),
    oldStyle: o.vmsd_name === undefined,
    fields: list(o, "fields", where, true).map((f, i) =>
      readField(f, `${where}.fields[${i}]`, depth)
    ),
    subsections: list(o, "subsections", where, true).map((s, i) =>
      readStruct(s, `${where}.subsections[${i}]`, depth + 1)
    ),
    where,
  };
}

function readField(v: unknown, where: string, depth: number): FieldDesc {
  const o = obj(v, where);
  const f: FieldDesc = {
    name: str(o, "name", where),
    type: str(o, "type", where),
    size: int(o, "size", where),
    where,
  };
  if (o.array_len !== undefined) f.arrayLen = int(o, "array_len", where, MAX_ARRAY_LEN);
  if (o.index !== undefined) f.index = int(o, "index", where, MAX_ARRAY_LEN);
  if (f.type === "struct") f.struct = readStruct(o.struct, `${where}.struct`, depth + 1);
  return f;
}

/** Parses and shape-checks the vmdesc JSON. `where` paths are JSON paths prefixed "vmdesc". */
export function parseVmdesc(json: Uint8Array): VmDesc {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(json));
  } catch (e) {
    fail("qemu/vmdesc", "vmdesc", `not valid JSON text: ${(e as Error).message}`);
  }
  const top = obj(doc, "vmdesc");
  const pageSize = int(top, "page_size", "vmdesc");
  const devices = list(top, "devices", "vmdesc", false).map((d, i) => {
    const where = `vmdesc.devices[${i}]`;
    const o = obj(d, where);
    return {
      ...readStruct(o, where, 0),
      name: str(o, "name", where),
      instanceId: int(o, "instance_id", where),
    };
  });
  const out: VmDesc = { pageSize, devices };
  if (top.configuration !== undefined) {
    out.configuration = readStruct(top.configuration, "vmdesc.configuration", 0);
  }
  return out;
}
