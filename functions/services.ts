/**
 * What the routes share: the configuration, the ledger, the signing key, the clock and the
 * in-flight counter behind ROLLSAFE_MAX_CONCURRENT. The ledger and the signer are opened on first
 * use, so a cold start on an edge platform costs nothing until a request needs them, and a bad
 * DATABASE_URL or key shows up in /healthz rather than as a crash at import time.
 */
import type { Config, EnvLookup } from "./config.ts";
import type { Ledger } from "./ledger/mod.ts";
import { openLedger } from "./ledger/open.ts";
import { Problem } from "./problem.ts";
import { KeyError, loadSigner, type Signer } from "../verdict/mod.ts";

export interface ServicesInit {
  config: Config;
  /** Environment for the signing key lookup (verdict/keystore.ts). */
  env?: EnvLookup;
  /** Ready-made ledger (tests); otherwise opened from the configuration. */
  ledger?: Ledger;
  /** Ready-made signer (tests); otherwise loadSigner() from the environment. */
  signer?: Signer;
  now?: () => Date;
}

export class Services {
  readonly config: Config;
  readonly env: EnvLookup;
  readonly now: () => Date;
  #ledger?: Promise<Ledger>;
  #signer?: Promise<Signer>;
  #inflight = 0;

  constructor(init: ServicesInit) {
    this.config = init.config;
    this.env = init.env ?? ((n) => Deno.env.get(n));
    this.now = init.now ?? (() => new Date());
    if (init.ledger) this.#ledger = Promise.resolve(init.ledger);
    if (init.signer) this.#signer = Promise.resolve(init.signer);
  }

  /** The ledger, or a 503 ledger-unavailable Problem; a failed open is retried next time. */
  ledger(): Promise<Ledger> {
    this.#ledger ??= openLedger(this.config).catch((e) => {
      this.#ledger = undefined;
      throw new Problem("ledger-unavailable", `cannot open the ledger: ${(e as Error).message}`);
    });
    return this.#ledger;
  }

  /** The signing key, or a 503 not-configured Problem saying why there is none. */
  signer(): Promise<Signer> {
    this.#signer ??= loadSigner({ env: this.env }).catch((e) => {
      this.#signer = undefined;
      throw e instanceof KeyError ? new Problem("not-configured", `signing key: ${e.message}`) : e;
    });
    return this.#signer;
  }

  /** Validations in flight now. */
  get inflight(): number {
    return this.#inflight;
  }

  /** Takes a validation slot or throws 429; the returned function gives it back. */
  admit(): () => void {
    const max = this.config.limits.maxConcurrent;
    if (this.#inflight >= max) {
      throw new Problem(
        "too-busy",
        `${this.#inflight} validations are in flight and ROLLSAFE_MAX_CONCURRENT is ${max}`,
        {},
        { "retry-after": "1" },
      );
    }
    this.#inflight++;
    let released = false;
    return () => {
      if (!released) this.#inflight--;
      released = true;
    };
  }

  async close(): Promise<void> {
    if (this.#ledger) await (await this.#ledger.catch(() => undefined))?.close();
  }
}
