/**
 * Runs a real server process on 127.0.0.1 with port 0 (the OS picks a free port) and reads the
 * address from its "Listening on" line, so tests never race for a port.
 */
import { ENV_VARS } from "../../functions/config.ts";

export interface RunningServer {
  url: string;
  /** Everything the process wrote to stderr so far (start-up banner, logs). */
  log(): string;
  stop(): Promise<void>;
}

/**
 * Variables the service reads, blanked for the child unless the test sets them, so whatever the
 * calling shell exports (a DATABASE_URL, a token list) cannot change what the test exercises.
 * The rest of the environment (PATH, HOME and with it Deno's cache) is inherited.
 */
const RESET = [
  ...ENV_VARS.map((r) => r.name),
  "ROLLSAFE_SIGNING_KEY",
  "ROLLSAFE_SIGNING_KEY_FILE",
  "ROLLSAFE_SIGNING_KID",
  "ROLLSAFE_PUBLIC_KEYS",
  "ROLLSAFE_PUBLIC_KEYS_FILE",
  "ROLLSAFE_GIT_REVISION",
  "SUPABASE_DB_URL",
];

export async function startServer(
  args: string[],
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunningServer> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: opts.cwd,
    env: { ...Object.fromEntries(RESET.map((n) => [n, ""])), NO_COLOR: "1", ...opts.env },
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
