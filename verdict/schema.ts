/**
 * The verdict layout as a table of fields, and one generic checker over it. The same table
 * validates a verdict being built (bad input from the pipeline) and one being decoded (bytes from
 * anywhere), and every refusal names the path, what was expected and what was found:
 * `verdict $.targets[0].operations[3].errno: expected one of ENOENT, EINVAL, …; got "EFOO"`.
 *
 * Records are closed: an unknown field is an error, because a reader that ignored fields would
 * report a verdict as saying less than it was signed to say.
 */
import { COMPONENTS, ERRNOS, SEVERITIES, VMM_OP } from "./shapes.ts";

/** A verdict that is malformed, with the path of the offending value. */
export class VerdictError extends Error {
  override name = "VerdictError";
  constructor(readonly path: string, detail: string) {
    super(`verdict ${path}: ${detail}`);
  }
}

export type Spec =
  | { t: "text"; max: number; pattern?: RegExp; oneOf?: readonly string[] }
  | { t: "uint" }
  | { t: "bool" }
  /** A SHA-256 digest: a byte string of exactly 32 bytes. */
  | { t: "digest" }
  | { t: "const"; value: string | number }
  | { t: "array"; of: Spec; max: number }
  | { t: "record"; fields: Fields; refine?: (v: Record<string, unknown>, path: string) => void }
  /** A map from text keys (matching `key`) to values of one spec. */
  | { t: "dict"; key: RegExp; of: Spec; max: number };

export type Fields = Record<string, { spec: Spec; optional?: true }>;

const STATUSES = ["pass", "warn", "fail"] as const;

const name = (max = 200): Spec => ({ t: "text", max, pattern: /^\S(.*\S)?$/s });
const prose: Spec = { t: "text", max: 4000, pattern: /\S/ };
/**
 * 64-bit (or wider) values as lower-case "0x…" text, as shapes.ts declares them: up to
 * KVM_REG_SIZE_U2048 (an SVE Z register, 2048 bits), i.e. "0x" and 512 hex digits.
 */
const hex64: Spec = { t: "text", max: 2 + 2048 / 4, pattern: /^0x[0-9a-f]+$/ };
const uint: Spec = { t: "uint" };

const factSource: Spec = {
  t: "record",
  fields: {
    cite: { spec: name(400) },
    confidence: { spec: { t: "text", max: 1, oneOf: ["V", "I", "U"] } },
  },
};

const dataRef: Spec = {
  t: "record",
  fields: { id: { spec: name() }, sha256: { spec: { t: "digest" } } },
};

/** OperationResult (shapes.ts); a verdict keeps only the ones that were not `ok`. */
const operation: Spec = {
  t: "record",
  fields: {
    op: { spec: { t: "text", max: 64, pattern: /^[A-Z][A-Z0-9_]*$/ } },
    vcpu: { spec: uint, optional: true },
    id: { spec: hex64, optional: true },
    attr: { spec: name(), optional: true },
    name: { spec: name() },
    value: { spec: hex64, optional: true },
    component: { spec: { t: "text", max: 16, oneOf: COMPONENTS } },
    outcome: { spec: { t: "text", max: 16, oneOf: ["ignored", "failed"] } },
    errno: { spec: { t: "text", max: 16, oneOf: ERRNOS }, optional: true },
    reason: { spec: prose },
    source: { spec: factSource, optional: true },
  },
  // An errno is what a failing ioctl returns; an ignored write returns 0. A VMM's own refusal
  // (op "VMM": QEMU's cpu_post_load, Firecracker's PMUv3 check) fails before any ioctl, so it
  // has none.
  refine: (v, path) => {
    if (v.outcome === "failed" && v.errno === undefined && v.op !== VMM_OP) {
      throw new VerdictError(`${path}.errno`, "a failed operation must name its errno");
    }
    if ((v.outcome !== "failed" || v.op === VMM_OP) && v.errno !== undefined) {
      throw new VerdictError(
        `${path}.errno`,
        v.op === VMM_OP
          ? "a VMM's own refusal has no errno"
          : `an ${v.outcome} operation has no errno`,
      );
    }
  },
};

const drift: Spec = {
  t: "record",
  fields: {
    what: { spec: name() },
    vcpu: { spec: uint, optional: true },
    source: { spec: { t: "text", max: 400 } },
    target: { spec: { t: "text", max: 400 } },
    severity: { spec: { t: "text", max: 16, oneOf: SEVERITIES } },
    explanation: { spec: prose },
    fact: { spec: factSource, optional: true },
  },
};

