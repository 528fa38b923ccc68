/**
 * Snapshot codec: bytes ⇄ model, with the hostile-input defences of design.md ("Inputs"):
 * a byte cap before reading, the non-recursive pre-scan (depth, item count, declared lengths,
 * no tags, no indefinite lengths, shortest-form integers, no duplicate keys), then a typed walk
 * that checks every field and a structural validation. Every failure is a SnapshotError with a
 * path. Writing validates the same rules, then encodes deterministically (RFC 8949 §4.2.1).
 */
import {
  CborError,
  type CborValue,
  type DecodeLimits,
  decodeSafe,
  encodeDeterministic,
} from "../cbor/mod.ts";
import { SnapshotError } from "./errors.ts";
import { SNAPSHOT_LIMITS } from "./limits.ts";
import {
  type Extra,
  type MemoryRegion,
  type SmcccRange,
  type Snapshot,
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  type SnapshotSource,
  type VcpuState,
  type VgicState,
  type VmState,
} from "./model.ts";
import { validateSnapshot } from "./validate.ts";
import { hex } from "./kvm/ids.ts";

type CMap = Map<CborValue, CborValue>;

/** Decodes and validates a snapshot. Throws SnapshotError. */
export function decodeSnapshot(bytes: Uint8Array, limits: Partial<DecodeLimits> = {}): Snapshot {
  let root: CborValue;
  try {
    root = decodeSafe(bytes, { ...SNAPSHOT_LIMITS, ...limits, requireShortest: true }).value;
  } catch (e) {
    if (e instanceof CborError) {
      throw new SnapshotError(
        `cbor/${e.code}`,
        e.offset >= 0 ? `byte ${e.offset}` : "$",
        e.message.replace(/^CBOR at byte \d+: /, ""),
      );
    }
    throw e;
  }
  const s = readSnapshot(root);
  validateSnapshot(s);
  return s;
}

/** Validates and encodes a snapshot deterministically. Throws SnapshotError. */
export function encodeSnapshot(s: Snapshot): Uint8Array<ArrayBuffer> {
  validateSnapshot(s);
  return encodeDeterministic(writeSnapshot(s));
}

// ---- reading -------------------------------------------------------------------------------

function fail(code: string, where: string, detail: string): never {
  throw new SnapshotError(code, where, detail);
}

function typeName(v: CborValue): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return "byte string";
  if (Array.isArray(v)) return "array";
  if (v instanceof Map) return "map";
  if (typeof v === "object") return "tagged item";
  if (typeof v === "number" || typeof v === "bigint") {
    return v < 0 ? "negative integer" : "unsigned integer";
  }
  if (typeof v === "string") return "text string";
  return typeof v;
}

function asMap(v: CborValue, where: string): CMap {
  if (!(v instanceof Map)) fail("schema/type", where, `expected a map, got a ${typeName(v)}`);
  return v;
}

function asArray(v: CborValue, where: string): CborValue[] {
  if (!Array.isArray(v)) fail("schema/type", where, `expected an array, got a ${typeName(v)}`);
  return v;
}

function asText(v: CborValue, where: string): string {
  if (typeof v !== "string") {
    fail("schema/type", where, `expected a text string, got a ${typeName(v)}`);
  }
  return v;
}

function asBytes(v: CborValue, where: string): Uint8Array {
  if (!(v instanceof Uint8Array)) {
    fail("schema/type", where, `expected a byte string, got a ${typeName(v)}`);
  }
  return v;
}

function asBig(v: CborValue, where: string): bigint {
  if ((typeof v === "number" && Number.isInteger(v)) || typeof v === "bigint") {
    const b = BigInt(v);
    if (b < 0n) fail("schema/range", where, `expected an unsigned integer, got ${b}`);
    return b;
  }
  fail("schema/type", where, `expected an unsigned integer, got a ${typeName(v)}`);
}

/** An unsigned integer that must fit in `bits` bits, as a number (bits ≤ 32). */
function asUint(v: CborValue, where: string, bits = 32): number {
  const b = asBig(v, where);
  if (b >> BigInt(bits) !== 0n) {
    fail("schema/range", where, `${hex(b)} does not fit in ${bits} bits`);
  }
  return Number(b);
}

