/**
 * Generic reader for one vmstate payload (a device section, a struct element or a subsection),
 * driven by its vmdesc description. The layout follows migration/vmstate.c
 * (vmstate_save_state_v): the fields in order, each element big-endian at the size vmdesc
 * records, then each subsection that was sent as QEMU_VM_SUBSECTION (0x05), u8 name length,
 * name, be32 version, payload (vmstate_subsection_save).
 */
import { type Budget, fail, latin1, Reader } from "./reader.ts";
import type { FieldDesc, StructDesc } from "./vmdesc.ts";

/** QEMU_VM_SUBSECTION (migration/savevm.c). */
export const QEMU_VM_SUBSECTION = 0x05;

export type VmsValue = bigint | Uint8Array | VmsStruct;

export interface VmsField {
  type: string;
  /** One value per element; repeated vmdesc entries of the same name append here. */
  values: VmsValue[];
  /** Byte offset of the field's first element. */
  at: number;
}

export interface VmsStruct {
  vmsdName: string;
  version: number;
  fields: Map<string, VmsField>;
  subsections: Map<string, VmsStruct>;
  /** Byte offset where the payload starts. */
  at: number;
  /** A path for messages, e.g. `cpu[1]` or `arm_gicv3.cpu[0]`. */
  where: string;
}

/** Field types whose bytes are kept raw; any other type of 1..8 bytes is a big-endian integer. */
const RAW_TYPES = new Set(["buffer", "unused_buffer", "str", "nullptr"]);

export function readStruct(
  r: Reader,
  desc: StructDesc,
  where: string,
  budget: Budget,
): VmsStruct {
  const s: VmsStruct = {
    vmsdName: desc.vmsdName,
    version: desc.version,
    fields: new Map(),
    subsections: new Map(),
    at: r.pos,
    where,
  };
  for (const f of desc.fields) readField(r, f, s, where, budget);
  for (const sub of desc.subsections) {
    const name = subsectionHeader(r, sub, where);
    s.subsections.set(name, readStruct(r, sub, `${where}/${name.split("/").pop()}`, budget));
  }
  unlistedSubsection(r, desc, where);
  return s;
}

/**
 * Steps over one described payload without decoding it: every field takes
 * (array_len or 1) × size bytes as vmdesc recorded them (a compressed array's elements are
 * all that size, vmsd_can_compress), and each subsection's marker, name and version are still
 * checked. The work is proportional to the description, never to the array lengths it
 * declares, which is how sections the importer does not map are walked.
 */
export function skipStruct(r: Reader, desc: StructDesc, where: string): void {
  for (const f of desc.fields) {
    const n = f.arrayLen ?? 1;
    r.skip(n * f.size, `${where}.${f.name} (${n} × ${f.size} bytes)`);
  }
  for (const sub of desc.subsections) {
    const name = subsectionHeader(r, sub, where);
    skipStruct(r, sub, `${where}/${name.split("/").pop()}`);
  }
  unlistedSubsection(r, desc, where);
}

/** QEMU_VM_SUBSECTION, u8 name length, name, be32 version: checked against vmdesc. */
function subsectionHeader(r: Reader, sub: StructDesc, where: string): string {
  const at = r.pos;
  const tag = r.u8(`subsection marker of ${sub.vmsdName} in ${where}`);
  if (tag !== QEMU_VM_SUBSECTION) {
    fail(
      "qemu/subsection",
      `byte ${r.abs(at)}`,
      `${where}: vmdesc lists subsection "${sub.vmsdName}" but the stream has byte ${
        hex2(tag)
      }, not QEMU_VM_SUBSECTION 0x05`,
    );
  }
  const name = r.str8(`subsection name in ${where}`);
  if (name !== sub.vmsdName) {
    fail(
      "qemu/subsection",
      `byte ${r.abs(at)}`,
      `${where}: stream has subsection "${name}" where vmdesc lists "${sub.vmsdName}"`,
    );
  }
  const version = r.be32(`version of subsection ${name}`);
  if (version !== sub.version) {
    fail(
      "qemu/subsection",
      `byte ${r.abs(at)}`,
      `${where}: subsection "${name}" is version ${version} but vmdesc says ${sub.version}`,
    );
  }
  return name;
}

/** A subsection of this struct that vmdesc does not list means the two disagree. */
function unlistedSubsection(r: Reader, desc: StructDesc, where: string): void {
  if (r.remaining >= 2 && r.bytes[r.pos] === QEMU_VM_SUBSECTION) {
    const n = r.bytes[r.pos + 1];
    if (r.remaining >= 2 + n) {
      const name = latin1(r.bytes.subarray(r.pos + 2, r.pos + 2 + n));
      if (desc.vmsdName !== "" && name.startsWith(`${desc.vmsdName}/`)) {
        fail(
          "qemu/subsection",
          `byte ${r.abs(r.pos)}`,
          `${where}: stream has subsection "${name}" that vmdesc does not list`,
        );
      }
    }
  }
}

