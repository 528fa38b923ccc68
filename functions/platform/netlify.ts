/**
 * Netlify Edge Functions entry point (bundled to dist/netlify/rollsafe.js). Netlify calls the
 * default export with each request whose path matches `config.path`; the app answers under
 * /rollsafe/… . Netlify's edge has no file system, so set DATABASE_URL (or
 * ROLLSAFE_LEDGER_PATH=":memory:" for a ledger that lives as long as the isolate).
 */
import { Hono } from "hono";
import { startFromEnv } from "../serve.ts";

const { app } = startFromEnv();
const root = new Hono().route("/rollsafe", app);

export default (req: Request): Response | Promise<Response> => root.fetch(req);

export const config = { path: "/rollsafe/*" };
