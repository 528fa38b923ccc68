/**
 * Byte-level mutations in the manner of libFuzzer's and AFL's havoc stage: flips, interesting
 * values, arithmetic, chunk erase/insert/duplicate, splices with another corpus entry. A small
 * deterministic PRNG (xorshift) so a run is reproducible from its seed.
 */
export class Rng {
  #s: number;
  constructor(seed: number) {
    this.#s = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let x = this.#s;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.#s = x >>> 0;
    return this.#s;
  }
  below(n: number): number {
    return n <= 0 ? 0 : this.next() % n;
  }
}

const INTERESTING = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x10, 0x20, 0x40, 0x64, 0xfe];
/** Bytes that delimit structure in the formats fed here (CBOR heads, JSON, CRLF, "QEVM"). */
const TOKENS = ["0x", "\r\n", '"', "{", "}", "[", "]", ",", ":", "--", "\xff\xff\xff\xff"]
  .map((t) => Uint8Array.from(t, (c) => c.charCodeAt(0)));

/** One mutated copy of `input`, at most `max` bytes long. */
export function mutate(input: Uint8Array, other: Uint8Array, rng: Rng, max: number): Uint8Array {
  let b: Uint8Array = input.slice();
  const rounds = 1 + rng.below(6);
  for (let r = 0; r < rounds; r++) {
    const at = rng.below(b.length);
    switch (rng.below(10)) {
      case 0: // bit flip
        if (b.length) b[at] ^= 1 << rng.below(8);
        break;
      case 1: // interesting byte
        if (b.length) b[at] = INTERESTING[rng.below(INTERESTING.length)];
        break;
      case 2: // arithmetic
        if (b.length) b[at] = (b[at] + 1 + rng.below(35) * (rng.below(2) ? 1 : -1)) & 0xff;
        break;
      case 3: { // random bytes
        const n = Math.min(1 + rng.below(8), b.length - at);
        for (let i = 0; i < n; i++) b[at + i] = rng.below(256);
        break;
      }
      case 4: { // erase a chunk
        const n = Math.min(1 + rng.below(64), b.length - at);
        b = new Uint8Array([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      case 5: { // duplicate a chunk (amplification shapes: repeated records)
        const n = Math.min(1 + rng.below(256), b.length - at);
        const chunk = b.subarray(at, at + n);
        const times = 1 + rng.below(8);
        const parts = [b.subarray(0, at + n)];
        for (let i = 0; i < times; i++) parts.push(chunk);
        parts.push(b.subarray(at + n));
        b = concat(parts);
        break;
      }
      case 6: // insert a token
        b = concat([b.subarray(0, at), TOKENS[rng.below(TOKENS.length)], b.subarray(at)]);
        break;
      case 7: { // splice with another corpus entry
        const o = rng.below(other.length);
        b = concat([b.subarray(0, at), other.subarray(o, o + rng.below(512))]);
        break;
      }
      case 8: // truncate
        b = b.slice(0, at);
        break;
      default: { // 32-bit big- or little-endian interesting value (lengths, counts)
        if (b.length < 4) break;
        const p = Math.min(at, b.length - 4);
        const v = [0, 0xffffffff, 0x7fffffff, 0x80000000, 0x10000, 0x1000][rng.below(6)];
        const dv = new DataView(b.buffer, b.byteOffset);
        dv.setUint32(p, v, rng.below(2) === 0);
      }
    }
  }
  return b.length > max ? b.slice(0, max) : b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
