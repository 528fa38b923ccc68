/**
 * A non-recursive pre-scan of untrusted CBOR, run before any decoder sees the bytes.
 *
 * It walks the item structure with an explicit stack and refuses, with the byte offset:
 * truncation; declared lengths larger than the bytes that remain (the cbor-x allocation DoS
 * class); indefinite lengths; reserved additional-information values; nesting deeper than the
 * limit; more items than the limit; tags outside the allow-list (which keeps out value sharing,
 * tags 28/29, and cbor-x record/packed extensions); unassigned simple values; floats unless
 * allowed; invalid UTF-8 in text strings; duplicate map keys (cbor-x would keep the last one
 * silently); trailing bytes after the top-level item.
 *
 * Byte strings are skipped, not copied, so a 16 MiB memory image scans in milliseconds.
 */
import { CborError } from "./value.ts";

export interface PrescanLimits {
  /** Deepest container/tag nesting allowed (the top-level item is depth 1). */
  maxDepth: number;
  /** Most data items allowed in total (every head counts once). */
  maxItems: number;
  /** Tags the format uses; any other tag is refused. */
  allowedTags: readonly number[];
  /** Whether float16/32/64 items are allowed (default: no). */
  allowFloats?: boolean;
  /**
   * Refuse integers and lengths not in their shortest form (RFC 8949 §4.2.1). Formats keyed by
   * integers need this: `0x05` and `0x1805` are the same key to a decoder but different bytes to
   * the duplicate-key check.
   */
  requireShortest?: boolean;
}

export interface PrescanReport {
  items: number;
  depth: number;
}

interface Frame {
  kind: "array" | "map" | "tag";
  /** Items still to come in this container (a map counts keys and values). */
  remaining: number;
  /** Start offset of the key being read (maps only). */
  keyStart: number;
  /** Encoded keys seen so far (maps only), as latin1 strings of their bytes. */
  keys?: Set<string>;
  /** Where the container's head starts, for messages. */
  offset: number;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Smallest argument that needs 1, 2, 4 and 8 argument bytes. */
const SHORTEST_MIN = [24, 0x100, 0x1_0000, 0x1_0000_0000];

export function prescan(bytes: Uint8Array, limits: PrescanLimits): PrescanReport {
  const len = bytes.length;
  const allowed = new Set(limits.allowedTags);
  const stack: Frame[] = [];
  let pos = 0;
  let items = 0;
  let maxDepth = 0;

  const need = (n: number, at: number, what: string) => {
    if (n > len - pos) {
      throw new CborError(
        "truncated",
        at,
        `${what} needs ${n} more byte(s) but only ${len - pos} remain`,
      );
    }
  };

  for (;;) {
    const top = stack[stack.length - 1];
    if (top && top.kind === "map" && top.remaining % 2 === 0) top.keyStart = pos;
    const start = pos;
    need(1, start, "an item head");
    const ib = bytes[pos++];
    const major = ib >> 5;
    const ai = ib & 0x1f;
    if (++items > limits.maxItems) {
      throw new CborError("items", start, `more than ${limits.maxItems} data items`);
    }

    // The argument (RFC 8949 §3): lengths beyond 2^53 are refused below by the remaining-bytes
    // checks, so a number is exact enough here.
    let arg = ai;
    if (major === 7) {
      if (ai < 20 || ai === 24) {
        throw new CborError("simple", start, `unassigned simple value (initial byte 0x${hex(ib)})`);
      }
      if (ai >= 25 && ai <= 27) {
        if (!limits.allowFloats) {
          throw new CborError("float", start, "floating-point values are not part of this format");
        }
        const n = 1 << (ai - 24);
        need(n, start, "a float");
        pos += n;
      } else if (ai >= 28) {
        throw new CborError(
          ai === 31 ? "indefinite" : "reserved",
          start,
          ai === 31
            ? "a 'break' byte outside an indefinite-length item"
            : `reserved additional information ${ai}`,
        );
      }
    } else if (ai >= 24) {
      if (ai === 31) {
        throw new CborError("indefinite", start, "indefinite-length items are not accepted");
      }
      if (ai > 27) throw new CborError("reserved", start, `reserved additional information ${ai}`);
      const n = 1 << (ai - 24);
      need(n, start, "an argument");
      arg = 0;
      for (let i = 0; i < n; i++) arg = arg * 256 + bytes[pos++];
      if (limits.requireShortest && arg < SHORTEST_MIN[ai - 24]) {
        throw new CborError(
          "non-shortest",
          start,
          `${arg} is encoded in ${n} byte(s); the shortest form is required`,
        );
      }
    }

    let complete = true;
    switch (major) {
      case 2:
      case 3:
        need(arg, start, major === 2 ? "a byte string" : "a text string");
        if (major === 3) {
          try {
            strictUtf8.decode(bytes.subarray(pos, pos + arg));
          } catch {
            throw new CborError("utf8", start, "text string is not valid UTF-8");
          }
        }
        pos += arg;
        break;
      case 4:
        need(arg, start, `an array of ${arg} item(s)`);
        if (arg > 0) {
          stack.push({ kind: "array", remaining: arg, keyStart: 0, offset: start });
          complete = false;
        }
        break;
      case 5:
        need(arg * 2, start, `a map of ${arg} pair(s)`);
        if (arg > 0) {
          stack.push({
            kind: "map",
            remaining: arg * 2,
            keyStart: 0,
            keys: new Set(),
            offset: start,
          });
          complete = false;
        }
        break;
      case 6:
        if (!allowed.has(arg)) {
          throw new CborError("tag", start, `tag ${arg} is not allowed here`);
        }
        stack.push({ kind: "tag", remaining: 1, keyStart: 0, offset: start });
        complete = false;
        break;
    }
    if (stack.length > maxDepth) {
      maxDepth = stack.length;
      if (maxDepth >= limits.maxDepth) {
        throw new CborError("depth", start, `nesting deeper than ${limits.maxDepth}`);
      }
    }
    if (!complete) continue;

    // The item is complete: account for it in its enclosing containers.
    for (;;) {
      const f = stack[stack.length - 1];
      if (!f) {
        if (pos !== len) {
          throw new CborError("trailing", pos, `${len - pos} byte(s) after the top-level item`);
        }
        return { items, depth: maxDepth + 1 };
      }
      if (f.kind === "map" && f.remaining % 2 === 0) {
        const key = latin1(bytes, f.keyStart, pos);
        if (f.keys!.has(key)) {
          throw new CborError("duplicate-key", f.keyStart, "duplicate map key");
        }
        f.keys!.add(key);
      }
      if (--f.remaining > 0) break;
      stack.pop();
    }
  }
}

function latin1(bytes: Uint8Array, from: number, to: number): string {
  let s = "";
  for (let i = from; i < to; i++) s += String.fromCharCode(bytes[i]);
  return s;
}

function hex(b: number): string {
  return b.toString(16).padStart(2, "0");
}
