/**
 * `deno task fuzz`: mutation fuzzing of every entry point that reads outside bytes
 * (fuzz/targets.ts), each in its own worker thread with a heap cap and a per-run time limit.
 *
 *   deno task fuzz [--seconds 60] [--target name]… [--seed n]
 *
 * The corpus starts from the real fixtures (each row's seeds) plus fuzz/corpus/<target>/, and
 * grows by inputs whose outcome has a shape not seen before (an error code and where it points,
 * or the kind of success): a behaviour-guided search, since Deno gives no edge coverage to steer
 * by. New corpus entries up to 32 KiB are kept in fuzz/corpus/ (a few per run, to stay small);
 * crashes (an undocumented exception, a run over the row's time limit, a worker killed by its
 * heap cap) go to fuzz/crashes/<target>/ with the error, and tests/fuzz/ replays both sets on
 * every test run. `--seconds` is split across the targets. Prints executions, corpus size and
 * crashes per target; exits 1 when any run crashed.
 *
 * The last target, `emu`, is the Rust emulator crate through its C ABI under libFuzzer
 * (coverage-guided; fuzz/emu/harness.rs, built by fuzz/emu/build.sh with Debian's rustc and
 * clang-14). Its crashes are kept in fuzz/crashes/emu/ and replayed by tests/fuzz/ too.
 */
import { Worker } from "node:worker_threads";
import { TARGETS } from "./targets.ts";
import type { FuzzJob, FuzzReport } from "./worker.ts";

const HERE = new URL("./", import.meta.url);
const MAX_LEN = 1 << 20;
/** New corpus entries kept per target and run, each at most KEEP_MAX_BYTES, and per target in
 * all at most KEEP_DIR_BYTES: the committed corpus stays small. */
const KEEP_PER_RUN = 6;
const KEEP_MAX_BYTES = 32 * 1024;
const KEEP_DIR_BYTES = 256 * 1024;

async function hex16(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b)));
  return Array.from(d.subarray(0, 8), (x) => x.toString(16).padStart(2, "0")).join("");
}

/** The committed files of one directory (corpus or crashes) of a target. */
export async function storedInputs(
  kind: "corpus" | "crashes",
  target: string,
): Promise<Uint8Array[]> {
  const dir = new URL(`${kind}/${target}/`, HERE);
  const out: Uint8Array[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isFile && e.name.endsWith(".bin")) out.push(await Deno.readFile(new URL(e.name, dir)));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out;
}

async function keep(kind: "corpus" | "crashes", target: string, bytes: Uint8Array, note?: string) {
  const dir = new URL(`${kind}/${target}/`, HERE);
  await Deno.mkdir(dir, { recursive: true });
  const name = await hex16(bytes);
  await Deno.writeFile(new URL(`${name}.bin`, dir), bytes);
  if (note !== undefined) await Deno.writeTextFile(new URL(`${name}.txt`, dir), note + "\n");
  return name;
}

interface Figures {
  target: string;
  execs: number;
  corpus: number;
  kept: number;
  crashes: number;
}

async function fuzzTarget(name: string, ms: number, seed: number): Promise<Figures> {
  const t = TARGETS.find((x) => x.name === name)!;
  const corpus: Uint8Array[] = [
    ...await Promise.all(t.seeds.map((u) => Deno.readFile(u))),
    ...(t.derived ? await t.derived() : []),
    ...await storedInputs("corpus", name),
  ];
  const figures: Figures = { target: name, execs: 0, corpus: corpus.length, kept: 0, crashes: 0 };
  let dirBytes = (await storedInputs("corpus", name)).reduce((a, b) => a + b.length, 0);
  const end = Date.now() + ms;
  let round = 0;
  while (Date.now() < end - 200) {
    const shared = new SharedArrayBuffer(12 + MAX_LEN);
    const clock = new SharedArrayBuffer(8);
    const head = new Int32Array(shared, 0, 3);
    const job: FuzzJob = {
      target: name,
      ms: end - Date.now(),
      seed: seed + round++,
      corpus,
      shared,
      clock,
      maxLen: MAX_LEN,
    };
    const w = new Worker(new URL("./worker.ts", HERE), {
      workerData: job,
      resourceLimits: { maxOldGenerationSizeMb: 1024 },
    });
    let base = figures.execs;
    const current = () => new Uint8Array(shared, 12, Atomics.load(head, 1)).slice();
    const stopped = await new Promise<string | undefined>((resolve) => {
      const watchdog = setInterval(() => {
        const started = new Float64Array(clock)[0];
        const now = performance.timeOrigin + performance.now();
        if (Atomics.load(head, 0) === 1 && now - started > t.limitMs) {
          clearInterval(watchdog);
          w.terminate();
          resolve(`hang: one run took more than ${t.limitMs} ms`);
        }
      }, 250);
      w.on("message", async (m: FuzzReport) => {
        if (m.type === "progress" || m.type === "done") figures.execs = base + m.execs;
        if (m.type === "new") {
          corpus.push(m.bytes);
          figures.corpus = corpus.length;
          if (
            m.bytes.length <= KEEP_MAX_BYTES && figures.kept < KEEP_PER_RUN &&
            dirBytes + m.bytes.length <= KEEP_DIR_BYTES
          ) {
            figures.kept++;
            dirBytes += m.bytes.length;
            await keep("corpus", name, m.bytes);
          }
        }
        if (m.type === "crash") {
          figures.crashes++;
          const id = await keep("crashes", name, m.bytes, m.error);
          console.error(`fuzz ${name}: crash ${id}: ${m.error.split("\n")[0]}`);
        }
        if (m.type === "done") {
          clearInterval(watchdog);
          resolve(undefined);
        }
      });
      w.on("error", (e: Error & { code?: string }) => {
        clearInterval(watchdog);
        resolve(`worker died: ${e.code ?? ""} ${e.message}`);
      });
    });
    figures.execs = Math.max(figures.execs, base + Atomics.load(head, 2));
    base = figures.execs;
    if (stopped !== undefined) {
      figures.crashes++;
      const bytes = current();
      const id = await keep("crashes", name, bytes, stopped);
      console.error(`fuzz ${name}: crash ${id}: ${stopped}`);
    }
    await w.terminate();
  }
  return figures;
}

