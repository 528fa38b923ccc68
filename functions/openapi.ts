/**
 * The OpenAPI 3.1 document, generated from the route rows the router registers (route.ts), so
 * what it lists is what the service checks: every parameter with its pattern, every body media
 * type, every success response and every problem status the route declares.
 */
import { ENGINE_VERSION } from "../version.ts";
import { PROBLEM_MEDIA_TYPE, PROBLEMS, type ProblemType } from "./problem.ts";
import type { Param, RouteDef, Schema } from "./route.ts";

const PROBLEM_SCHEMA: Schema = {
  type: "object",
  description:
    "RFC 9457 problem details; `type` is a relative URI answered by GET /problems/{type}",
  required: ["type", "title", "status", "detail"],
  properties: {
    type: { type: "string", format: "uri-reference" },
    title: { type: "string" },
    status: { type: "integer" },
    detail: { type: "string" },
    instance: { type: "string" },
    request_id: { type: "string" },
    code: { type: "string", description: "SnapshotError code, for invalid snapshots" },
    where: { type: "string", description: "path or byte offset of an invalid snapshot" },
  },
};

function paramSchema(p: Param): Schema {
  const one: Schema = { type: "string" };
  if (p.pattern !== undefined) one.pattern = p.pattern;
  if (p.maxLength !== undefined) one.maxLength = p.maxLength;
  return p.repeated ? { type: "array", items: one } : one;
}

function content(c: Record<string, Schema>): Record<string, { schema: Schema }> {
  return Object.fromEntries(Object.entries(c).map(([m, schema]) => [m, { schema }]));
}

function operation(r: RouteDef): Record<string, unknown> {
  const responses: Record<string, unknown> = {};
  for (const [status, m] of Object.entries(r.responses)) {
    responses[status] = { description: m.description, content: content(m.content) };
  }
  const byStatus = new Map<number, ProblemType[]>();
  for (const t of [...r.problems, "internal" as const]) {
    const st = PROBLEMS[t].status;
    byStatus.set(st, [...(byStatus.get(st) ?? []), t]);
  }
  for (const [status, types] of byStatus) {
    responses[String(status)] = {
      description: types.map((t) => `${t}: ${PROBLEMS[t].title}`).join("; "),
      content: { [PROBLEM_MEDIA_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } },
    };
  }
  return {
    operationId: r.operationId,
    summary: r.summary,
    ...(r.description === undefined ? {} : { description: r.description }),
    tags: [r.tag],
    // Bearer when the deployment configures tokens; `{}` says it may also run open.
    ...(r.auth ? { security: [{ bearer: [] }, {}] } : {}),
    ...(r.params?.length
      ? {
        parameters: r.params.map((p) => ({
          name: p.name,
          in: p.in,
          required: p.in === "path" || p.required === true,
          description: p.description,
          schema: paramSchema(p),
          ...(p.repeated ? { style: "form", explode: true } : {}),
        })),
      }
      : {}),
    ...(r.body
      ? {
        requestBody: {
          required: r.body.required,
          description: r.body.description,
          content: content(r.body.content),
        },
      }
      : {}),
    responses,
  };
}

export function openapiDocument(routes: readonly RouteDef[]): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) (paths[r.path] ??= {})[r.method] = operation(r);
  return {
    openapi: "3.1.0",
    info: {
      title: "rollsafe",
      version: ENGINE_VERSION,
      description: "Predicts whether an arm64 KVM VM snapshot restores on a target host kernel " +
        "and what the guest would see differently, and signs the verdict (COSE_Sign1, Ed25519).",
    },
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA },
      securitySchemes: {
        bearer: {
          type: "http",
          scheme: "bearer",
          description: "a token whose SHA-256 is listed in ROLLSAFE_API_TOKEN_SHA256",
        },
      },
    },
  };
}
