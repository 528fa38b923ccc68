/**
 * The ledger contract, run against both stores: node:sqlite in a temporary directory, and a real
 * PostgreSQL server (ROLLSAFE_TEST_DATABASE_URL, started by .ci/postgres). Digests are of random
 * bytes, so runs against a shared database never collide with earlier rows.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { oracleTest, POSTGRES } from "../support/oracle.ts";
import { type Ledger, LedgerError } from "../../functions/ledger/mod.ts";
import { FINGERPRINTS, testService } from "./helpers.ts";
import { SqliteLedger } from "../../functions/ledger/sqlite.ts";
import { PostgresLedger } from "../../functions/ledger/postgres.ts";

async function hexSha256(b: Uint8Array<ArrayBuffer>): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

function random(n: number): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(n);
  for (let at = 0; at < n; at += 65536) crypto.getRandomValues(out.subarray(at, at + 65536));
  return out;
}

async function contract(ledger: Ledger): Promise<void> {
  const snap = random(70_000); // above SQLite's and PostgreSQL's inline-page sizes
  const digest = await hexSha256(snap);
  const stored = { sha256: digest, contentType: "application/cbor", bytes: snap, storedAt: 1 };
  assertEquals(await ledger.putSnapshot(stored), true);
  assertEquals(
    await ledger.putSnapshot({ ...stored, contentType: "text/plain", storedAt: 2 }),
    false,
    "second put of the same digest is refused",
  );
  const back = await ledger.getSnapshot(digest);
  assertEquals(back?.bytes, snap);
  assertEquals(back?.contentType, "application/cbor", "the first row stays");
  assertEquals(back?.storedAt, 1);
  assertEquals(await ledger.getSnapshot(await hexSha256(random(8))), undefined);

  const cose1 = random(300);
  const cose2 = random(300);
  const v1 = {
    sha256: await hexSha256(cose1),
    snapshot: digest,
    targets: ["linux-6.1@neoverse-n1", "linux-5.10@neoverse-n1"],
    status: "fail",
    issuedAt: 1_790_000_000,
    cose: cose1,
  };
  const v2 = {
    ...v1,
    sha256: await hexSha256(cose2),
    targets: ["linux-6.1@neoverse-n1"],
    cose: cose2,
  };
  assertEquals(await ledger.putVerdict(v1), true);
  assertEquals(await ledger.putVerdict(v1), false, "the same verdict twice is stored once");
  assertEquals(await ledger.putVerdict(v2), true);

  const all = await ledger.verdicts(digest);
  assertEquals(all.map((v) => v.sha256), [v1.sha256, v2.sha256], "issue order");
  assertEquals(all[0], v1);
  const only510 = await ledger.verdicts(digest, "linux-5.10@neoverse-n1");
  assertEquals(only510.map((v) => v.sha256), [v1.sha256]);
  assertEquals(await ledger.verdicts(digest, "linux-6.18@neoverse-n1"), []);
  assertEquals(await ledger.verdicts(await hexSha256(random(8))), []);

  const delivery = crypto.randomUUID();
  assertEquals(await ledger.claimDelivery("github", delivery, 5), true);
  assertEquals(await ledger.claimDelivery("github", delivery, 6), false, "a replay");
  assertEquals(await ledger.claimDelivery("standard", delivery, 6), true, "sources are separate");
}

Deno.test("ledger contract on node:sqlite, persisted across reopen", async () => {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-ledger-" });
  const path = `${dir}/nested/ledger.sqlite3`;
  try {
    const ledger = new SqliteLedger(path);
    await contract(ledger);
    await ledger.close();
    const reopened = new SqliteLedger(path);
    const stat = await Deno.stat(path);
    assert(stat.size > 70_000, "the snapshot bytes are in the file");
    // A second contract run on the reopened file adds rows beside the first run's.
    await contract(reopened);
    await reopened.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

oracleTest({
  name: "ledger contract on PostgreSQL",
  needs: [POSTGRES],
  // postgres.js keeps timers for idle connections until end(); close() ends them.
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const url = Deno.env.get("ROLLSAFE_TEST_DATABASE_URL")!;
    const ledger = await PostgresLedger.open(url);
    try {
      assert(!ledger.describe.includes("rollsafe@"), "no password in describe");
      await contract(ledger);
      // Schema creation is idempotent: a second instance opens the same tables.
      const second = await PostgresLedger.open(url);
      await contract(second);
      await second.close();
    } finally {
      await ledger.close();
    }
  },
});

Deno.test("a ledger that fails mid-flight is a 503 ledger-unavailable naming the operation", async () => {
  const t = await testService();
  try {
    await (await t.services.ledger()).close();
    const r = await t.app.request("/v1/snapshots", {
      method: "POST",
      body: await Deno.readFile(FINGERPRINTS[0].url),
      headers: { "content-type": "application/json" },
    });
    assertEquals(r.status, 503);
    const p = await r.json();
    assertEquals(p.type, "/problems/ledger-unavailable");
    assertStringIncludes(p.detail, "storing a snapshot failed");
    assertEquals((await t.app.request(`/v1/verdicts/${"0".repeat(64)}`)).status, 503);
  } finally {
    await t.close();
  }
});

oracleTest({
  name: "PostgreSQL: operations on a closed connection are LedgerErrors",
  needs: [POSTGRES],
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const ledger = await PostgresLedger.open(Deno.env.get("ROLLSAFE_TEST_DATABASE_URL")!);
    await ledger.close();
    const e = await assertRejects(() => ledger.verdicts("0".repeat(64)), LedgerError);
    assertStringIncludes(e.message, "listing verdicts failed");
  },
});