const EMU_BIN = new URL("emu/target/fuzz-emu", HERE);

/** Whether clang-14's libFuzzer and Debian's Rust are here to build fuzz/emu. */
export function libFuzzerAvailable(): boolean {
  try {
    Deno.statSync("/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a");
    Deno.statSync("/usr/bin/clang-14");
    Deno.statSync("/usr/bin/cargo");
    return true;
  } catch {
    return false;
  }
}

/** Builds fuzz/emu/target/fuzz-emu (fuzz/emu/build.sh); throws with the build's output. */
export async function buildEmuFuzzer(): Promise<URL> {
  const out = await new Deno.Command("bash", {
    args: [new URL("emu/build.sh", HERE).pathname],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (out.code !== 0) {
    throw new Error(`fuzz/emu/build.sh failed:\n${new TextDecoder().decode(out.stderr)}`);
  }
  return EMU_BIN;
}

/**
 * The emulator crate through its C ABI under libFuzzer (coverage-guided): seeds from
 * fuzz/emu/corpus, new units in a scratch directory, crashes kept in fuzz/crashes/emu/.
 */
async function fuzzEmu(ms: number): Promise<Figures> {
  await buildEmuFuzzer();
  const scratch = await Deno.makeTempDir({ prefix: "rollsafe-fuzz-emu-" });
  const crashDir = new URL("crashes/emu/", HERE);
  await Deno.mkdir(crashDir, { recursive: true });
  const seconds = Math.max(1, Math.floor(ms / 1000));
  const out = await new Deno.Command(EMU_BIN.pathname, {
    args: [
      scratch,
      new URL("emu/corpus/", HERE).pathname,
      `-max_total_time=${seconds}`,
      "-print_final_stats=1",
      "-rss_limit_mb=2048",
      "-timeout=10",
      `-artifact_prefix=${crashDir.pathname}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(out.stderr);
  const stat = (k: string) => Number(new RegExp(`stat::${k}:\\s+([0-9]+)`).exec(log)?.[1] ?? 0);
  let corpus = 0;
  for await (const _ of Deno.readDir(scratch)) corpus++;
  await Deno.remove(scratch, { recursive: true });
  if (out.code !== 0) {
    console.error(
      `fuzz emu: ${log.split("\n").filter((l) => /panicked|SUMMARY|Test unit/.test(l)).join("\n")}`,
    );
  }
  return {
    target: "emu (libFuzzer)",
    execs: stat("number_of_executed_units"),
    corpus,
    kept: 0,
    crashes: out.code === 0 ? 0 : 1,
  };
}

function args(name: string): string[] {
  const out: string[] = [];
  Deno.args.forEach((a, i) => a === `--${name}` && out.push(Deno.args[i + 1]));
  return out;
}

if (import.meta.main) {
  const seconds = Number(args("seconds")[0] ?? 60);
  const seed = Number(args("seed")[0] ?? Date.now() % 1e9);
  const names = args("target").length ? args("target") : [...TARGETS.map((t) => t.name), "emu"];
  for (const n of names) {
    if (n !== "emu" && !TARGETS.some((t) => t.name === n)) {
      console.error(`fuzz: no target ${n} (targets: ${TARGETS.map((t) => t.name).join(", ")})`);
      Deno.exit(2);
    }
  }
  console.log(`fuzz: ${names.length} targets, ${seconds} s in all, seed ${seed}`);
  const all: Figures[] = [];
  for (const n of names) {
    const share = (seconds * 1000) / names.length;
    if (n === "emu" && !libFuzzerAvailable()) {
      const msg = "fuzz emu: skipped: needs clang-14 libclang-rt-14-dev and Debian rustc/cargo";
      if (Deno.env.get("CI") === "true") {
        console.error(`${msg} (CI installs them: .ci/run)`);
        Deno.exit(1);
      }
      console.log(msg);
      continue;
    }
    const f = n === "emu" ? await fuzzEmu(share) : await fuzzTarget(n, share, seed);
    console.log(
      `fuzz ${n.padEnd(12)} executions ${String(f.execs).padStart(7)}  corpus ${
        String(f.corpus).padStart(4)
      } (+${f.kept} kept)  crashes ${f.crashes}`,
    );
    all.push(f);
  }
  const crashes = all.reduce((a, f) => a + f.crashes, 0);
  console.log(
    `fuzz: ${all.reduce((a, f) => a + f.execs, 0)} executions, ` +
      `${all.reduce((a, f) => a + f.corpus, 0)} corpus entries, ${crashes} crashes`,
  );
  Deno.exit(crashes === 0 ? 0 : 1);
}
