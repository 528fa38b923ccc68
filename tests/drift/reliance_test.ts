/**
 * Reliance rules and the counter rule, each on the QEMU 7.2 GICv3 sample (a 2-vCPU `-cpu max`
 * guest, snapshots/samples) and real profiles. Where a rule needs guest state the sample does
 * not carry (an armed timer, a VMM's redistributor save bug), the test sets exactly that state
 * and says so.
 */
import { assert, assertEquals } from "@std/assert";
import { decodeSnapshot, setRegValue, type Snapshot, sysreg } from "../../snapshots/mod.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { resolveTarget } from "../../emulator/target.ts";
import {
  analyseReliance,
  diffSides,
  driftSide,
  probeSide,
  relianceFindings,
  type RestoredTarget,
  runDrift,
} from "../../emulator/drift/mod.ts";

const SAMPLE = new URL("../../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url);
const sample = async (): Promise<Snapshot> => decodeSnapshot(await Deno.readFile(SAMPLE));

function restored(s: Snapshot, spec: string): RestoredTarget {
  const target = resolveTarget(spec);
  return { target, restore: evaluateRestore(s, target) };
}

Deno.test("reliance: SVE and pointer-auth vCPUs restored on a Neoverse-N1 host that has neither", async () => {
  const s = await sample();
  const tgt = restored(s, "linux-6.1@neoverse-n1");
  // The restore itself already fails at KVM_ARM_VCPU_INIT (the host lacks SVE and pointer auth).
  const init = tgt.restore.operations.filter((o) => o.op === "KVM_ARM_VCPU_INIT");
  assertEquals(init.map((o) => o.outcome), ["failed", "failed"]);
  const run = await runDrift(s, restored(s, "linux-6.1@qemu-tcg-max"), tgt);
  const r = analyseReliance(s, run, tgt).filter((f) =>
    f.kind === "pauth-keys" || f.kind === "sve-state"
  );
  assertEquals(r.map((f) => [f.kind, f.vcpu, f.severity]), [
    ["pauth-keys", 0, "breaking"],
    ["pauth-keys", 1, "breaking"],
    ["sve-state", 0, "breaking"],
    ["sve-state", 1, "breaking"],
  ]);
  assert(r[2].explanation.includes("created with SVE"), r[2].explanation);
  // What the guest sees says the same: SVE gone from ID_AA64PFR0_EL1 is a breaking drift.
  const pfr0 = run.findings.find((f) => f.what === "ID_AA64PFR0_EL1")!;
  assertEquals(pfr0.severity, "breaking");
  assert(pfr0.explanation.includes("SVE 1 → 0"), pfr0.explanation);
});

Deno.test("reliance: identical per-vCPU redistributor blocks (Cloud Hypervisor PR #8638 pattern)", async () => {
  const s = await sample();
  const src = restored(s, "linux-6.1@qemu-tcg-max");
  const run = await runDrift(s, src, src);
  // The sample's two redistributors differ (GICR_IGROUPR0 0x5a5a0000 / 0x5a5a0001): no finding.
  assertEquals(analyseReliance(s, run, src).filter((f) => f.kind === "redistributor-copies"), []);
  // A VMM that saved vCPU 0's redistributor for every vCPU.
  s.vcpus[1].redist = new Map(s.vcpus[0].redist);
  const same = relianceFindings({ snapshot: s, target: run.target.runs });
  assertEquals(same.map((f) => [f.kind, f.severity]), [["redistributor-copies", "notable"]]);
  // With LPIs enabled (GICR_CTLR.EnableLPIs) and one pending table for both vCPUs.
  for (const c of s.vcpus) {
    c.redist!.set(0x0, 1);
    c.redist!.set(0x78, 0x4800_0000);
    c.redist!.set(0x7c, 0);
  }
  const lpis = relianceFindings({ snapshot: s, target: run.target.runs });
  assertEquals(lpis.map((f) => [f.kind, f.severity]), [["redistributor-copies", "breaking"]]);
  assert(lpis[0].explanation.includes("GICR_PENDBASER (0x48000000)"), lpis[0].explanation);
});

Deno.test("drift + reliance: an armed timer on a target that does not restore the counter", async () => {
  const s = await sample();
  // The guest armed its virtual timer 1 s (62.5 MHz) past the saved counter.
  const TIMER_CTL = sysreg(3, 3, 14, 3, 1);
  const TIMER_CNT = sysreg(3, 3, 14, 3, 2); // KVM's name: CNTV_CVAL_EL0's encoding
  const TIMER_CVAL = sysreg(3, 3, 14, 0, 2);
  const saved = 0x10_0000_0000n;
  for (const c of s.vcpus) {
    setRegValue(c, TIMER_CTL, 1n);
    setRegValue(c, TIMER_CNT, saved);
    setRegValue(c, TIMER_CVAL, saved + 62_500_000n);
  }
  const src = restored(s, "linux-6.1@qemu-tcg-max");
  assertEquals(src.restore.effective.timer.virtualCounterRestored, true);
  const source = await probeSide(driftSide(src.target, s, src.restore.effective));
  // Stand-in for a target that drops the TIMER_CNT write: the same kernel minus that write.
  const side = driftSide(src.target, s, src.restore.effective);
  side.writes = side.writes.filter((w) => !(w.kind === "one-reg" && w.id === TIMER_CNT));
  const target = await probeSide(side);
  const run = diffSides(source, target, s.vcpus.map(() => saved));
  assertEquals(run.findings.map((f) => [f.what, f.severity]), [["CNTVCT_EL0", "breaking"]]);
  assert(
    run.findings[0].explanation.includes("saved counter 0x1000000000"),
    run.findings[0].explanation,
  );
  const timers = relianceFindings({ snapshot: s, target: run.target.runs, source: run.source.runs })
    .filter((f) => f.kind === "armed-timer");
  assertEquals(timers.map((f) => [f.vcpu, f.severity]), [[0, "breaking"], [1, "breaking"]]);
  assert(timers[0].explanation.includes("behind by"), timers[0].explanation);
  // Restored on both sides: no counter drift, no timer reliance.
  const same = await runDrift(s, src, restored(s, "linux-6.1@qemu-tcg-max"));
  assertEquals(same.findings, []);
  assertEquals(analyseReliance(s, same, src).filter((f) => f.kind === "armed-timer"), []);
});
