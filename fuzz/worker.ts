/**
 * One fuzz target in a worker thread: mutate corpus entries, run them, report new outcome
 * shapes and crashes. Before each run the input goes into shared memory with the run's start
 * time, so the main thread can keep it when a run hangs or kills the worker.
 */
import { parentPort, workerData } from "node:worker_threads";
import { runOne, TARGETS } from "./targets.ts";
import { mutate, Rng } from "./mutate.ts";

export interface FuzzJob {
  target: string;
  ms: number;
  seed: number;
  corpus: Uint8Array[];
  /** Shared: Int32 [running, length, execs], then the current input bytes. */
  shared: SharedArrayBuffer;
  /** Shared: Float64 [start time of the current run, performance.timeOrigin-based]. */
  clock: SharedArrayBuffer;
  maxLen: number;
}

export type FuzzReport =
  | { type: "new"; bytes: Uint8Array; sig: string }
  | { type: "crash"; bytes: Uint8Array; error: string }
  | { type: "progress"; execs: number }
  | { type: "done"; execs: number };

const job = workerData as FuzzJob;
const port = parentPort!;
const head = new Int32Array(job.shared, 0, 3);
const body = new Uint8Array(job.shared, 12);
const clock = new Float64Array(job.clock);
const target = TARGETS.find((t) => t.name === job.target)!;
const rng = new Rng(job.seed);

const corpus = [...job.corpus];
const seen = new Set<string>();
let execs = 0;

async function exec(bytes: Uint8Array): Promise<void> {
  body.set(bytes.subarray(0, body.length));
  Atomics.store(head, 1, Math.min(bytes.length, body.length));
  clock[0] = performance.timeOrigin + performance.now();
  Atomics.store(head, 0, 1);
  const r = await runOne(target, bytes);
  Atomics.store(head, 0, 0);
  execs++;
  Atomics.store(head, 2, execs);
  if (r.crash !== undefined) {
    port.postMessage({ type: "crash", bytes, error: r.crash } satisfies FuzzReport);
  } else if (!seen.has(r.sig)) {
    seen.add(r.sig);
    if (!corpus.includes(bytes)) corpus.push(bytes);
    port.postMessage({ type: "new", bytes, sig: r.sig } satisfies FuzzReport);
  }
}

const end = performance.now() + job.ms;
for (const c of job.corpus) await exec(c);
let lastReport = performance.now();
while (performance.now() < end && corpus.length > 0) {
  const a = corpus[rng.below(corpus.length)];
  const b = corpus[rng.below(corpus.length)];
  await exec(mutate(a, b, rng, job.maxLen));
  if (performance.now() - lastReport > 1000) {
    port.postMessage({ type: "progress", execs } satisfies FuzzReport);
    lastReport = performance.now();
  }
}
port.postMessage({ type: "done", execs } satisfies FuzzReport);
