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

const HEX64 = { type: "string", pattern: "^[0-9a-f]{64}$" };
const STR = { type: "string" };
const INT = { type: "integer", minimum: 0 };
const obj = (
  required: string[],
  properties: Record<string, Schema>,
  optional: Record<string, Schema> = {},
): Schema => ({
  type: "object",
  additionalProperties: false,
  required,
  properties: { ...properties, ...optional },
});
const REF = obj(["id", "sha256"], { id: STR, sha256: HEX64 });
const FACT = obj(["cite", "confidence"], { cite: STR, confidence: { enum: ["V", "I", "U"] } });
const SEVERITY = { enum: ["breaking", "notable", "info"] };
const STATUS = { enum: ["pass", "warn", "fail"] };

/**
 * The verdict payload as JSON (verdict/json.ts verdictToJSON of verdict/model.ts), the `verdict`
 * member of a JSON answer. tests/http/openapi_test.ts checks real verdicts against it, so a field
 * added to the model without a row here fails there.
 */
export const VERDICT_SCHEMA: Schema = {
  ...obj(
    [
      "format",
      "version",
      "snapshot",
      "source",
      "vmm",
      "engine",
      "targets",
      "summary",
      "issued_at",
      "issued_at_utc",
      "dev_key",
    ],
    {
      format: STR,
      version: { type: "integer" },
      snapshot: obj(["sha256", "size"], { sha256: HEX64, size: INT }),
      source: obj(["profile", "host"], { profile: REF, host: REF }),
      vmm: STR,
      engine: obj(["version", "wasm_sha256", "probes"], {
        version: STR,
        wasm_sha256: HEX64,
        probes: { type: "object", additionalProperties: HEX64 },
      }, { git_revision: STR }),
      targets: {
        type: "array",
        items: obj(
          [
            "id",
            "profile",
            "host",
            "restorable",
            "status",
            "checked",
            "operations",
            "drift",
            "reliance",
          ],
          {
            id: { ...STR, description: "<profile>[+<variant>…]@<host>" },
            profile: REF,
            host: REF,
            restorable: { type: "boolean" },
            status: STATUS,
            checked: { ...INT, description: "restore operations evaluated, ok ones included" },
            operations: {
              type: "array",
              description: "the operations whose outcome was not ok, in restore order",
              items: obj(["op", "name", "component", "outcome", "reason"], {
                op: STR,
                name: STR,
                component: { enum: ["vm", "vcpu", "firmware", "timer", "vgic", "its"] },
                outcome: { enum: ["ok", "ignored", "failed"] },
                reason: STR,
              }, {
                vcpu: INT,
                id: { type: "string", pattern: "^0x[0-9a-f]+$", description: "KVM ONE_REG id" },
                attr: { ...STR, description: "device attribute group:attr" },
                value: STR,
                errno: { type: "string", pattern: "^E[A-Z]+$" },
                source: FACT,
              }),
            },
            drift: {
              type: "array",
              items: obj(["what", "source", "target", "severity", "explanation"], {
                what: STR,
                source: STR,
                target: STR,
                severity: SEVERITY,
                explanation: STR,
              }, { vcpu: INT, fact: FACT }),
            },
            reliance: {
              type: "array",
              items: obj(["kind", "severity", "explanation"], {
                kind: STR,
                severity: SEVERITY,
                explanation: STR,
              }, { vcpu: INT, fact: FACT }),
            },
          },
        ),
      },
      summary: obj(
        ["status", "targets", "restorable", "failed", "ignored", "breaking", "notable", "info"],
        {
          status: STATUS,
          targets: INT,
          restorable: INT,
          failed: INT,
          ignored: INT,
          breaking: INT,
          notable: INT,
          info: INT,
        },
      ),
      issued_at: { ...INT, description: "seconds since the Unix epoch" },
      issued_at_utc: { type: "string", format: "date-time" },
      dev_key: {
        type: "boolean",
        description: "signed with a development key: proves nothing; verify refuses it by default",
      },
    },
    { nonce: STR },
  ),
  description: "The signed verdict's payload, decoded (the COSE_Sign1 is the authority).",
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
    // Public operations say so (`[]`) rather than leaving it to a reader to infer.
    security: r.auth ? [{ bearer: [] }, {}] : [],
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
    // Relative: the document describes the server that serves it (also under a platform prefix).
    servers: [{ url: "." }],
    paths,
    components: {
      schemas: { Problem: PROBLEM_SCHEMA, Verdict: VERDICT_SCHEMA },
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
