/**
 * CI webhook receivers. Order matters and is the same for both: read the body under the byte
 * cap, verify the signature over those raw bytes (nothing is parsed before), parse the request,
 * check every named snapshot is in the ledger, lease the delivery id (a processed one, or one
 * being run now, is a 409), validate each snapshot against the targets, record the verdicts, and
 * only then record the delivery as processed and answer with a summary a CI step can gate on. A
 * run that fails leaves the delivery unprocessed, so the sender's retry runs it.
 */
import { readCapped } from "../body.ts";
import { verifyGithub } from "../hooks/github.ts";
import {
  githubRequest,
  type HookRequest,
  parseJsonBody,
  standardRequest,
} from "../hooks/request.ts";
import { verifyStandard } from "../hooks/standard.ts";
import { checkTargets, vmmOf } from "../pipeline.ts";
import { offload } from "../offload.ts";
import { Problem } from "../problem.ts";
import type { RouteDef } from "../route.ts";
import type { Services } from "../services.ts";
import type { StoredSnapshot } from "../ledger/mod.ts";
import { type Status, worst } from "../../verdict/mod.ts";

async function run(s: Services, source: string, delivery: string, req: HookRequest) {
  const pairs = req.snapshots.length * req.targets.length;
  if (pairs > s.config.limits.maxHookPairs) {
    throw new Problem(
      "too-many-targets",
      `${req.snapshots.length} snapshots × ${req.targets.length} targets = ${pairs} pairs; ` +
        `ROLLSAFE_MAX_HOOK_PAIRS is ${s.config.limits.maxHookPairs}`,
    );
  }
  checkTargets(req.targets, s.config.limits.maxTargets, `${req.where}.targets`);
  vmmOf(req.vmm);
  const ledger = await s.ledger();
  const stored = [];
  for (const [i, d] of req.snapshots.entries()) {
    const snap = await ledger.getSnapshot(d);
    if (!snap) {
      throw new Problem(
        "invalid-hook-payload",
        `${req.where}.snapshots[${i}]: no snapshot with SHA-256 ${d} was uploaded ` +
          "(POST /v1/snapshots first)",
        { where: `${req.where}.snapshots[${i}]` },
      );
    }
    stored.push(snap);
  }
  // Admission before the lease: a 429 leaves the delivery free, so its retry runs.
  const release = s.admit();
  const clock = () => Math.floor(s.now().getTime() / 1000);
  try {
    // The lease outlives the longest run this delivery may take; a run that dies with the
    // process leaves a lease that expires, and the sender's retry runs then.
    const seconds = Math.ceil(stored.length * s.config.limits.timeBudgetMs / 1000) + 60;
    const lease = await ledger.leaseDelivery(source, delivery, clock(), seconds);
    if (lease.state !== "leased") {
      throw new Problem(
        "replayed-delivery",
        lease.state === "done"
          ? `${source} delivery ${delivery} was processed before`
          : `${source} delivery ${delivery} is being processed now (lease until ${lease.until})`,
        { delivery },
        lease.state === "busy" ? { "retry-after": String(Math.max(1, lease.until - clock())) } : {},
      );
    }
    // Recorded as processed only once every verdict of the run is in the ledger; any failure
    // before that drops the lease, so the sender's retry runs the check.
    let done = false;
    try {
      const response = await checkAll(s, delivery, req, stored);
      done = true;
      return response;
    } finally {
      await ledger.endLease(source, delivery, lease.token, done, clock()).catch((e) => {
        if (done) throw e; // not recorded as done: the client must not see success
        console.error(`rollsafe: ${source} delivery ${delivery}: releasing its lease:`, e);
      });
    }
  } finally {
    release();
  }
}

async function checkAll(
  s: Services,
  delivery: string,
  req: HookRequest,
  stored: StoredSnapshot[],
): Promise<Response> {
  let status: Status = "pass";
  const results = [];
  for (const snap of stored) {
    const issued = await offload(s, "issue", {
      bytes: snap.bytes,
      contentType: snap.contentType || undefined,
      targets: req.targets,
      vmm: req.vmm,
      nonce: req.nonce,
    });
    const st = issued.verdict.summary.status;
    status = worst([status, st]); // the judge's order (verdict/judge.ts), as in the summary
    results.push({
      snapshot: snap.sha256,
      status: st,
      verdict: issued.sha256,
      targets: issued.verdict.targets.map((t) => ({
        id: t.id,
        status: t.status,
        restorable: t.restorable,
      })),
      ledger: `/v1/verdicts/${snap.sha256}`,
    });
  }
  return Response.json({ delivery, status, results });
}

