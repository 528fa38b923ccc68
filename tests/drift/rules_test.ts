/**
 * The drift rule rows on single observations: which difference is breaking, notable or info,
 * and which are not differences at all. Values are real register encodings (Arm ARM field
 * layouts; the N1 and QEMU `max` values are the ones the probe reads on those machines).
 */
import { assertEquals } from "@std/assert";
import { ruleFor } from "../../emulator/drift/rules.ts";
import { diffProbeRuns } from "../../emulator/drift/diff.ts";
import { slotByName, SLOTS } from "../../emulator/probes/layout.ts";
import type {
  Observation,
  ObservationStatus,
  ProbeResults,
} from "../../emulator/probes/results.ts";

function obs(name: string, value: bigint, status: ObservationStatus = { kind: "ok" }): Observation {
  const slot = slotByName(name);
  if (!slot) throw new Error(`no slot ${name}`);
  return { slot, value, status };
}

const UNDEF: ObservationStatus = { kind: "exception", esr: 0x2000000n };

const CASES: [name: string, src: Observation, tgt: Observation, severity: string | undefined][] = [
  // ID_AA64PFR0_EL1.SVE 1 → 0 (QEMU max → Neoverse N1 fields): a feature vanishes.
  [
    "ID_AA64PFR0_EL1",
    obs("ID_AA64PFR0_EL1", 0x1_0000_0011n),
    obs("ID_AA64PFR0_EL1", 0x11n),
    "breaking",
  ],
  // FP is signed: 0 → 0xf is "not implemented", lower.
  ["ID_AA64PFR0_EL1", obs("ID_AA64PFR0_EL1", 0x11n), obs("ID_AA64PFR0_EL1", 0xf0011n), "breaking"],
  // More on the target only: the guest can tell.
  ["ID_AA64ISAR0_EL1", obs("ID_AA64ISAR0_EL1", 0x10n), obs("ID_AA64ISAR0_EL1", 0x20n), "notable"],
  // CTR_EL0 losing DIC (bit 29): the guest skips I-cache invalidation it now needs.
  ["CTR_EL0", obs("CTR_EL0", 0xb444c004n), obs("CTR_EL0", 0x9444c004n), "breaking"],
  ["CTR_EL0", obs("CTR_EL0", 0x8444c004n), obs("CTR_EL0", 0xb444c004n), "notable"],
  // Timer ISTATUS (bit 2) follows the counter: not a difference.
  ["CNTV_CTL_EL0", obs("CNTV_CTL_EL0", 0x5n), obs("CNTV_CTL_EL0", 0x1n), undefined],
  ["CNTV_CTL_EL0", obs("CNTV_CTL_EL0", 0x1n), obs("CNTV_CTL_EL0", 0x0n), "breaking"],
  ["CNTFRQ_EL0", obs("CNTFRQ_EL0", 62_500_000n), obs("CNTFRQ_EL0", 25_000_000n), "breaking"],
  // A register that stops answering.
  ["APIAKEYLO_EL1", obs("APIAKEYLO_EL1", 0x1234n), obs("APIAKEYLO_EL1", 0n, UNDEF), "breaking"],
  ["ZCR_EL1", obs("ZCR_EL1", 0n, UNDEF), obs("ZCR_EL1", 0x3n), "info"],
  // PSCI: a call disappearing is breaking, appearing is info.
  [
    "PSCI_FEATURES(SYSTEM_RESET2)",
    obs("PSCI_FEATURES(SYSTEM_RESET2)", 0n),
    obs("PSCI_FEATURES(SYSTEM_RESET2)", 0xffffffffffffffffn),
    "breaking",
  ],
  [
    "PSCI_FEATURES(SYSTEM_RESET2)",
    obs("PSCI_FEATURES(SYSTEM_RESET2)", 0xffffffffffffffffn),
    obs("PSCI_FEATURES(SYSTEM_RESET2)", 0n),
    "info",
  ],
  ["PSCI_VERSION", obs("PSCI_VERSION", 0x10000n), obs("PSCI_VERSION", 0x10001n), "info"],
  // GICD_TYPER.ITLinesNumber 8 → 7: SPIs 256..287 vanish.
  ["GICD_TYPER", obs("GICD_TYPER", 0x480008n), obs("GICD_TYPER", 0x480007n), "breaking"],
  // Fewer priority bits in ICC_CTLR_EL1.PRIbits (5 → 4).
  ["ICC_CTLR_EL1", obs("ICC_CTLR_EL1", 0x8400n), obs("ICC_CTLR_EL1", 0x8300n), "breaking"],
  // PMCR_EL0.N (bits 15:11) 6 → 2 event counters.
  ["PMCR_EL0", obs("PMCR_EL0", 0x41013000n), obs("PMCR_EL0", 0x41011000n), "breaking"],
  // Group writability: the complement row only confirms the first.
  [
    "GICD_IGROUPR[last SPI word] after writing 0x5a5a5a5a",
    obs("GICD_IGROUPR[last SPI word] after writing 0x5a5a5a5a", 0x5a5a5a5an),
    obs("GICD_IGROUPR[last SPI word] after writing 0x5a5a5a5a", 0xffffffffn),
    "notable",
  ],
  [
    "GICD_IGROUPR[last SPI word] after writing 0xa5a5a5a5",
    obs("GICD_IGROUPR[last SPI word] after writing 0xa5a5a5a5", 0xa5a5a5a5n),
    obs("GICD_IGROUPR[last SPI word] after writing 0xa5a5a5a5", 0xffffffffn),
    undefined,
  ],
];

