/**
 * README.md's commands run as written (issue 15). Every line of every ```sh block is a command
 * (a trailing `\` joins the next line; `# exits N` after it is the exit code it must have, else 0).
 * Each block runs as one bash script from the repository root, so variables and background jobs
 * carry from line to line as they would in a reader's terminal, with `deno` on PATH as the
 * README assumes. Commands that cannot run inside the suite are in EXEMPT with the reason; the
 * few that run forever are in LONG_RUNNING and are started, checked and stopped. `text`, `json`
 * and other blocks are not commands and are not run.
 *
 * The "Expected features" table is kept true here too: every `yes` row names a test file that
 * exists and contains the quoted test name.
 */
import { assert, assertEquals } from "@std/assert";

const ROOT = new URL("../", import.meta.url).pathname;
const README = `${ROOT}README.md`;

/** Commands not run here, each with why. */
const EXEMPT: { command: RegExp; why: string }[] = [
  {
    command: /^npx -y deno@2\.9\.6 task test$/,
    why: "the suite that runs this test; CI runs it (.ci/run)",
  },
];

/** Commands that serve until stopped: run until `ready` appears on their output, then stopped. */
const LONG_RUNNING: { command: RegExp; ready: string }[] = [
  // `ready` is a POSIX extended regular expression (grep -E).
  {
    command: /^npx -y deno@2\.9\.6 task start$/,
    ready: "Listening on http://127[.]0[.]0[.]1:[0-9]+/",
  },
];

/**
 * The one adaptation: the README serves on port 8000, which another process on a shared machine
 * may hold; the blocks run with PORT set to a free port and their URLs say that port instead.
 */
const README_PORT = "8000";

interface Command {
  text: string;
  line: number;
  exit: number;
}

