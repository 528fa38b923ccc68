/**
 * Single rules of the restore model, each with the errno its fact names: firmware registers,
 * hypercall bitmaps, SVE vector lengths, access before CTRL_INIT, mp_state, VMM orders.
 */
import { assertEquals, assertStringIncludes } from "@std/assert";
import { resolveTarget } from "../../emulator/target.ts";
import { evaluateRestore, flavour, planRestore } from "../../emulator/kvm/mod.ts";
import { evalDist, kvmIidr, type VgicSim } from "../../emulator/kvm/rules_vgic.ts";
import { bmapReg, fwReg, SVE_VLS, sysreg } from "../../snapshots/kvm/ids.ts";
import { newVcpu, setRegValue, type Snapshot, VCPU_FEATURE } from "../../snapshots/model.ts";

function oneVcpu(
  regs: [bigint, bigint][],
  features: number[] = [VCPU_FEATURE.PSCI_0_2],
  mpState?: number,
): Snapshot {
  const v = newVcpu(0x80000000n);
  v.features = features;
  v.mpState = mpState;
  for (const [id, x] of regs) setRegValue(v, id, x);
  return { vm: { caps: [], smcccFilter: [], extra: new Map() }, vcpus: [v], extra: new Map() };
}

const outcome = (s: Snapshot, t: string, id: bigint, vmm: "generic" | "qemu" = "generic") => {
  const o = evaluateRestore(s, resolveTarget(t), { vmm }).operations.find((x) =>
    x.id === `0x${id.toString(16)}`
  )!;
  return [o.outcome, o.errno ?? "", o.reason] as const;
};

Deno.test("SMCCC workaround levels: a better-protected source fails on a worse host (EINVAL)", () => {
  // Neoverse N1: WA1 2 (not required), WA2 0, WA3 1 (mitigated).
  assertEquals(outcome(oneVcpu([[fwReg(1), 2n]]), "linux-6.1@neoverse-n1", fwReg(1)).slice(0, 2), [
    "ok",
    "",
  ]);
  assertEquals(outcome(oneVcpu([[fwReg(3), 2n]]), "linux-6.1@neoverse-n1", fwReg(3)).slice(0, 2), [
    "failed",
    "EINVAL",
  ]);
  assertEquals(outcome(oneVcpu([[fwReg(2), 3n]]), "linux-6.1@neoverse-n1", fwReg(2)).slice(0, 2), [
    "failed",
    "EINVAL",
  ]);
  assertEquals(
    outcome(oneVcpu([[fwReg(2), 0x12n]]), "linux-6.1@neoverse-n1", fwReg(2)).slice(0, 2),
    ["failed", "EINVAL"],
  );
  assertEquals(
    outcome(oneVcpu([[fwReg(1), 0x10n]]), "linux-6.1@neoverse-n1", fwReg(1)).slice(0, 2),
    ["failed", "EINVAL"],
  );
});

Deno.test("hypercall bitmaps: unsupported bits EINVAL, unknown register ENOENT, subsets ok", () => {
  assertEquals(
    outcome(oneVcpu([[bmapReg(2), 0x1n]]), "linux-6.1@neoverse-n1", bmapReg(2)).slice(0, 2),
    ["ok", ""],
  );
  const [o, e, why] = outcome(oneVcpu([[bmapReg(2), 0x7n]]), "linux-6.1@neoverse-n1", bmapReg(2));
  assertEquals([o, e], ["failed", "EINVAL"]);
  assertStringIncludes(why, "bits 0x4 are not supported");
  assertEquals(
    outcome(oneVcpu([[bmapReg(3), 0x1n]]), "linux-6.12@neoverse-n1", bmapReg(3)).slice(0, 2),
    ["failed", "ENOENT"],
  );
  assertEquals(
    outcome(oneVcpu([[bmapReg(3), 0x3n]]), "linux-7.0@neoverse-n1", bmapReg(3)).slice(0, 2),
    ["ok", ""],
  );
});

Deno.test("PSCI: 0.1 only without PSCI_0_2; 1.3 from 6.13", () => {
  assertEquals(
    outcome(oneVcpu([[fwReg(0), 0x1n]], []), "linux-6.1@neoverse-n1", fwReg(0)).slice(0, 2),
    ["ok", ""],
  );
  assertEquals(
    outcome(oneVcpu([[fwReg(0), 0x10000n]], []), "linux-6.1@neoverse-n1", fwReg(0)).slice(0, 2),
    ["failed", "EINVAL"],
  );
  assertEquals(
    outcome(oneVcpu([[fwReg(0), 0x10003n]]), "linux-6.12@neoverse-n1", fwReg(0)).slice(0, 2),
    ["failed", "EINVAL"],
  );
  assertEquals(
    outcome(oneVcpu([[fwReg(0), 0x10003n]]), "linux-6.18@neoverse-n1", fwReg(0)).slice(0, 2),
    ["ok", ""],
  );
});

