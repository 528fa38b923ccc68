/**
 * The arm "cpu" section (target/arm/machine.c vmstate_arm_cpu, version 22 in QEMU 7.2) → one
 * vCPU's KVM ONE_REG state. Core registers follow struct kvm_regs (arch/arm64/include/uapi/
 * asm/kvm.h) the way QEMU's own KVM backend fills it (target/arm/kvm64.c
 * kvm_arch_put_registers); system registers come from the cpreg list.
 */
import { fail } from "./reader.ts";
import { Fields } from "./vmstate.ts";
import { VCPU_FEATURE, type VcpuState } from "../../model.ts";
import {
  bigToLe,
  COPROC,
  core,
  CORE_OFFSET,
  hex,
  KVM_REG_ARCH_MASK,
  KVM_REG_ARM,
  KVM_REG_ARM64,
  KVM_REG_SIZE,
  regCoproc,
  regSize,
  sveFfr,
  sveP,
  sveZ,
  sysreg,
} from "../../kvm/ids.ts";

export type Accel = "tcg" | "kvm";

/**
 * QEMU keeps AArch64 FPSR and FPCR in one FPSCR word and splits them with these masks
 * (target/arm/cpu.h, QEMU 7.2: FPSR_MASK 0xf800009f, FPCR_MASK 0x07ff9f00); the stream's
 * "fpscr" field is vfp_get_fpscr(env).
 */
const FPSR_MASK = 0xf800_009fn;
const FPCR_MASK = 0x07ff_9f00n;

/** PSTATE bits (Arm ARM DDI0487 D1.4 / SPSR layout): nRW is bit 4, EL 3:2, SPSel 0. */
const PSTATE_NRW = 0x10n;

/** KVM_MP_STATE_RUNNABLE / KVM_MP_STATE_STOPPED (include/uapi/linux/kvm.h). */
export const KVM_MP_STATE_RUNNABLE = 0;
export const KVM_MP_STATE_STOPPED = 1;

const PMCR_EL0 = sysreg(3, 3, 9, 12, 0);
const APIAKEYLO_EL1 = sysreg(3, 0, 2, 1, 0);
export const MPIDR_EL1 = sysreg(3, 0, 0, 0, 5);

/**
 * KVM_REG_ARM_TIMER_CNT and KVM_REG_ARM_TIMER_CVAL carry each other's architectural encodings
 * (arch/arm64/include/uapi/asm/kvm.h: "have been accidentally swapped"). QEMU under TCG builds
 * its cpreg indexes from the architectural encoding (target/arm/helper.c, cpreg_to_kvm_id of
 * ENCODE_AA64_CP_REG), so a TCG stream's (3,3,14,3,2) entry is CNTV_CVAL_EL0 and belongs under
 * KVM_REG_ARM_TIMER_CVAL = (3,3,14,0,2), and the other way round for CNTVCT_EL0. A KVM stream's
 * indexes came from KVM_GET_REG_LIST and are already KVM ids.
 */
const TCG_TO_KVM_SWAP = new Map<bigint, bigint>([
  [sysreg(3, 3, 14, 3, 2), sysreg(3, 3, 14, 0, 2)],
  [sysreg(3, 3, 14, 0, 2), sysreg(3, 3, 14, 3, 2)],
]);

/**
 * Encodings a TCG list carries that KVM's id space holds elsewhere: QEMU lists FPCR and FPSR as
 * system registers (3,3,4,4,0/1), while KVM has them only as core registers (struct
 * user_fpsimd_state, set above from the vfp subsection's fpscr): KVM_GET_REG_LIST on Debian's
 * 6.1 and 6.12 kernels (tests/fixtures/oracle/) has 0x60200000001000d4/d5 and no (3,3,4,4,x).
 * A KVM stream never lists them, and replaying them would be refused for a value that is
 * already restored.
 */
const TCG_CORE_DUPLICATES = new Map<bigint, string>([
  [sysreg(3, 3, 4, 4, 0), "FPCR"],
  [sysreg(3, 3, 4, 4, 1), "FPSR"],
]);

/** Groups only KVM's register list has: QEMU's TCG cpreg list never holds FW/DEMUX/BMAP ids. */
const KVM_ONLY_GROUPS = new Set<number>([COPROC.FW, COPROC.DEMUX, COPROC.FW_FEAT_BMAP]);

export interface CpuImport {
  vcpu: VcpuState;
  droppedAarch32: number;
  /** TCG sysreg ids left out because KVM restores them as core registers. */
  droppedCoreDuplicates: bigint[];
  sve: boolean;
  /** MPIDR_EL1 from the cpreg list (KVM streams), if present. */
  listedMpidr?: bigint;
}