/** The commands of each sh block, in order. Exported for the parser's own test below. */
export function shBlocks(md: string): { line: number; commands: Command[] }[] {
  const blocks: { line: number; commands: Command[] }[] = [];
  const lines = md.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```sh") continue;
    const block = { line: i + 1, commands: [] as Command[] };
    let j = i + 1;
    for (; j < lines.length && lines[j].trim() !== "```"; j++) {
      const start = j;
      let text = lines[j];
      while (/\\\s*$/.test(text.replace(/\s+#.*$/, "")) && j + 1 < lines.length) {
        text = text.replace(/\s*\\\s*$/, "") + " " + lines[++j].trim();
      }
      const exit = /#\s*exits (\d+)/.exec(text);
      // A comment starts at " #" outside quotes; the README's commands have no # inside quotes.
      text = text.replace(/\s+#.*$/, "").trim();
      if (text === "") continue;
      block.commands.push({ text, line: start + 1, exit: exit ? Number(exit[1]) : 0 });
    }
    blocks.push(block);
    i = j;
  }
  return blocks;
}

Deno.test("readme: the block parser joins continuations and reads '# exits N'", () => {
  const md = [
    "```sh",
    "a --x \\",
    "    --y        # exits 2",
    "b   # a comment",
    "```",
    "```text",
    "not a command",
    "```",
  ].join("\n");
  assertEquals(shBlocks(md), [{
    line: 1,
    commands: [{ text: "a --x --y", line: 2, exit: 2 }, { text: "b", line: 4, exit: 0 }],
  }]);
});

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A folder with `deno` in it, pointing at the Deno running this test. */
async function denoOnPath(): Promise<string> {
  const bin = await Deno.makeTempDir({ prefix: "rollsafe-readme-bin-" });
  await Deno.symlink(Deno.execPath(), `${bin}/deno`);
  return bin;
}

function quote(s: string): string {
  return `'${s.replaceAll("'", `'\\''`)}'`;
}

/** The block as a bash script: each command, then a check of its exit code naming its line. */
function script(commands: Command[], port: number): string {
  const out = ["cd " + quote(ROOT)];
  for (const c of commands) {
    const exempt = EXEMPT.find((e) => e.command.test(c.text));
    if (exempt) {
      out.push(`echo ${quote(`exempt (README.md:${c.line}): ${c.text}: ${exempt.why}`)} >&2`);
      continue;
    }
    const text = c.text.replaceAll(`127.0.0.1:${README_PORT}`, `127.0.0.1:${port}`);
    const long = LONG_RUNNING.find((l) => l.command.test(c.text));
    if (long) {
      // Started in the background with its output in a file, checked for `ready`, then stopped.
      out.push(
        `${text} > "$RS_LOG" 2>&1 &`,
        `for _ in $(seq 120); do grep -Eq ${quote(long.ready)} "$RS_LOG" && break; sleep 1; done`,
        `grep -Eq ${quote(long.ready)} "$RS_LOG" || { echo ${
          quote(`README.md:${c.line}: never became ready: ${c.text}`)
        } >&2; cat "$RS_LOG" >&2; exit 99; }`,
        `kill %% 2>/dev/null; wait 2>/dev/null`,
      );
      continue;
    }
    out.push(
      text,
      `rc=$?; if [ "$rc" != ${c.exit} ]; then echo ${quote(`README.md:${c.line}: exit `)}"$rc"${
        quote(` (expected ${c.exit}): ${c.text}`)
      } >&2; exit 99; fi`,
    );
  }
  return out.join("\n") + "\n";
}

Deno.test({
  name: "readme: every sh block of README.md runs as written",
  sanitizeResources: false,
  fn: async () => {
    const blocks = shBlocks(await Deno.readTextFile(README));
    assert(blocks.length >= 4, `only ${blocks.length} sh blocks found`);
    const bin = await denoOnPath();
    const home = await Deno.makeTempDir({ prefix: "rollsafe-readme-home-" });
    try {
      for (const b of blocks) {
        const port = freePort();
        // setsid: the block and everything it starts form one process group, stopped together.
        const child = new Deno.Command("setsid", {
          args: ["bash", "-c", script(b.commands, port)],
          env: {
            PATH: `${bin}:${Deno.env.get("PATH")}`,
            HOME: home,
            ROLLSAFE_CONFIG_DIR: `${home}/config`,
            ROLLSAFE_DATA_DIR: `${home}/data`,
            PORT: String(port),
            RS_LOG: `${home}/long-running.log`,
            NO_COLOR: "1",
          },
          clearEnv: true,
          stdout: "piped",
          stderr: "piped",
        }).spawn();
        const timer = setTimeout(() => child.kill("SIGKILL"), 300_000);
        const out = await child.output();
        clearTimeout(timer);
        try {
          Deno.kill(-child.pid, "SIGTERM");
        } catch { /* the group has ended */ }
        const err = new TextDecoder().decode(out.stderr);
        assertEquals(
          out.code,
          0,
          `README.md block at line ${b.line} failed:\n${err.slice(-3000)}`,
        );
      }
    } finally {
      await Deno.remove(bin, { recursive: true });
      await Deno.remove(home, { recursive: true });
    }
  },
});

Deno.test("readme: every 'yes' in the expected-features table names a test that exists", async () => {
  const md = await Deno.readTextFile(README);
  const at = md.indexOf("## Expected features");
  assert(at >= 0, "README.md has no Expected features section");
  const rows = md.slice(at).split("\n").filter((l) => /^\| .* \| (yes|no) +\|/.test(l));
  assert(rows.length >= 10, `only ${rows.length} rows`);
  for (const r of rows) {
    const [, feature, present, by] = r.split("|").map((c) => c.trim());
    if (present !== "yes") continue;
    const m = /^`([^`]+)`: "([^"]+)"/.exec(by);
    assert(m, `"${feature}": the tested-by cell must be \`file\`: "test name"`);
    const text = await Deno.readTextFile(`${ROOT}${m[1]}`);
    assert(text.includes(m[2]), `"${feature}": ${m[1]} has no test "${m[2]}"`);
  }
});
