/**
 * multipart/form-data uploads carrying the caller's own kernel profile and host: the targets may
 * name them, the signed verdict pins their content digests, and a malformed one is a 422 naming
 * the part, the key and the rule.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { addUserHost, addUserProfile, emptyContext } from "../../emulator/target.ts";
import { profileCanonical } from "../../emulator/profiles/loader.ts";
import { hostCanonical } from "../../emulator/hosts/loader.ts";
import { FINGERPRINTS, sha256Hex, testService } from "./helpers.ts";

const SRC = { cite: "our fleet: hostprobe capture 2026-11-20", confidence: "V" };
const PROFILE = {
  id: "fleet-6.1",
  kind: "vendor",
  title: "our 6.1 build with the physical timer registers backported",
  base: "linux-6.1",
  differences: [{ fact: "regs.ptimer", value: { when: "always" }, source: SRC, why: "backported" }],
};
const HOST = {
  id: "graviton-x",
  title: "a fleet host",
  facts: {
    midr: { value: "0x413fd0c1", source: SRC },
    "gic.version": { value: "v3", source: SRC },
    "gic.priBits": { value: 5, source: SRC },
    "gic.idBits": { value: 16, source: SRC },
  },
};

function form(parts: [string, string | Blob][]): Request {
  const f = new FormData();
  for (const [k, v] of parts) f.append(k, v);
  return new Request("http://x/", { method: "POST", body: f });
}

async function post(
  app: { request: (p: string, i: RequestInit) => Response | Promise<Response> },
  q: string,
  parts: [string, string | Blob][],
) {
  const req = form(parts);
  return await app.request(`/v1/verdicts?${q}`, {
    method: "POST",
    body: new Uint8Array(await req.arrayBuffer()),
    headers: { "content-type": req.headers.get("content-type")!, accept: "application/json" },
  });
}

Deno.test("a multipart upload's own profile and host are targets, pinned by digest", async () => {
  const t = await testService();
  const fp = await Deno.readFile(FINGERPRINTS[1].url);
  try {
    const r = await post(t.app, "target=fleet-6.1@neoverse-n1&target=linux-6.1@graviton-x", [
      ["snapshot", new Blob([fp], { type: "application/json" })],
      ["profile", JSON.stringify(PROFILE)],
      ["host", new Blob([JSON.stringify(HOST)], { type: "application/json" })],
    ]);
    assertEquals(r.status, 200, await r.clone().text());
    const v = (await r.json()).verdict;
    assertEquals(v.snapshot.sha256, await sha256Hex(fp));
    const ctx = emptyContext();
    const host = addUserHost(ctx, HOST, "h");
    const profile = addUserProfile(ctx, PROFILE, "p");
    const [a, b] = v.targets;
    assertEquals(a.id, "fleet-6.1@neoverse-n1");
    assertEquals(
      a.profile.sha256,
      await sha256Hex(new TextEncoder().encode(profileCanonical(profile))),
    );
    assertEquals(b.id, "linux-6.1@graviton-x");
    assertEquals(b.host.sha256, await sha256Hex(new TextEncoder().encode(hostCanonical(host))));
  } finally {
    await t.close();
  }
});

Deno.test("multipart mistakes: bad profile 422, unknown part and missing snapshot 400", async () => {
  const t = await testService();
  const fp = new Blob([await Deno.readFile(FINGERPRINTS[1].url)], { type: "application/json" });
  try {
    const bad = await post(t.app, "target=fleet-6.1@neoverse-n1", [
      ["snapshot", fp],
      ["profile", JSON.stringify({ ...PROFILE, base: "linux-9.9" })],
    ]);
    assertEquals(bad.status, 422);
    const p = await bad.json();
    assertEquals(p.type, "/problems/invalid-profile");
    assertStringIncludes(p.detail, "profile[0]");
    assertStringIncludes(p.detail, "linux-9.9");
    const notJson = await post(t.app, "target=linux-6.1@neoverse-n1", [
      ["snapshot", fp],
      ["host", "{nope"],
    ]);
    assertEquals((await notJson.json()).where, "host[0]");
    const extra = await post(t.app, "target=linux-6.1@neoverse-n1", [["snapshot", fp], ["x", "1"]]);
    assertEquals(extra.status, 400);
    assertStringIncludes((await extra.json()).detail, 'part "x"');
    const none = await post(t.app, "target=linux-6.1@neoverse-n1", [["profile", "{}"]]);
    assertStringIncludes((await none.json()).detail, "exactly one snapshot part, got 0");
    // Without the profile part the same target is unknown.
    const missing = await post(t.app, "target=fleet-6.1@neoverse-n1", [["snapshot", fp]]);
    assertEquals((await missing.json()).type, "/problems/unknown-target");
  } finally {
    await t.close();
  }
});
