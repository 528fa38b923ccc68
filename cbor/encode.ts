/**
 * Deterministic CBOR encoding (RFC 8949 §4.2.1, "Core Deterministic Encoding Requirements"):
 * shortest-form integers and lengths, definite lengths only, map keys sorted by the bytewise
 * lexicographic order of their encodings, no duplicate keys. Anything hashed or signed goes
 * through here, so the same value always gives the same bytes.
 *
 * Floating-point numbers are refused: none of rollsafe's formats use them, and their
 * deterministic form (§4.2.2 preferred serialization) would be one more thing to get right.
 */
import { CborError, CborTag, type CborValue } from "./value.ts";

const utf8 = new TextEncoder();

class Sink {
  buf = new Uint8Array(256);
  len = 0;
  reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** A text string: ASCII is copied as is (most of a verdict), anything else through UTF-8. */
  text(v: string): void {
    let ascii = true;
    for (let i = 0; i < v.length; i++) {
      if (v.charCodeAt(i) > 0x7f) {
        ascii = false;
        break;
      }
    }
    if (!ascii) {
      const b = utf8.encode(v);
      this.head(3, b.length);
      return this.bytes(b);
    }
    this.head(3, v.length);
    this.reserve(v.length);
    for (let i = 0; i < v.length; i++) this.buf[this.len++] = v.charCodeAt(i);
  }
  /** Major type and argument in the shortest form (§4.2.1). */
  head(major: number, arg: number | bigint): void {
    const m = major << 5;
    if (typeof arg === "number") {
      if (arg < 24) return this.byte(m | arg);
      if (arg < 0x100) return this.byte(m | 24), this.byte(arg);
      if (arg < 0x10000) {
        this.byte(m | 25);
        this.byte(arg >>> 8);
        return this.byte(arg & 0xff);
      }
      if (arg < 0x1_0000_0000) {
        this.byte(m | 26);
        for (let s = 24; s >= 0; s -= 8) this.byte((arg >>> s) & 0xff);
        return;
      }
      arg = BigInt(arg);
    }
    if (arg < 0x1_0000_0000n) return this.head(major, Number(arg));
    this.byte(m | 27);
    for (let s = 56n; s >= 0n; s -= 8n) this.byte(Number((arg >> s) & 0xffn));
  }
}

const MAX_U64 = (1n << 64n) - 1n;

/**
 * Where the encoder is, as path segments: joined only when an error names the place (building
 * a path string for every value of a large verdict cost more than encoding it).
 */
type Path = string[];
const at = (path: Path) => "$" + path.join("");

function encodeInt(sink: Sink, v: number | bigint, path: Path): void {
  if (typeof v === "number" && v >= 0) return sink.head(0, v);
  const big = typeof v === "bigint" ? v : BigInt(v);
  if (big >= 0n) {
    if (big > MAX_U64) {
      throw new CborError("range", -1, `${at(path)}: integer ${big} exceeds 64 bits`);
    }
    sink.head(0, big);
  } else {
    const n = -1n - big;
    if (n > MAX_U64) {
      throw new CborError("range", -1, `${at(path)}: integer ${big} exceeds 64 bits`);
    }
    sink.head(1, n);
  }
}

/** Encoded text map keys: a verdict repeats the same few dozen keys thousands of times. */
const KEY_CACHE = new Map<string, Uint8Array>();
const KEY_CACHE_MAX = 4096;

function encodedKey(k: CborValue, path: Path, depth: number): Uint8Array {
  if (typeof k === "string") {
    const hit = KEY_CACHE.get(k);
    if (hit) return hit;
  }
  const ks = new Sink();
  path.push("<key>");
  encodeInto(ks, k, path, depth + 1);
  path.pop();
  const key = ks.buf.slice(0, ks.len);
  if (typeof k === "string" && KEY_CACHE.size < KEY_CACHE_MAX) KEY_CACHE.set(k, key);
  return key;
}

function encodeInto(sink: Sink, v: CborValue, path: Path, depth: number): void {
  if (depth > 256) throw new CborError("depth", -1, `${at(path)}: nesting deeper than 256`);
  switch (typeof v) {
    case "number":
      if (!Number.isSafeInteger(v)) {
        throw new CborError(
          "float",
          -1,
          `${at(path)}: ${v} is not an integer (floats are not encoded)`,
        );
      }
      return encodeInt(sink, v, path);
    case "bigint":
      return encodeInt(sink, v, path);
    case "string":
      return sink.text(v);
    case "boolean":
      return sink.byte(v ? 0xf5 : 0xf4);
    case "undefined":
      return sink.byte(0xf7);
    case "object":
      break;
    default:
      throw new CborError("type", -1, `${at(path)}: cannot encode a ${typeof v}`);
  }
  if (v === null) return sink.byte(0xf6);
  if (v instanceof Uint8Array) {
    sink.head(2, v.length);
    return sink.bytes(v);
  }
  if (Array.isArray(v)) {
    sink.head(4, v.length);
    for (let i = 0; i < v.length; i++) {
      path.push(`[${i}]`);
      encodeInto(sink, v[i], path, depth + 1);
      path.pop();
    }
    return;
  }
  if (v instanceof CborTag) {
    sink.head(6, v.tag);
    path.push(`<tag ${v.tag}>`);
    encodeInto(sink, v.value, path, depth + 1);
    path.pop();
    return;
  }
  const entries: [CborValue, CborValue][] = v instanceof Map
    ? [...v.entries()]
    : Object.entries(v).filter(([, x]) => x !== undefined);
  const encoded = entries.map(([k, x]) => ({ key: encodedKey(k, path, depth), k, x }));
  encoded.sort((a, b) => compareBytes(a.key, b.key));
  for (let i = 1; i < encoded.length; i++) {
    if (compareBytes(encoded[i - 1].key, encoded[i].key) === 0) {
      throw new CborError(
        "duplicate-key",
        -1,
        `${at(path)}: duplicate map key ${String(encoded[i].k)}`,
      );
    }
  }
  sink.head(5, encoded.length);
  for (const e of encoded) {
    sink.bytes(e.key);
    path.push(`.${keyLabel(e.k)}`);
    encodeInto(sink, e.x, path, depth + 1);
    path.pop();
  }
}

function keyLabel(k: CborValue): string {
  if (typeof k === "bigint") return `0x${k.toString(16)}`;
  return String(k);
}

/** Bytewise lexicographic order (RFC 8949 §4.2.1). */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Encodes `value` deterministically. Plain-object properties that are `undefined` are omitted. */
export function encodeDeterministic(value: CborValue): Uint8Array<ArrayBuffer> {
  const sink = new Sink();
  encodeInto(sink, value, [], 0);
  return sink.buf.slice(0, sink.len);
}
