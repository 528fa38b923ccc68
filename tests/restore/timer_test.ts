/** Timer restores: physical-timer registers before 6.4, the counter-offset ioctl, CNT writes after it. */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { resolveTarget } from "../../emulator/target.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { newVcpu, setRegValue, type Snapshot, VCPU_FEATURE } from "../../snapshots/model.ts";

const TIMER_CNT = 0x603000000013df1an;
const PTIMER_CTL = 0x603000000013df11n;
const PTIMER_CVAL = 0x603000000013df12n;

function timerSnapshot(counterOffset?: bigint): Snapshot {
  const v = newVcpu(0x80000000n);
  v.features = [VCPU_FEATURE.PSCI_0_2];
  setRegValue(v, TIMER_CNT, 0x123456789n);
  setRegValue(v, PTIMER_CTL, 1n);
  setRegValue(v, PTIMER_CVAL, 0x2000n);
  return {
    vm: { caps: [], smcccFilter: [], counterOffset, extra: new Map() },
    vcpus: [v],
    extra: new Map(),
  };
}

Deno.test("physical-timer registers onto Debian 6.1 (before 6.4) are ENOENT", () => {
  const r = evaluateRestore(timerSnapshot(), resolveTarget("debian-6.1@neoverse-n1"), {
    vmm: "generic",
  });
  const pt = r.operations.filter((o) =>
    o.id === "0x603000000013df11" || o.id === "0x603000000013df12"
  );
  assertEquals(pt.map((o) => [o.name, o.outcome, o.errno]), [
    ["KVM_REG_ARM_PTIMER_CTL", "failed", "ENOENT"],
    ["KVM_REG_ARM_PTIMER_CVAL", "failed", "ENOENT"],
  ]);
  assertStringIncludes(pt[0].reason, "upstream lists it from 6.4");
  assertEquals(r.operations.find((o) => o.id === "0x603000000013df1a")?.outcome, "ok");
  assertEquals(r.effective.timer.virtualCounterRestored, true);
});

Deno.test("CNT written after KVM_ARM_SET_COUNTER_OFFSET is ignored (6.4+)", () => {
  const r = evaluateRestore(timerSnapshot(0x1000n), resolveTarget("linux-6.6@neoverse-n1"), {
    vmm: "generic",
  });
  assertEquals(r.operations[0].op, "KVM_ARM_SET_COUNTER_OFFSET");
  assertEquals(r.operations[0].outcome, "ok");
  const cnt = r.operations.find((o) => o.id === "0x603000000013df1a")!;
  assertEquals(cnt.outcome, "ignored");
  assertStringIncludes(cnt.reason, "after KVM_ARM_SET_COUNTER_OFFSET");
  assertEquals(r.effective.timer.counterOffsetApplied, true);
  assertEquals(r.effective.timer.virtualCounterRestored, false);
  assertEquals(r.restorable, true);
});

Deno.test("the counter-offset ioctl does not exist before 6.4; VMMs that never use it restore CNT", () => {
  const r = evaluateRestore(timerSnapshot(0x1000n), resolveTarget("linux-6.1@neoverse-n1"), {
    vmm: "generic",
  });
  assertEquals([r.operations[0].outcome, r.operations[0].errno], ["failed", "EINVAL"]);
  const q = evaluateRestore(timerSnapshot(0x1000n), resolveTarget("linux-6.6@neoverse-n1"), {
    vmm: "qemu",
  });
  assertEquals(q.operations.some((o) => o.op === "KVM_ARM_SET_COUNTER_OFFSET"), false);
  assertEquals(q.operations.find((o) => o.id === "0x603000000013df1a")?.outcome, "ok");
});

Deno.test("Firecracker refuses a PMUv3 vCPU before any ioctl", () => {
  const s = timerSnapshot();
  s.vcpus[0].features = [VCPU_FEATURE.PSCI_0_2, VCPU_FEATURE.PMU_V3];
  const r = evaluateRestore(s, resolveTarget("linux-6.6@neoverse-n1"), { vmm: "firecracker" });
  assertEquals([r.operations[0].op, r.operations[0].outcome], ["VMM", "failed"]);
  assertStringIncludes(r.operations[0].reason, "UnsupportedPmuV3");
});