const reliance: Spec = {
  t: "record",
  fields: {
    kind: { spec: { t: "text", max: 64, pattern: /^[a-z0-9][a-z0-9-]*$/ } },
    vcpu: { spec: uint, optional: true },
    severity: { spec: { t: "text", max: 16, oneOf: SEVERITIES } },
    explanation: { spec: prose },
    fact: { spec: factSource, optional: true },
  },
};

const status: Spec = { t: "text", max: 4, oneOf: STATUSES };

const target: Spec = {
  t: "record",
  fields: {
    id: { spec: name() },
    profile: { spec: dataRef },
    host: { spec: dataRef },
    restorable: { spec: { t: "bool" } },
    status: { spec: status },
    checked: { spec: uint },
    operations: { spec: { t: "array", of: operation, max: 100_000 } },
    drift: { spec: { t: "array", of: drift, max: 100_000 } },
    reliance: { spec: { t: "array", of: reliance, max: 100_000 } },
  },
  refine: (v, path) => {
    const ops = v.operations as { outcome: string }[];
    // Every VMM aborts the restore when a KVM ioctl fails (QEMU, Firecracker and Cloud
    // Hypervisor all propagate the error), so a failed operation means not restorable.
    if (v.restorable === true && ops.some((o) => o.outcome === "failed")) {
      throw new VerdictError(
        `${path}.restorable`,
        "a target with a failed operation cannot be restorable",
      );
    }
    if ((v.checked as number) < ops.length) {
      throw new VerdictError(
        `${path}.checked`,
        `${v.checked} operations checked but ${ops.length} listed as not ok`,
      );
    }
  },
};

const summary: Spec = {
  t: "record",
  fields: {
    status: { spec: status },
    targets: { spec: uint },
    restorable: { spec: uint },
    failed: { spec: uint },
    ignored: { spec: uint },
    breaking: { spec: uint },
    notable: { spec: uint },
    info: { spec: uint },
  },
};

/** The whole payload (model.ts `Verdict`). */
export const VERDICT_SPEC: Spec = {
  t: "record",
  fields: {
    format: { spec: { t: "const", value: "rollsafe.verdict" } },
    version: { spec: { t: "const", value: 1 } },
    snapshot: {
      spec: { t: "record", fields: { sha256: { spec: { t: "digest" } }, size: { spec: uint } } },
    },
    source: {
      spec: { t: "record", fields: { profile: { spec: dataRef }, host: { spec: dataRef } } },
    },
    vmm: { spec: { t: "text", max: 64, pattern: /^[a-z0-9][a-z0-9-]*$/ } },
    engine: {
      spec: {
        t: "record",
        fields: {
          version: { spec: name(64) },
          git_revision: {
            spec: { t: "text", max: 80, pattern: /^[0-9a-f]{7,64}(-dirty)?$/ },
            optional: true,
          },
          wasm_sha256: { spec: { t: "digest" } },
          probes: {
            spec: { t: "dict", key: /^[a-z0-9][a-z0-9_.-]*$/, of: { t: "digest" }, max: 1000 },
          },
        },
      },
    },
    targets: { spec: { t: "array", of: target, max: 1000 } },
    summary: { spec: summary },
    issued_at: { spec: uint },
    nonce: { spec: { t: "text", max: 256, pattern: /^[\x21-\x7e]+$/ }, optional: true },
    dev_key: { spec: { t: "bool" } },
  },
  refine: (v, path) => {
    const seen = new Set<string>();
    for (const [i, t] of (v.targets as { id: string }[]).entries()) {
      if (seen.has(t.id)) {
        throw new VerdictError(`${path}.targets[${i}].id`, `duplicate target id "${t.id}"`);
      }
      seen.add(t.id);
    }
    if ((v.targets as unknown[]).length === 0) {
      throw new VerdictError(`${path}.targets`, "a verdict covers at least one target");
    }
  },
};

/**
 * Checks `value` (plain objects or the Maps the CBOR decoder returns) against `spec` and returns
 * it as plain data: records become plain objects, digests copies, uints numbers.
 */
