/**
 * Service configuration from the environment. Every knob is one row of ENV_VARS (name, default,
 * meaning), so the start-up banner, /healthz and functions/README-deploy.md describe the same
 * table. A malformed value is a ConfigError naming the variable and why; the server refuses to
 * start rather than run with a limit it did not understand.
 */

/** Environment lookup: `Deno.env.get`, or a plain record in tests. */
export type EnvLookup = (name: string) => string | undefined;

export class ConfigError extends Error {
  override name = "ConfigError";
}

export interface Limits {
  /** Upload cap in bytes, enforced by counting the streamed body (413). */
  maxBodyBytes: number;
  /** Most targets in one request (422). */
  maxTargets: number;
  /** Emulated instructions allowed per request, over all targets (422 when exhausted). */
  instructionBudget: number;
  /** Wall-clock budget per request in milliseconds (422 when exceeded). */
  timeBudgetMs: number;
  /** Validations running at once; the next caller gets 429 with Retry-After. */
  maxConcurrent: number;
  /** Snapshots and targets named by one webhook delivery (422). */
  maxHookPairs: number;
  /** Ledger listings served at once; the next caller gets 429 with Retry-After. */
  maxListings: number;
  /** V8 heap cap of the worker that runs one request's parse and check, in MiB (503 when hit). */
  workerHeapMb: number;
}

export interface Config {
  limits: Limits;
  /** SHA-256 digests of the accepted bearer tokens; empty means the service runs open. */
  tokenHashes: Uint8Array[];
  /** GitHub webhook secret (X-Hub-Signature-256); undefined disables the receiver. */
  githubSecret?: string;
  /** Standard Webhooks secret, `whsec_<base64>`; undefined disables the receiver. */
  standardSecret?: Uint8Array;
  /** PostgreSQL URL for the shared ledger; undefined selects node:sqlite. */
  databaseUrl?: string;
  /** node:sqlite database path, or ":memory:". */
  sqlitePath: string;
}

interface VarRow {
  name: string;
  default: string;
  meaning: string;
}

/** Every environment variable the service reads (signing keys are verdict/keystore.ts's). */
export const ENV_VARS: readonly VarRow[] = [
  {
    name: "ROLLSAFE_MAX_BODY_BYTES",
    default: String(16 * 1024 * 1024),
    meaning: "upload cap in bytes, counted on the streamed body (413)",
  },
  { name: "ROLLSAFE_MAX_TARGETS", default: "8", meaning: "targets per request (422)" },
  {
    name: "ROLLSAFE_INSTRUCTION_BUDGET",
    default: "256000000",
    meaning: "emulated guest instructions per request at worst (1e6 per vCPU probe run × " +
      "vCPUs × (targets + source)); above it the request is refused before it runs (422)",
  },
  {
    name: "ROLLSAFE_TIME_BUDGET_MS",
    default: "20000",
    meaning: "wall-clock milliseconds per request (422)",
  },
  {
    name: "ROLLSAFE_MAX_CONCURRENT",
    default: "4",
    meaning: "validations in flight at once; more get 429 with Retry-After",
  },
  {
    name: "ROLLSAFE_MAX_HOOK_PAIRS",
    default: "32",
    meaning: "snapshot × target pairs one webhook delivery may request (422)",
  },
  {
    name: "ROLLSAFE_MAX_LISTINGS",
    default: "16",
    meaning: "ledger listings served at once; more get 429 with Retry-After",
  },
  {
    name: "ROLLSAFE_WORKER_HEAP_MB",
    default: "512",
    meaning: "V8 heap cap in MiB of the worker that parses and checks one request; a request " +
      "that reaches it ends its own worker and gets 503",
  },
  {
    name: "ROLLSAFE_API_TOKEN_SHA256",
    default: "",
    meaning: "comma-separated hex SHA-256 of accepted bearer tokens; unset = open service",
  },
  {
    name: "ROLLSAFE_GITHUB_WEBHOOK_SECRET",
    default: "",
    meaning: "secret of the GitHub webhook (X-Hub-Signature-256); unset = receiver off",
  },
  {
    name: "ROLLSAFE_STANDARD_WEBHOOK_SECRET",
    default: "",
    meaning: "Standard Webhooks secret whsec_<base64>; unset = receiver off",
  },
  {
    name: "DATABASE_URL",
    default: "",
    meaning: "postgres://… selects the PostgreSQL ledger; unset = node:sqlite",
  },
  {
    name: "ROLLSAFE_LEDGER_PATH",
    default: "$ROLLSAFE_DATA_DIR/ledger.sqlite3",
    meaning: 'node:sqlite file, or ":memory:" (edge platforms without a file system)',
  },
  {
    name: "ROLLSAFE_DATA_DIR",
    default: "$XDG_DATA_HOME/rollsafe or ~/.local/share/rollsafe",
    meaning: "directory of the default ledger file",
  },
];