Deno.test("drift rules: severity per observation row", () => {
  for (const [name, s, t, want] of CASES) {
    const rule = ruleFor(name);
    const ignore = rule.ignoreBits ?? 0n;
    const differs = s.status.kind !== t.status.kind || (s.value & ~ignore) !== (t.value & ~ignore);
    const got = differs ? rule.judge(s, t)?.severity : undefined;
    assertEquals(got, want, `${name}: ${s.value.toString(16)} → ${t.value.toString(16)}`);
  }
});

function results(values: Record<string, bigint>): ProbeResults {
  const observations = new Map<string, Observation>();
  for (const slot of SLOTS) {
    const v = values[slot.name];
    observations.set(slot.name, {
      slot,
      value: v ?? 0n,
      status: v === undefined ? { kind: "absent" } : { kind: "ok" },
    });
  }
  return { syncExceptions: 0, asyncExceptions: 0, observations };
}

Deno.test("drift diff: caches CLIDR_EL1 does not describe on either side are not compared", () => {
  // Neoverse N1: L1 I+D (Ctype1 = 3), L2 unified (Ctype2 = 4): CLIDR 0x82000023.
  const clidr = 0x82000023n;
  const s = results({ CLIDR_EL1: clidr, "CCSIDR_EL1.L1D": 0x701fe01an, "CCSIDR_EL1.L4D": 0x1n });
  const t = results({ CLIDR_EL1: clidr, "CCSIDR_EL1.L1D": 0x701fe01an, "CCSIDR_EL1.L4D": 0x2n });
  assertEquals(diffProbeRuns([s], [t]), []);
  const t2 = results({ CLIDR_EL1: clidr, "CCSIDR_EL1.L1D": 0x2n, "CCSIDR_EL1.L4D": 0x1n });
  assertEquals(diffProbeRuns([s], [t2]).map((f) => f.what), ["CCSIDR_EL1.L1D"]);
});

Deno.test("drift diff: a finding every vCPU shares is reported once, others per vCPU", () => {
  const a = results({ GICD_IIDR: 0x4b00343bn, MPIDR_EL1: 0x80000000n });
  const b = results({ GICD_IIDR: 0x4b00343bn, MPIDR_EL1: 0x80000001n });
  const a2 = results({ GICD_IIDR: 0x4b00243bn, MPIDR_EL1: 0x80000000n });
  const b2 = results({ GICD_IIDR: 0x4b00243bn, MPIDR_EL1: 0x80000101n });
  assertEquals(diffProbeRuns([a, b], [a2, b2]).map((f) => [f.what, f.vcpu, f.severity]), [
    ["MPIDR_EL1", 1, "breaking"],
    ["GICD_IIDR", undefined, "notable"],
  ]);
});