export function conform(value: unknown, spec: Spec, path = "$"): unknown {
  switch (spec.t) {
    case "text": {
      if (typeof value !== "string") throw wrongType(path, "a text string", value);
      if (value.length > spec.max) {
        throw new VerdictError(path, `text of ${value.length} characters, above ${spec.max}`);
      }
      if (spec.oneOf && !spec.oneOf.includes(value)) {
        throw new VerdictError(
          path,
          `expected one of ${spec.oneOf.join(", ")}; got ${show(value)}`,
        );
      }
      if (spec.pattern && !spec.pattern.test(value)) {
        throw new VerdictError(path, `${show(value)} does not match ${spec.pattern}`);
      }
      return value;
    }
    case "uint": {
      const n = typeof value === "bigint" && value <= BigInt(Number.MAX_SAFE_INTEGER)
        ? Number(value)
        : value;
      if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 0) {
        throw wrongType(path, "an unsigned integer below 2^53", value);
      }
      return n;
    }
    case "bool":
      if (typeof value !== "boolean") throw wrongType(path, "true or false", value);
      return value;
    case "digest":
      if (!(value instanceof Uint8Array)) throw wrongType(path, "a byte string", value);
      if (value.length !== 32) {
        throw new VerdictError(path, `a SHA-256 digest is 32 bytes, got ${value.length}`);
      }
      return new Uint8Array(value);
    case "const":
      if (value !== spec.value) {
        throw new VerdictError(path, `expected ${show(spec.value)}; got ${show(value)}`);
      }
      return value;
    case "array": {
      if (!Array.isArray(value)) throw wrongType(path, "an array", value);
      if (value.length > spec.max) {
        throw new VerdictError(path, `${value.length} items, above the limit of ${spec.max}`);
      }
      return value.map((x, i) => conform(x, spec.of, `${path}[${i}]`));
    }
    case "dict": {
      const out: Record<string, unknown> = {};
      const entries = entriesOf(value, path);
      if (entries.length > spec.max) {
        throw new VerdictError(path, `${entries.length} entries, above the limit of ${spec.max}`);
      }
      for (const [k, x] of entries) {
        if (!spec.key.test(k)) {
          throw new VerdictError(path, `key ${show(k)} does not match ${spec.key}`);
        }
        out[k] = conform(x, spec.of, `${path}.${k}`);
      }
      return out;
    }
    case "record": {
      const out: Record<string, unknown> = {};
      const given = new Map(entriesOf(value, path));
      for (const k of given.keys()) {
        if (!Object.hasOwn(spec.fields, k)) throw new VerdictError(`${path}.${k}`, "unknown field");
      }
      for (const [k, f] of Object.entries(spec.fields)) {
        const x = given.get(k);
        if (x === undefined) {
          if (f.optional) continue;
          throw new VerdictError(`${path}.${k}`, "missing");
        }
        out[k] = conform(x, f.spec, `${path}.${k}`);
      }
      spec.refine?.(out, path);
      return out;
    }
  }
}

/** The text-keyed entries of a record-like value; `undefined` members of plain objects are absent. */
function entriesOf(value: unknown, path: string): [string, unknown][] {
  if (value instanceof Map) {
    const out: [string, unknown][] = [];
    for (const [k, x] of value) {
      if (typeof k !== "string") throw new VerdictError(path, `map key ${show(k)} is not text`);
      out.push([k, x]);
    }
    return out;
  }
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    value instanceof Uint8Array
  ) {
    throw wrongType(path, "a map", value);
  }
  return Object.entries(value).filter(([, x]) => x !== undefined);
}

function wrongType(path: string, expected: string, got: unknown): VerdictError {
  return new VerdictError(path, `expected ${expected}; got ${describe(got)}`);
}

function describe(v: unknown): string {
  if (v === null) return "null";
  if (v instanceof Uint8Array) return `a byte string of ${v.length} bytes`;
  if (v instanceof Map) return "a map";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "bigint") return `the integer ${v}`;
  if (typeof v === "number") return Number.isInteger(v) ? `the integer ${v}` : `the number ${v}`;
  if (typeof v === "string") return `the text ${show(v)}`;
  if (typeof v === "object") return "a map";
  return String(v);
}

function show(v: unknown): string {
  const s = typeof v === "string"
    ? JSON.stringify(v.length > 60 ? `${v.slice(0, 60)}…` : v)
    : String(v);
  return s;
}
