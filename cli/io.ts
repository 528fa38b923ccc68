/**
 * Files in and out of the command line, with `-` for stdin/stdout, and failures as one-line
 * usage errors (exit 3) naming the path and the reason, never a stack trace.
 */
import { UsageError } from "./args.ts";

/** The bytes of `path`, or of stdin when `path` is "-". */
export async function readInput(path: string, what = "input"): Promise<Uint8Array> {
  try {
    if (path === "-") return new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer());
    return await Deno.readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path === "-" ? "from stdin" : path}: ${reason(e)}`);
  }
}

/** Writes `bytes` to `path`, or to stdout when `path` is "-". */
export async function writeOutput(path: string, bytes: Uint8Array, what = "output"): Promise<void> {
  try {
    if (path === "-") {
      const w = Deno.stdout.writable.getWriter();
      await w.write(bytes);
      w.releaseLock();
    } else {
      await Deno.writeFile(path, bytes);
    }
  } catch (e) {
    throw new UsageError(`cannot write ${what} ${path === "-" ? "to stdout" : path}: ${reason(e)}`);
  }
}

/** Deno's messages end with the syscall in parentheses; the first part is the reason. */
function reason(e: unknown): string {
  return (e as Error).message.replace(/: [a-z]+ '[^']*'$/, "");
}
