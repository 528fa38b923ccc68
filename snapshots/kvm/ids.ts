/**
 * KVM ONE_REG id encoding for arm64 (Documentation/virt/kvm/api.rst §4.68 "KVM_SET_ONE_REG",
 * arch/arm64/include/uapi/asm/kvm.h). Ids are 64-bit and mostly above 2^53, so they are bigint
 * everywhere; hex strings are lower-case "0x…" with no padding.
 *
 *   bits 63..56  architecture: KVM_REG_ARM64 = 0x60 (KVM_REG_ARM, 32-bit ARM, = 0x40)
 *   bits 55..52  size: log2 of the value's width in bytes (U32 = 2, U64 = 3, … U2048 = 8)
 *   bits 31..16  coprocessor group (KVM_REG_ARM_COPROC_MASK)
 *   bits 15..0   index within the group
 */

export const KVM_REG_ARCH_MASK = 0xff00_0000_0000_0000n;
export const KVM_REG_ARM64 = 0x6000_0000_0000_0000n;
export const KVM_REG_ARM = 0x4000_0000_0000_0000n;
export const KVM_REG_SIZE_SHIFT = 52n;
export const KVM_REG_SIZE_MASK = 0x00f0_0000_0000_0000n;
export const KVM_REG_ARM_COPROC_SHIFT = 16n;
export const KVM_REG_ARM_COPROC_MASK = 0x0000_0000_ffff_0000n;

/** Sizes by their field value (kvm.h KVM_REG_SIZE_U8 … U2048). */
export const KVM_REG_SIZE = {
  U8: 0n,
  U16: 1n,
  U32: 2n,
  U64: 3n,
  U128: 4n,
  U256: 5n,
  U512: 6n,
  U1024: 7n,
  U2048: 8n,
} as const;

/** Coprocessor groups of KVM_REG_ARM64 ids (arch/arm64/include/uapi/asm/kvm.h). */
export const COPROC = {
  CORE: 0x0010,
  DEMUX: 0x0011,
  SYSREG: 0x0013,
  FW: 0x0014,
  SVE: 0x0015,
  FW_FEAT_BMAP: 0x0016,
} as const;
export type CoprocName = keyof typeof COPROC;

/** vGIC device attribute groups (KVM_DEV_ARM_VGIC_GRP_*, arch/arm64/include/uapi/asm/kvm.h). */
export const KVM_DEV_ARM_VGIC_GRP = {
  ADDR: 0,
  DIST_REGS: 1,
  CPU_REGS: 2,
  NR_IRQS: 3,
  CTRL: 4,
  REDIST_REGS: 5,
  CPU_SYSREGS: 6,
  LEVEL_INFO: 7,
  ITS_REGS: 8,
} as const;

