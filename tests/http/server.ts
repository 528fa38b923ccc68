/**
 * Runs a real server process on 127.0.0.1 with port 0 (the OS picks a free port) and reads the
 * address from its "Listening on" line, so tests never race for a port.
 */
export interface RunningServer {
  url: string;
  /** Everything the process wrote to stderr so far (start-up banner, logs). */
  log(): string;
  stop(): Promise<void>;
}

export async function startServer(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: opts.cwd,
    env: { NO_COLOR: "1", ...opts.env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const found = Promise.withResolvers<string>();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      text += dec.decode(chunk, { stream: true });
      const m = /Listening on (http:\/\/127\.0\.0\.1:[0-9]+)\//.exec(text);
      if (m) found.resolve(m[1]);
    }
  };
  const pumps = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const timer = setTimeout(() => found.reject(new Error(`server did not start:\n${text}`)), 30_000);
  child.status.then((st) => found.reject(new Error(`server exited (${st.code}):\n${text}`)));
  let url: string;
  try {
    url = await found.promise;
  } catch (e) {
    child.kill("SIGKILL");
    await pumps.catch(() => {});
    throw e;
  } finally {
    clearTimeout(timer);
  }
  return {
    url,
    log: () => text,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await pumps.catch(() => {});
    },
  };
}
