/**
 * The worker side of functions/offload.ts: runs one job at a time with Services whose ledger
 * and signer are calls to the main thread. Reused for the next job while it stays healthy.
 */
import { parentPort } from "node:worker_threads";
import { type JobKind, JOBS } from "./jobs.ts";
import type { Ledger } from "./ledger/mod.ts";
import {
  fromWire,
  type FromWorker,
  LEDGER_CALLS,
  type LedgerCall,
  toWire,
  type ToWorker,
} from "./offload.ts";
import { Services } from "./services.ts";
import type { Signer } from "../verdict/mod.ts";

const port = parentPort!;
let nextCall = 0;
const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();

type Call =
  | { type: "ledger"; method: LedgerCall; args: unknown[] }
  | { type: "signer"; method: "info" }
  | { type: "signer"; method: "sign"; data: Uint8Array };

function call(c: Call): Promise<unknown> {
  const id = nextCall++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    port.postMessage({ ...c, call: id } as FromWorker);
  });
}

/** The main thread's ledger, method by method. */
const ledger = Object.fromEntries(
  LEDGER_CALLS.map((m) => [m, (...args: unknown[]) => call({ type: "ledger", method: m, args })]),
) as unknown as Ledger;

class WorkerServices extends Services {
  #signer?: Promise<Signer>;

  override ledger(): Promise<Ledger> {
    return Promise.resolve(ledger);
  }

  override signer(): Promise<Signer> {
    this.#signer ??= call({ type: "signer", method: "info" }).then((info) => {
      const i = info as { kid: string; dev: boolean; publicKey: Uint8Array };
      return {
        ...i,
        sign: (data: Uint8Array) =>
          call({ type: "signer", method: "sign", data }) as Promise<Uint8Array>,
      };
    });
    return this.#signer;
  }
}

// Modules are loaded once this runs: the main thread hands out jobs from now on.
port.postMessage({ type: "ready" } satisfies FromWorker);

port.on("message", async (m: ToWorker) => {
  if (m.type === "reply") {
    const p = pending.get(m.call);
    pending.delete(m.call);
    if (m.ok) p?.resolve(m.value);
    else p?.reject(fromWire(m.error));
    return;
  }
  const started = performance.now();
  const s = new WorkerServices({
    config: m.config,
    env: (n) => m.env[n],
    now: () => new Date(m.nowMs + Math.round(performance.now() - started)),
  });
  try {
    // deno-lint-ignore no-explicit-any
    const value = await (JOBS[m.kind as JobKind] as (s: Services, i: any) => Promise<unknown>)(
      s,
      m.input,
    );
    port.postMessage({ type: "done", ok: true, value } satisfies FromWorker);
  } catch (e) {
    port.postMessage({ type: "done", ok: false, error: toWire(e) } satisfies FromWorker);
  }
});
