/**
 * A sliding window over a byte stream for parsers written as generators. The parser yields
 * how many bytes it wants available ("at least n, or everything up to the end"), then reads
 * them synchronously with a Reader over the window and commits how far it got. A driver
 * satisfies each request: driveSync for a stream already held whole in memory (no copies),
 * drive for chunks arriving from a file, a pipe, a decompressor or an HTTP body (copies only
 * the unread tail when a record spans chunks). The parser's code is the same for both, so a
 * 4 GiB stream is read with memory bounded by the largest request, not by its size.
 */
import { Reader } from "./reader.ts";

/** A parser: yields byte counts it wants available, returns its result. */
export type Parse<T> = Generator<number, T, void>;

export class Window {
  /** Bytes held; [start, end) is unread. */
  buf: Uint8Array = new Uint8Array(0);
  start = 0;
  end = 0;
  /** Stream offset of buf[0]. */
  base = 0;
  eof = false;
  /** The caller's whole input backs the window, so views into it stay valid. */
  whole = false;
  /** Whether buf is ours to append into (not a chunk lent by the source). */
  private owned = false;

  static whole(bytes: Uint8Array): Window {
    const w = new Window();
    w.buf = bytes;
    w.end = bytes.length;
    w.eof = true;
    w.whole = true;
    return w;
  }

  get available(): number {
    return this.end - this.start;
  }

  /** Stream offset of the first unread byte. */
  get offset(): number {
    return this.base + this.start;
  }

  /** The unread bytes as one view. */
  held(): Uint8Array {
    return this.buf.subarray(this.start, this.end);
  }

  /** A Reader over the unread bytes (up to `end`, a window position), with stream offsets. */
  reader(end = this.end): Reader {
    return new Reader(this.buf, this.start, end, this.base);
  }

  /** Marks everything before the reader's position as read. */
  commit(r: Reader): void {
    this.start = r.pos;
  }

  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const avail = this.available;
    if (avail === 0) {
      // Adopt the chunk as the window: no copy.
      this.base += this.end;
      this.buf = chunk;
      this.start = 0;
      this.end = chunk.length;
      this.owned = false;
      return;
    }
    if (this.owned && this.buf.length - this.end >= chunk.length) {
      this.buf.set(chunk, this.end);
      this.end += chunk.length;
      return;
    }
    // A fresh buffer (never rewriting bytes a caller may still view), twice what is needed
    // so a large request fills in amortised linear time.
    const need = avail + chunk.length;
    const next = new Uint8Array(Math.max(need * 2, 1 << 20));
    next.set(this.buf.subarray(this.start, this.end));
    next.set(chunk, avail);
    this.base += this.start;
    this.buf = next;
    this.start = 0;
    this.end = need;
    this.owned = true;
  }
}

/** Runs a parser over a window that already holds the whole stream. */
export function driveSync<T>(p: Parse<T>): T {
  for (let x = p.next();; x = p.next()) if (x.done) return x.value;
}

/** Runs a parser, pulling chunks into the window until each request is met or input ends. */
export async function drive<T>(
  p: Parse<T>,
  w: Window,
  chunks: AsyncIterable<Uint8Array>,
): Promise<T> {
  const it = chunks[Symbol.asyncIterator]();
  try {
    for (let x = p.next();; x = p.next()) {
      if (x.done) return x.value;
      while (w.available < x.value && !w.eof) {
        const c = await it.next();
        if (c.done) w.eof = true;
        else w.push(c.value);
      }
    }
  } finally {
    // Stop the source early (a failed parse must not leave a decompressor or file running).
    await it.return?.();
  }
}
