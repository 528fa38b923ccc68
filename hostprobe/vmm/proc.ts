/**
 * Processes with deadlines for the VMM referee. Unlike oracle.ts's helper, the console of a long
 * boot can be copied to a log file as it arrives (`tee`), so a run that is killed at its deadline
 * still leaves everything it printed for diagnosis.
 */
import { OracleError } from "../oracle.ts";

export interface RunOut {
  code: number;
  stdout: string;
  stderr: string;
  /** True when the deadline killed the process (its output so far is still returned). */
  killed: boolean;
}

export async function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  opts: { cwd?: string; tee?: string } = {},
): Promise<RunOut> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
    }).spawn();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new OracleError(`${cmd}: not installed`);
    }
    throw e;
  }
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, timeoutMs);
  const tee = opts.tee
    ? await Deno.open(opts.tee, { write: true, create: true, truncate: true })
    : undefined;
  const collect = async (s: ReadableStream<Uint8Array>, copy?: Deno.FsFile) => {
    const parts: Uint8Array[] = [];
    for await (const c of s) {
      parts.push(c);
      if (copy) await copy.write(c);
    }
    return new TextDecoder().decode(concat(parts));
  };
  try {
    const [stdout, stderr, status] = await Promise.all([
      collect(child.stdout, tee),
      collect(child.stderr),
      child.status,
    ]);
    return { code: status.code, stdout, stderr, killed };
  } finally {
    clearTimeout(timer);
    tee?.close();
  }
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

export async function sha256Hex(pathOrBytes: string | Uint8Array): Promise<string> {
  const data = typeof pathOrBytes === "string" ? await Deno.readFile(pathOrBytes) : pathOrBytes;
  const d = await crypto.subtle.digest("SHA-256", data as BufferSource);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
