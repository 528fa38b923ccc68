/**
 * The hono application. Routes are rows grouped per resource in functions/routes/; this file
 * composes them, the OpenAPI document generated from the same rows, and the global middleware
 * (request id, security headers, problem-details errors, 404/405).
 */
import { Hono } from "hono";
import { requestId } from "hono/request-id";
import { secureHeaders } from "hono/secure-headers";
import { loadConfig } from "./config.ts";
import { LedgerError } from "./ledger/mod.ts";
import { openapiDocument } from "./openapi.ts";
import { Problem, problemResponse } from "./problem.ts";
import type { RouteDef } from "./route.ts";
import { register } from "./route.ts";
import { Services } from "./services.ts";
import { META_ROUTES } from "./routes/meta.ts";
import { LEDGER_ROUTES } from "./routes/verdicts_ledger.ts";
import { PROFILE_ROUTES } from "./routes/profiles.ts";
import { VERDICT_ROUTES } from "./routes/verdicts.ts";
import { HOOK_ROUTES } from "./routes/hooks.ts";
import { WEB_ROUTES } from "./routes/web.ts";

/** Every route of the service, in the order the OpenAPI document lists them. */
export const ROUTES: readonly RouteDef[] = [
  ...WEB_ROUTES,
  ...VERDICT_ROUTES,
  ...LEDGER_ROUTES,
  ...HOOK_ROUTES,
  ...PROFILE_ROUTES,
  ...META_ROUTES,
];

const OPENAPI_ROUTE: RouteDef = {
  method: "get",
  path: "/openapi.json",
  operationId: "openapi",
  summary: "This document (OpenAPI 3.1), generated from the router's route table",
  tag: "meta",
  responses: { "200": { description: "OpenAPI 3.1", content: { "application/json": {} } } },
  problems: [],
  handle: () => Response.json(openapiDocument(ALL_ROUTES)),
};

const ALL_ROUTES: readonly RouteDef[] = [...ROUTES, OPENAPI_ROUTE];

/** "/v1/verdicts/{digest}" → /^\/v1\/verdicts\/[^/]+$/, to tell a 405 from a 404. */
function templateRegex(template: string): RegExp {
  const parts = template.split(/\{[^}]+\}/).map((s) => s.replace(/[.*+?^$()|[\]\\/]/g, "\\$&"));
  return new RegExp(`^${parts.join("[^/]+")}$`);
}

/** The app over `services` (default: configuration from the environment). */
export function createApp(services: Services = new Services({ config: loadConfig() })): Hono {
  const app = new Hono();
  app.use("*", requestId());
  // Handlers return plain Responses, which drop headers set on the context before them; echo the
  // request id after the handler so every answer, problems included, carries it.
  app.use("*", async (c, next) => {
    await next();
    c.res.headers.set("x-request-id", c.get("requestId"));
  });
  app.use("*", secureHeaders());
  register(app, ALL_ROUTES, services);

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const allowed = ALL_ROUTES.filter((r) => templateRegex(r.path).test(path)).map((r) =>
      r.method.toUpperCase()
    );
    const p = allowed.length > 0
      ? new Problem(
        "method-not-allowed",
        `${c.req.method} ${path}: allowed ${allowed.join(", ")}`,
        {},
        {
          allow: allowed.join(", "),
        },
      )
      : new Problem("not-found", `no route ${c.req.method} ${path}; GET /openapi.json lists them`);
    return problemResponse(p, path, c.get("requestId"));
  });

  app.onError((err, c) => {
    const path = new URL(c.req.url).pathname;
    if (err instanceof Problem) return problemResponse(err, path, c.get("requestId"));
    if (err instanceof LedgerError) {
      console.error(`rollsafe: request ${c.get("requestId")}: ${err.store}: ${err.message}`);
      return problemResponse(
        new Problem("ledger-unavailable", err.message),
        path,
        c.get("requestId"),
      );
    }
    console.error(`rollsafe: request ${c.get("requestId")} ${c.req.method} ${path}:`, err);
    return problemResponse(
      new Problem("internal", `unexpected error; request id ${c.get("requestId")}`),
      path,
      c.get("requestId"),
    );
  });
  return app;
}
