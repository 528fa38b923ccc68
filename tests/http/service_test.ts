/**
 * The service's own surface through app.request(): health, keys, problem documents, 404/405,
 * the OpenAPI document against the router, snapshot storage and ledger lookup, bearer auth.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { decodeSafe } from "../../cbor/mod.ts";
import { tokenHash } from "../../functions/auth.ts";
import { ROUTES } from "../../functions/app.ts";
import { PROBLEMS } from "../../functions/problem.ts";
import { FINGERPRINTS, sha256Hex, testService } from "./helpers.ts";

Deno.test("healthz says the service runs open when no token is configured", async () => {
  const t = await testService();
  try {
    const r = await t.app.request("/healthz");
    assertEquals(r.status, 200);
    const h = await r.json();
    assertEquals(h.status, "ok");
    assertEquals(h.auth, "open");
    assertStringIncludes(h.warning, "open to anyone");
    // The store, never its file-system path (issue 18: no paths on unauthenticated endpoints).
    assertEquals(h.ledger, "sqlite (file)");
    assert(!JSON.stringify(h).includes(t.dir), "no file-system path in /healthz");
    assertEquals(h.signing.dev_key, false);
    assertEquals(h.limits.maxTargets, 8);
    assertEquals(r.headers.get("x-content-type-options"), "nosniff");
    assert(r.headers.get("x-request-id"));
  } finally {
    await t.close();
  }
});

Deno.test("GET /v1/keys: COSE_KeySet by default, JWKS for application/json, 406 otherwise", async () => {
  const t = await testService();
  try {
    const signer = await t.services.signer();
    const cose = await t.app.request("/v1/keys");
    assertEquals(cose.headers.get("content-type"), "application/cose-key-set");
    const set = decodeSafe(new Uint8Array(await cose.arrayBuffer()), {
      maxBytes: 4096,
      maxDepth: 4,
      maxItems: 100,
      allowedTags: [],
    }).value as Map<number, unknown>[];
    assertEquals(set.length, 1);
    assertEquals(set[0].get(1), 1, "kty OKP (RFC 9053 §7.1)");
    assertEquals(set[0].get(-1), 6, "crv Ed25519");
    assertEquals(set[0].get(-2), signer.publicKey);
    assertEquals(new TextDecoder().decode(set[0].get(2) as Uint8Array), signer.kid);
    const jwks = await t.app.request("/v1/keys", { headers: { accept: "application/json" } });
    assertEquals(jwks.headers.get("content-type"), "application/json");
    const { keys } = await jwks.json();
    // RFC 8032 §7.1 TEST 1 public key, base64url.
    assertEquals(keys[0].x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
    assertEquals(keys[0].kid, signer.kid);
    const no = await t.app.request("/v1/keys", { headers: { accept: "text/html" } });
    assertEquals(no.status, 406);
    assertEquals((await no.json()).type, "/problems/not-acceptable");
  } finally {
    await t.close();
  }
});

Deno.test("unknown paths are 404, wrong methods 405 with Allow, problem types resolve", async () => {
  const t = await testService();
  try {
    const nf = await t.app.request("/v2/nothing");
    assertEquals(nf.status, 404);
    assertEquals(nf.headers.get("content-type"), "application/problem+json");
    const body = await nf.json();
    assertEquals(body.instance, "/v2/nothing");
    const m = await t.app.request("/v1/keys", { method: "DELETE" });
    assertEquals(m.status, 405);
    assertEquals(m.headers.get("allow"), "GET");
    for (const [slug, row] of Object.entries(PROBLEMS)) {
      const r = await t.app.request(`/problems/${slug}`);
      assertEquals((await r.json()).status, row.status);
    }
    assertEquals((await t.app.request("/problems/nope")).status, 404);
  } finally {
    await t.close();
  }
});

Deno.test("openapi.json lists exactly the routes and parameters the router checks", async () => {
  const t = await testService();
  try {
    const doc = await (await t.app.request("/openapi.json")).json();
    assertEquals(doc.openapi, "3.1.0");
    for (const r of ROUTES) {
      const op = doc.paths[r.path]?.[r.method];
      assert(op, `${r.method} ${r.path} documented`);
      assertEquals(op.operationId, r.operationId);
      for (const p of r.problems) assert(op.responses[String(PROBLEMS[p].status)], `${p} listed`);
      for (const p of r.params ?? []) {
        const d = op.parameters.find((x: { name: string }) => x.name === p.name);
        assertEquals(d.schema.pattern ?? d.schema.items?.pattern, p.pattern);
      }
      // Every documented path answers something other than 404/405 for its method.
      const concrete = r.path.replace("{digest}", "0".repeat(64)).replace("{type}", "internal")
        .replace(/\{[^}]+\}/g, "x");
      const res = await t.app.request(concrete, { method: r.method.toUpperCase() });
      assert(res.status !== 405, `${r.method} ${concrete} is routed`);
      await res.body?.cancel();
    }
  } finally {
    await t.close();
  }
});

Deno.test("POST /v1/snapshots stores a real fingerprint once; GET /v1/verdicts finds it", async () => {
  const t = await testService();
  try {
    const bytes = await Deno.readFile(FINGERPRINTS[1].url);
    const digest = await sha256Hex(bytes);
    const post = () =>
      t.app.request("/v1/snapshots", {
        method: "POST",
        body: bytes,
        headers: { "content-type": "application/json" },
      });
    const first = await post();
    assertEquals(first.status, 201);
    assertEquals((await first.json()).sha256, digest);
    assertEquals((await post()).status, 200, "second upload: already stored");
    const stored = await (await t.services.ledger()).getSnapshot(digest);
    assertEquals(stored?.bytes, bytes);
    const got = await t.app.request(`/v1/verdicts/${digest}`);
    assertEquals(await got.json(), { snapshot: digest, stored: true, verdicts: [] });
  } finally {
    await t.close();
  }
});

Deno.test("bearer tokens: required when configured, hashed, wrong ones refused", async () => {
  const token = "rs_" + "k".repeat(40);
  const t = await testService({
    ROLLSAFE_API_TOKEN_SHA256: Array.from(
      await tokenHash(token),
      (b) => b.toString(16).padStart(2, "0"),
    ).join(""),
  });
  try {
    const bytes = await Deno.readFile(FINGERPRINTS[0].url);
    const send = (auth?: string) =>
      t.app.request("/v1/snapshots", {
        method: "POST",
        body: bytes,
        headers: { "content-type": "application/json", ...(auth ? { authorization: auth } : {}) },
      });
    const none = await send();
    assertEquals(none.status, 401);
    assertEquals(none.headers.get("www-authenticate"), 'Bearer realm="rollsafe"');
    const wrong = await send("Bearer rs_" + "j".repeat(40));
    assertEquals(wrong.status, 401);
    assertStringIncludes(wrong.headers.get("www-authenticate")!, 'error="invalid_token"');
    const bad = await send("Basic abc");
    assertStringIncludes(bad.headers.get("www-authenticate")!, 'error="invalid_request"');
    assertEquals((await send(`bearer ${token}`)).status, 201);
    assertEquals((await (await t.app.request("/healthz")).json()).auth, "bearer");
    // Reads stay open.
    assertEquals((await t.app.request("/v1/keys")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("GET / is the upload page, restricted to its own script and this origin", async () => {
  const t = await testService();
  try {
    const r = await t.app.request("/");
    assertEquals(r.status, 200);
    assertEquals(r.headers.get("content-type"), "text/html; charset=utf-8");
    assertStringIncludes(r.headers.get("content-security-policy")!, "connect-src 'self'");
    const html = await r.text();
    // The page posts where the API takes uploads and lists targets from where the API lists them.
    assertStringIncludes(html, '"v1/verdicts?"');
    assertStringIncludes(html, '"v1/profiles"');
    assertStringIncludes(html, 'accept: "application/json"');
  } finally {
    await t.close();
  }
});

Deno.test("a GICv2 snapshot onto a GICv3-only host is a signed not-restorable verdict (ENODEV), not a 500", async () => {
  const t = await testService();
  try {
    const body = await Deno.readFile(
      new URL("../../snapshots/samples/qemu-virt-gicv2-cortex-a57-smp2.cbor", import.meta.url),
    );
    const r = await t.app.request(
      "/v1/verdicts?target=linux-6.1@qemu-tcg-max&source=linux-6.1@qemu-a57-gicv2",
      {
        method: "POST",
        body,
        headers: { "content-type": "application/cbor", accept: "application/json" },
      },
    );
    assertEquals(r.status, 200, await r.clone().text());
    const j = await r.json();
    const target = j.verdict.targets[0];
    assertEquals(target.restorable, false);
    const create = target.operations.find((o: { op: string }) => o.op === "KVM_CREATE_DEVICE");
    assertEquals(create.errno, "ENODEV");
  } finally {
    await t.close();
  }
});
