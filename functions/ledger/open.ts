/**
 * Picks the ledger store from the configuration: PostgreSQL when DATABASE_URL is set, else
 * node:sqlite at ROLLSAFE_LEDGER_PATH (default under the data directory). postgres.js is loaded
 * only when it is used, so deployments on node:sqlite never load it.
 */
import type { Config } from "../config.ts";
import type { Ledger } from "./mod.ts";
import { SqliteLedger } from "./sqlite.ts";

export async function openLedger(cfg: Pick<Config, "databaseUrl" | "sqlitePath">): Promise<Ledger> {
  if (cfg.databaseUrl !== undefined) {
    const { PostgresLedger } = await import("./postgres.ts");
    return await PostgresLedger.open(cfg.databaseUrl);
  }
  return new SqliteLedger(cfg.sqlitePath);
}
