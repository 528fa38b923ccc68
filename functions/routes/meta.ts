/**
 * Service metadata: health, version, the public verdict keys and the problem-type documents.
 */
import { ENGINE_VERSION } from "../../version.ts";
import { publishedKeys, toCoseKeySet, toJwks } from "../../verdict/mod.ts";
import { negotiate } from "../negotiate.ts";
import { Problem, PROBLEMS, type ProblemType } from "../problem.ts";
import type { RouteDef } from "../route.ts";
import type { Services } from "../services.ts";

/** COSE_KeySet media type (RFC 9052 §11.2). */
export const COSE_KEY_SET_MEDIA_TYPE = "application/cose-key-set";
/** JWK Set media type (RFC 7517 §8.5). */
export const JWKS_MEDIA_TYPE = "application/jwk-set+json";

/** Whether anyone who can reach the service may POST. Printed at start-up and in /healthz. */
export function authMode(s: Services): "open" | "bearer" {
  return s.config.tokenHashes.length === 0 ? "open" : "bearer";
}

async function health(s: Services): Promise<Response> {
  const problems: string[] = [];
  let ledger = "unavailable";
  try {
    ledger = (await s.ledger()).describe;
  } catch (e) {
    problems.push(`ledger: ${(e as Error).message}`);
  }
  let signing: Record<string, unknown> = {};
  try {
    const k = await s.signer();
    signing = { kid: k.kid, dev_key: k.dev };
  } catch (e) {
    problems.push(`signing key: ${(e as Error).message}`);
  }
  const body = {
    status: problems.length === 0 ? "ok" : "unhealthy",
    version: ENGINE_VERSION,
    auth: authMode(s),
    ...(authMode(s) === "open"
      ? { warning: "no ROLLSAFE_API_TOKEN_SHA256 configured: POST routes are open to anyone" }
      : {}),
    ledger,
    signing,
    webhooks: {
      github: s.config.githubSecret !== undefined,
      standard: s.config.standardSecret !== undefined,
    },
    limits: s.config.limits,
    inflight: s.inflight,
    ...(problems.length === 0 ? {} : { problems }),
  };
  return Response.json(body, { status: problems.length === 0 ? 200 : 503 });
}

const HEALTH_SCHEMA = {
  type: "object",
  required: ["status", "version", "auth", "ledger", "limits"],
  properties: {
    status: { enum: ["ok", "unhealthy"] },
    version: { type: "string" },
    auth: { enum: ["open", "bearer"] },
    warning: { type: "string" },
    ledger: { type: "string" },
    signing: { type: "object" },
    webhooks: { type: "object" },
    limits: { type: "object" },
    inflight: { type: "integer" },
    problems: { type: "array", items: { type: "string" } },
  },
};

export const META_ROUTES: RouteDef[] = [
  {
    method: "get",
    path: "/healthz",
    operationId: "health",
    summary: "Liveness, configuration summary and whether the service runs open",
    tag: "meta",
    responses: {
      "200": { description: "healthy", content: { "application/json": HEALTH_SCHEMA } },
      "503": {
        description: "the ledger or the signing key is unusable; `problems` says why",
        content: { "application/json": HEALTH_SCHEMA },
      },
    },
    problems: [],
    handle: (_r, s) => health(s),
  },
  {
    method: "get",
    path: "/v1/version",
    operationId: "version",
    summary: "Engine version",
    tag: "meta",
    responses: {
      "200": {
        description: "name and version",
        content: {
          "application/json": {
            type: "object",
            properties: { name: { const: "rollsafe" }, version: { type: "string" } },
          },
        },
      },
    },
    problems: [],
    handle: () => Response.json({ name: "rollsafe", version: ENGINE_VERSION }),
  },
  {
    method: "get",
    path: "/v1/keys",
    operationId: "keys",
    summary: "Public keys that verify this service's verdicts",
    description: "A COSE_KeySet (RFC 9052 §7) by default; a JWK Set (RFC 7517) for " +
      "Accept: application/json or application/jwk-set+json. The signer's key comes first.",
    tag: "verdicts",
    responses: {
      "200": {
        description: "the key set",
        content: {
          [COSE_KEY_SET_MEDIA_TYPE]: { type: "string", format: "binary" },
          [JWKS_MEDIA_TYPE]: { type: "object", required: ["keys"] },
          "application/json": { type: "object", required: ["keys"] },
        },
      },
    },
    problems: ["not-acceptable"],
    handle: async ({ c }, s) => {
      const kind = negotiate(c.req.header("accept"), [
        COSE_KEY_SET_MEDIA_TYPE,
        JWKS_MEDIA_TYPE,
        "application/json",
      ]);
      const keys = await publishedKeys(await s.signer(), s.env);
      if (kind === COSE_KEY_SET_MEDIA_TYPE) {
        return new Response(toCoseKeySet(keys), { headers: { "content-type": kind } });
      }
      return new Response(JSON.stringify(toJwks(keys)), { headers: { "content-type": kind } });
    },
  },
  {
    method: "get",
    path: "/problems/{type}",
    operationId: "problemType",
    summary: "What a problem `type` means (RFC 9457 §3.1.1)",
    tag: "meta",
    params: [{
      name: "type",
      in: "path",
      required: true,
      description: "problem type slug",
      pattern: "^[a-z-]{1,40}$",
    }],
    responses: {
      "200": { description: "the problem type", content: { "application/json": {} } },
    },
    problems: ["not-found", "bad-request"],
    handle: ({ path }) => {
      const row = PROBLEMS[path.type as ProblemType];
      if (!Object.hasOwn(PROBLEMS, path.type)) {
        throw new Problem("not-found", `no problem type "${path.type}"`);
      }
      return Response.json({ type: `/problems/${path.type}`, ...row });
    },
  },
];
