/**
 * `deno task bundle`: one self-contained ES2022 file per edge platform, made with esbuild-wasm
 * (the edge platforms run bundled plain JS, not deno.json import maps). esbuild does not read deno.json's import map or `npm:`
 * specifiers, so bare specifiers resolve through the node_modules/ tree that
 * `"nodeModulesDir": "auto"` creates; Node built-ins stay external as `node:` imports, which
 * every Deno-based platform provides. The wasm module and the probe image are TypeScript
 * modules of their bytes, so they are inlined like any other import. The bundles are built, not
 * committed (dist/ is ignored): tests build them and run them.
 *
 *   deno task bundle [--out dir]
 */
import * as esbuild from "esbuild-wasm";
import { fileURLToPath } from "node:url";

/** Platform → entry point and output file, relative to the repository root. */
export const PLATFORMS = {
  "deno-deploy": { entry: "functions/platform/deno_deploy.ts", out: "deno-deploy.js" },
  supabase: { entry: "functions/platform/supabase.ts", out: "supabase/index.js" },
  netlify: { entry: "functions/platform/netlify.ts", out: "netlify/rollsafe.js" },
} as const;

export type Platform = keyof typeof PLATFORMS;

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/** Node built-ins imported without the `node:` prefix (postgres.js does) become `node:` ones. */
export const nodeBuiltins: esbuild.Plugin = {
  name: "node-builtins",
  setup(build) {
    build.onResolve({ filter: /^node:/ }, (a) => ({ path: a.path, external: true }));
    build.onResolve(
      { filter: /^(crypto|fs|net|os|perf_hooks|stream|tls|path|buffer|events|url|util)$/ },
      (a) => ({ path: `node:${a.path}`, external: true }),
    );
  },
};

/**
 * Files that read the wasm module from disk, and the expression that does it. An edge platform
 * has no such file beside the bundle, so in the bundle each read becomes the module's bytes,
 * inlined once with esbuild's binary loader. If a file stops reading it this way the build fails
 * here, rather than producing a bundle that fails at its first verdict.
 */
export const WASM_READS: { file: RegExp; read: string }[] = [
  { file: /[\\/]emulator[\\/]machine\.ts$/, read: "Deno.readFile(WASM_URL)" },
  { file: /[\\/]app[\\/]engine\.ts$/, read: "Deno.readFile(WASM_FILE_URL)" },
];
const WASM_FILE = "wasm/pkg/rollsafe_emu.wasm";

export const inlineWasm: esbuild.Plugin = {
  name: "inline-wasm",
  setup(build) {
    for (const row of WASM_READS) {
      build.onLoad({ filter: row.file }, async (a) => {
        const src = await Deno.readTextFile(a.path);
        const n = src.split(row.read).length - 1;
        if (n !== 1) {
          return {
            errors: [{
              text: `${a.path}: expected one "${row.read}" to inline, found ${n}; ` +
                "update WASM_READS in functions/bundle.ts to match how it loads the wasm module",
            }],
          };
        }
        const contents = `import __rollsafeWasm from ${JSON.stringify(`${ROOT}${WASM_FILE}`)};\n` +
          src.replace(row.read, "Promise.resolve(__rollsafeWasm)");
        return { contents, loader: "ts" };
      });
    }
    build.onLoad({ filter: /\.wasm$/ }, async (a) => ({
      contents: await Deno.readFile(a.path),
      loader: "binary",
    }));
  },
};

let ready: Promise<void> | undefined;

/** Builds every platform's bundle into `outDir`; returns the files with their sizes. */
export async function bundle(
  outDir: string,
): Promise<{ platform: Platform; file: string; bytes: number }[]> {
  ready ??= esbuild.initialize({ worker: false });
  await ready;
  const out = [];
  for (
    const [platform, p] of Object.entries(PLATFORMS) as [Platform, typeof PLATFORMS[Platform]][]
  ) {
    const file = `${outDir}/${p.out}`;
    const r = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [p.entry],
      outfile: file,
      bundle: true,
      format: "esm",
      platform: "neutral",
      target: "es2022",
      conditions: ["deno", "worker", "import"],
      mainFields: ["module", "main"],
      nodePaths: [`${ROOT}/node_modules`],
      plugins: [nodeBuiltins, inlineWasm],
      legalComments: "none",
      // Reproducible: no timestamps, no absolute paths in the output.
      sourcemap: false,
      charset: "utf8",
      logLevel: "silent",
      metafile: false,
    });
    if (r.errors.length > 0) {
      throw new Error(`bundle ${platform}: ${r.errors.map((e) => e.text).join("; ")}`);
    }
    out.push({ platform, file, bytes: (await Deno.stat(file)).size });
  }
  return out;
}

if (import.meta.main) {
  const i = Deno.args.indexOf("--out");
  const outDir = i >= 0 ? Deno.args[i + 1] : `${ROOT}dist`;
  try {
    for (const b of await bundle(outDir)) {
      console.log(`${b.platform.padEnd(12)} ${b.file} ${b.bytes} bytes`);
    }
  } catch (e) {
    console.error(`rollsafe bundle: ${(e as Error).message}`);
    Deno.exit(1);
  } finally {
    await esbuild.stop();
  }
}
