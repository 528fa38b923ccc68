/**
 * The guest probe's observations, one row each, and the byte layouts shared by the probe binary,
 * the runner and the drift diff. This table is the source of truth: `build.ts` turns it into
 * `src/observations.inc` (one assembler macro call per row, slot offsets as `.equ`s), so the
 * binary and the decoder cannot disagree about where an observation lives.
 *
 * Adding an observation = adding a row here and running `deno task build:probes`.
 *
 * Encodings: Arm ARM DDI0487 K.a (system registers, "AArch64 System Register Descriptions");
 * GICv3/v4 architecture spec IHI0069 H (GICD_*, GICR_* offsets, §12.8/§12.10); GICv2 spec
 * IHI0048 B (GICD/GICC offsets, §4.1.2/§4.1.3); PSCI DEN0022 F (function ids, table 5.1);
 * SMCCC DEN0028 (SMCCC_VERSION, ARCH_FEATURES, vendor-hyp service range); TRNG DEN0098;
 * KVM's vendor-hyp calls from include/linux/arm-smccc.h (ARM_SMCCC_VENDOR_HYP_*).
 */
import { regName } from "../../snapshots/kvm/names.ts";
import { sysreg } from "../../snapshots/kvm/ids.ts";

/** Which MMIO frame an access goes to; the runner passes each frame's base in the parameters. */
export type Frame = "gicd" | "gicr" | "gicr_sgi" | "gicc";

/** What the probe does to produce one observation. */
export type ProbeOp =
  /** MRS of a system register (op0, op1, CRn, CRm, op2). */
  | { kind: "mrs"; enc: [number, number, number, number, number] }
  /** Select a cache with CSSELR_EL1, then MRS CCSIDR_EL1. */
  | { kind: "ccsidr"; csselr: number }
  /** A 32-bit MMIO load at a frame offset that depends on the GIC version (absent: not read). */
  | { kind: "mmio32"; frame: Frame; v2?: number; v3?: number }
  /** GICD_IGROUPR<n>, read only when n ≤ GICD_TYPER.ITLinesNumber. */
  | { kind: "igroupr"; n: number }
  /**
   * Interrupt-group writability: on the last SPI word of GICD_IGROUPR (or GICR_IGROUPR0 on
   * GICv3) write `pattern`, read back, then write the original value back. The slot holds the
   * value read back.
   */
  | { kind: "group-write"; target: "gicd-last-spi" | "gicr-igroupr0"; pattern: number }
  /** HVC #0 with w0 = fid, x1 = arg (SMCCC 1.1 calling convention); `results` registers kept. */
  | { kind: "hvc"; fid: number; arg: number; results: 1 | 4 };

/** How a difference in this observation is grouped in reports. */
export type ObservationClass =
  | "id"
  | "cache"
  | "gic"
  | "gic-groups"
  | "gic-cpuif"
  | "firmware"
  | "timer"
  | "pmu"
  | "debug"
  | "feature-state";

export interface ProbeRow {
  /** Observation name: architectural register name, or the call's spec name. */
  name: string;
  cls: ObservationClass;
  op: ProbeOp;
}

/** One decoded slot. */
export interface Slot {
  name: string;
  cls: ObservationClass;
  op: ProbeOp;
  /** Byte offset of the slot in the result buffer. */
  offset: number;
}

// ---- Byte layouts --------------------------------------------------------------------------

/**
 * The parameter block lives at the start of the probe image (after a branch over it), so the
 * same committed binary runs anywhere: a runner copies the image, fills these fields and loads
 * it. Little-endian, offsets from the image start.
 */
export const PARAM = {
  /** "RSPB", after the `b entry` at offset 0. */
  MAGIC: 0x04,
  VERSION: 0x08,
  FLAGS: 0x0c,
  /** Absolute address of the result buffer (MMU off: physical). */
  RESULTS: 0x10,
  GICD: 0x18,
  /** This vCPU's redistributor RD frame; its SGI frame is at +0x10000 (IHI0069 §12.10). */
  GICR: 0x20,
  GICC: 0x28,
  /** PL011 data register base; when non-zero the probe prints the result buffer there. */
  UART: 0x30,
  /** First instruction after the block. */
  ENTRY: 0x40,
} as const;

