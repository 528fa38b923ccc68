/**
 * KVM register id ↔ name, one table for the whole project.
 *
 * System registers carry their architectural names (Arm ARM DDI0487, "AArch64 System Register
 * Descriptions") EXCEPT where KVM's id space says otherwise: KVM_REG_ARM_TIMER_CVAL and
 * KVM_REG_ARM_TIMER_CNT were accidentally swapped relative to CNTV_CVAL_EL0/CNTVCT_EL0 and the
 * swap is permanent ABI (arch/arm64/include/uapi/asm/kvm.h: "KVM_REG_ARM_TIMER_CVAL and
 * KVM_REG_ARM_TIMER_CNT … have been accidentally swapped. As this is set API, the definitions
 * here must be used, rather than ones derived from the encodings"). Those rows are explicit
 * below and carry KVM's names; never name a KVM id after the architectural register.
 *
 * The rows cover every register in the Firecracker Neoverse-N1 fingerprints, QEMU's cpreg lists
 * for `-cpu max`/cortex-a57/a72/neoverse-n1, the firmware and bitmap registers, CCSIDR demux and
 * SVE. Unknown system-register ids print as S<op0>_<op1>_C<n>_C<m>_<op2>.
 */
import {
  bmapReg,
  COPROC,
  core,
  CORE_OFFSET,
  fwReg,
  genericSysregName,
  hex,
  isArm64,
  KVM_REG_SIZE,
  regCoproc,
  SVE_VLS,
  sysreg,
  sysregFields,
} from "./ids.ts";

/** How inspect and reports group registers. */
export type RegClass =
  | "core"
  | "fpsimd"
  | "id"
  | "cache"
  | "context"
  | "pauth"
  | "debug"
  | "pmu"
  | "timer"
  | "gic-cpuif"
  | "aarch32"
  | "el2"
  | "firmware"
  | "bitmap"
  | "sve"
  | "other";

export interface RegName {
  id: bigint;
  name: string;
  class: RegClass;
}

type SysRow = [
  name: string,
  op0: number,
  op1: number,
  crn: number,
  crm: number,
  op2: number,
  cls: RegClass,
];