Deno.test("SVE: the vCPU feature needs a host with SVE; vector lengths must be the host's", () => {
  const s = oneVcpu([[SVE_VLS, 0x3n]], [VCPU_FEATURE.PSCI_0_2, VCPU_FEATURE.SVE]);
  const n1 = evaluateRestore(s, resolveTarget("linux-6.1@neoverse-n1"), { vmm: "generic" });
  assertEquals([n1.operations[0].op, n1.operations[0].outcome, n1.operations[0].errno], [
    "KVM_ARM_VCPU_INIT",
    "failed",
    "ENOENT",
  ]);
  const q = evaluateRestore(s, resolveTarget("linux-6.1@qemu-max-nested"), { vmm: "generic" });
  assertEquals(q.operations.map((o) => [o.op, o.outcome]).slice(0, 3), [
    ["KVM_ARM_VCPU_INIT", "ok"],
    ["KVM_SET_ONE_REG", "ok"], // VLS before finalize
    ["KVM_ARM_VCPU_FINALIZE", "ok"],
  ]);
  const tooLong = oneVcpu([[SVE_VLS, 1n << 20n]], [VCPU_FEATURE.PSCI_0_2, VCPU_FEATURE.SVE]);
  const [o, e, why] = outcome(tooLong, "linux-6.1@qemu-max-nested", SVE_VLS);
  assertEquals([o, e], ["failed", "EINVAL"]);
  assertStringIncludes(why, "2688 bits");
});

Deno.test("GICv3 register access before CTRL_INIT: EBUSY before 6.17, IIDR allowed from 6.17", () => {
  const fresh = (): VgicSim => ({
    model: "v3",
    created: true,
    initialized: false,
    rev: 3,
    iidrWritten: false,
    dist: new Map(),
    redist: [],
    icc: [],
  });
  const old = evalDist(resolveTarget("linux-6.12@neoverse-n1"), fresh(), 0x8, kvmIidr(3));
  assertEquals([old.outcome, old.errno], ["failed", "EBUSY"]);
  const nu = evalDist(resolveTarget("linux-7.1@neoverse-n1"), fresh(), 0x8, kvmIidr(2));
  assertEquals(nu.outcome, "ok");
  const other = evalDist(resolveTarget("linux-7.0@neoverse-n1"), fresh(), 0x0, 0x12);
  assertEquals([other.outcome, other.errno], ["failed", "EBUSY"]);
});

Deno.test("mp_state SUSPENDED (4) needs 5.19+", () => {
  const s = oneVcpu([], [VCPU_FEATURE.PSCI_0_2], 4);
  const get = (t: string) =>
    evaluateRestore(s, resolveTarget(t), { vmm: "generic" }).operations.find((o) =>
      o.op === "KVM_SET_MP_STATE"
    )!;
  assertEquals([get("linux-5.15@neoverse-n1").outcome, get("linux-5.15@neoverse-n1").errno], [
    "failed",
    "EINVAL",
  ]);
  assertEquals(get("linux-6.1@neoverse-n1").outcome, "ok");
});

Deno.test("VMM orders: generic puts ID registers first, qemu sorts by id, firecracker keeps the saved order", () => {
  const sctlr = sysreg(3, 0, 1, 0, 0);
  const midr = sysreg(3, 0, 0, 0, 0);
  const pfr0 = sysreg(3, 0, 0, 4, 0);
  const s = oneVcpu([[sctlr, 0n], [pfr0, 0n], [midr, 0n]]);
  const ids = (f: string) =>
    planRestore(s, flavour(f)!).flatMap((o) => (o.kind === "one-reg" ? [o.id] : []));
  assertEquals(ids("generic"), [pfr0, sctlr, midr]); // the ID space (CRm 1..7) first
  assertEquals(ids("qemu"), [midr, pfr0, sctlr]);
  assertEquals(ids("firecracker"), [sctlr, pfr0, midr]);
});

Deno.test("MIDR_EL1 from another CPU: EINVAL unless the VM enables KVM_CAP_ARM_WRITABLE_IMP_ID_REGS (6.15+)", () => {
  const midr = sysreg(3, 0, 0, 0, 0);
  const s = oneVcpu([[midr, 0x410fd0c0n]]); // a Cortex-A76 MIDR on a Neoverse N1 host
  assertEquals(outcome(s, "linux-7.0@neoverse-n1", midr).slice(0, 2), ["failed", "EINVAL"]);
  s.vm.caps = [239];
  const r = evaluateRestore(s, resolveTarget("linux-7.0@neoverse-n1"), { vmm: "generic" });
  assertEquals([r.operations[0].op, r.operations[0].outcome], ["KVM_ENABLE_CAP", "ok"]);
  assertEquals(r.operations.find((o) => o.name === "MIDR_EL1")?.outcome, "ok");
  const old = evaluateRestore(s, resolveTarget("linux-6.12@neoverse-n1"), { vmm: "generic" });
  assertEquals([old.operations[0].outcome, old.operations[0].errno], ["failed", "EINVAL"]);
  assertEquals(old.operations.find((o) => o.name === "MIDR_EL1")?.errno, "EINVAL");
});