export const PARAM_MAGIC = 0x42505352; // "RSPB" little-endian
export const PARAM_VERSION = 1;

export const FLAG = {
  GICV3: 1 << 0,
  GICV2: 1 << 1,
} as const;

/** Result buffer header, then `SLOT_SIZE`-byte slots from `HEADER_SIZE`. */
export const RESULT = {
  MAGIC: 0x00,
  VERSION: 0x04,
  SLOTS: 0x08,
  /** 1 while running, 2 when every row has run. */
  STATE: 0x0c,
  /** Synchronous exceptions taken (one per UNDEF/abort a row provoked). */
  SYNC_EXCEPTIONS: 0x10,
  /** IRQ/FIQ/SError taken despite DAIF being masked (should stay 0). */
  ASYNC_EXCEPTIONS: 0x14,
  /** Total buffer size in bytes (header + slots). */
  SIZE: 0x18,
  /** FNV-1a of the slot names, so a binary built from another table is rejected. */
  DIGEST: 0x1c,
} as const;

export const RESULT_MAGIC = 0x52505352; // "RSPR" little-endian
export const RESULT_VERSION = 1;
export const HEADER_SIZE = 0x40;
/** Each slot: u64 value, u64 status. */
export const SLOT_SIZE = 16;
export const STATE_RUNNING = 1;
export const STATE_DONE = 2;

/**
 * Slot status. `EXCEPTION_BIT | ESR_EL1` when the access took a synchronous exception at EL1 (the
 * probe's vector table records ESR_EL1 and skips the instruction); the value is then 0.
 */
export const STATUS = {
  NOT_RUN: 0n,
  OK: 1n,
  /** The row does not apply here (no such GIC frame, GIC version, or SPI word). */
  ABSENT: 2n,
  EXCEPTION_BIT: 1n << 63n,
} as const;

/** The pattern the group-write rows write; its complement is written by the second row. */
export const GROUP_PATTERN = 0x5a5a5a5a;

// ---- Function ids (DEN0022 table 5.1, DEN0028, DEN0098, arm-smccc.h) ------------------------

export const FID = {
  PSCI_VERSION: 0x84000000,
  CPU_SUSPEND: 0x84000001,
  CPU_SUSPEND64: 0xc4000001,
  CPU_OFF: 0x84000002,
  CPU_ON: 0x84000003,
  CPU_ON64: 0xc4000003,
  AFFINITY_INFO: 0x84000004,
  AFFINITY_INFO64: 0xc4000004,
  MIGRATE: 0x84000005,
  MIGRATE64: 0xc4000005,
  MIGRATE_INFO_TYPE: 0x84000006,
  MIGRATE_INFO_UP_CPU: 0x84000007,
  MIGRATE_INFO_UP_CPU64: 0xc4000007,
  SYSTEM_OFF: 0x84000008,
  SYSTEM_RESET: 0x84000009,
  PSCI_FEATURES: 0x8400000a,
  CPU_FREEZE: 0x8400000b,
  CPU_DEFAULT_SUSPEND: 0x8400000c,
  CPU_DEFAULT_SUSPEND64: 0xc400000c,
  NODE_HW_STATE: 0x8400000d,
  NODE_HW_STATE64: 0xc400000d,
  SYSTEM_SUSPEND: 0x8400000e,
  SYSTEM_SUSPEND64: 0xc400000e,
  PSCI_SET_SUSPEND_MODE: 0x8400000f,
  PSCI_STAT_RESIDENCY: 0x84000010,
  PSCI_STAT_RESIDENCY64: 0xc4000010,
  PSCI_STAT_COUNT: 0x84000011,
  PSCI_STAT_COUNT64: 0xc4000011,
  SYSTEM_RESET2: 0x84000012,
  SYSTEM_RESET2_64: 0xc4000012,
  MEM_PROTECT: 0x84000013,
  MEM_PROTECT_CHECK_RANGE: 0x84000014,
  MEM_PROTECT_CHECK_RANGE64: 0xc4000014,
  SYSTEM_OFF2: 0x84000015,
  SYSTEM_OFF2_64: 0xc4000015,
  TRNG_VERSION: 0x84000050,
  TRNG_FEATURES: 0x84000051,
  SMCCC_VERSION: 0x80000000,
  SMCCC_ARCH_FEATURES: 0x80000001,
  SMCCC_ARCH_SOC_ID: 0x80000002,
  SMCCC_ARCH_WORKAROUND_1: 0x80008000,
  SMCCC_ARCH_WORKAROUND_2: 0x80007fff,
  SMCCC_ARCH_WORKAROUND_3: 0x80003fff,
  HV_PV_TIME_FEATURES: 0xc5000020,
  HV_PV_TIME_ST: 0xc5000021,
  VENDOR_HYP_KVM_FEATURES: 0x86000000,
  VENDOR_HYP_CALL_UID: 0x8600ff01,
} as const;
export type FidName = keyof typeof FID;

