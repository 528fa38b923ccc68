/**
 * Hostile HTTP input, as a labelled table: each request gets its specific 4xx problem (type,
 * status, a detail naming what was wrong) within a time bound, the status is one the OpenAPI
 * document lists for that route, and afterwards the service still answers real requests.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { signGithub } from "../../functions/hooks/github.ts";
import { signStandard } from "../../functions/hooks/standard.ts";
import { standardSecretBytes } from "../../functions/config.ts";
import { FINGERPRINTS, sha256Hex, testService } from "./helpers.ts";
import { startServer } from "./server.ts";

const CAP = 200_000;
const GH_SECRET = "hostile-test-secret";
const SW_SECRET = "whsec_" + btoa("0123456789abcdef0123456789abcdef");
const ENV = {
  ROLLSAFE_MAX_BODY_BYTES: String(CAP),
  ROLLSAFE_GITHUB_WEBHOOK_SECRET: GH_SECRET,
  ROLLSAFE_STANDARD_WEBHOOK_SECRET: SW_SECRET,
};
const T = "target=linux-6.1@neoverse-n1";
const enc = new TextEncoder();
const fingerprint = await Deno.readFile(FINGERPRINTS[1].url);
const big = new Uint8Array(CAP + 100_000).fill(0x20);

function stream(total: number, chunk = 16_384): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(c) {
      if (sent >= total) return c.close();
      const n = Math.min(chunk, total - sent);
      sent += n;
      c.enqueue(new Uint8Array(n).fill(0x7b));
    },
  });
}

interface Case {
  label: string;
  path: string;
  method?: string;
  headers?: Record<string, string>;
  body?: () => BodyInit | Promise<BodyInit>;
  status: number;
  type: string;
  detail: string;
}

const cbor = { "content-type": "application/cbor" };
const json = { "content-type": "application/json" };

async function ghHeaders(body: Uint8Array<ArrayBuffer>, delivery: string, sig?: string) {
  return {
    "content-type": "application/json",
    "x-github-event": "repository_dispatch",
    "x-github-delivery": delivery,
    "x-hub-signature-256": sig ?? await signGithub(GH_SECRET, body),
  };
}

const dispatch = (snapshots: string[], targets: string[]) =>
  enc.encode(JSON.stringify({ action: "rollsafe", client_payload: { snapshots, targets } }));

const CASES: Case[] = [
  {
    label: "body longer than its Content-Length claims",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: { ...json, "content-length": "10" },
    body: () => big,
    status: 413,
    type: "payload-too-large",
    detail: "although Content-Length declared 10",
  },
  {
    label: "declared Content-Length above the cap",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: { ...json, "content-length": String(CAP + 1) },
    body: () => big.subarray(0, CAP + 1),
    status: 413,
    type: "payload-too-large",
    detail: `Content-Length ${CAP + 1} is above the ${CAP}-byte limit`,
  },
  {
    label: "streamed body without a length, past the cap",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: json,
    body: () => stream(CAP * 4),
    status: 413,
    type: "payload-too-large",
    detail: `exceeded the ${CAP}-byte limit`,
  },
  {
    label: "CBOR map cut short",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: cbor,
    body: () => new Uint8Array([0xa2, 0x01]),
    status: 422,
    type: "invalid-snapshot",
    detail: "byte",
  },
  {
    label: "CBOR that is not a map",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: cbor,
    body: () => new Uint8Array([0x83, 0x01, 0x02, 0x03]),
    status: 422,
    type: "invalid-snapshot",
    detail: "map",
  },
  {
    label: "indefinite-length CBOR",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: cbor,
    body: () => new Uint8Array([0xbf, 0x61, 0x61, 0x01, 0xff]),
    status: 422,
    type: "invalid-snapshot",
    detail: "indefinite",
  },
  {
    label: "JSON that is not a fingerprint",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: json,
    body: () => '{"guest_cpu_config": 5}',
    status: 422,
    type: "invalid-snapshot",
    detail: "$.guest_cpu_config",
  },
  {
    label: "unknown Content-Type",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: () => "hello",
    status: 415,
    type: "unsupported-media-type",
    detail: '"text/plain" is not a snapshot format',
  },
  {
    label: "unknown kernel profile",
    path: "/v1/verdicts?target=linux-9.9@neoverse-n1",
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 422,
    type: "unknown-target",
    detail: 'unknown kernel profile "linux-9.9"',
  },
  {
    label: "unknown host",
    path: "/v1/verdicts?target=linux-6.1@pentium-4",
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 422,
    type: "unknown-target",
    detail: "pentium-4",
  },
  {
    label: "target with path characters",
    path: "/v1/verdicts?target=../../etc/passwd",
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 400,
    type: "bad-request",
    detail: "query parameter target",
  },
  {
    label: "too many targets",
    path: "/v1/verdicts?" + Array.from({ length: 9 }, () => T).join("&"),
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 422,
    type: "too-many-targets",
    detail: "9 targets in one request; ROLLSAFE_MAX_TARGETS is 8",
  },
  {
    label: "no target",
    path: "/v1/verdicts",
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 400,
    type: "bad-request",
    detail: "query parameter target is required",
  },
  {
    label: "the same target twice",
    path: `/v1/verdicts?${T}&${T}`,
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 400,
    type: "bad-request",
    detail: "named twice",
  },
  {
    label: "nonce with control characters",
    path: `/v1/verdicts?${T}&nonce=%00%01`,
    method: "POST",
    headers: json,
    body: () => fingerprint,
    status: 400,
    type: "bad-request",
    detail: "query parameter nonce",
  },
  {
    label: "Accept nothing the route offers",
    path: `/v1/verdicts?${T}`,
    method: "POST",
    headers: { ...json, accept: "text/html" },
    body: () => fingerprint,
    status: 406,
    type: "not-acceptable",
    detail: "text/html",
  },
  {
    label: "GitHub webhook with a wrong signature",
    path: "/v1/hooks/github",
    method: "POST",
    headers: await ghHeaders(dispatch([], []), "d-1", "sha256=" + "0".repeat(64)),
    body: () => dispatch([], []),
    status: 401,
    type: "bad-signature",
    detail: "does not match",
  },
  {
    label: "GitHub webhook signed with another secret",
    path: "/v1/hooks/github",
    method: "POST",
    headers: await ghHeaders(
      dispatch([], []),
      "d-2",
      await signGithub("other", dispatch([], [])),
    ),
    body: () => dispatch([], []),
    status: 401,
    type: "bad-signature",
    detail: "does not match",
  },
  {
    label: "GitHub webhook, signed, naming a snapshot never uploaded",
    path: "/v1/hooks/github",
    method: "POST",
    headers: await ghHeaders(dispatch(["ab".repeat(32)], ["linux-6.1@neoverse-n1"]), "d-3"),
    body: () => dispatch(["ab".repeat(32)], ["linux-6.1@neoverse-n1"]),
    status: 422,
    type: "invalid-hook-payload",
    detail: "$.client_payload.snapshots[0]: no snapshot with SHA-256 abab",
  },
  {
    label: "GitHub webhook, signed, request of the wrong shape",
    path: "/v1/hooks/github",
    method: "POST",
    headers: await ghHeaders(dispatch(["nothex"], []), "d-4"),
    body: () => dispatch(["nothex"], []),
    status: 422,
    type: "invalid-hook-payload",
    detail: "$.client_payload.snapshots[0]",
  },
  {
    label: "Standard webhook ten minutes old",
    path: "/v1/hooks/standard",
    method: "POST",
    headers: {
      "webhook-id": "msg_old",
      "webhook-timestamp": String(Math.floor(Date.now() / 1000) - 600),
      "webhook-signature": await signStandard(
        standardSecretBytes(SW_SECRET, "t"),
        "msg_old",
        Math.floor(Date.now() / 1000) - 600,
        enc.encode("{}"),
      ),
    },
    body: () => "{}",
    status: 401,
    type: "bad-signature",
    detail: "old; the tolerance is ±300 s",
  },
  {
    label: "bad snapshot digest in the path",
    path: "/v1/verdicts/ABC",
    status: 400,
    type: "bad-request",
    detail: "path parameter digest",
  },
];

type Doc = { paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };

function documented(doc: Doc, path: string, method: string, status: number): boolean {
  const template = path.split("?")[0].replace(/\/v1\/verdicts\/[^/]+$/, "/v1/verdicts/{digest}");
  return doc.paths[template]?.[method.toLowerCase()]?.responses?.[String(status)] !== undefined;
}

Deno.test("hostile requests through app.request(): each gets its own 4xx, then service goes on", async () => {
  const t = await testService(ENV);
  try {
    const doc = await (await t.app.request("/openapi.json")).json();
    for (const c of CASES) {
      const t0 = performance.now();
      const r = await t.app.request(c.path, {
        method: c.method ?? "GET",
        headers: c.headers,
        body: c.body ? await c.body() : undefined,
      });
      const ms = performance.now() - t0;
      const p = await r.json();
      if (Deno.env.get("ROLLSAFE_TEST_VERBOSE")) console.log(`${c.label}: ${r.status} ${p.detail}`);
      assertEquals(
        [r.status, p.type],
        [c.status, `/problems/${c.type}`],
        `${c.label}: ${p.detail}`,
      );
      assertStringIncludes(p.detail, c.detail, c.label);
      assertEquals(r.headers.get("content-type"), "application/problem+json", c.label);
      assert(documented(doc, c.path, c.method ?? "GET", c.status), `${c.label}: documented`);
      assert(ms < 5_000, `${c.label}: ${ms} ms`);
    }
    const ok = await t.app.request(`/v1/verdicts?${T}`, {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(ok.status, 200, await ok.clone().text());
  } finally {
    await t.close();
  }
});

Deno.test("429 while the validation slots are taken, with Retry-After; served again after", async () => {
  const t = await testService({ ROLLSAFE_MAX_CONCURRENT: "1" });
  try {
    const release = t.services.admit();
    const busy = await t.app.request(`/v1/verdicts?${T}`, {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(busy.status, 429);
    assertEquals(busy.headers.get("retry-after"), "1");
    assertStringIncludes((await busy.json()).detail, "ROLLSAFE_MAX_CONCURRENT is 1");
    release();
    const ok = await t.app.request(`/v1/verdicts?${T}`, {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(ok.status, 200);
    await ok.body?.cancel();
  } finally {
    await t.close();
  }
});

Deno.test("an instruction budget below the worst case is refused before anything runs", async () => {
  // One vCPU, one target: 2 sides × 1,000,000 instructions per probe run at worst.
  const t = await testService({ ROLLSAFE_INSTRUCTION_BUDGET: "1999999" });
  try {
    const r = await t.app.request(`/v1/verdicts?${T}`, {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(r.status, 422);
    const p = await r.json();
    assertEquals(p.type, "/problems/budget-exceeded");
    assertStringIncludes(p.detail, "= 2000000 instructions at worst");
    assertEquals(
      (await (await t.services.ledger()).verdicts(await sha256Hex(fingerprint))).length,
      0,
    );
  } finally {
    await t.close();
  }
  const enough = await testService({ ROLLSAFE_INSTRUCTION_BUDGET: "2000000" });
  try {
    const r = await enough.app.request(`/v1/verdicts?${T}`, {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(r.status, 200);
    await r.body?.cancel();
  } finally {
    await enough.close();
  }
});

Deno.test("a 1 ms time budget is a 422 budget-exceeded naming the variable", async () => {
  const t = await testService({ ROLLSAFE_TIME_BUDGET_MS: "1" });
  try {
    const r = await t.app.request(`/v1/verdicts?${T}`, {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(r.status, 422);
    const p = await r.json();
    assertEquals(p.type, "/problems/budget-exceeded");
    assertStringIncludes(p.detail, "ROLLSAFE_TIME_BUDGET_MS is 1");
  } finally {
    await t.close();
  }
});

Deno.test("webhooks: a replayed delivery is 409, an unconfigured receiver 503", async () => {
  const t = await testService(ENV);
  try {
    const up = await t.app.request("/v1/snapshots", {
      method: "POST",
      headers: json,
      body: fingerprint,
    });
    assertEquals(up.status, 201);
    const digest = await sha256Hex(fingerprint);
    const body = dispatch([digest], ["linux-6.1@neoverse-n1"]);
    const send = async () =>
      t.app.request("/v1/hooks/github", {
        method: "POST",
        headers: await ghHeaders(body, "delivery-replayed"),
        body,
      });
    const first = await send();
    assertEquals(first.status, 200, await first.clone().text());
    const summary = await first.json();
    assertEquals(summary.results[0].snapshot, digest);
    const again = await send();
    assertEquals(again.status, 409);
    assertEquals((await again.json()).type, "/problems/replayed-delivery");

    const now = Math.floor(Date.now() / 1000);
    const sbody = enc.encode(JSON.stringify({
      type: "rollsafe.check",
      timestamp: new Date(now * 1000).toISOString(),
      data: { snapshots: [digest], targets: ["linux-5.10@neoverse-n1"] },
    }));
    const sheaders = {
      "webhook-id": "msg_replayed",
      "webhook-timestamp": String(now),
      "webhook-signature": await signStandard(
        standardSecretBytes(SW_SECRET, "t"),
        "msg_replayed",
        now,
        sbody,
      ),
    };
    const s1 = await t.app.request("/v1/hooks/standard", {
      method: "POST",
      headers: sheaders,
      body: sbody,
    });
    assertEquals(s1.status, 200, await s1.clone().text());
    assertEquals((await s1.json()).results[0].targets[0].id, "linux-5.10@neoverse-n1");
    const s2 = await t.app.request("/v1/hooks/standard", {
      method: "POST",
      headers: sheaders,
      body: sbody,
    });
    assertEquals(s2.status, 409);
    await s2.body?.cancel();
    // Both deliveries' verdicts are in the ledger under the snapshot.
    const rows = (await (await t.app.request(`/v1/verdicts/${digest}`)).json()).verdicts;
    assertEquals(rows.map((r: { targets: string[] }) => r.targets), [
      ["linux-6.1@neoverse-n1"],
      ["linux-5.10@neoverse-n1"],
    ]);
  } finally {
    await t.close();
  }
  const off = await testService();
  try {
    const r = await off.app.request("/v1/hooks/github", {
      method: "POST",
      headers: { "x-github-event": "ping", "x-github-delivery": "x" },
      body: "{}",
    });
    assertEquals(r.status, 503);
    assertStringIncludes((await r.json()).detail, "ROLLSAFE_GITHUB_WEBHOOK_SECRET");
  } finally {
    await off.close();
  }
});

/** One raw HTTP/1.1 exchange, for framing fetch() will not produce. */
async function raw(url: string, head: string, body?: Uint8Array): Promise<string> {
  const u = new URL(url);
  const conn = await Deno.connect({ hostname: u.hostname, port: Number(u.port) });
  try {
    await conn.write(enc.encode(head));
    if (body) {
      // The server may answer and close before taking it all; that is the point.
      await conn.write(body).catch(() => {});
    }
    const buf = new Uint8Array(65536);
    let text = "";
    for (;;) {
      const n = await conn.read(buf).catch(() => null);
      if (n === null) break;
      text += new TextDecoder().decode(buf.subarray(0, n));
      if (/\r\n\r\n[\s\S]*\}$/.test(text)) break;
    }
    return text;
  } finally {
    try {
      conn.close();
    } catch { /* closed by the server */ }
  }
}

