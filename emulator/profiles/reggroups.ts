/**
 * Register groups of KVM_GET_REG_LIST: which ONE_REG ids a kernel lists is a set of groups, each
 * listed under a condition (a profile fact `regs.<group>`). The groups follow the sublists of the
 * kernel's get-reg-list selftest (tools/testing/selftests/kvm/aarch64/get-reg-list.c, 31d212959179
 * and later), split where kernels differ.
 */
import {
  bmapReg,
  core,
  CORE_OFFSET,
  demuxCcsidr,
  fwReg,
  KVM_REG_SIZE,
  SVE_VLS,
  sveFfr,
  sveP,
  sveZ,
  sysreg,
} from "../../snapshots/kvm/ids.ts";
import type { FactSource } from "../findings.ts";

export interface RegGroup {
  /** Group name as used in `regs.<name>` facts. */
  name: string;
  summary: string;
  /** The ids; demux groups depend on the host's CLIDR and are computed by the inventory. */
  ids: readonly bigint[];
  source: FactSource;
}

const SELFTEST: FactSource = {
  cite: "linux tools/testing/selftests/kvm/aarch64/get-reg-list.c (31d212959179, 5.10 base list)",
  confidence: "V",
};

function range<T>(n: number, f: (i: number) => T): T[] {
  return Array.from({ length: n }, (_, i) => f(i));
}

const CORE_IDS: bigint[] = [
  ...range(31, (n) => core(CORE_OFFSET.x(n))),
  core(CORE_OFFSET.SP),
  core(CORE_OFFSET.PC),
  core(CORE_OFFSET.PSTATE),
  core(CORE_OFFSET.SP_EL1),
  core(CORE_OFFSET.ELR_EL1),
  ...range(5, (n) => core(CORE_OFFSET.spsr(n))),
  core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32),
  core(CORE_OFFSET.FPCR, KVM_REG_SIZE.U32),
];

/** The base system registers of the 5.10-era selftest list ("Snapshot A", research §5). */
const BASE_SYSREGS: bigint[] = [
  // Debug: 16 breakpoint and 16 watchpoint pairs are listed whatever the CPU implements.
  ...range(16, (n) => [sysreg(2, 0, 0, n, 4), sysreg(2, 0, 0, n, 5)]).flat(),
  ...range(16, (n) => [sysreg(2, 0, 0, n, 6), sysreg(2, 0, 0, n, 7)]).flat(),
  sysreg(2, 0, 0, 2, 0), // MDCCINT_EL1
  sysreg(2, 0, 0, 2, 2), // MDSCR_EL1
  sysreg(2, 4, 0, 7, 0), // DBGVCR32_EL2
  sysreg(3, 0, 0, 0, 0), // MIDR_EL1
  sysreg(3, 0, 0, 0, 5), // MPIDR_EL1
  sysreg(3, 0, 0, 0, 6), // REVIDR_EL1
  // The whole ID space op0=3 op1=0 CRn=0 CRm=1..7, unallocated slots included (93390c0a1b20).
  ...range(56, (i) => sysreg(3, 0, 0, 1 + (i >> 3), i & 7)),
  sysreg(3, 0, 1, 0, 0), // SCTLR_EL1
  sysreg(3, 0, 1, 0, 1), // ACTLR_EL1
  sysreg(3, 0, 1, 0, 2), // CPACR_EL1
  sysreg(3, 0, 2, 0, 0), // TTBR0_EL1
  sysreg(3, 0, 2, 0, 1), // TTBR1_EL1
  sysreg(3, 0, 2, 0, 2), // TCR_EL1
  sysreg(3, 0, 5, 1, 0), // AFSR0_EL1
  sysreg(3, 0, 5, 1, 1), // AFSR1_EL1
  sysreg(3, 0, 5, 2, 0), // ESR_EL1
  sysreg(3, 0, 6, 0, 0), // FAR_EL1
  sysreg(3, 0, 7, 4, 0), // PAR_EL1
  sysreg(3, 0, 10, 2, 0), // MAIR_EL1
  sysreg(3, 0, 10, 3, 0), // AMAIR_EL1
  sysreg(3, 0, 12, 0, 0), // VBAR_EL1
  sysreg(3, 0, 12, 1, 1), // DISR_EL1
  sysreg(3, 0, 13, 0, 1), // CONTEXTIDR_EL1
  sysreg(3, 0, 13, 0, 4), // TPIDR_EL1
  sysreg(3, 0, 14, 1, 0), // CNTKCTL_EL1
  sysreg(3, 1, 0, 0, 1), // CLIDR_EL1
  sysreg(3, 1, 0, 0, 7), // AIDR_EL1
  sysreg(3, 2, 0, 0, 0), // CSSELR_EL1
  sysreg(3, 3, 0, 0, 1), // CTR_EL0
  sysreg(3, 3, 13, 0, 2), // TPIDR_EL0
  sysreg(3, 3, 13, 0, 3), // TPIDRRO_EL0
  sysreg(3, 4, 3, 0, 0), // DACR32_EL2
  sysreg(3, 4, 5, 0, 1), // IFSR32_EL2
  sysreg(3, 4, 5, 3, 0), // FPEXC32_EL2
];

