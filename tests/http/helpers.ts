/**
 * Shared set-up for the HTTP tests: a service over a temporary node:sqlite ledger and a fixed
 * Ed25519 key (RFC 8032 §7.1 TEST 1 seed), so verdicts verify against a known public key.
 */
import { type Config, loadConfig } from "../../functions/config.ts";
import { SqliteLedger } from "../../functions/ledger/sqlite.ts";
import { Services } from "../../functions/services.ts";
import { createApp } from "../../functions/app.ts";
import { type Signer, signerFromSeed } from "../../verdict/mod.ts";
import type { Hono } from "hono";

/** RFC 8032 §7.1 TEST 1 secret key. */
export const TEST_SEED_HEX = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

export function fromHexStr(h: string): Uint8Array<ArrayBuffer> {
  return Uint8Array.from(h.match(/../g)!, (b) => parseInt(b, 16));
}

export async function testSigner(): Promise<Signer> {
  return await signerFromSeed(fromHexStr(TEST_SEED_HEX));
}

export interface TestService {
  app: Hono;
  services: Services;
  dir: string;
  close(): Promise<void>;
}

/** A service with `env` overrides on top of a temporary data directory. */
export async function testService(env: Record<string, string> = {}): Promise<TestService> {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-http-" });
  const all: Record<string, string> = {
    ROLLSAFE_DATA_DIR: dir,
    ROLLSAFE_CONFIG_DIR: dir,
    // The suite runs test files in parallel on 2 cores, where a cold request worker can take
    // longer than the production budget (20 s) to load; the tests of the budget itself
    // (hostile_service_test, hostile_test) set their own.
    ROLLSAFE_TIME_BUDGET_MS: "90000",
    ...env,
  };
  const config: Config = loadConfig((n) => all[n]);
  const services = new Services({
    config,
    env: (n) => all[n],
    ledger: new SqliteLedger(config.sqlitePath),
    signer: await testSigner(),
  });
  return {
    app: createApp(services),
    services,
    dir,
    close: async () => {
      await services.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** The real Firecracker dumps, beside the repository as in tests/snapshots. */
export const FINGERPRINT_DIR = new URL(
  "../fixtures/firecracker-fingerprints/",
  import.meta.url,
);
export const FINGERPRINTS = ["5.10", "6.1", "6.18"].map((k) => ({
  kernel: k,
  url: new URL(`ARM_NEOVERSE_N1_${k}host.json`, FINGERPRINT_DIR),
}));

export async function sha256Hex(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b)));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}
