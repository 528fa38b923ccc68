/**
 * Runs an external program (QEMU, mostly) to completion with a hard time limit, so a guest that
 * never powers off fails its test instead of hanging the suite.
 */
export async function outputWithin(
  cmd: string,
  args: string[],
  timeoutMs: number,
): Promise<Deno.CommandOutput & { timedOut: boolean }> {
  const child = new Deno.Command(cmd, { args, stdin: "null", stdout: "piped", stderr: "piped" })
    .spawn();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  }, timeoutMs);
  try {
    const out = await child.output();
    return Object.assign(out, { timedOut });
  } finally {
    clearTimeout(timer);
  }
}
