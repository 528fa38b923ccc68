// The restore model against what the real Debian kernels answered (committed by
// `deno task oracle:predictions`): every Neoverse N1, V1 and V2 fingerprint restored the way
// Firecracker does on debian-6.1 and debian-6.12 (QEMU max host, nested), re-evaluated now, must
// predict every operation's real result. Fast: no boot; the live check is
// replay_vs_prediction_test.ts.
import { assert, assertEquals } from "@std/assert";
import {
  FIXTURE_DIR,
  predictionCases,
  type PredictionFixture,
  predictionFixtureName,
} from "../../hostprobe/fixtures.ts";
import { disagreements } from "../../hostprobe/predict.ts";
import { toPlan } from "../../hostprobe/toplan.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { resolveTarget } from "../../emulator/target.ts";
import type { ReplayResult } from "../../hostprobe/plan.ts";
import type { KernelName } from "../../hostprobe/oracle.ts";

const FILES = [...Deno.readDirSync(FIXTURE_DIR)].map((e) => e.name)
  .filter((n) => n.endsWith(".predictions.json")).sort();

Deno.test("prediction fixtures exist for both kernels on every captured CPU model", () => {
  for (const k of ["debian-6.1", "debian-6.12"] as KernelName[]) {
    assert(FILES.includes(predictionFixtureName(k)), `${predictionFixtureName(k)} is committed`);
  }
});

for (const file of FILES) {
  Deno.test(`every prediction equals the real result: ${file} (N1, V1, V2 fingerprints)`, async (t) => {
    const f = JSON.parse(await Deno.readTextFile(`${FIXTURE_DIR}${file}`)) as PredictionFixture;
    const kernel = f.kernel.name;
    const target = resolveTarget(f.target);
    const who = `${f.kernel.package} ${f.kernel.version} on ${f.target}, captured ${
      f.capturedAt.slice(0, 10)
    }`;
    let failures = 0;
    for (const c of predictionCases()) {
      await t.step(c.name, () => {
        const stored = f.cases[c.name];
        assert(stored, `${c.name}: not in the fixture; run deno task oracle:predictions ${kernel}`);
        const result = evaluateRestore(c.snapshot, target, { vmm: c.vmm });
        const plan = toPlan(result);
        // the same plan as the one replayed, operation for operation
        assertEquals(
          plan.ops.map((o) => o.op),
          stored.real.map((r) => r.op),
          `${c.name}: the model now plans other operations than were replayed on ${who}; ` +
            `refresh with deno task oracle:predictions`,
        );
        const d = disagreements(result, plan.planIndex, stored.real as ReplayResult[]);
        failures += d.length;
        assertEquals(d, [], `${c.name} on ${who}`);
        assert(
          plan.planIndex.filter((i) => i >= 0).length > 200,
          "the register restore is compared",
        );
      });
    }
    // not vacuous: the real kernels refused some of these restores
    assert(
      Object.values(f.cases).some((c) => c.real.some((r) => r.result !== "ok")),
      "some real result is a refusal",
    );
    assertEquals(failures, 0);
  });
}
