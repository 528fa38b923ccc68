/**
 * CPU-heavy request work off the request thread. Each job (functions/jobs.ts) runs in a worker
 * thread with a V8 heap cap (ROLLSAFE_WORKER_HEAP_MB) and a hard deadline
 * (ROLLSAFE_TIME_BUDGET_MS): at the deadline the worker is terminated, which stops the work
 * wherever it is (a check after the run could not stop a loop that never returns). A worker that
 * dies (heap cap reached, crash) fails its own request with a 503 and nothing else: the event
 * loop that answers /healthz and every other request never runs the job.
 *
 * The worker reaches the ledger and the signer only through messages to this thread, so the
 * signing key never enters the thread that parses hostile input, and ledger writes happen in
 * one place. Workers are reused while they stay healthy; a terminated one is replaced.
 *
 * Where worker threads cannot run (an edge bundle, whose worker file does not exist beside it),
 * jobs run inline, bounded by the importers' own budgets only.
 */
import { Worker } from "node:worker_threads";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { type JobInput, type JobKind, type JobOutput, JOBS } from "./jobs.ts";
import { LedgerError } from "./ledger/mod.ts";
import { Problem, type ProblemType } from "./problem.ts";
import type { Services } from "./services.ts";
import { ENV_VARS } from "./config.ts";

/** An error crossing the thread boundary, as data. */
export type WireError =
  | {
    kind: "problem";
    type: ProblemType;
    detail: string;
    extensions: Record<string, unknown>;
    headers: Record<string, string>;
  }
  | { kind: "ledger"; message: string; store: string }
  | { kind: "error"; message: string; stack?: string };

export function toWire(e: unknown): WireError {
  if (e instanceof Problem) {
    return {
      kind: "problem",
      type: e.type,
      detail: e.detail,
      extensions: e.extensions,
      headers: e.headers,
    };
  }
  if (e instanceof LedgerError) return { kind: "ledger", message: e.message, store: e.store };
  const err = e instanceof Error ? e : new Error(String(e));
  return { kind: "error", message: `${err.name}: ${err.message}`, stack: err.stack };
}

export function fromWire(w: WireError): Error {
  if (w.kind === "problem") return new Problem(w.type, w.detail, w.extensions, w.headers);
  if (w.kind === "ledger") return new LedgerError(w.message, w.store);
  const e = new Error(w.message);
  if (w.stack) e.stack = w.stack;
  return e;
}

/** Ledger methods a job may call (the worker's ledger forwards these, and only these). */
export const LEDGER_CALLS = [
  "putSnapshot",
  "getSnapshot",
  "hasSnapshot",
  "putVerdict",
  "verdicts",
] as const;
export type LedgerCall = typeof LEDGER_CALLS[number];

/** Main thread → worker. */
export type ToWorker =
  | {
    type: "job";
    kind: JobKind;
    input: unknown;
    config: Services["config"];
    env: Record<string, string>;
    nowMs: number;
  }
  | { type: "reply"; call: number; ok: true; value: unknown }
  | { type: "reply"; call: number; ok: false; error: WireError };

/** Worker → main thread. */
export type FromWorker =
  | { type: "ready" }
  | { type: "ledger"; call: number; method: LedgerCall; args: unknown[] }
  | { type: "signer"; call: number; method: "info" }
  | { type: "signer"; call: number; method: "sign"; data: Uint8Array }
  | { type: "done"; ok: true; value: unknown }
  | { type: "done"; ok: false; error: WireError };

/** Variables a job reads through `Services.env` (the engine identity's git revision). */
const JOB_ENV = ["ROLLSAFE_GIT_REVISION", ...ENV_VARS.map((r) => r.name)];

const WORKER_URL = new URL("./offload_worker.ts", import.meta.url);

/** Whether this deployment can start worker threads from the worker file beside this one. */
export const WORKERS_AVAILABLE = WORKER_URL.protocol === "file:" &&
  existsSync(fileURLToPath(WORKER_URL));

/** Idle workers by heap cap, reused for the next job. */
const idle = new Map<number, Worker[]>();

/**
 * Creating a worker blocks the creating thread while the new isolate is set up (measured here:
 * 0.3 to 2.5 s each while other work loaded the 2 cores 7-fold; far less on an idle machine).
 * So workers are kept and reused, spawns go one at a time with a turn of the event loop between
 * them (the longest stall of the request thread is one spawn), and a new worker is handed a job
 * only once its modules are loaded ("ready"), so module loading never counts against a
 * request's deadline.
 */
let spawning: Promise<unknown> = Promise.resolve();

/** How long a new worker may take to load its modules before it counts as lost. */
const READY_MS = 120_000;

function spawn(heapMb: number): Promise<Worker> {
  const next = spawning.then(async () => {
    const w = new Worker(WORKER_URL, {
      resourceLimits: { maxOldGenerationSizeMb: heapMb, maxYoungGenerationSizeMb: 32 },
    });
    await new Promise((r) => setTimeout(r, 20));
    return w;
  });
  spawning = next.catch(() => {});
  return next.then((w) =>
    new Promise<Worker>((resolve, reject) => {
      const done = (f: () => void) => {
        clearTimeout(timer);
        w.off("message", onMessage);
        w.off("error", onError);
        f();
      };
      const onMessage = (m: FromWorker) => m.type === "ready" && done(() => resolve(w));
      const onError = (e: Error & { code?: string }) => {
        console.error("rollsafe: a new worker failed to start:", e.code ?? "", e.message);
        done(() => reject(new Problem("worker-lost", `a new worker ${lostWhy(e, heapMb)}`)));
      };
      const timer = setTimeout(() => {
        w.terminate().catch(() => {});
        done(() => reject(new Problem("worker-lost", "a new worker did not load in time")));
      }, READY_MS);
      w.on("message", onMessage);
      w.on("error", onError);
    })
  );
}