/** Splits a map into the known keys (read by the caller) and the rest (kept as extra). */
class Fields {
  readonly extra: Extra = new Map();
  private readonly known = new Map<string, CborValue>();
  constructor(m: CMap, names: readonly string[], readonly where: string) {
    const set = new Set(names);
    for (const [k, v] of m) {
      if (typeof k === "string" && set.has(k)) this.known.set(k, v);
      else this.extra.set(k, v);
    }
  }
  opt<T>(name: string, read: (v: CborValue, where: string) => T): T | undefined {
    const v = this.known.get(name);
    return v === undefined ? undefined : read(v, `${this.where}.${name}`);
  }
  req<T>(name: string, read: (v: CborValue, where: string) => T): T {
    if (!this.known.has(name)) {
      fail("schema/missing", this.where, `required key "${name}" is missing`);
    }
    return read(this.known.get(name)!, `${this.where}.${name}`);
  }
}

function readUintMap<K, V>(
  v: CborValue,
  where: string,
  key: (k: CborValue, w: string) => K,
  val: (x: CborValue, w: string) => V,
  show: (k: K) => string,
): Map<K, V> {
  const out = new Map<K, V>();
  for (const [k, x] of asMap(v, where)) {
    const kk = key(k, `${where}<key>`);
    out.set(kk, val(x, `${where}[${show(kk)}]`));
  }
  return out;
}

const u32 = (v: CborValue, w: string) => asUint(v, w, 32);
const showHex = (k: number | bigint) => hex(k);

function readSnapshot(root: CborValue): Snapshot {
  const f = new Fields(
    asMap(root, "$"),
    ["format", "version", "source", "vm", "vcpus", "memory"],
    "$",
  );
  const format = f.req("format", asText);
  if (format !== SNAPSHOT_FORMAT) {
    fail("snapshot/format", "$.format", `"${format}" is not "${SNAPSHOT_FORMAT}"`);
  }
  const version = f.req("version", (v, w) => asUint(v, w));
  if (version !== SNAPSHOT_VERSION) {
    fail(
      "snapshot/version",
      "$.version",
      `version ${version} is not supported (this reader understands version ${SNAPSHOT_VERSION})`,
    );
  }
  const vcpus = f.req("vcpus", (v, w) => asArray(v, w).map((x, i) => readVcpu(x, `${w}[${i}]`)));
  return {
    source: f.opt("source", readSource),
    vm: f.req("vm", readVm),
    vcpus,
    memory: f.opt("memory", (v, w) => asArray(v, w).map((x, i) => readRegion(x, `${w}[${i}]`))),
    extra: f.extra,
  };
}

function readSource(v: CborValue, where: string): SnapshotSource {
  const f = new Fields(asMap(v, where), [
    "kernel",
    "profile",
    "host",
    "vmm",
    "vmm_version",
    "midr",
    "captured_at",
    "importer",
  ], where);
  return {
    kernel: f.opt("kernel", asText),
    profile: f.opt("profile", asText),
    host: f.opt("host", asText),
    vmm: f.opt("vmm", asText),
    vmmVersion: f.opt("vmm_version", asText),
    midr: f.opt("midr", asBig),
    capturedAt: f.opt("captured_at", asText),
    importer: f.opt("importer", asText),
    extra: f.extra,
  };
}

function readVm(v: CborValue, where: string): VmState {
  const f = new Fields(asMap(v, where), ["vgic", "counter_offset", "caps", "smccc_filter"], where);
  return {
    vgic: f.opt("vgic", readVgic),
    counterOffset: f.opt("counter_offset", asBig),
    caps: f.opt("caps", (x, w) => asArray(x, w).map((c, i) => u32(c, `${w}[${i}]`))) ?? [],
    smcccFilter:
      f.opt("smccc_filter", (x, w) => asArray(x, w).map((r, i) => readSmccc(r, `${w}[${i}]`))) ??
        [],
    extra: f.extra,
  };
}

function readSmccc(v: CborValue, where: string): SmcccRange {
  const f = new Fields(asMap(v, where), ["base", "count", "action"], where);
  return {
    base: f.req("base", u32),
    count: f.req("count", u32),
    action: f.req("action", u32),
    extra: f.extra,
  };
}

function readVgic(v: CborValue, where: string): VgicState {
  const f = new Fields(asMap(v, where), ["model", "nr_irqs", "dist", "its"], where);
  const model = f.req("model", asText);
  if (model !== "v2" && model !== "v3") {
    fail("vgic/model", `${where}.model`, `"${model}" is not "v2" or "v3"`);
  }
  return {
    model,
    nrIrqs: f.req("nr_irqs", u32),
    dist: f.req("dist", (x, w) => readUintMap(x, w, u32, u32, showHex)),
    its: f.opt("its", (x, w) => readUintMap(x, w, u32, asBig, showHex)),
    extra: f.extra,
  };
}