/** Named system registers (op0, op1, CRn, CRm, op2), Arm ARM DDI0487 K.a encodings. */
const SYSREGS: SysRow[] = [
  // Identification (op0=3, op1=0, CRn=0): the whole ID space is enumerated by KVM since 4.15.
  ["MIDR_EL1", 3, 0, 0, 0, 0, "id"],
  ["MPIDR_EL1", 3, 0, 0, 0, 5, "id"],
  ["REVIDR_EL1", 3, 0, 0, 0, 6, "id"],
  ["ID_PFR0_EL1", 3, 0, 0, 1, 0, "id"],
  ["ID_PFR1_EL1", 3, 0, 0, 1, 1, "id"],
  ["ID_DFR0_EL1", 3, 0, 0, 1, 2, "id"],
  ["ID_AFR0_EL1", 3, 0, 0, 1, 3, "id"],
  ["ID_MMFR0_EL1", 3, 0, 0, 1, 4, "id"],
  ["ID_MMFR1_EL1", 3, 0, 0, 1, 5, "id"],
  ["ID_MMFR2_EL1", 3, 0, 0, 1, 6, "id"],
  ["ID_MMFR3_EL1", 3, 0, 0, 1, 7, "id"],
  ["ID_ISAR0_EL1", 3, 0, 0, 2, 0, "id"],
  ["ID_ISAR1_EL1", 3, 0, 0, 2, 1, "id"],
  ["ID_ISAR2_EL1", 3, 0, 0, 2, 2, "id"],
  ["ID_ISAR3_EL1", 3, 0, 0, 2, 3, "id"],
  ["ID_ISAR4_EL1", 3, 0, 0, 2, 4, "id"],
  ["ID_ISAR5_EL1", 3, 0, 0, 2, 5, "id"],
  ["ID_MMFR4_EL1", 3, 0, 0, 2, 6, "id"],
  ["ID_ISAR6_EL1", 3, 0, 0, 2, 7, "id"],
  ["MVFR0_EL1", 3, 0, 0, 3, 0, "id"],
  ["MVFR1_EL1", 3, 0, 0, 3, 1, "id"],
  ["MVFR2_EL1", 3, 0, 0, 3, 2, "id"],
  ["ID_PFR2_EL1", 3, 0, 0, 3, 4, "id"],
  ["ID_DFR1_EL1", 3, 0, 0, 3, 5, "id"],
  ["ID_MMFR5_EL1", 3, 0, 0, 3, 6, "id"],
  ["ID_AA64PFR0_EL1", 3, 0, 0, 4, 0, "id"],
  ["ID_AA64PFR1_EL1", 3, 0, 0, 4, 1, "id"],
  ["ID_AA64PFR2_EL1", 3, 0, 0, 4, 2, "id"],
  ["ID_AA64ZFR0_EL1", 3, 0, 0, 4, 4, "id"],
  ["ID_AA64SMFR0_EL1", 3, 0, 0, 4, 5, "id"],
  ["ID_AA64FPFR0_EL1", 3, 0, 0, 4, 7, "id"],
  ["ID_AA64DFR0_EL1", 3, 0, 0, 5, 0, "id"],
  ["ID_AA64DFR1_EL1", 3, 0, 0, 5, 1, "id"],
  ["ID_AA64DFR2_EL1", 3, 0, 0, 5, 2, "id"],
  ["ID_AA64AFR0_EL1", 3, 0, 0, 5, 4, "id"],
  ["ID_AA64AFR1_EL1", 3, 0, 0, 5, 5, "id"],
  ["ID_AA64ISAR0_EL1", 3, 0, 0, 6, 0, "id"],
  ["ID_AA64ISAR1_EL1", 3, 0, 0, 6, 1, "id"],
  ["ID_AA64ISAR2_EL1", 3, 0, 0, 6, 2, "id"],
  ["ID_AA64ISAR3_EL1", 3, 0, 0, 6, 3, "id"],
  ["ID_AA64MMFR0_EL1", 3, 0, 0, 7, 0, "id"],
  ["ID_AA64MMFR1_EL1", 3, 0, 0, 7, 1, "id"],
  ["ID_AA64MMFR2_EL1", 3, 0, 0, 7, 2, "id"],
  ["ID_AA64MMFR3_EL1", 3, 0, 0, 7, 3, "id"],
  ["ID_AA64MMFR4_EL1", 3, 0, 0, 7, 4, "id"],
  ["AIDR_EL1", 3, 1, 0, 0, 7, "id"],
  // Cache identification.
  ["CCSIDR_EL1", 3, 1, 0, 0, 0, "cache"],
  ["CLIDR_EL1", 3, 1, 0, 0, 1, "cache"],
  ["CCSIDR2_EL1", 3, 1, 0, 0, 2, "cache"],
  ["GMID_EL1", 3, 1, 0, 0, 4, "id"],
  ["CSSELR_EL1", 3, 2, 0, 0, 0, "cache"],
  ["CTR_EL0", 3, 3, 0, 0, 1, "cache"],
  ["DCZID_EL0", 3, 3, 0, 0, 7, "cache"],
  // EL1 control and context.
  ["SCTLR_EL1", 3, 0, 1, 0, 0, "context"],
  ["ACTLR_EL1", 3, 0, 1, 0, 1, "context"],
  ["CPACR_EL1", 3, 0, 1, 0, 2, "context"],
  ["SCTLR2_EL1", 3, 0, 1, 0, 3, "context"],
  ["RGSR_EL1", 3, 0, 1, 0, 5, "context"],
  ["GCR_EL1", 3, 0, 1, 0, 6, "context"],
  ["ZCR_EL1", 3, 0, 1, 2, 0, "sve"],
  ["TRFCR_EL1", 3, 0, 1, 2, 1, "debug"],
  ["SMPRI_EL1", 3, 0, 1, 2, 4, "context"],
  ["SMCR_EL1", 3, 0, 1, 2, 6, "context"],
  ["TTBR0_EL1", 3, 0, 2, 0, 0, "context"],
  ["TTBR1_EL1", 3, 0, 2, 0, 1, "context"],
  ["TCR_EL1", 3, 0, 2, 0, 2, "context"],
  ["TCR2_EL1", 3, 0, 2, 0, 3, "context"],
  ["APIAKEYLO_EL1", 3, 0, 2, 1, 0, "pauth"],
  ["APIAKEYHI_EL1", 3, 0, 2, 1, 1, "pauth"],
  ["APIBKEYLO_EL1", 3, 0, 2, 1, 2, "pauth"],
  ["APIBKEYHI_EL1", 3, 0, 2, 1, 3, "pauth"],
  ["APDAKEYLO_EL1", 3, 0, 2, 2, 0, "pauth"],
  ["APDAKEYHI_EL1", 3, 0, 2, 2, 1, "pauth"],
  ["APDBKEYLO_EL1", 3, 0, 2, 2, 2, "pauth"],
  ["APDBKEYHI_EL1", 3, 0, 2, 2, 3, "pauth"],
  ["APGAKEYLO_EL1", 3, 0, 2, 3, 0, "pauth"],
  ["APGAKEYHI_EL1", 3, 0, 2, 3, 1, "pauth"],
  ["SPSR_EL1(sysreg)", 3, 0, 4, 0, 0, "context"],
  ["ELR_EL1(sysreg)", 3, 0, 4, 0, 1, "context"],
  ["SP_EL0", 3, 0, 4, 1, 0, "context"],
  ["SPSEL", 3, 0, 4, 2, 0, "context"],
  ["CURRENTEL", 3, 0, 4, 2, 2, "context"],
  ["PAN", 3, 0, 4, 2, 3, "context"],
  ["UAO", 3, 0, 4, 2, 4, "context"],
  ["ICC_PMR_EL1", 3, 0, 4, 6, 0, "gic-cpuif"],
  ["AFSR0_EL1", 3, 0, 5, 1, 0, "context"],
  ["AFSR1_EL1", 3, 0, 5, 1, 1, "context"],
  ["ESR_EL1", 3, 0, 5, 2, 0, "context"],
  ["ERRIDR_EL1", 3, 0, 5, 3, 0, "context"],
  ["ERRSELR_EL1", 3, 0, 5, 3, 1, "context"],
  ["TFSR_EL1", 3, 0, 5, 6, 0, "context"],
  ["TFSRE0_EL1", 3, 0, 5, 6, 1, "context"],
  ["FAR_EL1", 3, 0, 6, 0, 0, "context"],
  ["PAR_EL1", 3, 0, 7, 4, 0, "context"],
  ["PMINTENSET_EL1", 3, 0, 9, 14, 1, "pmu"],
  ["PMINTENCLR_EL1", 3, 0, 9, 14, 2, "pmu"],
  ["PMMIR_EL1", 3, 0, 9, 14, 6, "pmu"],
  ["MAIR_EL1", 3, 0, 10, 2, 0, "context"],
  ["PIRE0_EL1", 3, 0, 10, 2, 2, "context"],
  ["PIR_EL1", 3, 0, 10, 2, 3, "context"],
  ["POR_EL1", 3, 0, 10, 2, 4, "context"],
  ["AMAIR_EL1", 3, 0, 10, 3, 0, "context"],
  ["LORSA_EL1", 3, 0, 10, 4, 0, "context"],
  ["LOREA_EL1", 3, 0, 10, 4, 1, "context"],
  ["LORN_EL1", 3, 0, 10, 4, 2, "context"],
  ["LORC_EL1", 3, 0, 10, 4, 3, "context"],
  ["LORID_EL1", 3, 0, 10, 4, 7, "context"],
  ["VBAR_EL1", 3, 0, 12, 0, 0, "context"],
  ["DISR_EL1", 3, 0, 12, 1, 1, "context"],
  // GICv3 CPU interface (IHI0069 §12.2); AP0R<n>/AP1R<n> count depends on PRIbits.
  ["ICC_IAR0_EL1", 3, 0, 12, 8, 0, "gic-cpuif"],
  ["ICC_EOIR0_EL1", 3, 0, 12, 8, 1, "gic-cpuif"],
  ["ICC_HPPIR0_EL1", 3, 0, 12, 8, 2, "gic-cpuif"],
  ["ICC_BPR0_EL1", 3, 0, 12, 8, 3, "gic-cpuif"],
  ["ICC_AP0R0_EL1", 3, 0, 12, 8, 4, "gic-cpuif"],
  ["ICC_AP0R1_EL1", 3, 0, 12, 8, 5, "gic-cpuif"],
  ["ICC_AP0R2_EL1", 3, 0, 12, 8, 6, "gic-cpuif"],
  ["ICC_AP0R3_EL1", 3, 0, 12, 8, 7, "gic-cpuif"],
  ["ICC_AP1R0_EL1", 3, 0, 12, 9, 0, "gic-cpuif"],
  ["ICC_AP1R1_EL1", 3, 0, 12, 9, 1, "gic-cpuif"],
  ["ICC_AP1R2_EL1", 3, 0, 12, 9, 2, "gic-cpuif"],
  ["ICC_AP1R3_EL1", 3, 0, 12, 9, 3, "gic-cpuif"],
  ["ICC_DIR_EL1", 3, 0, 12, 11, 1, "gic-cpuif"],
  ["ICC_RPR_EL1", 3, 0, 12, 11, 3, "gic-cpuif"],
  ["ICC_SGI1R_EL1", 3, 0, 12, 11, 5, "gic-cpuif"],
  ["ICC_ASGI1R_EL1", 3, 0, 12, 11, 6, "gic-cpuif"],
  ["ICC_SGI0R_EL1", 3, 0, 12, 11, 7, "gic-cpuif"],
  ["ICC_IAR1_EL1", 3, 0, 12, 12, 0, "gic-cpuif"],
  ["ICC_EOIR1_EL1", 3, 0, 12, 12, 1, "gic-cpuif"],
  ["ICC_HPPIR1_EL1", 3, 0, 12, 12, 2, "gic-cpuif"],
  ["ICC_BPR1_EL1", 3, 0, 12, 12, 3, "gic-cpuif"],
  ["ICC_CTLR_EL1", 3, 0, 12, 12, 4, "gic-cpuif"],
  ["ICC_SRE_EL1", 3, 0, 12, 12, 5, "gic-cpuif"],
  ["ICC_IGRPEN0_EL1", 3, 0, 12, 12, 6, "gic-cpuif"],
  ["ICC_IGRPEN1_EL1", 3, 0, 12, 12, 7, "gic-cpuif"],
  ["CONTEXTIDR_EL1", 3, 0, 13, 0, 1, "context"],
  ["TPIDR_EL1", 3, 0, 13, 0, 4, "context"],
  ["SCXTNUM_EL1", 3, 0, 13, 0, 7, "context"],
  ["CNTKCTL_EL1", 3, 0, 14, 1, 0, "timer"],
  // EL0-accessible state.
  ["NZCV", 3, 3, 4, 2, 0, "context"],
  ["DAIF", 3, 3, 4, 2, 1, "context"],
  ["DIT", 3, 3, 4, 2, 5, "context"],
  ["SSBS", 3, 3, 4, 2, 6, "context"],
  ["TCO", 3, 3, 4, 2, 7, "context"],
  ["FPCR(sysreg)", 3, 3, 4, 4, 0, "fpsimd"],
  ["FPSR(sysreg)", 3, 3, 4, 4, 1, "fpsimd"],
  ["PMCR_EL0", 3, 3, 9, 12, 0, "pmu"],
  ["PMCNTENSET_EL0", 3, 3, 9, 12, 1, "pmu"],
  ["PMCNTENCLR_EL0", 3, 3, 9, 12, 2, "pmu"],
  ["PMOVSCLR_EL0", 3, 3, 9, 12, 3, "pmu"],
  ["PMSWINC_EL0", 3, 3, 9, 12, 4, "pmu"],
  ["PMSELR_EL0", 3, 3, 9, 12, 5, "pmu"],
  ["PMCEID0_EL0", 3, 3, 9, 12, 6, "pmu"],
  ["PMCEID1_EL0", 3, 3, 9, 12, 7, "pmu"],
  ["PMCCNTR_EL0", 3, 3, 9, 13, 0, "pmu"],
  ["PMXEVTYPER_EL0", 3, 3, 9, 13, 1, "pmu"],
  ["PMXEVCNTR_EL0", 3, 3, 9, 13, 2, "pmu"],
  ["PMUSERENR_EL0", 3, 3, 9, 14, 0, "pmu"],
  ["PMOVSSET_EL0", 3, 3, 9, 14, 3, "pmu"],
  ["POR_EL0", 3, 3, 10, 2, 4, "context"],
  ["TPIDR_EL0", 3, 3, 13, 0, 2, "context"],
  ["TPIDRRO_EL0", 3, 3, 13, 0, 3, "context"],
  ["SCXTNUM_EL0", 3, 3, 13, 0, 7, "context"],
  // Generic timer. KVM id names where KVM defines them (kvm.h); see the module comment.
  ["CNTFRQ_EL0", 3, 3, 14, 0, 0, "timer"],
  ["KVM_REG_ARM_PTIMER_CNT", 3, 3, 14, 0, 1, "timer"], // encoding of CNTPCT_EL0
  ["KVM_REG_ARM_TIMER_CVAL", 3, 3, 14, 0, 2, "timer"], // encoding of CNTVCT_EL0 (swapped ABI)
  ["CNTP_TVAL_EL0", 3, 3, 14, 2, 0, "timer"],
  ["KVM_REG_ARM_PTIMER_CTL", 3, 3, 14, 2, 1, "timer"], // CNTP_CTL_EL0
  ["KVM_REG_ARM_PTIMER_CVAL", 3, 3, 14, 2, 2, "timer"], // CNTP_CVAL_EL0
  ["CNTV_TVAL_EL0", 3, 3, 14, 3, 0, "timer"],
  ["KVM_REG_ARM_TIMER_CTL", 3, 3, 14, 3, 1, "timer"], // CNTV_CTL_EL0
  ["KVM_REG_ARM_TIMER_CNT", 3, 3, 14, 3, 2, "timer"], // encoding of CNTV_CVAL_EL0 (swapped ABI)
  ["PMCCFILTR_EL0", 3, 3, 14, 15, 7, "pmu"],
  // Debug (op0=2).
  ["OSDTRRX_EL1", 2, 0, 0, 0, 2, "debug"],
  ["MDCCINT_EL1", 2, 0, 0, 2, 0, "debug"],
  ["MDSCR_EL1", 2, 0, 0, 2, 2, "debug"],
  ["OSDTRTX_EL1", 2, 0, 0, 3, 2, "debug"],
  ["OSECCR_EL1", 2, 0, 0, 6, 2, "debug"],
  ["MDRAR_EL1", 2, 0, 1, 0, 0, "debug"],
  ["OSLAR_EL1", 2, 0, 1, 0, 4, "debug"],
  ["OSLSR_EL1", 2, 0, 1, 1, 4, "debug"],
  ["OSDLR_EL1", 2, 0, 1, 3, 4, "debug"],
  ["DBGPRCR_EL1", 2, 0, 1, 4, 4, "debug"],
  ["DBGCLAIMSET_EL1", 2, 0, 7, 8, 6, "debug"],
  ["DBGCLAIMCLR_EL1", 2, 0, 7, 9, 6, "debug"],
  ["DBGAUTHSTATUS_EL1", 2, 0, 7, 14, 6, "debug"],
  ["MDCCSR_EL0", 2, 3, 0, 1, 0, "debug"],
  ["DBGDTR_EL0", 2, 3, 0, 4, 0, "debug"],
  ["DBGDTRRX_EL0", 2, 3, 0, 5, 0, "debug"],
  ["DBGVCR32_EL2", 2, 4, 0, 7, 0, "aarch32"],
  // AArch32 state kept in EL2-named registers.
  ["DACR32_EL2", 3, 4, 3, 0, 0, "aarch32"],
  ["IFSR32_EL2", 3, 4, 5, 0, 1, "aarch32"],
  ["FPEXC32_EL2", 3, 4, 5, 3, 0, "aarch32"],
  // EL2 (nested virtualization sublist; only those KVM lists for HAS_EL2 vCPUs are named).
  ["VPIDR_EL2", 3, 4, 0, 0, 0, "el2"],
  ["VMPIDR_EL2", 3, 4, 0, 0, 5, "el2"],
  ["SCTLR_EL2", 3, 4, 1, 0, 0, "el2"],
  ["ACTLR_EL2", 3, 4, 1, 0, 1, "el2"],
  ["HCR_EL2", 3, 4, 1, 1, 0, "el2"],
  ["MDCR_EL2", 3, 4, 1, 1, 1, "el2"],
  ["CPTR_EL2", 3, 4, 1, 1, 2, "el2"],
  ["HSTR_EL2", 3, 4, 1, 1, 3, "el2"],
  ["HCRX_EL2", 3, 4, 1, 2, 2, "el2"],
  ["TTBR0_EL2", 3, 4, 2, 0, 0, "el2"],
  ["TTBR1_EL2", 3, 4, 2, 0, 1, "el2"],
  ["TCR_EL2", 3, 4, 2, 0, 2, "el2"],
  ["VTTBR_EL2", 3, 4, 2, 1, 0, "el2"],
  ["VTCR_EL2", 3, 4, 2, 1, 2, "el2"],
  ["SPSR_EL2", 3, 4, 4, 0, 0, "el2"],
  ["ELR_EL2", 3, 4, 4, 0, 1, "el2"],
  ["SP_EL1(sysreg)", 3, 4, 4, 1, 0, "el2"],
  ["ESR_EL2", 3, 4, 5, 2, 0, "el2"],
  ["FAR_EL2", 3, 4, 6, 0, 0, "el2"],
  ["HPFAR_EL2", 3, 4, 6, 0, 4, "el2"],
  ["MAIR_EL2", 3, 4, 10, 2, 0, "el2"],
  ["VBAR_EL2", 3, 4, 12, 0, 0, "el2"],
  ["TPIDR_EL2", 3, 4, 13, 0, 2, "el2"],
  ["CNTVOFF_EL2", 3, 4, 14, 0, 3, "el2"],
  ["CNTHCTL_EL2", 3, 4, 14, 1, 0, "el2"],
];

