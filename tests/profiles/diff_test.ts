/**
 * `profiles diff` explains every difference between two real dumps: each register only on one
 * side and each changed value of the Neoverse-N1 fingerprints appears as a row with at least one
 * cited cause, and nothing is left unexplained.
 */
import { assert, assertEquals } from "@std/assert";
import { resolveTarget } from "../../emulator/target.ts";
import { diffTargets, renderDiff } from "../../emulator/profile_diff.ts";
import { hex } from "../../snapshots/kvm/ids.ts";
import { fingerprintValues } from "../restore/helpers.ts";

function dumpDiff(a: string, b: string): Map<string, string> {
  const va = fingerprintValues(a);
  const vb = fingerprintValues(b);
  const out = new Map<string, string>();
  for (const id of new Set([...va.keys(), ...vb.keys()])) {
    const x = va.get(id);
    const y = vb.get(id);
    if (x === undefined) out.set(hex(id), "only-in-b");
    else if (y === undefined) out.set(hex(id), "only-in-a");
    else if (x !== y) out.set(hex(id), "value");
  }
  return out;
}

for (
  const [ka, pa, kb, pb, n] of [
    ["5.10", "amzn2-5.10", "6.1", "amzn2023-6.1", 81],
    ["6.1", "amzn2023-6.1", "6.18", "amzn2023-6.18", 20],
  ] as const
) {
  Deno.test(`profiles diff ${pa} → ${pb} explains every difference between the two real dumps`, () => {
    const real = dumpDiff(ka, kb);
    assertEquals(real.size, n, "differences between the dumps themselves");
    const d = diffTargets(resolveTarget(`${pa}@neoverse-n1`), resolveTarget(`${pb}@neoverse-n1`));
    const rows = new Map(d.rows.filter((r) => r.id).map((r) => [r.id!, r]));
    for (const [id, kind] of real) {
      const r = rows.get(id);
      assert(r, `${id} (${kind}) missing from the diff`);
      assertEquals(r.kind, kind, id);
      assert(r.explained && r.causes.length > 0, `${id} unexplained`);
      for (const c of r.causes) assert(c.source.cite.length > 0);
    }
    assertEquals(d.unexplained, 0);
    assert(renderDiff(d).endsWith("unexplained: 0"));
  });
}

Deno.test("profiles diff of a vendor build against its upstream base shows the backport and its evidence", () => {
  const d = diffTargets(
    resolveTarget("linux-6.1@neoverse-n1"),
    resolveTarget("amzn2023-6.1@neoverse-n1"),
  );
  assertEquals(d.rows.filter((r) => r.kind === "fact").map((r) => r.what), ["regs.ptimer"]);
  assertEquals(
    d.rows.filter((r) => r.kind === "only-in-b").map((r) => r.what),
    ["KVM_REG_ARM_PTIMER_CNT", "KVM_REG_ARM_PTIMER_CTL", "KVM_REG_ARM_PTIMER_CVAL"],
  );
  assertEquals(d.unexplained, 0);
});