/** Width in bytes of the value an id names: 2^size. */
export function regSize(id: bigint): number {
  return 1 << Number((id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT);
}

export function regCoproc(id: bigint): number {
  return Number((id & KVM_REG_ARM_COPROC_MASK) >> KVM_REG_ARM_COPROC_SHIFT);
}

export function isArm64(id: bigint): boolean {
  return (id & KVM_REG_ARCH_MASK) === KVM_REG_ARM64;
}

function make(size: bigint, coproc: number, index: number | bigint): bigint {
  return KVM_REG_ARM64 | (size << KVM_REG_SIZE_SHIFT) |
    (BigInt(coproc) << KVM_REG_ARM_COPROC_SHIFT) | BigInt(index);
}

/** The 16-bit system-register encoding used by ARM64_SYS_REG and the vGIC CPU_SYSREGS attr. */
export function sysregEncoding(
  op0: number,
  op1: number,
  crn: number,
  crm: number,
  op2: number,
): number {
  return (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
}

/** ARM64_SYS_REG(op0, op1, CRn, CRm, op2): a U64 id in the SYSREG group. */
export function sysreg(op0: number, op1: number, crn: number, crm: number, op2: number): bigint {
  return make(KVM_REG_SIZE.U64, COPROC.SYSREG, sysregEncoding(op0, op1, crn, crm, op2));
}

export interface SysregFields {
  op0: number;
  op1: number;
  crn: number;
  crm: number;
  op2: number;
}

export function sysregFields(id: bigint): SysregFields {
  const e = Number(id & 0xffffn);
  return {
    op0: (e >> 14) & 3,
    op1: (e >> 11) & 7,
    crn: (e >> 7) & 15,
    crm: (e >> 3) & 15,
    op2: e & 7,
  };
}

/** The generic architectural name of a system-register encoding. */
export function genericSysregName(f: SysregFields): string {
  return `S${f.op0}_${f.op1}_C${f.crn}_C${f.crm}_${f.op2}`;
}

/**
 * Core registers: offsets into `struct kvm_regs` in 32-bit words (api.rst: "0x6030 0000 0010
 * <index into the kvm_regs struct:16>"). user_pt_regs is x0..x30, sp, pc, pstate (34 × 8 bytes);
 * then sp_el1, elr_el1, spsr[5]; then user_fpsimd_state, 16-byte aligned: vregs[32] (U128),
 * fpsr and fpcr (U32).
 */
export const CORE_OFFSET = {
  x: (n: number) => 2 * n,
  SP: 0x3e,
  PC: 0x40,
  PSTATE: 0x42,
  SP_EL1: 0x44,
  ELR_EL1: 0x46,
  spsr: (n: number) => 0x48 + 2 * n,
  v: (n: number) => 0x54 + 4 * n,
  FPSR: 0xd4,
  FPCR: 0xd5,
} as const;

export function core(offset: number, size: bigint = KVM_REG_SIZE.U64): bigint {
  return make(size, COPROC.CORE, offset);
}

export const REG_PC = core(CORE_OFFSET.PC);
export const REG_SP = core(CORE_OFFSET.SP);
export const REG_PSTATE = core(CORE_OFFSET.PSTATE);

/** KVM_REG_ARM_DEMUX_ID_CCSIDR: U32, index = CSSELR value (api.rst "0x6020 0000 0011 00 <csselr:8>"). */
export function demuxCcsidr(csselr: number): bigint {
  return make(KVM_REG_SIZE.U32, COPROC.DEMUX, csselr & 0xff);
}

/** KVM_REG_ARM_FW_REG(r): U64 firmware pseudo-register. */
export function fwReg(r: number): bigint {
  return make(KVM_REG_SIZE.U64, COPROC.FW, r);
}

/** KVM_REG_ARM_FW_FEAT_BMAP_REG(r): U64 hypercall bitmap register. */
export function bmapReg(r: number): bigint {
  return make(KVM_REG_SIZE.U64, COPROC.FW_FEAT_BMAP, r);
}

/** KVM_REG_ARM64_SVE_VLS (U512, index 0xffff of the SVE group). */
export const SVE_VLS = make(KVM_REG_SIZE.U512, COPROC.SVE, 0xffff);
/** KVM_REG_ARM64_SVE_ZREG(n, slice): U2048. */
export function sveZ(n: number, slice: number): bigint {
  return make(KVM_REG_SIZE.U2048, COPROC.SVE, (n << 5) | slice);
}
/** KVM_REG_ARM64_SVE_PREG(n, slice): U256. */
export function sveP(n: number, slice: number): bigint {
  return make(KVM_REG_SIZE.U256, COPROC.SVE, 0x400 | (n << 5) | slice);
}
/** KVM_REG_ARM64_SVE_FFR(slice): U256. */
export function sveFfr(slice: number): bigint {
  return make(KVM_REG_SIZE.U256, COPROC.SVE, 0x600 | slice);
}

/** Lower-case "0x…" rendering used in JSON and reports. */
export function hex(v: bigint | number): string {
  return `0x${v.toString(16)}`;
}

/** Parses "0x…" (or decimal) into a bigint, or undefined if it is not a number. */
export function parseBig(s: string): bigint | undefined {
  const t = s.trim();
  if (!/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(t)) return undefined;
  return BigInt(t);
}

/** Value bytes (little-endian, as KVM_GET_ONE_REG writes them on arm64) to a bigint. */
export function leToBig(bytes: Uint8Array): bigint {
  // 64 bits at a time (a restore reads thousands of these; per-byte BigInt steps dominated).
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  let v = 0n;
  let i = bytes.length;
  while (i % 8 !== 0) v = (v << 8n) | BigInt(bytes[--i]);
  while (i > 0) v = (v << 64n) | dv.getBigUint64(i -= 8, true);
  return v;
}

/** A bigint to `width` little-endian bytes; throws if it does not fit. */
export function bigToLe(v: bigint, width: number): Uint8Array {
  if (v < 0n || v >> BigInt(width * 8) !== 0n) {
    throw new RangeError(`value ${hex(v)} does not fit in ${width} byte(s)`);
  }
  const out = new Uint8Array(width);
  for (let i = 0; i < width; i++) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
