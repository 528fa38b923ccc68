/**
 * The hono application. Routes are grouped per resource in sibling files; this file composes
 * them and the global middleware.
 */
import { Hono } from "hono";
import { ENGINE_VERSION } from "../version.ts";

export function createApp(): Hono {
  const app = new Hono();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/v1/version", (c) => c.json({ name: "rollsafe", version: ENGINE_VERSION }));
  return app;
}