/** KVM_REG_ARM_TIMER_CTL / _CVAL / _CNT (CVAL and CNT carry each other's encodings: uapi kvm.h). */
export const TIMER_CTL = sysreg(3, 3, 14, 3, 1);
export const TIMER_CVAL = sysreg(3, 3, 14, 0, 2);
export const TIMER_CNT = sysreg(3, 3, 14, 3, 2);
export const PTIMER_CTL = sysreg(3, 3, 14, 2, 1);
export const PTIMER_CVAL = sysreg(3, 3, 14, 2, 2);
export const PTIMER_CNT = sysreg(3, 3, 14, 0, 1);
export const OSLSR_EL1 = sysreg(2, 0, 1, 1, 4);

const PMU_IDS: bigint[] = [
  sysreg(3, 0, 9, 14, 1), // PMINTENSET_EL1
  sysreg(3, 0, 9, 14, 2), // PMINTENCLR_EL1
  ...range(6, (i) => sysreg(3, 3, 9, 12, i)), // PMCR, PMCNTENSET/CLR, PMOVSCLR, PMSWINC, PMSELR
  sysreg(3, 3, 9, 13, 0), // PMCCNTR_EL0
  sysreg(3, 3, 9, 14, 0), // PMUSERENR_EL0
  sysreg(3, 3, 9, 14, 3), // PMOVSSET_EL0
  ...range(31, (n) => sysreg(3, 3, 14, 8 | (n >> 3), n & 7)), // PMEVCNTR<n>_EL0
  ...range(31, (n) => sysreg(3, 3, 14, 12 | (n >> 3), n & 7)), // PMEVTYPER<n>_EL0
  sysreg(3, 3, 14, 15, 7), // PMCCFILTR_EL0
];

const PAUTH_ADDRESS = range(8, (i) => sysreg(3, 0, 2, 1 + (i >> 2), i & 3));
const PAUTH_GENERIC = [sysreg(3, 0, 2, 3, 0), sysreg(3, 0, 2, 3, 1)];

/** SVE sublist: VLS, Z0..31, P0..15, FFR (slice 0 only: KVM supports one slice), ZCR_EL1. */
const SVE_IDS: bigint[] = [
  SVE_VLS,
  ...range(32, (n) => sveZ(n, 0)),
  ...range(16, (n) => sveP(n, 0)),
  sveFfr(0),
  sysreg(3, 0, 1, 2, 0), // ZCR_EL1
];

const VREGS = range(32, (n) => core(CORE_OFFSET.v(n), KVM_REG_SIZE.U128));

