/**
 * The dependency rules of design.md "Layout" as tables, checked against every import in the
 * tree: a relative import may only cross from one top-level part to another along an edge of
 * ALLOWED, and a package (npm: or node:) only be used by the parts PACKAGES lists. Static
 * `import`/`export … from` and dynamic `import("…")` with a literal specifier both count.
 *
 * PENDING lists crossings known to break a rule, each with who is moving it; the test fails when
 * one of them is gone, so the list only shrinks.
 */
import { assertEquals } from "@std/assert";
import { join, normalize, relative } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

/** Where each part may import from (besides itself). tests/ may import anything. */
const ALLOWED: Record<string, readonly string[]> = {
  "cbor": [],
  "version.ts": [],
  "snapshots": ["cbor"],
  // verdict/ declares the shapes it signs (verdict/shapes.ts): it reads no emulator type.
  "verdict": ["cbor", "version.ts"],
  "emulator": ["snapshots", "cbor", "version.ts"],
  "app": ["emulator", "verdict", "snapshots", "cbor", "version.ts"],
  // The front ends call app/, and read emulator/, verdict/, snapshots/ for listing and rendering.
  "cli": ["app", "emulator", "verdict", "snapshots", "cbor", "version.ts"],
  "cli.ts": ["cli", "version.ts"],
  "functions": ["app", "emulator", "verdict", "snapshots", "cbor", "version.ts"],
  "main.ts": ["functions"],
  // The referee reads the model (hostprobe/toplan.ts translates it), never the reverse.
  "hostprobe": ["emulator", "snapshots", "cbor", "version.ts"],
  "fuzz": ["app", "functions", "emulator", "verdict", "snapshots", "cbor", "version.ts"],
  // Benchmarks measure the product; they never borrow from the tests.
  "bench": [
    "app",
    "functions",
    "emulator",
    "verdict",
    "snapshots",
    "cbor",
    "hostprobe",
    "version.ts",
  ],
};

/** Which parts may use a package. "hono" is HTTP, so only functions/ (and what drives it). */
const PACKAGES: Record<string, readonly string[]> = {
  "hono": ["functions", "bench", "tests"],
  "postgres": ["functions", "tests"],
  "esbuild-wasm": ["functions", "tests"],
  "commander": ["cli", "tests"],
  "cbor-x": ["cbor", "tests"],
  "@auth0/cose": ["tests"],
  "@std/assert": ["tests"],
  "node:sqlite": ["functions", "bench", "tests"],
  "node:worker_threads": ["functions", "fuzz", "bench", "tests"],
};

/** Known crossings being removed: [from file, to file, who and where it goes]. */
const PENDING: readonly [string, string, string][] = [
  [
    "bench/import_bench.ts",
    "tests/fixtures/qemu/make.ts",
    "H12: the QEMU stream maker moves out of tests/ (or runs as a subprocess)",
  ],
];

const SKIP = /^(node_modules|wasm\/target|\.oracle-cache|dist|\.git|hostprobe\/build)(\/|$)/;

async function* sources(dir = ""): AsyncGenerator<string> {
  for await (const e of Deno.readDir(join(ROOT, dir))) {
    const rel = dir ? `${dir}/${e.name}` : e.name;
    if (SKIP.test(rel)) continue;
    if (e.isDirectory) yield* sources(rel);
    else if (/\.(ts|js|mjs)$/.test(e.name) && !rel.startsWith("wasm/pkg/")) yield rel;
  }
}

const IMPORT =
  /(?:^|[;\s])(?:import|export)\s[^"'`;]*?from\s*["']([^"']+)["']|(?:^|[;\s])import\s*\(\s*["']([^"']+)["']\s*\)|(?:^|[;\s])import\s+["']([^"']+)["']/gm;

/** The specifiers a source imports (comments removed first, so prose never counts). */
function specifiers(text: string): string[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  return [...code.matchAll(IMPORT)].map((m) => m[1] ?? m[2] ?? m[3]);
}

const partOf = (rel: string) => rel.split("/")[0];

function packageOf(spec: string): string | undefined {
  if (spec.startsWith("node:")) return spec;
  const bare = spec.replace(/^npm:\/?/, "");
  if (spec.startsWith(".") || spec.startsWith("/") || /^[a-z]+:/.test(bare)) return undefined;
  const parts = bare.split("/");
  return (bare.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]).replace(/@[^/]*$/, "");
}

async function crossings() {
  const bad: string[] = [];
  const pending = new Set<string>();
  for await (const rel of sources()) {
    const from = partOf(rel);
    if (from === "tests") continue;
    for (const spec of specifiers(await Deno.readTextFile(join(ROOT, rel)))) {
      if (spec.startsWith(".")) {
        const target = relative(ROOT, normalize(join(ROOT, rel, "..", spec)));
        const to = partOf(target);
        if (to === from || to === "deno.json") continue;
        if (ALLOWED[from]?.includes(to)) continue;
        if (PENDING.some(([f, t]) => f === rel && t === target)) {
          pending.add(`${rel} -> ${target}`);
          continue;
        }
        bad.push(`${rel} imports ${target}: ${from} may not use ${to}`);
      } else {
        const pkg = packageOf(spec);
        if (pkg === undefined || !(pkg in PACKAGES)) continue;
        if (!PACKAGES[pkg].includes(from)) bad.push(`${rel} uses ${pkg}: only ${PACKAGES[pkg]}`);
      }
    }
  }
  return { bad, pending };
}

Deno.test("layering: every import follows the allowed edges of design.md", async () => {
  const { bad, pending } = await crossings();
  assertEquals(bad, []);
  // Each pending crossing still exists; once it is gone, remove its row.
  assertEquals([...pending].sort(), PENDING.map(([f, t]) => `${f} -> ${t}`).sort());
});

Deno.test("layering: the checker sees the import forms it must (it is not blind)", () => {
  const src = `
    import { a } from "../emulator/x.ts";
    import type { B } from "../verdict/y.ts";
    export { c } from "./z.ts";
    const m = await import("../snapshots/q.ts");
    // import { no } from "../functions/comment.ts";
    /* import { nor } from "../functions/block.ts"; */
    import "./side-effect.ts";
    const s = "from '../x.ts'";
  `;
  assertEquals(specifiers(src), [
    "../emulator/x.ts",
    "../verdict/y.ts",
    "./z.ts",
    "../snapshots/q.ts",
    "./side-effect.ts",
  ]);
  assertEquals(
    ["hono/request-id", "npm:hono@4", "node:sqlite", "@auth0/cose", "./x.ts"].map(packageOf),
    ["hono", "hono", "node:sqlite", "@auth0/cose", undefined],
  );
});
