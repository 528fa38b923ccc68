/**
 * The ledger side of issue 18 on both stores: delivery leases (a run in progress holds its
 * delivery, a finished one is recorded, a failed or dead one can run again) and cursor pages.
 */
import { assertEquals } from "@std/assert";
import type { Ledger } from "../../functions/ledger/mod.ts";
import { SqliteLedger } from "../../functions/ledger/sqlite.ts";
import { oracleTest, POSTGRES } from "../support/oracle.ts";
import { sha256Hex } from "./helpers.ts";

async function contract(ledger: Ledger): Promise<void> {
  const id = crypto.randomUUID();
  const a = await ledger.leaseDelivery("github", id, 1000, 60);
  assertEquals(a.state, "leased");
  assertEquals(await ledger.leaseDelivery("github", id, 1001, 60), { state: "busy", until: 1060 });
  // A failed run drops its lease: the retry runs.
  await ledger.endLease("github", id, (a as { token: string }).token, false, 1002);
  const b = await ledger.leaseDelivery("github", id, 1003, 60);
  assertEquals(b.state, "leased");
  // Ending someone else's lease does nothing.
  await ledger.endLease("github", id, "not-the-token", true, 1004);
  assertEquals((await ledger.leaseDelivery("github", id, 1005, 60)).state, "busy");
  // Done: recorded as processed; every later lease says so, as does claimDelivery.
  await ledger.endLease("github", id, (b as { token: string }).token, true, 1006);
  assertEquals(await ledger.leaseDelivery("github", id, 1007, 60), { state: "done" });
  assertEquals(await ledger.claimDelivery("github", id, 1008), false);
  // A lease left by a dead run expires.
  const dead = crypto.randomUUID();
  assertEquals((await ledger.leaseDelivery("standard", dead, 2000, 30)).state, "leased");
  assertEquals((await ledger.leaseDelivery("standard", dead, 2031, 30)).state, "leased");

  // Pages: 7 verdicts, pages of 3 through the cursor, in issue order; a filter pages too.
  const snapshot = await sha256Hex(crypto.getRandomValues(new Uint8Array(16)));
  const made: string[] = [];
  for (let i = 0; i < 7; i++) {
    const cose = crypto.getRandomValues(new Uint8Array(40));
    const sha256 = await sha256Hex(cose);
    made.push(sha256);
    await ledger.putVerdict({
      sha256,
      snapshot,
      targets: i < 4 ? ["linux-6.1@neoverse-n1"] : ["linux-5.10@neoverse-n1"],
      status: "pass",
      issuedAt: 1_790_000_000 + i,
      cose,
    });
  }
  const seen: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await ledger.verdicts(snapshot, undefined, { after, limit: 3 });
    seen.push(...page.map((v) => v.sha256));
    if (page.length < 3) break;
    after = page[page.length - 1].sha256;
  }
  assertEquals(seen, made);
  const filtered = await ledger.verdicts(snapshot, "linux-5.10@neoverse-n1", {
    after: made[4],
    limit: 10,
  });
  assertEquals(filtered.map((v) => v.sha256), made.slice(5));
  assertEquals(await ledger.verdicts(snapshot, undefined, { after: "f".repeat(64) }), []);
  assertEquals((await ledger.verdicts(snapshot, undefined, { limit: 1_000_000 })).length, 7);
  assertEquals(await ledger.hasSnapshot(snapshot), false);
}

Deno.test("delivery leases and cursor pages on node:sqlite", async () => {
  const ledger = new SqliteLedger(":memory:");
  try {
    await contract(ledger);
  } finally {
    await ledger.close();
  }
});

oracleTest({
  name: "delivery leases and cursor pages on PostgreSQL",
  needs: [POSTGRES],
  fn: async () => {
    const { PostgresLedger } = await import("../../functions/ledger/postgres.ts");
    const ledger = await PostgresLedger.open(Deno.env.get("ROLLSAFE_TEST_DATABASE_URL")!);
    try {
      await contract(ledger);
    } finally {
      await ledger.close();
    }
  },
});
