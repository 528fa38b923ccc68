/**
 * Profiles, hosts and diff over HTTP give the same data as the functions the CLI uses, and
 * unknown ids are precise 404/422 problems.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { resolveProfile } from "../../emulator/profiles/loader.ts";
import { diffTargets } from "../../emulator/profile_diff.ts";
import { resolveTarget } from "../../emulator/target.ts";
import { testService } from "./helpers.ts";

Deno.test("GET /v1/profiles and /v1/profiles/{id} carry the profile digests and facts", async () => {
  const t = await testService();
  try {
    const list = await (await t.app.request("/v1/profiles")).json();
    const l61 = list.profiles.find((p: { id: string }) => p.id === "linux-6.1");
    assertEquals(l61.digest, resolveProfile("linux-6.1").digest);
    assert(list.targets.includes("linux-6.1@neoverse-n1"));
    assert(list.hosts.some((h: { id: string }) => h.id === "neoverse-n1"));
    const one = await (await t.app.request("/v1/profiles/linux-6.1+iidr-rev1")).json();
    assertEquals(one.profile.id, "linux-6.1+iidr-rev1");
    assertEquals(one.profile.digest, resolveProfile("linux-6.1+iidr-rev1").digest);
    const missing = await t.app.request("/v1/profiles/linux-9.9");
    assertEquals(missing.status, 404);
    assertStringIncludes((await missing.json()).detail, 'unknown kernel profile "linux-9.9"');
    const hosts = await (await t.app.request("/v1/hosts")).json();
    assert(hosts.hosts.find((h: { id: string }) => h.id === "neoverse-n1").facts);
  } finally {
    await t.close();
  }
});

Deno.test("GET /v1/diff: 5.10 → 6.1 rows are diffTargets' rows (hypercall bitmap among them)", async () => {
  const t = await testService();
  try {
    const from = "linux-5.10@neoverse-n1";
    const to = "linux-6.1@neoverse-n1";
    const r = await t.app.request(`/v1/diff?from=${from}&to=${to}`);
    assertEquals(r.status, 200);
    const d = await r.json();
    assertEquals(
      d,
      JSON.parse(JSON.stringify(diffTargets(resolveTarget(from), resolveTarget(to)))),
    );
    // KVM_REG_ARM_STD_BMAP (firmware pseudo-register bitmap 0) does not exist on 5.10; the
    // profile data cites the commit that documents it.
    const bmap = d.rows.find((x: { what: string }) => x.what === "bitmap.0");
    assertEquals(bmap.a, "(absent)");
    assertStringIncludes(bmap.causes[0].source.cite, "fa246c68a04d");
    const bad = await t.app.request(`/v1/diff?from=${from}&to=linux-6.1@nosuchcpu`);
    assertEquals(bad.status, 422);
    const p = await bad.json();
    assertEquals(p.type, "/problems/unknown-target");
    assertEquals(p.where, "to");
    assertEquals((await t.app.request(`/v1/diff?from=${from}`)).status, 400);
  } finally {
    await t.close();
  }
});