/** Reads the cpreg list: [index, value] pairs as stored in the stream. */
export function cpregList(f: Fields): [bigint, bigint][] {
  const n = f.num("cpreg_vmstate_array_len");
  const idx = f.nums("cpreg_vmstate_indexes");
  const val = f.nums("cpreg_vmstate_values");
  if (BigInt(idx.length) !== n || BigInt(val.length) !== n) {
    fail(
      "qemu/cpreg",
      `${f.s.where}.cpreg_vmstate_array_len`,
      `says ${n} but the stream carries ${idx.length} indexes and ${val.length} values`,
    );
  }
  return idx.map((id, i) => [id, val[i]]);
}

/**
 * An SVE vCPU's vector state as QEMU's KVM backend writes it: kvm_arch_put_registers calls
 * kvm_arch_put_sve instead of kvm_arch_put_fpsimd when the CPU has SVE, writing
 * KVM_REG_ARM64_SVE_ZREG(n, 0) for n = 0..31, KVM_REG_ARM64_SVE_PREG(n, 0) for n = 0..15 and
 * KVM_REG_ARM64_SVE_FFR(0), each from env->vfp as little-endian u64 words
 * (target/arm/kvm64.c, QEMU 7.2), and never V0..V31. In the stream, Zn's low 128 bits are
 * cpu/vfp's env.vfp.zregs[n].d[0..1] and the rest cpu/sve's env.vfp.zregs[n].d (the
 * vmstate_zreg_hi_reg sub-array from d[2]); Pn and FFR (pregs[16]) are cpu/sve's
 * env.vfp.pregs[n].p (target/arm/machine.c vmstate_sve). Words past what the stream carries
 * are 0, as a slice-0 register is U2048 (Z) or U256 (P, FFR) whatever the vector length.
 */
function importSve(vfp: Fields, sve: Fields, set: (id: bigint, v: bigint) => void): void {
  const words = (ws: bigint[]) => ws.reduce((acc, w, i) => acc | (w << BigInt(64 * i)), 0n);
  const zhi = sve.structs("env.vfp.zregs");
  const pregs = sve.structs("env.vfp.pregs");
  if (zhi.length !== 32 || pregs.length !== 17) {
    fail(
      "qemu/field-shape",
      `${sve.s.where}`,
      `expected 32 Z and 17 predicate registers, the stream has ${zhi.length} and ${pregs.length}`,
    );
  }
  for (let n = 0; n < 32; n++) {
    const lo = vfp.nums(`env.vfp.zregs[${n}].d`, 2);
    const hi = new Fields(zhi[n]).nums("d");
    if (2 + hi.length > 32) {
      fail("qemu/field-shape", zhi[n].where, `Z${n} has ${2 + hi.length} words, above 2048 bits`);
    }
    set(sveZ(n, 0), words([...lo, ...hi]));
  }
  for (let n = 0; n < 17; n++) {
    const p = new Fields(pregs[n]).nums("p");
    if (p.length > 4) {
      fail("qemu/field-shape", pregs[n].where, `P${n} has ${p.length} words, above 256 bits`);
    }
    set(n === 16 ? sveFfr(0) : sveP(n, 0), words(p));
  }
}

/** TCG or KVM, from the ids (see KVM_ONLY_GROUPS). */
export function detectAccel(list: [bigint, bigint][]): Accel {
  return list.some(([id]) =>
      (id & KVM_REG_ARCH_MASK) === KVM_REG_ARM64 && KVM_ONLY_GROUPS.has(regCoproc(id))
    )
    ? "kvm"
    : "tcg";
}

