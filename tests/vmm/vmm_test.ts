/**
 * The VMM referee's committed cases (tests/fixtures/vmm/, `deno task oracle vmm`): every case's
 * stream is the one QEMU/KVM saved, and rollsafe's verdict on it agrees with what QEMU/KVM did
 * on the target kernel (agree.ts); the table in hostprobe/README.md is what the fixtures give.
 */
import { assert, assertEquals } from "@std/assert";
import { FIXTURES, judge, KNOWN, loadFixtures, readStream } from "./agree.ts";
import { BEGIN, END, README, renderTable } from "./table.ts";

const fixtures = await loadFixtures();

Deno.test("vmm fixtures: the committed cases, each with its stream, kernels and QEMU's output", async () => {
  assert(fixtures.length > 0, `no cases in ${FIXTURES}`);
  for (const f of fixtures) {
    const bytes = await readStream(f);
    const d = await crypto.subtle.digest("SHA-256", bytes as BufferSource);
    const sha = [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
    assertEquals([bytes.length, sha], [f.stream.bytes, f.stream.sha256], f.case);
    assert(f.source.kernel.version && f.target.kernel.version, `${f.case}: kernel versions`);
    assert(Object.keys(f.observed.before).length > 50, `${f.case}: the guest's observations`);
    // restored means QEMU loaded the stream and the guest printed its observations again
    assertEquals(f.restored, Object.keys(f.observed.after).length > 0, f.case);
    if (!f.restored) assert(f.target.restore.stderr.length > 0, `${f.case}: QEMU said why`);
  }
});

const judged = await Promise.all(fixtures.map((f) => judge(f)));

/**
 * Disagreements that are known and owned (known-disagreements.json: case → the exact
 * disagreement lines, and which part of the model is wrong). A case must disagree in exactly
 * those lines: a new disagreement fails, and so does a fixed one until its entry is removed.
 */
const known = JSON.parse(
  await Deno.readTextFile(`${FIXTURES}${KNOWN}`),
) as { cases: Record<string, { disagreements: string[]; model: string }> };

for (const j of judged) {
  Deno.test(`vmm ${j.fixture.case}: rollsafe agrees with QEMU/KVM (${j.qemu})`, () => {
    assertEquals(
      j.disagreements,
      known.cases[j.fixture.case]?.disagreements ?? [],
      `${j.fixture.case}: ${j.verdict}`,
    );
  });
}

Deno.test("vmm: every known disagreement names a committed case", () => {
  for (const c of Object.keys(known.cases)) {
    assert(fixtures.some((f) => f.case === c), `known-disagreements.json: no case ${c}`);
  }
});

Deno.test("vmm: the table in hostprobe/README.md is current (deno task vmm:table)", async () => {
  const readme = await Deno.readTextFile(README);
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  assert(a >= 0 && b > a, "hostprobe/README.md has the vmm table markers");
  // deno fmt pads the cells; compare cell by cell
  const cells = (t: string) =>
    t.trim().split("\n").map((l) =>
      l.split("|").map((c) => c.trim().replace(/^-+$/, "---")).join("|")
    );
  assertEquals(cells(readme.slice(a + BEGIN.length, b)), cells(renderTable(judged)));
});
