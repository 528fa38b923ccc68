/**
 * Where input bytes come from and what wraps them: a file or stdin read as a stream of chunks,
 * compression recognised by its magic and undone as the bytes flow (gzip by the runtime's
 * DecompressionStream; xz and zstd by Debian's `xz` and `zstd` programs, since no pinned
 * pure-JS decoder is available here and both are one apt package away), and the first bytes
 * peeked so the format can be told before anything is consumed.
 *
 * Decompressed output is capped (SourceOptions.maxBytes): a decompression bomb stops at the
 * cap with a one-line error instead of running the importer for ever.
 */
import { SnapshotError } from "../errors.ts";

export type Chunks = AsyncIterable<Uint8Array>;

/** Compression formats, by the magic bytes their files start with. */
export const COMPRESSIONS = [
  // RFC 1952 §2.3.1: ID1 ID2.
  { name: "gzip", magic: [0x1f, 0x8b], program: undefined },
  // xz file format §2.1.1.1: header magic bytes.
  { name: "xz", magic: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], program: "xz" },
  // RFC 8878 §3.1.1: Magic_Number 0xFD2FB528, little-endian.
  { name: "zstd", magic: [0x28, 0xb5, 0x2f, 0xfd], program: "zstd" },
] as const;

export type Compression = (typeof COMPRESSIONS)[number]["name"];

export function compressionOf(head: Uint8Array): Compression | undefined {
  return COMPRESSIONS.find((c) => c.magic.every((b, i) => head[i] === b))?.name;
}

/** A chunk source whose first bytes can be looked at before it is read. */
export class Peekable implements AsyncIterable<Uint8Array> {
  private held: Uint8Array[] = [];
  private it: AsyncIterator<Uint8Array>;
  private done = false;

  constructor(source: Chunks) {
    this.it = source[Symbol.asyncIterator]();
  }

  /** Up to `n` first bytes (fewer if the input is shorter), without consuming them. */
  async peek(n: number): Promise<Uint8Array> {
    let have = this.held.reduce((a, c) => a + c.length, 0);
    while (have < n && !this.done) {
      const r = await this.it.next();
      if (r.done) this.done = true;
      else if (r.value.length > 0) {
        this.held.push(r.value);
        have += r.value.length;
      }
    }
    return concat(this.held, Math.min(n, have));
  }

  /** Drops the first `n` bytes, which must have been peeked. */
  skip(n: number): void {
    while (n > 0) {
      const c = this.held[0];
      if (c.length <= n) {
        this.held.shift();
        n -= c.length;
      } else {
        this.held[0] = c.subarray(n);
        n = 0;
      }
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      while (this.held.length > 0) yield this.held.shift()!;
      if (this.done) return;
      for (let r = await this.it.next(); !r.done; r = await this.it.next()) yield r.value;
    } finally {
      await this.it.return?.();
    }
  }
}

function concat(parts: Uint8Array[], n: number): Uint8Array {
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    if (at >= n) break;
    const take = p.subarray(0, n - at);
    out.set(take, at);
    at += take.length;
  }
  return out;
}

/** Bytes already in memory, as one chunk. */
export async function* fromBytes(b: Uint8Array): AsyncGenerator<Uint8Array> {
  yield b;
}

/** Reads a file, or stdin for "-", as chunks. */
export async function openInput(path: string): Promise<Chunks> {
  if (path === "-") return Deno.stdin.readable;
  const f = await Deno.open(path, { read: true });
  return f.readable;
}

export interface SourceOptions {
  /** Most bytes a decompressor may produce (default 64 GiB). */
  maxBytes?: number;
}

/** Default cap on decompressed bytes: a large guest's whole stream, not a bomb's. */
export const MAX_DECOMPRESSED_BYTES = 64 * 1024 ** 3;

/** Decompresses `source` as `kind`, capped; errors name the compression and the cap. */
export function decompress(source: Chunks, kind: Compression, opts: SourceOptions = {}): Chunks {
  const max = opts.maxBytes ?? MAX_DECOMPRESSED_BYTES;
  const inner = kind === "gzip" ? gunzip(source) : external(source, kind);
  return capped(inner, max, kind);
}

async function* capped(source: Chunks, max: number, kind: string): AsyncGenerator<Uint8Array> {
  let total = 0;
  for await (const c of source) {
    total += c.length;
    if (total > max) {
      throw new SnapshotError(
        "input/decompressed-size",
        `byte ${max}`,
        `the ${kind} input decompresses to more than ${max} bytes (the decompression cap)`,
      );
    }
    yield c;
  }
}

async function* gunzip(source: Chunks): AsyncGenerator<Uint8Array> {
  const input = ReadableStream.from(source);
  const out = input.pipeThrough(
    new DecompressionStream("gzip") as unknown as TransformStream<Uint8Array, Uint8Array>,
  );
  const reader = out.getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        throw new SnapshotError(
          "input/gzip",
          "gzip",
          `not valid gzip data: ${(e as Error).message}`,
        );
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/** xz or zstd through the Debian program of that name (`-dc`: decompress to stdout). */
async function* external(source: Chunks, kind: "xz" | "zstd"): AsyncGenerator<Uint8Array> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(kind, {
      args: ["-dc"],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch {
    throw new SnapshotError(
      `input/${kind}`,
      kind,
      `the input is ${kind}-compressed and the '${kind}' program is not installed ` +
        `(apt-get install ${kind === "xz" ? "xz-utils" : "zstd"}), or decompress it first`,
    );
  }
  // Feed stdin concurrently; a consumer that stops early kills the child.
  const feeding = (async () => {
    const w = child.stdin.getWriter();
    try {
      for await (const c of source) await w.write(c);
      await w.close();
    } catch {
      await w.abort().catch(() => {});
    }
  })();
  const stderr = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const errText = (async () => {
    let s = "";
    for (let r = await stderr.read(); !r.done; r = await stderr.read()) s += r.value;
    return s;
  })();
  let finished = false;
  try {
    for await (const c of child.stdout) yield c;
    const status = await child.status;
    finished = true;
    if (!status.success) {
      const why = (await errText).trim().split("\n").pop()?.slice(0, 200) ?? "";
      throw new SnapshotError(`input/${kind}`, kind, `not valid ${kind} data: ${why}`);
    }
  } finally {
    if (!finished) {
      try {
        child.kill("SIGKILL");
      } catch { /* already gone */ }
      await child.status;
    }
    await feeding;
    await errText.catch(() => "");
  }
}

/** Collects a source into one buffer, refusing more than `max` bytes. */
export async function readAll(source: Chunks, max: number, what: string): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  for await (const c of source) {
    total += c.length;
    if (total > max) {
      throw new SnapshotError(
        "input/too-large",
        `byte ${max}`,
        `${what} is larger than ${max} bytes (the limit for inputs read whole)`,
      );
    }
    parts.push(c);
  }
  return concat(parts, total);
}