export function importCpu(f: Fields, accel: Accel, list: [bigint, bigint][]): CpuImport {
  const where = f.s.where;
  const vcpu: VcpuState = { mpidr: 0n, features: [], registers: new Map(), extra: new Map() };
  const set = (id: bigint, v: bigint) => vcpu.registers.set(id, bigToLe(v, regSize(id)));

  const pstate = f.num("cpsr");
  if (pstate & PSTATE_NRW) {
    fail(
      "qemu/unsupported",
      `${where}.cpsr`,
      `PSTATE ${hex(pstate)} has nRW set: the vCPU was in AArch32 state, whose registers ` +
        "live in env.regs and the banked copies; importing that is not supported",
    );
  }
  const x = f.nums("env.xregs", 32);
  const spEl = f.nums("env.sp_el", 4);
  const elrEl = f.nums("env.elr_el", 4);
  const spsr = f.nums("env.banked_spsr", 8);
  // Under TCG, env.xregs[31] is the live SP and env.sp_el[] holds the banked copies of the
  // stack pointers not currently selected (target/arm/helper.c aarch64_save_sp/restore_sp);
  // PSTATE.SP (bit 0) selects SP_ELx for x = PSTATE.EL (bits 3:2), else SP_EL0. QEMU's KVM
  // backend saves it back the same way before migrating (kvm_arch_get_registers ends with
  // aarch64_restore_sp). KVM's struct kvm_regs has regs.sp = SP_EL0 and a separate sp_el1.
  const el = Number((pstate >> 2n) & 3n);
  const sp = [...spEl];
  sp[(pstate & 1n) ? el : 0] = x[31];
  for (let n = 0; n < 31; n++) set(core(CORE_OFFSET.x(n)), x[n]);
  set(core(CORE_OFFSET.SP), sp[0]);
  set(core(CORE_OFFSET.PC), f.num("env.pc"));
  set(core(CORE_OFFSET.PSTATE), pstate);
  set(core(CORE_OFFSET.SP_EL1), sp[1]);
  set(core(CORE_OFFSET.ELR_EL1), elrEl[1]);
  // kvm_arch_put_registers: "KVM 0-4 map to QEMU banks 1-5" (SVC = SPSR_EL1, ABT, UND, IRQ, FIQ).
  for (let i = 0; i < 5; i++) set(core(CORE_OFFSET.spsr(i)), spsr[i + 1]);

  const vfp = f.sub("cpu/vfp");
  const sveSub = f.sub("cpu/sve");
  if (vfp) {
    if (sveSub) importSve(vfp, sveSub, set);
    else {
      for (let n = 0; n < 32; n++) {
        const [lo, hi] = vfp.nums(`env.vfp.zregs[${n}].d`, 2);
        set(core(CORE_OFFSET.v(n), KVM_REG_SIZE.U128), (hi << 64n) | lo);
      }
    }
    const fpscr = vfp.num("fpscr");
    set(core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32), fpscr & FPSR_MASK);
    set(core(CORE_OFFSET.FPCR, KVM_REG_SIZE.U32), fpscr & FPCR_MASK);
  }

  let dropped = 0;
  const duplicates: bigint[] = [];
  let listedMpidr: bigint | undefined;
  list.forEach(([rawId, value], i) => {
    const arch = rawId & KVM_REG_ARCH_MASK;
    if (arch === KVM_REG_ARM) {
      // AArch32 coprocessor registers (KVM_REG_ARM): arm64 KVM has no ONE_REG for them.
      dropped++;
      return;
    }
    if (arch !== KVM_REG_ARM64) {
      fail(
        "qemu/cpreg",
        `${where}.cpreg_vmstate_indexes[${i}]`,
        `${hex(rawId)} is neither a KVM_REG_ARM64 nor a KVM_REG_ARM id`,
      );
    }
    if (accel === "tcg" && TCG_CORE_DUPLICATES.has(rawId)) {
      duplicates.push(rawId);
      return;
    }
    const id = accel === "tcg" ? TCG_TO_KVM_SWAP.get(rawId) ?? rawId : rawId;
    const width = regSize(id);
    if (width > 8 || value >> BigInt(width * 8) !== 0n) {
      fail(
        "qemu/cpreg",
        `${where}.cpreg_vmstate_values[${i}]`,
        `${hex(rawId)} is ${width} byte(s) wide but its value is ${hex(value)}`,
      );
    }
    if (vcpu.registers.has(id)) {
      fail("qemu/cpreg", `${where}.cpreg_vmstate_indexes[${i}]`, `${hex(id)} appears twice`);
    }
    if (id === MPIDR_EL1) listedMpidr = value;
    set(id, value);
  });

  const sve = sveSub !== undefined;
  // KVM_ARM_VCPU_INIT features as QEMU's KVM backend would request them for this CPU
  // (target/arm/kvm64.c kvm_arch_init_vcpu): PSCI 0.2 (virt's PSCI is 0.2 or later), PMU_V3 when
  // the CPU has a PMU (its PMCR_EL0 is in the list), SVE with the cpu/sve subsection, both
  // pointer-auth bits when the key registers are present.
  vcpu.features.push(VCPU_FEATURE.PSCI_0_2);
  if (vcpu.registers.has(PMCR_EL0)) vcpu.features.push(VCPU_FEATURE.PMU_V3);
  if (sve) vcpu.features.push(VCPU_FEATURE.SVE);
  if (vcpu.registers.has(APIAKEYLO_EL1)) {
    vcpu.features.push(VCPU_FEATURE.PTRAUTH_ADDRESS, VCPU_FEATURE.PTRAUTH_GENERIC);
  }
  // "powered_off" (target/arm/machine.c get/put_power): 1 when power_state is PSCI_OFF.
  const off = f.num("power_state");
  vcpu.mpState = off ? KVM_MP_STATE_STOPPED : KVM_MP_STATE_RUNNABLE;
  return { vcpu, droppedAarch32: dropped, droppedCoreDuplicates: duplicates, sve, listedMpidr };
}
