/**
 * The service as `deno serve` and the platform entry points start it: configuration from the
 * environment, a start-up line saying how it is configured (and loudly when it runs open), and
 * a clear exit on a malformed variable instead of a stack trace.
 */
import type { Hono } from "hono";
import { createApp } from "./app.ts";
import { ConfigError, type EnvLookup, loadConfig } from "./config.ts";
import { authMode } from "./routes/meta.ts";
import { Services } from "./services.ts";

export interface Started {
  app: Hono;
  services: Services;
}

/** Builds the app from the environment and prints the start-up summary to stderr. */
export function startFromEnv(env: EnvLookup = (n) => Deno.env.get(n)): Started {
  let services: Services;
  try {
    services = new Services({ config: loadConfig(env), env });
  } catch (e) {
    if (e instanceof ConfigError) {
      console.error(`rollsafe: configuration error: ${e.message}`);
      Deno.exit(3);
    }
    throw e;
  }
  const c = services.config;
  const ledger = c.databaseUrl !== undefined ? "postgres (DATABASE_URL)" : `sqlite ${c.sqlitePath}`;
  console.error(
    `rollsafe: ledger ${ledger}; body cap ${c.limits.maxBodyBytes} B, ` +
      `${c.limits.maxTargets} targets, ${c.limits.maxConcurrent} concurrent`,
  );
  if (authMode(services) === "open") {
    console.error(
      "rollsafe: WARNING: no ROLLSAFE_API_TOKEN_SHA256 configured: POST routes are open to anyone " +
        "who can reach this port",
    );
  }
  return { app: createApp(services), services };
}
