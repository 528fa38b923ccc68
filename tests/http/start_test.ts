/**
 * `deno task start` as a person meets it: a banner with the page URL, a curl command that works
 * as printed, the signing key's kind; --port/PORT; a taken port is one line and exit 3.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";

const START = new URL("../../functions/start.ts", import.meta.url).pathname;
const ROOT = new URL("../../", import.meta.url).pathname;

async function start(args: string[], env: Record<string, string>) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", START, ...args],
    cwd: ROOT,
    env: { NO_COLOR: "1", ROLLSAFE_SIGNING_KEY: "", ROLLSAFE_SIGNING_KEY_FILE: "", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const ready = Promise.withResolvers<string>();
  const pump = (async () => {
    for await (const c of child.stderr) {
      text += dec.decode(c, { stream: true });
      if (/key {4}.*\n?$/m.test(text) && /Listening on/.test(text)) ready.resolve(text);
    }
  })();
  child.status.then(() => ready.resolve(text));
  const timer = setTimeout(() => ready.resolve(text), 60_000);
  await ready.promise;
  clearTimeout(timer);
  return {
    text: () => text,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await pump;
      await child.stdout.cancel().catch(() => {});
    },
    status: child.status,
  };
}

Deno.test("task start: banner, a curl that works as printed, the dev key named; a taken port is one line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-start-" });
  const env = { ROLLSAFE_CONFIG_DIR: dir, ROLLSAFE_DATA_DIR: dir };
  const a = await start(["--port", "0"], env);
  try {
    const text = a.text();
    const url = /Listening on (http:\/\/127\.0\.0\.1:[0-9]+\/)/.exec(text)?.[1];
    assert(url, text);
    assertStringIncludes(text, `page   ${url}`);
    assertMatch(text, /key {4}DEVELOPMENT key dev-[0-9a-f]{32}: .*--accept-dev-key/);
    // The curl line as printed (joined at its backslash), run by a real curl.
    const curl = /try {4}(curl .*) \\\n\s+('.*')/.exec(text);
    assert(curl, text);
    const out = await new Deno.Command("bash", {
      args: ["-c", `${curl[1]} ${curl[2]}`],
      cwd: ROOT,
      stdout: "piped",
    }).output();
    assertEquals(out.code, 0);
    const j = JSON.parse(new TextDecoder().decode(out.stdout));
    assertEquals(j.verdict.summary.status, "fail");
    assertEquals(j.verdict.dev_key, true);
    const page = await fetch(url);
    assertEquals(page.status, 200);
    await page.body?.cancel();
    // The same port again: one line, exit 3, no stack trace.
    const port = new URL(url).port;
    const b = await start([], { ...env, PORT: port });
    const st = await b.status;
    await b.stop();
    assertEquals(st.code, 3);
    const line = b.text().trim().split("\n").pop()!;
    assertEquals(
      line,
      `rollsafe: port ${port} on 127.0.0.1 is already in use (another rollsafe?); choose another with --port N or PORT=N`,
    );
    assert(!b.text().includes("    at "), b.text());
  } finally {
    await a.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("task start: a bad port is one line and exit 3", async () => {
  const b = await start(["--port", "http"], {});
  const st = await b.status;
  await b.stop();
  assertEquals(st.code, 3);
  assertStringIncludes(b.text(), `port "http" is not a number 0-65535`);
});