/**
 * A new worker for this request, if it is ready within the request's own time budget; else a
 * 429 (the worker goes on starting and joins the idle pool for a later request), so no request
 * waits unboundedly on a machine too loaded to start workers quickly.
 */
async function fresh(heapMb: number, budgetMs: number, pool: Worker[], max: number) {
  const starting = spawn(heapMb);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), budgetMs));
  const w = await Promise.race([starting, late]);
  clearTimeout(timer);
  if (w !== undefined) return w;
  starting.then((w) => {
    if (pool.length < max) {
      w.unref();
      pool.push(w);
    } else w.terminate().catch(() => {});
  }, () => {});
  throw new Problem(
    "too-busy",
    `no worker was ready within ROLLSAFE_TIME_BUDGET_MS (${budgetMs} ms); one is starting`,
    {},
    { "retry-after": "5" },
  );
}

function lostWhy(e: Error & { code?: string }, heapMb: number): string {
  return e.code === "ERR_WORKER_OUT_OF_MEMORY"
    ? `reached its heap cap (ROLLSAFE_WORKER_HEAP_MB ${heapMb} MiB)`
    : "failed";
}

/** Answers one of the worker's calls into this thread. */
async function serve(
  s: Services,
  m: Exclude<FromWorker, { type: "done" } | { type: "ready" }>,
): Promise<unknown> {
  if (m.type === "ledger") {
    if (!LEDGER_CALLS.includes(m.method)) throw new Error(`ledger call ${m.method} not allowed`);
    const ledger = await s.ledger();
    // deno-lint-ignore no-explicit-any
    return await (ledger[m.method] as (...a: any[]) => Promise<unknown>).apply(ledger, m.args);
  }
  const signer = await s.signer();
  if (m.method === "info") return { kid: signer.kid, dev: signer.dev, publicKey: signer.publicKey };
  return await signer.sign(m.data);
}

/**
 * Runs `kind` on `input` off the request thread and returns its result, or throws what the job
 * threw (Problem, LedgerError), a 422 budget-exceeded at the deadline, or a 503 worker-lost when
 * the worker died.
 */
export async function offload<K extends JobKind>(
  s: Services,
  kind: K,
  input: JobInput<K>,
): Promise<JobOutput<K>> {
  if (!WORKERS_AVAILABLE) {
    // deno-lint-ignore no-explicit-any
    return await (JOBS[kind] as (s: Services, i: any) => Promise<JobOutput<K>>)(s, input);
  }
  const { timeBudgetMs, workerHeapMb } = s.config.limits;
  const pool = idle.get(workerHeapMb) ?? [];
  idle.set(workerHeapMb, pool);
  const w = pool.pop() ??
    await fresh(workerHeapMb, timeBudgetMs, pool, s.config.limits.maxConcurrent);
  w.ref();
  const env: Record<string, string> = {};
  for (const n of JOB_ENV) {
    const v = s.env(n);
    if (v !== undefined) env[n] = v;
  }
  let healthy = true;
  try {
    return await new Promise<JobOutput<K>>((resolve, reject) => {
      const deadline = setTimeout(() => {
        healthy = false;
        reject(
          new Problem(
            "budget-exceeded",
            `${kind} did not finish in ${timeBudgetMs} ms (ROLLSAFE_TIME_BUDGET_MS is ` +
              `${timeBudgetMs}); its worker was stopped`,
            { limit: timeBudgetMs },
          ),
        );
      }, timeBudgetMs);
      const finish = () => {
        clearTimeout(deadline);
        w.off("message", onMessage);
        w.off("error", onError);
        w.off("exit", onExit);
      };
      const onMessage = (m: FromWorker) => {
        if (m.type === "ready") return;
        if (m.type === "done") {
          finish();
          if (m.ok) resolve(m.value as JobOutput<K>);
          else reject(fromWire(m.error));
          return;
        }
        serve(s, m).then(
          (value) => w.postMessage({ type: "reply", call: m.call, ok: true, value } as ToWorker),
          (e) =>
            w.postMessage({ type: "reply", call: m.call, ok: false, error: toWire(e) } as ToWorker),
        );
      };
      const lost = (why: string) => {
        healthy = false;
        finish();
        reject(new Problem("worker-lost", `the worker running this ${kind} ${why}`));
      };
      const onError = (e: Error & { code?: string }) => {
        // Log the cause for the operator; the client learns only that its own worker died.
        console.error(`rollsafe: ${kind} worker failed:`, e.code ?? "", e.message);
        lost(lostWhy(e, workerHeapMb));
      };
      const onExit = (code: number) => lost(`exited (code ${code})`);
      w.on("message", onMessage);
      w.on("error", onError);
      w.on("exit", onExit);
      w.postMessage(
        {
          type: "job",
          kind,
          input,
          config: s.config,
          env,
          nowMs: s.now().getTime(),
        } satisfies ToWorker,
      );
    });
  } finally {
    if (healthy && pool.length < s.config.limits.maxConcurrent) {
      w.unref();
      pool.push(w);
    } else {
      w.terminate().catch(() => {});
    }
  }
}

/** Stops the idle workers (tests, shutdown). */
export async function stopWorkers(): Promise<void> {
  const all = [...idle.values()].flat();
  idle.clear();
  await Promise.all(all.map((w) => w.terminate()));
}