function positiveInt(env: EnvLookup, name: string): number {
  const row = ENV_VARS.find((r) => r.name === name)!;
  const raw = env(name) || row.default;
  if (!/^[0-9]{1,15}$/.test(raw) || Number(raw) < 1) {
    throw new ConfigError(`${name}="${raw}": expected a positive whole number (${row.meaning})`);
  }
  return Number(raw);
}

function hexBytes(text: string, what: string): Uint8Array {
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    throw new ConfigError(`${what}: "${text}" is not 64 hex digits (a SHA-256)`);
  }
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** Decodes a Standard Webhooks secret: "whsec_" and base64 (the prefix is optional). */
export function standardSecretBytes(text: string, what: string): Uint8Array {
  const b64 = text.startsWith("whsec_") ? text.slice(6) : text;
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    throw new ConfigError(`${what}: not "whsec_" followed by base64`);
  }
  if (bin.length < 16) {
    throw new ConfigError(`${what}: ${bin.length}-byte secret; Standard Webhooks needs 16 to 64`);
  }
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

/** The default data directory (XDG Base Directory spec; relative XDG paths are ignored). */
export function dataDir(env: EnvLookup): string {
  const explicit = env("ROLLSAFE_DATA_DIR");
  if (explicit) return explicit;
  const xdg = env("XDG_DATA_HOME");
  if (xdg && xdg.startsWith("/")) return `${xdg}/rollsafe`;
  const home = env("HOME");
  if (!home) {
    throw new ConfigError("no data directory: set ROLLSAFE_DATA_DIR, XDG_DATA_HOME or HOME");
  }
  return `${home}/.local/share/rollsafe`;
}

/** Reads the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: EnvLookup = (n) => Deno.env.get(n)): Config {
  const get = (n: string) => {
    const v = env(n);
    return v === undefined || v === "" ? undefined : v;
  };
  const tokens = get("ROLLSAFE_API_TOKEN_SHA256");
  const std = get("ROLLSAFE_STANDARD_WEBHOOK_SECRET");
  const ledgerPath = get("ROLLSAFE_LEDGER_PATH");
  return {
    limits: {
      maxBodyBytes: positiveInt(get, "ROLLSAFE_MAX_BODY_BYTES"),
      maxTargets: positiveInt(get, "ROLLSAFE_MAX_TARGETS"),
      instructionBudget: positiveInt(get, "ROLLSAFE_INSTRUCTION_BUDGET"),
      timeBudgetMs: positiveInt(get, "ROLLSAFE_TIME_BUDGET_MS"),
      maxConcurrent: positiveInt(get, "ROLLSAFE_MAX_CONCURRENT"),
      maxHookPairs: positiveInt(get, "ROLLSAFE_MAX_HOOK_PAIRS"),
      maxListings: positiveInt(get, "ROLLSAFE_MAX_LISTINGS"),
      workerHeapMb: positiveInt(get, "ROLLSAFE_WORKER_HEAP_MB"),
    },
    tokenHashes: tokens === undefined
      ? []
      : tokens.split(",").map((t, i) => hexBytes(t.trim(), `ROLLSAFE_API_TOKEN_SHA256 entry ${i}`)),
    githubSecret: get("ROLLSAFE_GITHUB_WEBHOOK_SECRET"),
    standardSecret: std === undefined
      ? undefined
      : standardSecretBytes(std, "ROLLSAFE_STANDARD_WEBHOOK_SECRET"),
    databaseUrl: get("DATABASE_URL"),
    sqlitePath: ledgerPath ?? `${dataDir(get)}/ledger.sqlite3`,
  };
}