/**
 * Calls whose PSCI_FEATURES answer the probe records (every PSCI 1.3 function, DEN0022 F table
 * 5.1, plus SMCCC_VERSION, which SMCCC says is discovered through PSCI_FEATURES). Only the
 * FEATURES query runs; none of these functions is called.
 */
const PSCI_FEATURES_OF: FidName[] = [
  "PSCI_VERSION",
  "CPU_SUSPEND",
  "CPU_SUSPEND64",
  "CPU_OFF",
  "CPU_ON",
  "CPU_ON64",
  "AFFINITY_INFO",
  "AFFINITY_INFO64",
  "MIGRATE",
  "MIGRATE64",
  "MIGRATE_INFO_TYPE",
  "MIGRATE_INFO_UP_CPU",
  "MIGRATE_INFO_UP_CPU64",
  "SYSTEM_OFF",
  "SYSTEM_RESET",
  "PSCI_FEATURES",
  "CPU_FREEZE",
  "CPU_DEFAULT_SUSPEND",
  "CPU_DEFAULT_SUSPEND64",
  "NODE_HW_STATE",
  "NODE_HW_STATE64",
  "SYSTEM_SUSPEND",
  "SYSTEM_SUSPEND64",
  "PSCI_SET_SUSPEND_MODE",
  "PSCI_STAT_RESIDENCY",
  "PSCI_STAT_RESIDENCY64",
  "PSCI_STAT_COUNT",
  "PSCI_STAT_COUNT64",
  "SYSTEM_RESET2",
  "SYSTEM_RESET2_64",
  "MEM_PROTECT",
  "MEM_PROTECT_CHECK_RANGE",
  "MEM_PROTECT_CHECK_RANGE64",
  "SYSTEM_OFF2",
  "SYSTEM_OFF2_64",
  "SMCCC_VERSION",
];

/** SMCCC_ARCH_FEATURES queries (DEN0028 §7.3: a workaround is present if this returns ≥ 0). */
const ARCH_FEATURES_OF: FidName[] = [
  "SMCCC_ARCH_WORKAROUND_1",
  "SMCCC_ARCH_WORKAROUND_2",
  "SMCCC_ARCH_WORKAROUND_3",
  "SMCCC_ARCH_SOC_ID",
];

// ---- The rows -------------------------------------------------------------------------------

function mrs(
  name: string,
  cls: ObservationClass,
  op0: number,
  op1: number,
  crn: number,
  crm: number,
  op2: number,
): ProbeRow {
  return { name, cls, op: { kind: "mrs", enc: [op0, op1, crn, crm, op2] } };
}

/** Cache names for CSSELR_EL1 values: Level = value>>1 plus one, InD = bit 0. */
export function cacheName(csselr: number): string {
  return `L${(csselr >> 1) + 1}${csselr & 1 ? "I" : "D"}`;
}