function readVcpu(v: CborValue, where: string): VcpuState {
  const f = new Fields(asMap(v, where), [
    "mpidr",
    "features",
    "mp_state",
    "registers",
    "redist",
    "icc",
    "gicc",
    "level",
  ], where);
  return {
    mpidr: f.req("mpidr", asBig),
    features: f.req("features", (x, w) => asArray(x, w).map((b, i) => u32(b, `${w}[${i}]`))),
    mpState: f.opt("mp_state", u32),
    registers: f.req("registers", (x, w) => readUintMap(x, w, asBig, asBytes, showHex)),
    redist: f.opt("redist", (x, w) => readUintMap(x, w, u32, u32, showHex)),
    icc: f.opt("icc", (x, w) => readUintMap(x, w, u32, asBig, showHex)),
    gicc: f.opt("gicc", (x, w) => readUintMap(x, w, u32, u32, showHex)),
    level: f.opt("level", (x, w) => readUintMap(x, w, u32, u32, (k) => String(k))),
    extra: f.extra,
  };
}

function readRegion(v: CborValue, where: string): MemoryRegion {
  const f = new Fields(asMap(v, where), ["base", "size", "page_size", "pages", "name"], where);
  return {
    base: f.req("base", asBig),
    size: f.req("size", asBig),
    pageSize: f.req("page_size", u32),
    pages: f.req("pages", (x, w) => readUintMap(x, w, asBig, asBytes, showHex)),
    name: f.opt("name", asText),
    extra: f.extra,
  };
}

// ---- writing -------------------------------------------------------------------------------

function withExtra(known: [string, CborValue | undefined][], extra: Extra): CMap {
  const m: CMap = new Map(extra);
  for (const [k, v] of known) if (v !== undefined) m.set(k, v);
  return m;
}

function mapOf<K extends number | bigint, V extends CborValue>(
  m: Map<K, V> | undefined,
): CMap | undefined {
  return m === undefined ? undefined : new Map<CborValue, CborValue>(m);
}

function writeSnapshot(s: Snapshot): CMap {
  return withExtra([
    ["format", SNAPSHOT_FORMAT],
    ["version", SNAPSHOT_VERSION],
    ["source", s.source && writeSource(s.source)],
    ["vm", writeVm(s.vm)],
    ["vcpus", s.vcpus.map(writeVcpu)],
    ["memory", s.memory?.map(writeRegion)],
  ], s.extra);
}

function writeSource(src: SnapshotSource): CMap {
  return withExtra([
    ["kernel", src.kernel],
    ["profile", src.profile],
    ["host", src.host],
    ["vmm", src.vmm],
    ["vmm_version", src.vmmVersion],
    ["midr", src.midr],
    ["captured_at", src.capturedAt],
    ["importer", src.importer],
  ], src.extra);
}

function writeVm(vm: VmState): CMap {
  return withExtra([
    ["vgic", vm.vgic && writeVgic(vm.vgic)],
    ["counter_offset", vm.counterOffset],
    ["caps", vm.caps.length ? vm.caps : undefined],
    [
      "smccc_filter",
      vm.smcccFilter.length
        ? vm.smcccFilter.map((r) =>
          withExtra([["base", r.base], ["count", r.count], ["action", r.action]], r.extra)
        )
        : undefined,
    ],
  ], vm.extra);
}

function writeVgic(g: VgicState): CMap {
  return withExtra([
    ["model", g.model],
    ["nr_irqs", g.nrIrqs],
    ["dist", mapOf(g.dist)],
    ["its", mapOf(g.its)],
  ], g.extra);
}

function writeVcpu(v: VcpuState): CMap {
  return withExtra([
    ["mpidr", v.mpidr],
    ["features", v.features],
    ["mp_state", v.mpState],
    ["registers", mapOf(v.registers)],
    ["redist", mapOf(v.redist)],
    ["icc", mapOf(v.icc)],
    ["gicc", mapOf(v.gicc)],
    ["level", mapOf(v.level)],
  ], v.extra);
}

function writeRegion(r: MemoryRegion): CMap {
  return withExtra([
    ["base", r.base],
    ["size", r.size],
    ["page_size", r.pageSize],
    ["pages", mapOf(r.pages)],
    ["name", r.name],
  ], r.extra);
}