function* generated(): Generator<RegName> {
  for (const [name, op0, op1, crn, crm, op2, cls] of SYSREGS) {
    yield { id: sysreg(op0, op1, crn, crm, op2), name, class: cls };
  }
  // Breakpoint/watchpoint pairs: DBGBVR<n>_EL1 = (2,0,0,n,4), DBGBCR 5, DBGWVR 6, DBGWCR 7.
  for (let n = 0; n < 16; n++) {
    yield { id: sysreg(2, 0, 0, n, 4), name: `DBGBVR${n}_EL1`, class: "debug" };
    yield { id: sysreg(2, 0, 0, n, 5), name: `DBGBCR${n}_EL1`, class: "debug" };
    yield { id: sysreg(2, 0, 0, n, 6), name: `DBGWVR${n}_EL1`, class: "debug" };
    yield { id: sysreg(2, 0, 0, n, 7), name: `DBGWCR${n}_EL1`, class: "debug" };
  }
  // PMEVCNTR<n>_EL0 = (3,3,14,8|n>>3,n&7), PMEVTYPER<n>_EL0 = (3,3,14,12|n>>3,n&7), n < 31.
  for (let n = 0; n < 31; n++) {
    yield { id: sysreg(3, 3, 14, 8 | (n >> 3), n & 7), name: `PMEVCNTR${n}_EL0`, class: "pmu" };
    yield { id: sysreg(3, 3, 14, 12 | (n >> 3), n & 7), name: `PMEVTYPER${n}_EL0`, class: "pmu" };
  }
  // Core registers (struct kvm_regs).
  for (let n = 0; n < 31; n++) yield { id: core(CORE_OFFSET.x(n)), name: `X${n}`, class: "core" };
  yield { id: core(CORE_OFFSET.SP), name: "SP", class: "core" };
  yield { id: core(CORE_OFFSET.PC), name: "PC", class: "core" };
  yield { id: core(CORE_OFFSET.PSTATE), name: "PSTATE", class: "core" };
  yield { id: core(CORE_OFFSET.SP_EL1), name: "SP_EL1", class: "core" };
  yield { id: core(CORE_OFFSET.ELR_EL1), name: "ELR_EL1", class: "core" };
  // spsr[KVM_SPSR_EL1 = 0, ABT, UND, IRQ, FIQ]
  // KVM keeps SP_EL1, ELR_EL1, SPSR_EL1, FPSR and FPCR in struct kvm_regs, so those core slots
  // get the plain names; the system-register encodings (used by QEMU TCG lists) say "(sysreg)".
  const spsr = ["SPSR_EL1", "SPSR_ABT", "SPSR_UND", "SPSR_IRQ", "SPSR_FIQ"];
  for (let i = 0; i < 5; i++) yield { id: core(CORE_OFFSET.spsr(i)), name: spsr[i], class: "core" };
  for (let n = 0; n < 32; n++) {
    yield { id: core(CORE_OFFSET.v(n), KVM_REG_SIZE.U128), name: `V${n}`, class: "fpsimd" };
  }
  yield { id: core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32), name: "FPSR", class: "fpsimd" };
  yield { id: core(CORE_OFFSET.FPCR, KVM_REG_SIZE.U32), name: "FPCR", class: "fpsimd" };
  // Firmware pseudo-registers (Documentation/virt/kvm/arm/fw-pseudo-registers.rst).
  const fw = [
    "KVM_REG_ARM_PSCI_VERSION",
    "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1",
    "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2",
    "KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3",
  ];
  for (let i = 0; i < fw.length; i++) yield { id: fwReg(i), name: fw[i], class: "firmware" };
  const bmap = [
    "KVM_REG_ARM_STD_BMAP",
    "KVM_REG_ARM_STD_HYP_BMAP",
    "KVM_REG_ARM_VENDOR_HYP_BMAP",
    "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
  ];
  for (let i = 0; i < bmap.length; i++) yield { id: bmapReg(i), name: bmap[i], class: "bitmap" };
  yield { id: SVE_VLS, name: "KVM_REG_ARM64_SVE_VLS", class: "sve" };
}