function rows(): ProbeRow[] {
  const r: ProbeRow[] = [];
  // The whole ID space op0=3, op1=0, CRn=0, CRm=0..7, op2=0..7 (KVM enumerates all of it since
  // 4.15, 93390c0a1b20; unallocated encodings are RAZ under KVM). ID registers have no KVM/arch
  // naming swap, so the shared KVM-id name table names them.
  for (let crm = 0; crm < 8; crm++) {
    for (let op2 = 0; op2 < 8; op2++) {
      r.push(mrs(regName(sysreg(3, 0, 0, crm, op2)), "id", 3, 0, 0, crm, op2));
    }
  }
  r.push(mrs("AIDR_EL1", "id", 3, 1, 0, 0, 7));
  r.push(mrs("CTR_EL0", "cache", 3, 3, 0, 0, 1));
  r.push(mrs("CLIDR_EL1", "cache", 3, 1, 0, 0, 1));
  r.push(mrs("DCZID_EL0", "cache", 3, 3, 0, 0, 7));
  // Every cache a CLIDR_EL1 can describe: levels 1..7, data/unified and instruction.
  for (let csselr = 0; csselr < 14; csselr++) {
    r.push({
      name: `CCSIDR_EL1.${cacheName(csselr)}`,
      cls: "cache",
      op: { kind: "ccsidr", csselr },
    });
  }
  r.push(mrs("CurrentEL", "debug", 3, 0, 4, 2, 2));
  r.push(mrs("OSLSR_EL1", "debug", 2, 0, 1, 1, 4));
  r.push(mrs("PMCR_EL0", "pmu", 3, 3, 9, 12, 0));
  // Feature state a hidden feature makes UNDEF (SVE, pointer auth).
  r.push(mrs("ZCR_EL1", "feature-state", 3, 0, 1, 2, 0));
  r.push(mrs("APIAKEYLO_EL1", "feature-state", 3, 0, 2, 1, 0));
  r.push(mrs("APGAKEYLO_EL1", "feature-state", 3, 0, 2, 3, 0));
  // GICv3 CPU interface (IHI0069 §12.2): PRIbits/IDbits/SEIS/A3V are in ICC_CTLR_EL1.
  r.push(mrs("ICC_SRE_EL1", "gic-cpuif", 3, 0, 12, 12, 5));
  r.push(mrs("ICC_CTLR_EL1", "gic-cpuif", 3, 0, 12, 12, 4));
  r.push(mrs("ICC_PMR_EL1", "gic-cpuif", 3, 0, 4, 6, 0));
  r.push(mrs("ICC_IGRPEN1_EL1", "gic-cpuif", 3, 0, 12, 12, 7));
  // Generic timer (architectural names: these are MRS encodings, not KVM ids).
  r.push(mrs("CNTFRQ_EL0", "timer", 3, 3, 14, 0, 0));
  r.push(mrs("CNTVCT_EL0", "timer", 3, 3, 14, 0, 2));
  r.push(mrs("CNTPCT_EL0", "timer", 3, 3, 14, 0, 1));
  r.push(mrs("CNTV_CTL_EL0", "timer", 3, 3, 14, 3, 1));
  r.push(mrs("CNTV_CVAL_EL0", "timer", 3, 3, 14, 3, 2));
  r.push(mrs("CNTP_CTL_EL0", "timer", 3, 3, 14, 2, 1));
  r.push(mrs("CNTP_CVAL_EL0", "timer", 3, 3, 14, 2, 2));
  r.push(mrs("CNTKCTL_EL1", "timer", 3, 0, 14, 1, 0));
  // Distributor (GICv3 IHI0069 §12.9, GICv2 IHI0048 §4.3).
  const gicd = (name: string, v2: number | undefined, v3: number | undefined): ProbeRow => ({
    name,
    cls: "gic",
    op: { kind: "mmio32", frame: "gicd", v2, v3 },
  });
  r.push(gicd("GICD_CTLR", 0x0, 0x0));
  r.push(gicd("GICD_TYPER", 0x4, 0x4));
  r.push(gicd("GICD_IIDR", 0x8, 0x8));
  r.push(gicd("GICD_TYPER2", undefined, 0xc));
  r.push(gicd("GICD_PIDR2", 0xfe8, 0xffe8));
  // Redistributor RD frame of this vCPU (IHI0069 §12.10): GICR_CTLR.{IR,CES} appear at KVM's
  // IIDR revision 3 (49a1a2c70a7f).
  const gicr = (name: string, off: number): ProbeRow => ({
    name,
    cls: "gic",
    op: { kind: "mmio32", frame: "gicr", v3: off },
  });
  r.push(gicr("GICR_CTLR", 0x0));
  r.push(gicr("GICR_IIDR", 0x4));
  r.push(gicr("GICR_TYPER.lo", 0x8));
  r.push(gicr("GICR_TYPER.hi", 0xc));
  r.push(gicr("GICR_WAKER", 0x14));
  r.push(gicr("GICR_PIDR2", 0xffe8));
  // GICv2 CPU interface (IHI0048 §4.3).
  const gicc = (name: string, off: number): ProbeRow => ({
    name,
    cls: "gic-cpuif",
    op: { kind: "mmio32", frame: "gicc", v2: off },
  });
  r.push(gicc("GICC_CTLR", 0x0));
  r.push(gicc("GICC_PMR", 0x4));
  r.push(gicc("GICC_IIDR", 0xfc));
  // Interrupt groups as the guest finds them after the restore, every word the GIC implements.
  for (let n = 0; n < 32; n++) {
    r.push({ name: `GICD_IGROUPR${n}`, cls: "gic-groups", op: { kind: "igroupr", n } });
  }
  r.push({
    name: "GICR_IGROUPR0",
    cls: "gic-groups",
    op: { kind: "mmio32", frame: "gicr_sgi", v3: 0x80 },
  });
  // Writability of the group registers (KVM IIDR revision semantics, research §1.3).
  for (const pattern of [GROUP_PATTERN, ~GROUP_PATTERN >>> 0]) {
    const p = pattern.toString(16);
    r.push({
      name: `GICD_IGROUPR[last SPI word] after writing 0x${p}`,
      cls: "gic-groups",
      op: { kind: "group-write", target: "gicd-last-spi", pattern },
    });
    r.push({
      name: `GICR_IGROUPR0 after writing 0x${p}`,
      cls: "gic-groups",
      op: { kind: "group-write", target: "gicr-igroupr0", pattern },
    });
  }
  // Firmware over HVC.
  const hvc = (name: string, fid: number, arg = 0, results: 1 | 4 = 1): ProbeRow => ({
    name,
    cls: "firmware",
    op: { kind: "hvc", fid, arg, results },
  });
  r.push(hvc("PSCI_VERSION", FID.PSCI_VERSION));
  r.push(hvc("MIGRATE_INFO_TYPE", FID.MIGRATE_INFO_TYPE));
  for (const f of PSCI_FEATURES_OF) r.push(hvc(`PSCI_FEATURES(${f})`, FID.PSCI_FEATURES, FID[f]));
  r.push(hvc("SMCCC_VERSION", FID.SMCCC_VERSION));
  for (const f of ARCH_FEATURES_OF) {
    r.push(hvc(`SMCCC_ARCH_FEATURES(${f})`, FID.SMCCC_ARCH_FEATURES, FID[f]));
  }
  r.push(hvc("VENDOR_HYP_CALL_UID", FID.VENDOR_HYP_CALL_UID, 0, 4));
  r.push(hvc("VENDOR_HYP_KVM_FEATURES", FID.VENDOR_HYP_KVM_FEATURES));
  r.push(hvc("TRNG_VERSION", FID.TRNG_VERSION));
  r.push(hvc("HV_PV_TIME_FEATURES(HV_PV_TIME_ST)", FID.HV_PV_TIME_FEATURES, FID.HV_PV_TIME_ST));
  return r;
}

