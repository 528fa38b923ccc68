/**
 * Crash safety, the short form of `deno task soak`: a real server under concurrent valid and
 * hostile uploads is killed with SIGKILL halfway and restarted on the same ledger; every verdict
 * it acknowledged before or after must be listed exactly once and verify, nothing may answer
 * 5xx (other than 503 worker-lost for its own request), and the sqlite file must pass
 * integrity_check. The same against PostgreSQL where a test database runs.
 */
import { assert, assertEquals } from "@std/assert";
import { runSoak, type SoakFigures } from "../../bench/soak.ts";
import { oracleTest, POSTGRES } from "../support/oracle.ts";

function check(f: SoakFigures, store: string): void {
  const fivexx = Object.entries(f.byStatus)
    .filter(([s]) => Number(s) >= 500 && Number(s) !== 503)
    .reduce((a, [, n]) => a + n, 0);
  const summary = `${store}: ${JSON.stringify(f)}`;
  assertEquals(f.byStatus.timeout ?? 0, 0, `every request answered: ${summary}`);
  assertEquals(fivexx, 0, `no 5xx: ${summary}`);
  assertEquals(f.restarts, 1, summary);
  assert(f.requests > 0, summary);
  assertEquals(f.lost, 0, `no acknowledged verdict lost: ${summary}`);
  assertEquals(f.duplicated, 0, summary);
  assertEquals(f.listedOnce, f.acknowledged, summary);
  assertEquals(f.verified, f.acknowledged, summary);
}

Deno.test("SIGKILL mid-load loses no acknowledged verdict (sqlite ledger intact)", async () => {
  const f = await runSoak({ seconds: 16, clients: 8, store: "sqlite", kill: true, log: () => {} });
  check(f, "sqlite");
  assertEquals(f.integrity, "ok");
});

oracleTest({
  name: "SIGKILL mid-load loses no acknowledged verdict (PostgreSQL ledger)",
  needs: [POSTGRES],
  fn: async () => {
    const f = await runSoak({
      seconds: 16,
      clients: 8,
      store: "postgres",
      kill: true,
      databaseUrl: Deno.env.get("ROLLSAFE_TEST_DATABASE_URL")!,
      log: () => {},
    });
    check(f, "postgres");
  },
});
