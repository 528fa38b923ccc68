/**
 * Errors as RFC 9457 problem details (`application/problem+json`). Each kind of problem is one
 * row of PROBLEMS: its type slug, HTTP status and title. The `type` member is the relative URI
 * `/problems/<slug>` (RFC 9457 §3.1.1 allows relative references), which GET /problems/<slug>
 * answers with the row, so a client can look a type up on the service that issued it.
 *
 * Handlers throw `Problem`; the app's error handler renders it. Anything else thrown is a bug and
 * becomes a 500 `internal` problem without internals in the body.
 */

export interface ProblemRow {
  status: number;
  title: string;
  /** When a client gets it and what to do. */
  description: string;
}

/** Every problem type the service answers with (RFC 9110 §15 for the status codes). */
export const PROBLEMS = {
  "bad-request": {
    status: 400,
    title: "Malformed request",
    description: "A parameter or header is missing or malformed; the detail names which.",
  },
  "unauthorized": {
    status: 401,
    title: "Bearer token required",
    description:
      "The service is configured with tokens and the request carried none, or a wrong one.",
  },
  "bad-signature": {
    status: 401,
    title: "Webhook signature does not verify",
    description:
      "The HMAC over the raw body does not match the configured secret, or its timestamp is " +
      "outside the ±5 minute tolerance (Standard Webhooks).",
  },
  "not-found": {
    status: 404,
    title: "No such resource",
    description: "Unknown path, profile, host, or a snapshot digest the service never stored.",
  },
  "method-not-allowed": {
    status: 405,
    title: "Method not allowed",
    description: "The path exists but not with this method; the Allow header lists the methods.",
  },
  "not-acceptable": {
    status: 406,
    title: "No acceptable representation",
    description: "The Accept header excludes every media type this resource offers.",
  },
  "replayed-delivery": {
    status: 409,
    title: "Webhook delivery already processed",
    description: "The delivery id (X-GitHub-Delivery or webhook-id) was seen before.",
  },
  "payload-too-large": {
    status: 413,
    title: "Request body too large",
    description: "The body exceeded ROLLSAFE_MAX_BODY_BYTES, counted as it streamed in.",
  },
  "unsupported-media-type": {
    status: 415,
    title: "Unsupported snapshot format",
    description: "The Content-Type names no format rollsafe reads.",
  },
  "invalid-snapshot": {
    status: 422,
    title: "The snapshot cannot be read",
    description: "The body is in a known format but breaks its rules; the detail says where.",
  },
  "unknown-target": {
    status: 422,
    title: "Unknown target",
    description: "A target names no known kernel profile or host (GET /v1/profiles lists them).",
  },
  "invalid-profile": {
    status: 422,
    title: "Invalid user profile or host",
    description: "A profile or host part of a multipart upload breaks the profile schema; the " +
      "detail names the part, the key and the rule.",
  },
  "too-many-targets": {
    status: 422,
    title: "Too many targets",
    description: "More targets than ROLLSAFE_MAX_TARGETS in one request; split the request.",
  },
  "source-required": {
    status: 422,
    title: "Source target unknown",
    description: "The verdict binds the target the snapshot was taken on; the snapshot does not " +
      "name one and matches no single built-in profile and host: give source=<profile>@<host>.",
  },
  "budget-exceeded": {
    status: 422,
    title: "Request budget exhausted",
    description:
      "Validating this snapshot needs more emulated instructions (ROLLSAFE_INSTRUCTION_BUDGET) " +
      "or more time (ROLLSAFE_TIME_BUDGET_MS) than one request may use.",
  },
  "invalid-hook-payload": {
    status: 422,
    title: "Webhook payload is not a rollsafe request",
    description: "The signed payload does not name snapshots and targets as documented.",
  },
  "too-busy": {
    status: 429,
    title: "Too many validations in flight",
    description: "ROLLSAFE_MAX_CONCURRENT validations are running; retry after Retry-After.",
  },
  "internal": {
    status: 500,
    title: "Internal error",
    description: "A bug in rollsafe; the request id in the body identifies it in the logs.",
  },
  "worker-lost": {
    status: 503,
    title: "The request's worker died",
    description: "The worker thread running this request's parse and check stopped (its heap " +
      "cap, ROLLSAFE_WORKER_HEAP_MB, was reached, or it crashed). Only this request failed; " +
      "a smaller input, or a retry, may succeed.",
  },
  "ledger-unavailable": {
    status: 503,
    title: "Ledger unavailable",
    description: "The ledger store (node:sqlite file or DATABASE_URL) cannot be opened.",
  },
  "not-configured": {
    status: 503,
    title: "Not configured",
    description: "The feature needs server configuration (e.g. a webhook secret) it lacks.",
  },
} as const satisfies Record<string, ProblemRow>;

export type ProblemType = keyof typeof PROBLEMS;

/** A problem a handler reports: the type row, one precise detail, and optional members. */
export class Problem extends Error {
  override name = "Problem";
  constructor(
    readonly type: ProblemType,
    readonly detail: string,
    /** Extension members (RFC 9457 §3.2), e.g. `code` and `where` of a SnapshotError. */
    readonly extensions: Record<string, unknown> = {},
    /** Extra response headers, e.g. Retry-After or WWW-Authenticate. */
    readonly headers: Record<string, string> = {},
  ) {
    super(detail);
  }

  get status(): number {
    return PROBLEMS[this.type].status;
  }
}

export const PROBLEM_MEDIA_TYPE = "application/problem+json";

/** The response for `p`, with `instance` set to the request path. */
export function problemResponse(p: Problem, instance: string, requestId?: string): Response {
  const row = PROBLEMS[p.type];
  const body = {
    type: `/problems/${p.type}`,
    title: row.title,
    status: row.status,
    detail: p.detail,
    instance,
    ...(requestId === undefined ? {} : { request_id: requestId }),
    ...p.extensions,
  };
  return new Response(JSON.stringify(body), {
    status: row.status,
    headers: { "content-type": PROBLEM_MEDIA_TYPE, ...p.headers },
  });
}
