/**
 * The fuzz corpus and every crash `deno task fuzz` ever kept, replayed through the same entry
 * points (fuzz/targets.ts): each must be answered or refused the documented way, within the
 * row's time limit. A crash file stays here after its fix, as its regression test.
 */
import { assert } from "@std/assert";
import { runOne, TARGETS } from "../../fuzz/targets.ts";
import { storedInputs } from "../../fuzz/run.ts";

for (const t of TARGETS) {
  Deno.test(`fuzz corpus and kept crashes: ${t.name}`, async () => {
    const inputs = [
      ...(await storedInputs("corpus", t.name)).map((b) => ["corpus", b] as const),
      ...(await storedInputs("crashes", t.name)).map((b) => ["crash", b] as const),
    ];
    for (const [kind, bytes] of inputs) {
      const t0 = performance.now();
      const r = await runOne(t, bytes);
      const ms = performance.now() - t0;
      assert(r.crash === undefined, `${t.name} ${kind} input (${bytes.length} bytes): ${r.crash}`);
      assert(ms < t.limitMs, `${t.name} ${kind} input: ${ms.toFixed(0)} ms`);
    }
  });
}
