/**
 * The in-memory model of a rollsafe snapshot (format v1, schema.cddl). Integers that can exceed
 * 2^53 (register ids and values, MPIDRs, addresses) are bigint. Keys a reader does not know are
 * kept in `extra` at every level and written back unchanged.
 */
import type { CborValue } from "../cbor/mod.ts";
import { bigToLe, leToBig, regSize } from "./kvm/ids.ts";

export const SNAPSHOT_FORMAT = "rollsafe-snapshot";
export const SNAPSHOT_VERSION = 1;

/** Unknown map entries, preserved for forward compatibility. */
export type Extra = Map<CborValue, CborValue>;

export interface SnapshotSource {
  kernel?: string;
  profile?: string;
  host?: string;
  vmm?: string;
  vmmVersion?: string;
  midr?: bigint;
  capturedAt?: string;
  importer?: string;
  extra: Extra;
}

export interface SmcccRange {
  base: number;
  count: number;
  action: number;
  extra: Extra;
}

export interface VgicState {
  model: "v2" | "v3";
  nrIrqs: number;
  /** Distributor register offset → 32-bit value. */
  dist: Map<number, number>;
  /** ITS register offset → value. */
  its?: Map<number, bigint>;
  extra: Extra;
}

export interface VmState {
  vgic?: VgicState;
  counterOffset?: bigint;
  caps: number[];
  smcccFilter: SmcccRange[];
  extra: Extra;
}

export interface VcpuState {
  mpidr: bigint;
  /** KVM_ARM_VCPU_INIT feature bit numbers. */
  features: number[];
  mpState?: number;
  /** ONE_REG id → little-endian value bytes (width from the id). */
  registers: Map<bigint, Uint8Array>;
  /** GICv3 redistributor offset → 32-bit value. */
  redist?: Map<number, number>;
  /** GICv3 CPU-interface sysreg (16-bit encoding) → 64-bit value. */
  icc?: Map<number, bigint>;
  /** GICv2 CPU-interface offset → 32-bit value. */
  gicc?: Map<number, number>;
  /** LEVEL_INFO vINTID base → line-level bitmap. */
  level?: Map<number, number>;
  extra: Extra;
}

export interface MemoryRegion {
  base: bigint;
  size: bigint;
  pageSize: number;
  /** Offset from base → page bytes; absent pages are zero. */
  pages: Map<bigint, Uint8Array>;
  name?: string;
  extra: Extra;
}

export interface Snapshot {
  source?: SnapshotSource;
  vm: VmState;
  vcpus: VcpuState[];
  memory?: MemoryRegion[];
  extra: Extra;
}

/** KVM_ARM_VCPU_INIT feature bits (arch/arm64/include/uapi/asm/kvm.h). */
export const VCPU_FEATURE = {
  POWER_OFF: 0,
  EL1_32BIT: 1,
  PSCI_0_2: 2,
  PMU_V3: 3,
  SVE: 4,
  PTRAUTH_ADDRESS: 5,
  PTRAUTH_GENERIC: 6,
  HAS_EL2: 7,
  HAS_EL2_E2H0: 8,
} as const;

export function newVcpu(mpidr: bigint): VcpuState {
  return { mpidr, features: [], registers: new Map(), extra: new Map() };
}

/** The value of register `id` as an unsigned bigint, or undefined if the vCPU does not hold it. */
export function regValue(vcpu: VcpuState, id: bigint): bigint | undefined {
  const b = vcpu.registers.get(id);
  return b === undefined ? undefined : leToBig(b);
}

/** Sets register `id` to `value`, encoded at the width the id names. */
export function setRegValue(vcpu: VcpuState, id: bigint, value: bigint): void {
  vcpu.registers.set(id, bigToLe(value, regSize(id)));
}

/** Total bytes of non-zero guest memory carried. */
export function memoryBytes(s: Snapshot): number {
  let n = 0;
  for (const r of s.memory ?? []) for (const p of r.pages.values()) n += p.length;
  return n;
}
