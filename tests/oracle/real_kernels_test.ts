// The referee itself: boot each Debian arm64 kernel under QEMU nested virtualization once, run a
// capture and the Neoverse-N1 fingerprint replays, and hold the answers against the committed
// fixtures (tests/fixtures/oracle/) and the settled facts. One boot per kernel (~10-20 s).
import { assertEquals } from "@std/assert";
import { DEBIAN_ARM64_KERNELS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { captureToDocument, type Doc, leaves } from "../../hostprobe/capture.ts";
import {
  fingerprintPlans,
  FIXTURE_DIR,
  readFixture,
  type ReplayFact,
  replayFacts,
  stableDifferences,
} from "../../hostprobe/fixtures.ts";
import { bootAndRun, type KernelName } from "../../hostprobe/oracle.ts";
import { SETTLED_FACTS } from "./settled_facts.ts";

function factValue(doc: Doc, path: string): unknown {
  const v = leaves(doc).get(path);
  return v === undefined ? "absent" : v;
}

for (const kernel of ["debian-6.1", "debian-6.12"] as KernelName[]) {
  Deno.test(`settled facts agree with the committed ${kernel} fixture`, async () => {
    const f = await readFixture(kernel);
    for (const row of SETTLED_FACTS) {
      assertEquals(factValue(f.capture, row.path), row[kernel as "debian-6.1"], row.fact);
    }
  });

  oracleTest({
    name: `real kernel ${kernel}: capture and fingerprint replays match the fixtures`,
    needs: [QEMU_SYSTEM, DEBIAN_ARM64_KERNELS],
    fn: async (t) => {
      const fixture = await readFixture(kernel);
      const replayFixture = JSON.parse(
        await Deno.readTextFile(`${FIXTURE_DIR}${kernel}.replays.json`),
      ) as { replays: Record<string, ReplayFact[]> };
      const plans = await fingerprintPlans();
      const run = await bootAndRun({ kernel, captures: 1, plans, timeoutMs: 300_000 });
      const who =
        `${run.kernel.package} ${run.kernel.version} (fixture: ${fixture.kernel.package} ` +
        `${fixture.kernel.version}); regenerate with \`deno task oracle fixtures ${kernel}\` ` +
        "if the kernel build changed";
      console.error(`${kernel}: ${run.kernel.package} ${run.kernel.version}, ${run.seconds} s`);
      const doc = captureToDocument(run.captures[0]);

      await t.step("every settled fact holds", () => {
        for (const row of SETTLED_FACTS) {
          assertEquals(
            factValue(doc, row.path),
            row[kernel as "debian-6.1"],
            `${row.fact} (${who})`,
          );
        }
      });

      await t.step("the capture equals the fixture on every stable leaf", () => {
        const diffs = stableDifferences(fixture, doc);
        const shown = diffs.slice(0, 40).map((d) =>
          `  ${d.path}: fixture ${JSON.stringify(d.expected)}, kernel ${JSON.stringify(d.actual)}`
        );
        assertEquals(diffs.length, 0, `${diffs.length} differences, ${who}:\n${shown.join("\n")}`);
      });

      await t.step("each fingerprint replay reports every operation, as recorded", () => {
        for (const p of plans) {
          const got = replayFacts(run.replays[p.name]);
          const ops = p.text.split("\n").filter((l) => l && !l.startsWith("#")).length;
          assertEquals(got.length, ops, `${p.name}: one result per operation`);
          const want = replayFixture.replays[p.name];
          const diffs = got.flatMap((g, i) =>
            JSON.stringify(g) === JSON.stringify(want[i])
              ? []
              : [`  op ${i}: fixture ${JSON.stringify(want[i])}, kernel ${JSON.stringify(g)}`]
          );
          assertEquals(diffs.length, 0, `${p.name}: ${who}:\n${diffs.slice(0, 40).join("\n")}`);
        }
      });
    },
  });
}