/** The value of every 0-byte field (one object: typed arrays are costly to create). */
const EMPTY = new Uint8Array(0);

function readField(
  r: Reader,
  f: FieldDesc,
  s: VmsStruct,
  where: string,
  budget: Budget,
): void {
  const n = f.arrayLen ?? 1;
  const at = r.pos;
  // Every element is counted once its bytes are known to be present; zero-byte fields cost no
  // stream bytes, so only their own budget bounds them (issue 18: array_len × fields).
  const here = () => `${where}.${f.name} (byte ${r.abs(at)})`;

  let field = s.fields.get(f.name);
  if (!field) {
    field = { type: f.type, values: [], at };
    s.fields.set(f.name, field);
  }
  const label = `${where}.${f.name}`;
  // Work must stay proportional to the stream: every element read below costs at least one
  // byte, so an absurd array_len fails on the length check instead of looping.
  if (f.size === 0) {
    if (f.struct && n > 1) {
      fail("qemu/vmdesc", f.where, `${n} struct elements of 0 bytes each`);
    }
    budget.spend("fieldElements", n, here);
    budget.spend("zeroByteElements", n, here);
    if (!f.struct) {
      field.values.push(EMPTY);
      return;
    }
  }
  if (f.struct) {
    r.need(
      f.arrayLen === undefined ? Math.min(f.size, 1) : n * f.size,
      `${label} (${n} struct elements)`,
    );
    if (f.size > 0) budget.spend("fieldElements", n, here);
    for (let i = 0; i < n; i++) {
      const start = r.pos;
      const idx = f.index ?? i;
      field.values.push(readStruct(r, f.struct, `${label}[${idx}]`, budget));
      // vmdesc records the bytes the first (or only) element took; a compressed array's
      // elements have no subsections, so all are that size (vmsd_can_compress).
      if (i === 0 && r.pos - start !== f.size) {
        fail(
          "qemu/field-size",
          `byte ${r.abs(start)}`,
          `${label}[${idx}] took ${r.pos - start} bytes but vmdesc (${f.where}) says ${f.size}`,
        );
      }
    }
    return;
  }
  r.need(n * f.size, `${label} (${n} × ${f.size} bytes)`);
  if (f.size > 0) budget.spend("fieldElements", n, here);
  const raw = RAW_TYPES.has(f.type) || f.size > 8;
  for (let i = 0; i < n; i++) {
    field.values.push(raw ? r.take(f.size, label) : r.beN(f.size, label));
  }
}

function hex2(b: number): string {
  return `0x${b.toString(16).padStart(2, "0")}`;
}

/** Accessors used by the device mappers; each failure names the field and its byte offset. */
export class Fields {
  constructor(readonly s: VmsStruct) {}

  has(name: string): boolean {
    return this.s.fields.has(name);
  }

  field(name: string): VmsField {
    const f = this.s.fields.get(name);
    if (!f) {
      fail("qemu/field-missing", this.s.where, `field "${name}" is not in this section's vmdesc`);
    }
    return f;
  }

  /** All elements of an integer field, checking the count if `count` is given. */
  nums(name: string, count?: number): bigint[] {
    const f = this.field(name);
    if (count !== undefined && f.values.length !== count) {
      fail(
        "qemu/field-shape",
        `${this.s.where}.${name} (byte ${f.at})`,
        `expected ${count} element(s), the stream has ${f.values.length}`,
      );
    }
    return f.values.map((v, i) => {
      if (typeof v !== "bigint") {
        fail(
          "qemu/field-shape",
          `${this.s.where}.${name}[${i}] (byte ${f.at})`,
          `expected an integer field, vmdesc type is "${f.type}"`,
        );
      }
      return v;
    });
  }

  num(name: string): bigint {
    return this.nums(name, 1)[0];
  }

  structs(name: string): VmsStruct[] {
    const f = this.field(name);
    return f.values.map((v, i) => {
      if (typeof v === "bigint" || v instanceof Uint8Array) {
        fail(
          "qemu/field-shape",
          `${this.s.where}.${name}[${i}] (byte ${f.at})`,
          "expected a struct element",
        );
      }
      return v;
    });
  }

  sub(name: string): Fields | undefined {
    const s = this.s.subsections.get(name);
    return s ? new Fields(s) : undefined;
  }
}
