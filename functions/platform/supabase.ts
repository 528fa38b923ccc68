/**
 * Supabase Edge Functions entry point (bundled to dist/supabase/index.js). Supabase routes
 * /functions/v1/<name>/… to the function with the path /<name>/…, so the app is mounted under
 * /<name> (ROLLSAFE_FUNCTION_NAME, default "rollsafe"). The ledger is the project's own
 * PostgreSQL: SUPABASE_DB_URL, which Supabase sets for every function, unless DATABASE_URL is set.
 */
import { Hono } from "hono";
import { startFromEnv } from "../serve.ts";

const name = Deno.env.get("ROLLSAFE_FUNCTION_NAME") ?? "rollsafe";
const env = (n: string) =>
  n === "DATABASE_URL" ? Deno.env.get(n) || Deno.env.get("SUPABASE_DB_URL") : Deno.env.get(n);
const { app } = startFromEnv(env);
const root = new Hono().route(`/${name}`, app);

// Supabase's runtime picks the address; PORT and HOST let the same file run locally (tests).
Deno.serve(
  { port: Number(Deno.env.get("PORT") ?? 8000), hostname: Deno.env.get("HOST") ?? "0.0.0.0" },
  root.fetch,
);
