/**
 * The repository must work on a fresh clone with nothing beside it (issue 15): no file may name a
 * path outside the checkout, no citation may point at research notes that are not published, and
 * the command line run with read access limited to the checkout (plus a scratch directory) must
 * not be refused a read.
 *
 * Two independent checks, because each misses what the other finds: the static scan sees every
 * path literal in every tracked file (including code paths no test exercises); the sandboxed runs
 * see paths built at run time (joined strings, environment defaults) that no scan can resolve.
 */
import { assert, assertEquals } from "@std/assert";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** Tracked files (git knows what a fresh clone has; a walk would see caches and other helpers' scratch). */
async function trackedFiles(): Promise<string[]> {
  const out = await new Deno.Command("git", {
    args: ["ls-files", "-z"],
    cwd: ROOT,
    stdout: "piped",
  })
    .output();
  assert(out.success, "git ls-files failed");
  return new TextDecoder().decode(out.stdout).split("\0").filter((f) => f !== "");
}

const TEXT = /\.(ts|js|mjs|json|md|sh|rs|py|S|toml|yml|yaml|html|css|txt)$|(^|\/)run$/;
/** Committed third-party data is quoted as published; it is not the project's own reference. */
const QUOTED = /^tests\/fixtures\/firecracker-fingerprints\/.*\.json$/;

/** `../` chains with what follows: resolved from the file's own folder. */
const RELATIVE = /(?<![\w.])((?:\.\.\/)+)([\w.\-/]*)/g;
/** Absolute paths of the machine the project was written on, or of a sibling checkout. */
const ABSOLUTE = /(?<![\w.:])\/(?:work|home|root|Users)\/[\w.\-]+/g;
/** A citation of the unpublished research notes, by folder or by note name (built from parts so
 * this file passes its own scan). */
const RESEARCH = new RegExp(
  ["research" + "/[\\w-]+", "kvm-arm64-facts", "ecosystem", "peers", "kernel-and-peers-2026"]
    .map((n) => `\\b${n}\\.md`).join("|"),
);

export interface Escape {
  file: string;
  line: number;
  text: string;
  why: string;
}

/** Every reference in one file's text that leaves the repository. Exported for the unit test below. */
export function escapes(file: string, text: string): Escape[] {
  const found: Escape[] = [];
  const lines = text.split("\n");
  lines.forEach((l, i) => {
    for (const m of l.matchAll(RELATIVE)) {
      const target = resolve(ROOT, dirname(file), m[1] + m[2]);
      const rel = relative(ROOT, target);
      if (rel.startsWith("..")) {
        found.push({
          file,
          line: i + 1,
          text: m[0],
          why: `resolves to ${target}, outside the checkout`,
        });
      }
    }
    for (const m of l.matchAll(ABSOLUTE)) {
      found.push({ file, line: i + 1, text: m[0], why: "absolute path on one machine" });
    }
    const r = l.match(RESEARCH);
    if (r) {
      found.push({
        file,
        line: i + 1,
        text: r[0],
        why: "cites research notes that are not in the repository",
      });
    }
  });
  return found;
}

Deno.test("self-contained: the scan finds what it must (a sibling folder, an absolute path, a note)", () => {
  const bad = [
    `const p = new URL("../../shared/data/x.json", import.meta.url);`,
    `const q = "/work/shared/data/x.json";`,
    `// see ${"research"}/peers.md §3`,
    `  cite: "a real kernel said so (research ${"kvm-arm64"}-facts.md §4)",`,
  ].join("\n");
  assertEquals(escapes("hostprobe/fingerprint.ts", bad).map((e) => e.line), [1, 2, 3, 4]);
  // Inside the checkout: an import two folders up from a nested file stays in.
  assertEquals(escapes("snapshots/import/qemu/x.ts", `import "../../kvm/ids.ts";`), []);
  assertEquals(escapes("cli.ts", `import "./cli/exit.ts";`), []);
});

Deno.test("self-contained: no tracked file names a path outside the repository or cites research notes", async () => {
  const all: Escape[] = [];
  let scanned = 0;
  for (const f of await trackedFiles()) {
    if (!TEXT.test(f) || QUOTED.test(f) || f === "tests/self_contained_test.ts") continue;
    let text: string;
    try {
      text = await Deno.readTextFile(join(ROOT, f));
    } catch {
      continue; // deleted in the work tree, not yet committed
    }
    scanned++;
    all.push(...escapes(f, text));
  }
  assert(scanned > 200, `only ${scanned} files scanned: the file list is wrong`);
  assertEquals(
    all.map((e) => `${e.file}:${e.line}: ${e.text} (${e.why})`),
    [],
    "references that leave the repository",
  );
});

/** Runs cli.ts with reads limited to the checkout and a scratch folder; returns its output. */
async function sandboxed(args: string[]) {
  const scratch = await Deno.makeTempDir({ prefix: "rollsafe-sandbox-" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        `--allow-read=${ROOT},${scratch}`,
        `--allow-write=${scratch}`,
        "--allow-env",
        join(ROOT, "cli.ts"),
        ...args.map((a) => a.replace("$SCRATCH", scratch)),
      ],
      cwd: ROOT,
      env: { ROLLSAFE_CONFIG_DIR: scratch, NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    return {
      code: out.code,
      stdout: new TextDecoder().decode(out.stdout),
      stderr: new TextDecoder().decode(out.stderr),
    };
  } finally {
    await Deno.remove(scratch, { recursive: true });
  }
}

const FINGERPRINT = "tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.18host.json";

for (
  const [what, args, codes] of [
    [
      "check with probes and a signed verdict",
      ["check", FINGERPRINT, "--target", "amzn2023-6.1@neoverse-n1", "--out", "$SCRATCH/v.cose"],
      [2],
    ],
    ["inspect", ["inspect", "snapshots/samples/qemu-virt-gicv3-max-smp2.cbor"], [0]],
    ["profiles diff", ["profiles", "diff", "amzn2-5.10@neoverse-n1", "amzn2023-6.1@neoverse-n1"], [
      0,
    ]],
  ] as const
) {
  Deno.test(`self-contained: ${what} reads nothing outside the checkout`, async () => {
    const r = await sandboxed([...args]);
    const refused = /NotCapable|Requires read access|Requires write access/.exec(r.stderr);
    assert(
      !refused,
      `${args.join(" ")} was refused a read/write outside the checkout:\n${r.stderr}`,
    );
    assert(
      (codes as readonly number[]).includes(r.code),
      `${args.join(" ")} exited ${r.code} (expected ${codes.join("/")}):\n${
        r.stderr.slice(0, 2000)
      }`,
    );
  });
}