/** The rows, in the order the probe runs them. */
export const PROBE_ROWS: readonly ProbeRow[] = rows();

function layout(): Slot[] {
  const out: Slot[] = [];
  let offset = HEADER_SIZE;
  for (const row of PROBE_ROWS) {
    const n = row.op.kind === "hvc" ? row.op.results : 1;
    for (let i = 0; i < n; i++) {
      out.push({
        name: n === 1 ? row.name : `${row.name}.x${i}`,
        cls: row.cls,
        op: row.op,
        offset,
      });
      offset += SLOT_SIZE;
    }
  }
  return out;
}

/** Every slot of the result buffer, in buffer order. */
export const SLOTS: readonly Slot[] = layout();
export const RESULT_SIZE = HEADER_SIZE + SLOTS.length * SLOT_SIZE;

/** FNV-1a (32-bit) over the slot names joined by "\n": the layout's identity. */
export function layoutDigest(names: readonly string[] = SLOTS.map((s) => s.name)): number {
  let h = 0x811c9dc5;
  for (const b of new TextEncoder().encode(names.join("\n"))) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const byName = new Map(SLOTS.map((s) => [s.name, s]));
/** The slot called `name`, or undefined. */
export function slotByName(name: string): Slot | undefined {
  return byName.get(name);
}