export const REG_GROUPS: readonly RegGroup[] = [
  {
    name: "core",
    summary: "X0-X30, SP, PC, PSTATE, SP_EL1, ELR_EL1, SPSR[5], FPSR, FPCR",
    ids: CORE_IDS,
    source: SELFTEST,
  },
  {
    name: "vregs",
    summary: "V0-V31 (U128 core registers; not for SVE vCPUs)",
    ids: VREGS,
    source: SELFTEST,
  },
  {
    name: "base",
    summary: "base system registers: debug, ID space, EL1 context, AArch32 state",
    ids: BASE_SYSREGS,
    source: SELFTEST,
  },
  {
    name: "vtimer",
    summary: "KVM_REG_ARM_TIMER_CTL, _CVAL, _CNT",
    ids: [TIMER_CTL, TIMER_CVAL, TIMER_CNT],
    source: SELFTEST,
  },
  {
    name: "ptimer",
    summary: "KVM_REG_ARM_PTIMER_CTL, _CVAL, _CNT",
    ids: [PTIMER_CTL, PTIMER_CVAL, PTIMER_CNT],
    source: {
      cite: "linux 'KVM: arm64: timers: Allow save/restoring of the physical timer' (6.4 pull)",
      confidence: "V",
    },
  },
  {
    name: "pmu",
    summary: "PMU sublist: PMCR, PMCNTEN*, PMOVS*, PMEVCNTRn/PMEVTYPERn, PMCCFILTR …",
    ids: PMU_IDS,
    source: SELFTEST,
  },
  {
    name: "pauth-address",
    summary: "APIA/APIB/APDA/APDB key LO/HI",
    ids: PAUTH_ADDRESS,
    source: SELFTEST,
  },
  { name: "pauth-generic", summary: "APGAKEYLO/HI", ids: PAUTH_GENERIC, source: SELFTEST },
  {
    name: "sve",
    summary: "KVM_REG_ARM64_SVE_VLS, Z0-31, P0-15, FFR, ZCR_EL1",
    ids: SVE_IDS,
    source: SELFTEST,
  },
  {
    name: "oslsr",
    summary: "OSLSR_EL1",
    ids: [OSLSR_EL1],
    source: { cite: "linux d134998838ac", confidence: "V" },
  },
  {
    name: "fw-base",
    summary: "KVM_REG_ARM_PSCI_VERSION, SMCCC_ARCH_WORKAROUND_1, _2",
    ids: [fwReg(0), fwReg(1), fwReg(2)],
    source: SELFTEST,
  },
  {
    name: "fw-wa3",
    summary: "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3",
    ids: [fwReg(3)],
    source: { cite: "linux a5905d6af492", confidence: "V" },
  },
  {
    name: "bmap",
    summary: "KVM_REG_ARM_STD_BMAP, STD_HYP_BMAP, VENDOR_HYP_BMAP",
    ids: [bmapReg(0), bmapReg(1), bmapReg(2)],
    source: { cite: "linux merge 0586e28aaa32 (hypercall bitmaps), fa246c68a04d", confidence: "V" },
  },
  {
    name: "bmap2",
    summary: "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
    ids: [bmapReg(3)],
    source: { cite: "linux c0000e58c74e", confidence: "V" },
  },
  {
    name: "tcr2-pie",
    summary: "TCR2_EL1, PIRE0_EL1, PIR_EL1",
    ids: [sysreg(3, 0, 2, 0, 3), sysreg(3, 0, 10, 2, 2), sysreg(3, 0, 10, 2, 3)],
    source: {
      cite: "get-reg-list.c latest list (a4a508df); QEMU 'x-mig-hidden-regs' series (Auger, 2025)",
      confidence: "V",
    },
  },
  {
    name: "poe",
    summary: "POR_EL1, POR_EL0",
    ids: [sysreg(3, 0, 10, 2, 4), sysreg(3, 3, 10, 2, 4)],
    source: { cite: "get-reg-list.c latest list (a4a508df)", confidence: "V" },
  },
  {
    name: "sctlr2",
    summary: "SCTLR2_EL1",
    ids: [sysreg(3, 0, 1, 0, 3)],
    source: { cite: "get-reg-list.c latest list (a4a508df)", confidence: "V" },
  },
  // CCSIDR demux ids are computed from the cache facts: see inventory.ts.
  {
    name: "demux-ccsidr",
    summary: "KVM_REG_ARM_DEMUX_ID_CCSIDR ids (which ones: fact cache.demux)",
    ids: [],
    source: SELFTEST,
  },
];

const BY_NAME = new Map(REG_GROUPS.map((g) => [g.name, g]));

export function regGroup(name: string): RegGroup | undefined {
  return BY_NAME.get(name);
}

/** Every CSSELR value KVM accepts for the CCSIDR demux: 7 levels × {data/unified, instruction}. */
export const CSSELR_MAX = 14;

export function demuxIds(csselrs: number[]): bigint[] {
  return csselrs.map((c) => demuxCcsidr(c));
}