Deno.test({
  name: "hostile framing against a real server: huge declared length, endless chunked body",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-hostile-" });
    const server = await startServer(
      ["serve", "-A", "--host", "127.0.0.1", "--port", "0", "main.ts"],
      {
        cwd: new URL("../..", import.meta.url).pathname,
        env: {
          ROLLSAFE_DATA_DIR: dir,
          ROLLSAFE_CONFIG_DIR: dir,
          ROLLSAFE_MAX_BODY_BYTES: String(CAP),
        },
      },
    );
    try {
      const host = new URL(server.url).host;
      // 10 GB declared, nothing sent: refused at once from the header.
      const declared = await raw(
        server.url,
        `POST /v1/verdicts?${T} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
          `Content-Length: 10000000000\r\nConnection: close\r\n\r\n`,
      );
      assertStringIncludes(declared, "HTTP/1.1 413");
      assertStringIncludes(declared, "payload-too-large");
      // Chunked, twice the cap: refused once the count passes the cap.
      const chunk = new Uint8Array(50_000).fill(0x7b);
      const parts: Uint8Array[] = [];
      for (let i = 0; i < 8; i++) {
        parts.push(enc.encode(`${chunk.length.toString(16)}\r\n`), chunk, enc.encode("\r\n"));
      }
      parts.push(enc.encode("0\r\n\r\n"));
      const chunked = await raw(
        server.url,
        `POST /v1/verdicts?${T} HTTP/1.1\r\nHost: ${host}\r\nContent-Type: application/json\r\n` +
          `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
        new Uint8Array(parts.flatMap((p) => [...p])),
      );
      assertStringIncludes(chunked, "HTTP/1.1 413");
      assertStringIncludes(chunked, `exceeded the ${CAP}-byte limit`);
      // And it still serves.
      const ok = await fetch(`${server.url}/v1/verdicts?${T}`, {
        method: "POST",
        headers: json,
        body: fingerprint,
      });
      assertEquals(ok.status, 200);
      await ok.body?.cancel();
      assertEquals((await fetch(`${server.url}/healthz`).then((r) => r.json())).status, "ok");
    } finally {
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
