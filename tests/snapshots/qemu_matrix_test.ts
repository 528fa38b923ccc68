/**
 * The importer against fresh streams from the installed QEMU: CPU models max, cortex-a57,
 * cortex-a72 and neoverse-n1, GICv2 and GICv3, -smp 1..4 and 17 (tests/fixtures/qemu/make.ts
 * MATRIX).
 * Each stream is made at test time in a temporary directory, so only the small committed ones
 * live in the repository.
 */
import { assertEquals } from "@std/assert";
import { importQemuStream } from "../../snapshots/import/qemu/mod.ts";
import { decodeSnapshot, encodeSnapshot, VCPU_FEATURE } from "../../snapshots/mod.ts";
import { buildGuest, makeStream, MATRIX, specName } from "../fixtures/qemu/make.ts";
import { AARCH64_BINUTILS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { checkGuest } from "./qemu_guest_checks.ts";

const { PSCI_0_2, PMU_V3, SVE, PTRAUTH_ADDRESS, PTRAUTH_GENERIC } = VCPU_FEATURE;
/** KVM_ARM_VCPU_INIT features per QEMU 7.2 CPU model (target/arm/cpu64.c feature sets). */
const FEATURES: Record<string, number[]> = {
  "max": [PSCI_0_2, PMU_V3, SVE, PTRAUTH_ADDRESS, PTRAUTH_GENERIC],
  "cortex-a57": [PSCI_0_2, PMU_V3],
  "cortex-a72": [PSCI_0_2, PMU_V3],
  "neoverse-n1": [PSCI_0_2, PMU_V3],
};

oracleTest({
  name: "qemu import: fresh QEMU streams across CPU models, GIC versions, -smp 1..4 and 17",
  needs: [QEMU_SYSTEM, AARCH64_BINUTILS],
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-qemu-" });
    try {
      const elfs = { 2: await buildGuest(dir, 2), 3: await buildGuest(dir, 3) };
      const streams = await Promise.all(
        MATRIX.map((spec) => makeStream(spec, dir, elfs[spec.gic])),
      );
      MATRIX.forEach((spec, i) => {
        const s = importQemuStream(streams[i]);
        checkGuest(s, spec);
        for (const v of s.vcpus) assertEquals(v.features, FEATURES[spec.cpu], specName(spec));
        const a = encodeSnapshot(s);
        assertEquals(encodeSnapshot(decodeSnapshot(a)), a, `${specName(spec)} round trip`);
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