const SUMMARY_SCHEMA = {
  type: "object",
  required: ["delivery", "status", "results"],
  properties: {
    delivery: { type: "string" },
    status: { enum: ["pass", "warn", "fail"] },
    results: { type: "array", items: { type: "object" } },
  },
};

const HOOK_PROBLEMS = [
  "bad-signature",
  "bad-request",
  "payload-too-large",
  "invalid-hook-payload",
  "replayed-delivery",
  "too-many-targets",
  "unknown-target",
  "invalid-snapshot",
  "budget-exceeded",
  "source-required",
  "too-busy",
  "not-configured",
  "worker-lost",
  "ledger-unavailable",
] as const;

export const HOOK_ROUTES: RouteDef[] = [
  {
    method: "post",
    path: "/v1/hooks/github",
    operationId: "githubWebhook",
    summary: "GitHub webhook: repository_dispatch or deployment naming snapshots and targets",
    description: "X-Hub-Signature-256 is verified over the raw body before parsing; " +
      "X-GitHub-Delivery de-duplicates. The request is client_payload (repository_dispatch) " +
      "or deployment.payload: {snapshots: [sha256…], targets: [id…], vmm?, nonce?}.",
    tag: "webhooks",
    params: [
      { name: "x-github-event", in: "header", required: true, description: "event name" },
      {
        name: "x-github-delivery",
        in: "header",
        required: true,
        description: "delivery GUID",
        pattern: "^[A-Za-z0-9-]{1,100}$",
      },
      { name: "x-hub-signature-256", in: "header", description: "sha256=<hex HMAC>" },
    ],
    body: {
      required: true,
      description: "the event payload (JSON)",
      content: { "application/json": { type: "object" } },
    },
    responses: {
      "200": {
        description: "validated; gate on status",
        content: { "application/json": SUMMARY_SCHEMA },
      },
      "202": {
        description: "event acknowledged, nothing to run",
        content: { "application/json": {} },
      },
    },
    problems: [...HOOK_PROBLEMS],
    handle: async ({ c }, s) => {
      const secret = s.config.githubSecret;
      if (secret === undefined) {
        throw new Problem(
          "not-configured",
          "set ROLLSAFE_GITHUB_WEBHOOK_SECRET to receive GitHub webhooks",
        );
      }
      const body = new Uint8Array(await readCapped(c.req.raw, s.config.limits.maxBodyBytes));
      await verifyGithub(secret, c.req.header("x-hub-signature-256") ?? null, body);
      const event = c.req.header("x-github-event")!;
      const delivery = c.req.header("x-github-delivery")!;
      const doc = parseJsonBody(body);
      if (event === "ping") return Response.json({ delivery, pong: true });
      const req = githubRequest(event, doc);
      if (req === undefined) {
        // Not de-duplicated: nothing ran, so a redelivery is as harmless as the first.
        return Response.json(
          { delivery, ignored: `event "${event}" carries no rollsafe request` },
          {
            status: 202,
          },
        );
      }
      return await run(s, "github", delivery, req);
    },
  },
  {
    method: "post",
    path: "/v1/hooks/standard",
    operationId: "standardWebhook",
    summary: "Standard Webhooks message of type rollsafe.check naming snapshots and targets",
    description: "webhook-signature (v1 HMAC-SHA256 over id.timestamp.body) is verified before " +
      "parsing, the timestamp must be within ±5 minutes, webhook-id de-duplicates. The body is " +
      '{type: "rollsafe.check", timestamp, data: {snapshots, targets, vmm?, nonce?}}.',
    tag: "webhooks",
    params: [
      {
        name: "webhook-id",
        in: "header",
        required: true,
        description: "message id",
        maxLength: 200,
      },
      { name: "webhook-timestamp", in: "header", required: true, description: "Unix seconds" },
      { name: "webhook-signature", in: "header", required: true, description: "v1,<base64> …" },
    ],
    body: {
      required: true,
      description: "the message (JSON)",
      content: { "application/json": { type: "object" } },
    },
    responses: {
      "200": {
        description: "validated; gate on status",
        content: { "application/json": SUMMARY_SCHEMA },
      },
    },
    problems: [...HOOK_PROBLEMS],
    handle: async ({ c }, s) => {
      const secret = s.config.standardSecret;
      if (secret === undefined) {
        throw new Problem(
          "not-configured",
          "set ROLLSAFE_STANDARD_WEBHOOK_SECRET to receive Standard Webhooks",
        );
      }
      const body = await readCapped(c.req.raw, s.config.limits.maxBodyBytes);
      const id = await verifyStandard(
        secret,
        c.req.raw.headers,
        body,
        Math.floor(s.now().getTime() / 1000),
      );
      return await run(s, "standard", id, standardRequest(parseJsonBody(body)));
    },
  },
];
