/**
 * Reset values of a fresh vCPU's registers, as KVM_GET_ONE_REG reports them before the guest runs
 * (arch/arm64/kvm/sys_regs.c reset_* helpers, arch/arm64/kvm/reset.c). Registers not in this
 * table reset to 0; ID registers, cache, timer and firmware registers are computed in
 * defaults.ts from the profile and host facts.
 */
import { sysreg } from "../../snapshots/kvm/ids.ts";
import type { FactSource } from "../findings.ts";

/** sys_regs.h reset_unknown: "0x1de7ec7edbadc0de" poison for registers with UNKNOWN reset. */
export const RESET_UNKNOWN = 0x1de7ec7edbadc0den;

export const RESET_SOURCE: FactSource = {
  cite:
    "arch/arm64/kvm/sys_regs.c reset_unknown/reset_val rows; checked against the three Neoverse-N1 Firecracker fingerprints",
  confidence: "V",
};

const UNKNOWN: bigint[] = [
  sysreg(3, 0, 2, 0, 0), // TTBR0_EL1
  sysreg(3, 0, 2, 0, 1), // TTBR1_EL1
  sysreg(3, 0, 5, 1, 0), // AFSR0_EL1
  sysreg(3, 0, 5, 1, 1), // AFSR1_EL1
  sysreg(3, 0, 5, 2, 0), // ESR_EL1
  sysreg(3, 0, 6, 0, 0), // FAR_EL1
  sysreg(3, 0, 7, 4, 0), // PAR_EL1
  sysreg(3, 0, 10, 2, 0), // MAIR_EL1
  sysreg(3, 0, 13, 0, 4), // TPIDR_EL1
  sysreg(3, 2, 0, 0, 0), // CSSELR_EL1
  sysreg(3, 3, 13, 0, 2), // TPIDR_EL0
  sysreg(3, 3, 13, 0, 3), // TPIDRRO_EL0
  sysreg(3, 4, 3, 0, 0), // DACR32_EL2
  sysreg(3, 4, 5, 0, 1), // IFSR32_EL2
  // PMU state (reset_unknown in the PMU rows), except PMCR/PMUSERENR/PMCCFILTR below.
  sysreg(3, 0, 9, 14, 1),
  sysreg(3, 0, 9, 14, 2),
  ...[1, 2, 3, 4, 5].map((op2) => sysreg(3, 3, 9, 12, op2)),
  sysreg(3, 3, 9, 13, 0), // PMCCNTR_EL0
  sysreg(3, 3, 9, 14, 3), // PMOVSSET_EL0
  ...Array.from({ length: 31 }, (_, n) => sysreg(3, 3, 14, 8 | (n >> 3), n & 7)),
  ...Array.from({ length: 31 }, (_, n) => sysreg(3, 3, 14, 12 | (n >> 3), n & 7)),
  sysreg(3, 0, 10, 2, 2), // PIRE0_EL1 (oracle capture debian-6.12.json)
  sysreg(3, 0, 10, 2, 3), // PIR_EL1
  // Pointer-authentication keys.
  ...Array.from({ length: 8 }, (_, i) => sysreg(3, 0, 2, 1 + (i >> 2), i & 3)),
  sysreg(3, 0, 2, 3, 0),
  sysreg(3, 0, 2, 3, 1),
];

const CONSTANT: [bigint, bigint][] = [
  [sysreg(3, 0, 1, 0, 0), 0x00c50078n], // SCTLR_EL1 reset_val 0x00C50078
  [sysreg(3, 4, 5, 3, 0), 0x700n], // FPEXC32_EL2 reset_val 0x70
  [sysreg(2, 0, 1, 1, 4), 0x8n], // OSLSR_EL1: OSLM implemented, lock clear
];

const TABLE = new Map<bigint, bigint>([
  ...UNKNOWN.map((id) => [id, RESET_UNKNOWN] as [bigint, bigint]),
  ...CONSTANT,
]);

/** The table's reset value of `id`, or undefined if it is not a table row (then 0 or computed). */
export function tableReset(id: bigint): bigint | undefined {
  return TABLE.get(id);
}

/** KVM's reset PSTATE for an AArch64 EL1 vCPU: EL1h with D, A, I, F masked (reset.c). */
export const RESET_PSTATE = 0x3c5n;

/**
 * With a PMU (KVM_ARM_VCPU_PMU_V3) the PMU rows reset to the poison masked to what exists
 * (sys_regs.c reset_pmu_reg: counters 0..N-1 and the cycle counter, bit 31; reset_pmselr: the
 * counter index; reset_pmevcntr: 32 bits; reset_pmevtyper: the event type fields). Checked
 * against oracle captures debian-6.1.json and debian-6.12.json ("pmu-v3" vCPU, N = 6).
 */
export function pmuReset(id: bigint, counters: number): bigint | undefined {
  const counterMask = (1n << 31n) | ((1n << BigInt(counters)) - 1n);
  const masked = [
    sysreg(3, 0, 9, 14, 1), // PMINTENSET_EL1
    sysreg(3, 0, 9, 14, 2), // PMINTENCLR_EL1
    sysreg(3, 3, 9, 12, 1), // PMCNTENSET_EL0
    sysreg(3, 3, 9, 12, 2), // PMCNTENCLR_EL0
    sysreg(3, 3, 9, 12, 3), // PMOVSCLR_EL0
    sysreg(3, 3, 9, 14, 3), // PMOVSSET_EL0
  ];
  if (masked.includes(id)) return RESET_UNKNOWN & counterMask;
  if (id === sysreg(3, 3, 9, 12, 4)) return 0n; // PMSWINC_EL0
  if (id === sysreg(3, 3, 9, 12, 5)) return RESET_UNKNOWN & 0x1fn; // PMSELR_EL0
  for (let n = 0; n < 31; n++) {
    if (id === sysreg(3, 3, 14, 8 | (n >> 3), n & 7)) return RESET_UNKNOWN & 0xffffffffn;
    if (id === sysreg(3, 3, 14, 12 | (n >> 3), n & 7)) return RESET_UNKNOWN & 0xc800ffffn;
  }
  return undefined;
}
