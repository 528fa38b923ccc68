/**
 * Real cross-kernel restores: the Neoverse-N1 fingerprints (Amazon Linux 5.10.255, 6.1.172,
 * 6.18.30) restored onto the profiles the dumps come from, with the exact operations that fail
 * and why. The expected errnos come from the profile facts (their citations live in the data).
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { resolveTarget } from "../../emulator/target.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { fingerprint, problems } from "./helpers.ts";

const N1 = (p: string) => resolveTarget(`${p}@neoverse-n1`);

Deno.test("each dump restores onto its own profile and host with every operation ok (no false alarms)", () => {
  for (
    const [k, p] of [["5.10", "amzn2-5.10"], ["6.1", "amzn2023-6.1"], ["6.18", "amzn2023-6.18"]]
  ) {
    const r = evaluateRestore(fingerprint(k), N1(p));
    assertEquals(r.vmm, "firecracker", "the fingerprint names Firecracker as its VMM");
    assertEquals(problems(r.operations), [], `${k} onto ${p}`);
    assert(r.restorable);
  }
});

Deno.test("6.1 → 5.10 rollback: OSLSR_EL1 and the bitmaps unknown, PSCI 1.1 too new, sanitised ID registers invariant", () => {
  const r = evaluateRestore(fingerprint("6.1"), N1("amzn2-5.10"));
  assertEquals(r.restorable, false);
  assertEquals(problems(r.operations), [
    "0x603000000013808c failed ENOENT", // OSLSR_EL1 (listed from 5.18)
    "0x603000000013c00a failed EINVAL", // ID_DFR0_EL1: PerfMon 0 (6.1 hides it without a PMU) ≠ 4
    "0x603000000013c028 failed EINVAL", // ID_AA64DFR0_EL1: DebugVer, PMUVer, PMSVer differ
    "0x6030000000140000 failed EINVAL", // PSCI 1.1 > 1.0
    "0x6030000000160000 failed ENOENT", // KVM_REG_ARM_STD_BMAP (5.19)
    "0x6030000000160001 failed ENOENT",
    "0x6030000000160002 failed ENOENT",
  ]);
  const psci = r.operations.find((o) => o.id === "0x6030000000140000")!;
  assertStringIncludes(psci.reason, "accepts PSCI 0.2, 1.0 for a PSCI_0_2 vCPU, not 1.1");
  const dfr = r.operations.find((o) => o.id === "0x603000000013c028")!;
  assertStringIncludes(
    dfr.reason,
    "field DebugVer: 6 ≠ 8; field PMUVer: 0 ≠ 4; field PMSVer: 0 ≠ 1",
  );
  const oslsr = r.operations.find((o) => o.id === "0x603000000013808c")!;
  assertStringIncludes(oslsr.reason, "upstream lists it from 5.18");
  assertEquals(oslsr.source?.cite.includes("d134998838ac"), true);
});

Deno.test("6.18 → 6.1 rollback: VENDOR_HYP_BMAP_2, extra CCSIDR ids, invariant CLIDR/CCSIDR, PSCI 1.3", () => {
  const r = evaluateRestore(fingerprint("6.18"), N1("amzn2023-6.1"));
  const extraDemux = Array.from(
    { length: 11 },
    (_, i) => `0x6020000000110${(i + 3).toString(16).padStart(3, "0")} failed ENOENT`,
  );
  assertEquals(
    problems(r.operations),
    [
      "0x6020000000110000 failed EINVAL", // fabricated CCSIDR 0x2 ≠ physical 0x701fe01a
      "0x6020000000110001 failed EINVAL",
      "0x6020000000110002 failed EINVAL",
      ...extraDemux, // CSSELR 3..13 name no cache of the host's CLIDR_EL1 0x82000023
      "0x603000000013c028 failed EINVAL", // ID_AA64DFR0_EL1 DebugVer 8 ≠ 6
      "0x603000000013c801 failed EINVAL", // CLIDR_EL1 0x3000123 ≠ 0x82000023 (invariant before 6.3)
      "0x6030000000140000 failed EINVAL", // PSCI 1.3
      "0x6030000000160003 failed ENOENT", // VENDOR_HYP_BMAP_2 (6.15)
    ].sort(),
  );
  const ccsidr = r.operations.find((o) => o.id === "0x6020000000110000")!;
  assertStringIncludes(ccsidr.reason, "accepts only the physical CPU's CCSIDR (0x701fe01a)");
  const clidr = r.operations.find((o) => o.id === "0x603000000013c801")!;
  assertStringIncludes(clidr.reason, "it is invariant");
});

Deno.test("5.10 → 6.1 upgrade: the 74 PMU registers 6.1 hides without PMUv3 are ENOENT, two ID registers EINVAL", () => {
  const r = evaluateRestore(fingerprint("5.10"), N1("amzn2023-6.1"));
  const failed = r.operations.filter((o) => o.outcome === "failed");
  const enoent = failed.filter((o) => o.errno === "ENOENT");
  assertEquals(enoent.length, 74);
  assert(
    enoent.every((o) => o.reason.includes("lists the pmu registers only when vcpu:pmu holds")),
  );
  assertEquals(
    failed.filter((o) => o.errno === "EINVAL").map((o) => o.name),
    ["ID_DFR0_EL1", "ID_AA64DFR0_EL1"],
  );
  assertEquals(failed.length, 76);
  // Firmware: PSCI 1.0 is accepted by 6.1 (it accepts 0.2, 1.0, 1.1).
  assertEquals(r.operations.find((o) => o.id === "0x6030000000140000")?.outcome, "ok");
});

Deno.test("the dumps onto upstream profiles fail exactly where the Amazon builds carry backports", () => {
  // Amazon Linux 6.1 lists the physical timer (upstream 6.4); upstream 6.1 refuses it.
  assertEquals(problems(evaluateRestore(fingerprint("6.1"), N1("linux-6.1")).operations), [
    "0x603000000013df11 failed ENOENT",
    "0x603000000013df12 failed ENOENT",
  ]);
  // Amazon Linux 5.10 also carries SMCCC_ARCH_WORKAROUND_3 (upstream 5.17).
  assertEquals(problems(evaluateRestore(fingerprint("5.10"), N1("linux-5.10")).operations), [
    "0x603000000013df11 failed ENOENT",
    "0x603000000013df12 failed ENOENT",
    "0x6030000000140003 failed ENOENT",
  ]);
  // Upstream 6.18 accepts the Amazon 6.18 dump (CLIDR_EL1 is writable since 6.3); the vendor
  // difference is in what a fresh guest sees (see profiles/diff_test.ts).
  assertEquals(problems(evaluateRestore(fingerprint("6.18"), N1("linux-6.18")).operations), []);
});

Deno.test("the effective state keeps the target's values where writes fail", () => {
  const r = evaluateRestore(fingerprint("6.1"), N1("amzn2-5.10"));
  const v = r.effective.vcpus[0];
  assertEquals(v.get(0x6030000000140000n), 0x10000n, "PSCI stays at 5.10's 1.0");
  assertEquals(
    v.get(0x603000000013c028n),
    0x110305408n,
    "ID_AA64DFR0_EL1 keeps the target's value",
  );
  assertEquals(v.get(0x603000000013c000n), 0x413fd0c1n, "MIDR_EL1 accepted (equal)");
  assertEquals(r.effective.firmware.psciVersion, 0x10000n);
});
