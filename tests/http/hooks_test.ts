/**
 * The webhook receivers' positive paths: GitHub ping and unrelated events, a deployment event
 * whose payload names an uploaded snapshot, and the gate summary's status agreeing with the
 * verdicts recorded in the ledger.
 */
import { assertEquals } from "@std/assert";
import { signGithub } from "../../functions/hooks/github.ts";
import { FINGERPRINTS, sha256Hex, testService } from "./helpers.ts";

const SECRET = "hooks-test-secret";
const enc = new TextEncoder();

async function deliver(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
  event: string,
  delivery: string,
  doc: unknown,
) {
  const body = enc.encode(JSON.stringify(doc));
  return await app.request("/v1/hooks/github", {
    method: "POST",
    body,
    headers: {
      "content-type": "application/json",
      "x-github-event": event,
      "x-github-delivery": delivery,
      "x-hub-signature-256": await signGithub(SECRET, body),
    },
  });
}

Deno.test("GitHub: ping answers, unrelated events are acknowledged with 202 and not run", async () => {
  const t = await testService({ ROLLSAFE_GITHUB_WEBHOOK_SECRET: SECRET });
  try {
    const ping = await deliver(t.app, "ping", "p-1", { zen: "Keep it logically awesome." });
    assertEquals(await ping.json(), { delivery: "p-1", pong: true });
    const push = await deliver(t.app, "push", "p-2", { ref: "refs/heads/main" });
    assertEquals(push.status, 202);
    assertEquals((await push.json()).ignored, 'event "push" carries no rollsafe request');
  } finally {
    await t.close();
  }
});

Deno.test("GitHub deployment payload: every target run, summary status = worst verdict status", async () => {
  const t = await testService({ ROLLSAFE_GITHUB_WEBHOOK_SECRET: SECRET });
  try {
    const fps = [];
    for (const f of FINGERPRINTS.slice(0, 2)) {
      const bytes = await Deno.readFile(f.url);
      const up = await t.app.request("/v1/snapshots", {
        method: "POST",
        body: bytes,
        headers: { "content-type": "application/json" },
      });
      assertEquals(up.status, 201);
      fps.push(await sha256Hex(bytes));
    }
    const targets = ["amzn2023-6.1@neoverse-n1", "amzn2023-6.18@neoverse-n1"];
    const r = await deliver(t.app, "deployment", "dep-1", {
      deployment: { payload: { snapshots: fps, targets, nonce: "deploy-42" } },
    });
    assertEquals(r.status, 200, await r.clone().text());
    const summary = await r.json();
    assertEquals(summary.results.map((x: { snapshot: string }) => x.snapshot), fps);
    const rank = { pass: 0, warn: 1, fail: 2 } as const;
    let worst: keyof typeof rank = "pass";
    for (const res of summary.results) {
      assertEquals(res.targets.map((x: { id: string }) => x.id), targets);
      // What the summary says is what the signed verdict in the ledger says.
      const rows = (await (await t.app.request(res.ledger)).json()).verdicts;
      const row = rows.find((v: { sha256: string }) => v.sha256 === res.verdict);
      assertEquals(row.verdict.summary.status, res.status);
      assertEquals(row.verdict.nonce, "deploy-42");
      if (rank[res.status as keyof typeof rank] > rank[worst]) worst = res.status;
    }
    assertEquals(summary.status, worst);
    // The ledger listing filtered by target: only verdicts that cover it.
    const other = await t.app.request(`/v1/verdicts/${fps[0]}?target=linux-5.15@neoverse-n1`);
    assertEquals((await other.json()).verdicts, []);
    const covered = await t.app.request(`/v1/verdicts/${fps[0]}?target=${targets[1]}`);
    assertEquals((await covered.json()).verdicts.map((v: { sha256: string }) => v.sha256), [
      summary.results[0].verdict,
    ]);
  } finally {
    await t.close();
  }
});