const BY_ID = new Map<bigint, RegName>();
const BY_NAME = new Map<string, RegName>();
for (const r of generated()) {
  if (BY_ID.has(r.id)) throw new Error(`names.ts: two rows for ${hex(r.id)}`);
  if (BY_NAME.has(r.name)) throw new Error(`names.ts: two rows named ${r.name}`);
  BY_ID.set(r.id, r);
  BY_NAME.set(r.name, r);
}

const CACHE_TYPE = ["data/unified", "instruction"];

/** The name of a KVM register id: a table row, or a systematic name for unnamed ids. */
export function regName(id: bigint): string {
  return describeReg(id).name;
}

export function describeReg(id: bigint): { name: string; class: RegClass; known: boolean } {
  const row = BY_ID.get(id);
  if (row) return { name: row.name, class: row.class, known: true };
  if (!isArm64(id)) return { name: `ARM32_REG(${hex(id)})`, class: "aarch32", known: false };
  switch (regCoproc(id)) {
    case COPROC.SYSREG:
      return { name: genericSysregName(sysregFields(id)), class: "other", known: false };
    case COPROC.DEMUX: {
      // KVM_REG_ARM_DEMUX_ID_CCSIDR (index bits 15..8 = 0): CSSELR.Level is bits 3..1, InD bit 0.
      const idx = Number(id & 0xffffn);
      if ((idx >> 8) === 0) {
        const level = ((idx >> 1) & 7) + 1;
        return { name: `CCSIDR(L${level} ${CACHE_TYPE[idx & 1]})`, class: "cache", known: true };
      }
      return { name: `DEMUX(${hex(id)})`, class: "other", known: false };
    }
    case COPROC.FW:
      return {
        name: `KVM_REG_ARM_FW_REG(${Number(id & 0xffffn)})`,
        class: "firmware",
        known: false,
      };
    case COPROC.FW_FEAT_BMAP:
      return {
        name: `KVM_REG_ARM_FW_FEAT_BMAP_REG(${Number(id & 0xffffn)})`,
        class: "bitmap",
        known: false,
      };
    case COPROC.SVE: {
      const idx = Number(id & 0xffffn);
      const slice = idx & 0x1f;
      if (idx < 0x400) return { name: `Z${idx >> 5}[${slice}]`, class: "sve", known: true };
      if (idx < 0x600) return { name: `P${(idx >> 5) & 0xf}[${slice}]`, class: "sve", known: true };
      if (idx < 0x620) return { name: `FFR[${slice}]`, class: "sve", known: true };
      return { name: `SVE(${hex(id)})`, class: "sve", known: false };
    }
    case COPROC.CORE:
      return { name: `CORE(${hex(id & 0xffffn)})`, class: "core", known: false };
    default:
      return { name: `REG(${hex(id)})`, class: "other", known: false };
  }
}

/** The id of a named register (exact table names, or S<op0>_<op1>_C<n>_C<m>_<op2>). */
export function regId(name: string): bigint | undefined {
  const row = BY_NAME.get(name);
  if (row) return row.id;
  const m = /^S([0-3])_([0-7])_C([0-9]|1[0-5])_C([0-9]|1[0-5])_([0-7])$/.exec(name);
  if (m) return sysreg(+m[1], +m[2], +m[3], +m[4], +m[5]);
  return undefined;
}

/** Every named row, for tests and listings. */
export function namedRegisters(): readonly RegName[] {
  return [...BY_ID.values()];
}
