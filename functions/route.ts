/**
 * A route is one row: method, path, parameters, body and responses, the problems it can answer
 * with, and its handler. The router (register) and the OpenAPI document (openapi.ts) are both
 * generated from the same rows, so the document cannot describe a parameter the router does not
 * check or miss one it does.
 */
import type { Context, Hono } from "hono";
import { requireBearer } from "./auth.ts";
import { Problem, PROBLEMS, type ProblemType } from "./problem.ts";
import { quote } from "./quote.ts";
import type { Services } from "./services.ts";

/** A target id: <profile>[+<variant>…]@<host>. */
export const TARGET_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+@:-]{0,127}$";

/** A JSON Schema (OpenAPI 3.1 dialect) fragment. */
export type Schema = Record<string, unknown>;

export interface Param {
  name: string;
  in: "path" | "query" | "header";
  required?: boolean;
  /** May appear several times (query only), e.g. `target=…&target=…`. */
  repeated?: boolean;
  description: string;
  /** Anchored regular expression each value must match. */
  pattern?: string;
  /** More for the error when the value does not match, e.g. how to encode it. */
  hint?: (value: string) => string | undefined;
  /** Longest accepted value, in characters. */
  maxLength?: number;
}

export interface Media {
  /** Media type → schema. */
  content: Record<string, Schema>;
  description: string;
}

export interface RouteRequest {
  c: Context;
  /** Path parameters, checked against their rows. */
  path: Record<string, string>;
  /** Query parameters, checked against their rows; every value of repeated ones. */
  query: Record<string, string[]>;
}

export interface RouteDef {
  method: "get" | "post";
  /** OpenAPI path template, e.g. "/v1/verdicts/{digest}". */
  path: string;
  operationId: string;
  summary: string;
  description?: string;
  tag: string;
  /** Requires a bearer token when the service has tokens configured. */
  auth?: boolean;
  /** Parses an upload or spends emulator CPU: counts toward ROLLSAFE_MAX_CONCURRENT. */
  costly?: boolean;
  /** Reads a ledger listing: counts toward ROLLSAFE_MAX_LISTINGS. */
  listing?: boolean;
  params?: Param[];
  body?: Media & { required: boolean };
  /** Success responses by status. */
  responses: Record<string, Media>;
  /** Problems the route can answer with (the 4xx part of its contract). */
  problems: ProblemType[];
  handle(r: RouteRequest, s: Services): Promise<Response> | Response;
}

/** "/v1/verdicts/{digest}" → "/v1/verdicts/:digest" (hono's syntax). */
export function honoPath(template: string): string {
  return template.replace(/\{([A-Za-z0-9_]+)\}/g, ":$1");
}

function checkValue(p: Param, v: string): void {
  if (p.maxLength !== undefined && v.length > p.maxLength) {
    throw new Problem(
      "bad-request",
      `${p.in} parameter ${p.name}: ${v.length} characters, at most ${p.maxLength} allowed`,
    );
  }
  if (p.pattern !== undefined && !new RegExp(p.pattern).test(v)) {
    throw new Problem(
      "bad-request",
      `${p.in} parameter ${p.name}: ${quote(v)} does not match ${p.pattern}` +
        (p.hint?.(v) ? `; ${p.hint(v)}` : ""),
    );
  }
}

function parseParams(def: RouteDef, c: Context): RouteRequest {
  const path: Record<string, string> = {};
  const query: Record<string, string[]> = {};
  for (const p of def.params ?? []) {
    if (p.in === "path") {
      const v = c.req.param(p.name) ?? "";
      checkValue(p, v);
      path[p.name] = v;
    } else if (p.in === "query") {
      const vs = c.req.queries(p.name) ?? [];
      if (vs.length === 0 && p.required) {
        throw new Problem("bad-request", `query parameter ${p.name} is required`);
      }
      if (vs.length > 1 && !p.repeated) {
        throw new Problem("bad-request", `query parameter ${p.name} may appear only once`);
      }
      vs.forEach((v) => checkValue(p, v));
      query[p.name] = vs;
    } else {
      const v = c.req.header(p.name);
      if (v === undefined && p.required) {
        throw new Problem("bad-request", `header ${p.name} is required`);
      }
      if (v !== undefined) checkValue(p, v);
    }
  }
  return { c, path, query };
}

/** Admission control: at most `max` handlers inside at once; the next caller gets a 429. */
export class Gate {
  #inside = 0;
  constructor(readonly max: number, readonly what: string, readonly knob: string) {}

  get inside(): number {
    return this.#inside;
  }

  /** Takes a place or throws 429 too-busy; the returned function gives it back (once). */
  enter(): () => void {
    if (this.#inside >= this.max) {
      throw new Problem(
        "too-busy",
        `${this.#inside} ${this.what} are in flight and ${this.knob} is ${this.max}`,
        {},
        { "retry-after": "1" },
      );
    }
    this.#inside++;
    let left = false;
    return () => {
      if (!left) this.#inside--;
      left = true;
    };
  }
}

/** Adds every row to the app: parameter checks, auth and admission control around handlers. */
export function register(app: Hono, routes: readonly RouteDef[], s: Services): void {
  const listings = new Gate(s.config.limits.maxListings, "listings", "ROLLSAFE_MAX_LISTINGS");
  for (const def of routes) {
    for (const t of def.problems) {
      if (!(t in PROBLEMS)) throw new Error(`${def.operationId}: unknown problem type ${t}`);
    }
    if ((def.costly || def.listing) && !def.problems.includes("too-busy")) {
      throw new Error(`${def.operationId}: admitted routes must list the too-busy problem`);
    }
    app.on(def.method.toUpperCase(), honoPath(def.path), async (c) => {
      // Authentication first: a caller without a token learns nothing about the parameters.
      if (def.auth) {
        await requireBearer(c.req.header("authorization") ?? null, s.config.tokenHashes);
      }
      const req = parseParams(def, c);
      const release = def.costly ? s.admit() : def.listing ? listings.enter() : undefined;
      try {
        return await def.handle(req, s);
      } finally {
        release?.();
      }
    });
  }
}
