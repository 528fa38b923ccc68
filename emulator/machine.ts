/**
 * The typed facade over the wasm emulator (`wasm/pkg/rollsafe_emu.wasm`). This is the only file
 * that touches the wasm exports; everything else uses {@link Machine}.
 *
 * The boundary mirrors KVM: ONE_REG ids for vCPU registers, (group, attr) for vGIC device
 * attributes, mp_state for power, and a run call that reports why it stopped. One machine per
 * wasm instance; the module is compiled once per process (or once per bytes given).
 *
 * @module
 */
import {
  core,
  CORE_OFFSET,
  demuxCcsidr,
  KVM_REG_SIZE,
  regSize,
  sysreg,
  sysregEncoding,
} from "../snapshots/kvm/ids.ts";

/** Negative errno values the boundary returns (errno.h numbers, negated). */
export const ERRNO = {
  ENOENT: -2,
  ENXIO: -6,
  EFAULT: -14,
  EBUSY: -16,
  ENODEV: -19,
  EINVAL: -22,
  EOPNOTSUPP: -95,
} as const;

const ERRNO_NAMES = new Map<number, string>(Object.entries(ERRNO).map(([k, v]) => [v, k]));

/** The name of a negative errno (e.g. -2 → "ENOENT"), or `errno <n>` if unknown. */
export function errnoName(code: number): string {
  return ERRNO_NAMES.get(code) ?? (code < 0 ? `errno ${-code}` : `code ${code}`);
}

/** A boundary call failed with a negative errno. */
export class KvmError extends Error {
  override name = "KvmError";
  /** The negative errno, e.g. -2 for ENOENT. */
  readonly errno: number;
  constructor(what: string, errno: number) {
    super(`${what}: ${errnoName(errno)}`);
    this.errno = errno;
  }
}

/** Why {@link Machine.run} returned (wasm/src/machine.rs `Reason`, same order). */
export type StopReason =
  | "budget"
  | "wfi"
  | "system-off"
  | "system-reset"
  | "watch"
  | "mmio"
  | "hlt"
  | "unimplemented"
  | "all-off";

const REASONS: StopReason[] = [
  "budget",
  "wfi",
  "system-off",
  "system-reset",
  "watch",
  "mmio",
  "hlt",
  "unimplemented",
  "all-off",
];

/** The result of a run. Fields beyond `reason` are meaningful for the reasons noted. */
export interface RunResult {
  reason: StopReason;
  /** The vCPU that stopped the run (-1 for budget, wfi and all-off). */
  vcpu: number;
  /** watch: the PC; hlt: the HLT's address; mmio: the physical address. */
  address: bigint;
  /** mmio: access size in bytes. */
  size: number;
  /** mmio: whether the access was a write. */
  write: boolean;
  /** mmio: the value written. */
  value: bigint;
  /** hlt: the immediate. ("unimplemented" is a reserved reason no longer produced.) */
  code: number;
  /** Instructions retired by all vCPUs since the machine was created. */
  instructions: bigint;
}

/** A guest-physical range. */
export interface Range {
  base: bigint;
  size: bigint;
}

/** GIC configuration (wasm/src/gic `GicConfig`). Defaults: KVM's GICv3 on QEMU's virt map. */
export interface GicOptions {
  model: 2 | 3;
  nrIrqs?: number;
  iidr?: number;
  /** Guest IGROUPR behaviour, derived from the IIDR revision by the kernel profile. */
  groupMode?: "writable" | "raz-wi" | "rao-wi";
  v2GroupsUserWritableNeedsIidr?: boolean;
  priBits?: number;
  idBits?: number;
  seis?: boolean;
  a3v?: boolean;
  distBase?: bigint;
  redistBase?: bigint;
  cpuBase?: bigint;
}

/** Machine configuration (wasm/src/config.rs). */
export interface MachineConfig {
  vcpus: number;
  ram: Range[];
  /** Device windows nobody models: a guest access stops the run with reason "mmio". */
  mmioWindows?: Range[];
  /** CNTFRQ_EL0 (default 62.5 MHz). */
  cntfrq?: number;
  /** Physical-counter ticks per retired instruction as [numerator, denominator] (default 1/1). */
  ticksPerInstruction?: [number, number];
  /** Instructions per vCPU per round-robin slice (default 10000). */
  slice?: number;
  /** Values of identification and cache registers, by 16-bit sysreg encoding, for every vCPU. */
  sysregs?: { encoding: number; value: bigint }[];
  /** MPIDR_EL1 per vCPU (default: KVM's, from the vCPU index). */
  mpidrs?: bigint[];
  /** CCSIDR_EL1 per CSSELR value (Level << 1 | InD). */
  ccsidr?: { csselr: number; value: bigint }[];
  dczid?: number;
  /** PMCR_EL0.N. */
  pmcrN?: number;
  gic?: GicOptions;
  /** vCPUs created powered off (KVM_ARM_VCPU_POWER_OFF). */
  powerOff?: number[];
  /** Implemented physical address bits (default 40). */
  paBits?: number;
  /** Firmware registers (KVM_REG_ARM_FW_REG, FW_FEAT_BMAP_REG ids) and their values. */
  firmwareRegs?: { id: bigint; value: bigint }[];
  /**
   * What the target kernel's firmware offers (wasm/src/devices.rs `set_fw_field`): field index
   * (0 psci_version, 1 max_psci_version, 2 psci_0_2_feature, 3..5 workaround levels, 6 fw_regs,
   * 7..10 bitmaps, 11..14 bitmap features, 15 bmap_regs, 16 has_ran, 17 system_suspend,
   * 18 pv_time_base) and value. Applied before `firmwareRegs`.
   */
  firmwareFields?: { field: number; value: bigint }[];
  /**
   * Whether an EL1 `SMC #0` reaches the SMCCC handler like HVC (Linux 6.4+, default true); when
   * false it returns NOT_SUPPORTED in x0, as earlier kernels do.
   */
  smcSmccc?: boolean;
  /** Base of a PL011 UART whose transmitted bytes {@link Machine.takeConsole} returns. */
  uart?: bigint;
  /**
   * Cut what guest MRS reads from the ID registers to what the emulator executes
   * (wasm/src/sysreg/idsan.rs). For boards running real guest code; probe machines leave it off
   * so the guest reads what the target kernel presents.
   */
  idCap?: boolean;
}

/** Config record keys (wasm/src/config.rs `Key`). */
const KEY = {
  NVCPUS: 1n,
  RAM: 2n,
  MMIO_WINDOW: 3n,
  CNTFRQ: 4n,
  TICKS_PER_INSN: 5n,
  SLICE: 6n,
  SYSREG: 7n,
  MPIDR: 8n,
  CCSIDR: 9n,
  DCZID: 10n,
  PMCR_N: 11n,
  GIC_MODEL: 12n,
  GIC_NR_IRQS: 13n,
  GIC_IIDR: 14n,
  GIC_GROUP_MODE: 15n,
  GIC_V2_GROUPS_NEED_IIDR: 16n,
  GIC_PRI_BITS: 17n,
  GIC_ID_BITS: 18n,
  GIC_SEIS: 19n,
  GIC_A3V: 20n,
  GIC_DIST_BASE: 21n,
  GIC_REDIST_BASE: 22n,
  GIC_CPU_BASE: 23n,
  POWER_OFF: 24n,
  PA_BITS: 25n,
  FW_REG: 26n,
  FW_FIELD: 27n,
  SMC_SMCCC: 28n,
  UART: 29n,
  ID_CAP: 30n,
} as const;

function encodeConfig(c: MachineConfig): Uint8Array {
  const recs: [bigint, bigint, bigint][] = [];
  const add = (k: bigint, a: bigint | number | boolean, b: bigint | number = 0n) =>
    recs.push([k, BigInt(a), BigInt(b)]);
  add(KEY.NVCPUS, c.vcpus);
  for (const r of c.ram) add(KEY.RAM, r.base, r.size);
  for (const r of c.mmioWindows ?? []) add(KEY.MMIO_WINDOW, r.base, r.size);
  if (c.cntfrq !== undefined) add(KEY.CNTFRQ, c.cntfrq);
  if (c.ticksPerInstruction) add(KEY.TICKS_PER_INSN, ...c.ticksPerInstruction);
  if (c.slice !== undefined) add(KEY.SLICE, c.slice);
  for (const s of c.sysregs ?? []) add(KEY.SYSREG, s.encoding, s.value);
  (c.mpidrs ?? []).forEach((m, i) => add(KEY.MPIDR, i, m));
  for (const s of c.ccsidr ?? []) add(KEY.CCSIDR, s.csselr, s.value);
  if (c.dczid !== undefined) add(KEY.DCZID, c.dczid);
  if (c.pmcrN !== undefined) add(KEY.PMCR_N, c.pmcrN);
  const g = c.gic;
  if (g) {
    add(KEY.GIC_MODEL, g.model);
    if (g.nrIrqs !== undefined) add(KEY.GIC_NR_IRQS, g.nrIrqs);
    if (g.iidr !== undefined) add(KEY.GIC_IIDR, g.iidr);
    if (g.groupMode !== undefined) {
      add(KEY.GIC_GROUP_MODE, ["writable", "raz-wi", "rao-wi"].indexOf(g.groupMode));
    }
    if (g.v2GroupsUserWritableNeedsIidr !== undefined) {
      add(KEY.GIC_V2_GROUPS_NEED_IIDR, g.v2GroupsUserWritableNeedsIidr);
    }
    if (g.priBits !== undefined) add(KEY.GIC_PRI_BITS, g.priBits);
    if (g.idBits !== undefined) add(KEY.GIC_ID_BITS, g.idBits);
    if (g.seis !== undefined) add(KEY.GIC_SEIS, g.seis);
    if (g.a3v !== undefined) add(KEY.GIC_A3V, g.a3v);
    if (g.distBase !== undefined) add(KEY.GIC_DIST_BASE, g.distBase);
    if (g.redistBase !== undefined) add(KEY.GIC_REDIST_BASE, g.redistBase);
    if (g.cpuBase !== undefined) add(KEY.GIC_CPU_BASE, g.cpuBase);
  }
  for (const v of c.powerOff ?? []) add(KEY.POWER_OFF, v);
  if (c.paBits !== undefined) add(KEY.PA_BITS, c.paBits);
  for (const f of c.firmwareFields ?? []) add(KEY.FW_FIELD, f.field, f.value);
  for (const f of c.firmwareRegs ?? []) add(KEY.FW_REG, f.id, f.value);
  if (c.smcSmccc !== undefined) add(KEY.SMC_SMCCC, c.smcSmccc);
  if (c.uart !== undefined) add(KEY.UART, c.uart);
  if (c.idCap !== undefined) add(KEY.ID_CAP, c.idCap);
  const out = new Uint8Array(recs.length * 24);
  const dv = new DataView(out.buffer);
  recs.forEach((r, i) =>
    r.forEach((v, j) => dv.setBigUint64(i * 24 + j * 8, BigInt.asUintN(64, v), true))
  );
  return out;
}

/** The wasm exports (wasm/src/ffi.rs). */
interface Exports {
  memory: WebAssembly.Memory;
  buf(len: number): number;
  value(): bigint;
  create(len: number): number;
  nr_vcpus(): number;
  set_one_reg(vcpu: number, id: bigint, val: bigint): number;
  get_one_reg(vcpu: number, id: bigint): number;
  set_one_reg_bytes(vcpu: number, id: bigint, len: number): number;
  get_one_reg_bytes(vcpu: number, id: bigint): number;
  set_device_attr(group: number, attr: bigint, val: bigint): number;
  get_device_attr(group: number, attr: bigint): number;
  get_mp_state(vcpu: number): number;
  set_mp_state(vcpu: number, state: number): number;
  write_memory(addr: bigint, len: number): number;
  read_memory(addr: bigint, len: number): number;
  set_watches(count: number): number;
  run(vcpu: number, budget: bigint): number;
  stop_vcpu(): number;
  stop_addr(): bigint;
  stop_size(): number;
  stop_write(): number;
  stop_value(): bigint;
  stop_code(): number;
  instructions(vcpu: number): bigint;
  phys_counter(): bigint;
  console_take(): number;
}

/** Where the committed module lives, relative to this file. */
export const WASM_URL = new URL("../wasm/pkg/rollsafe_emu.wasm", import.meta.url);

let defaultModule: Promise<WebAssembly.Module> | undefined;
const byBytes = new WeakMap<Uint8Array<ArrayBuffer>, WebAssembly.Module>();

/** Compiles the committed module once per process. */
export function loadEmulatorModule(): Promise<WebAssembly.Module> {
  defaultModule ??= Deno.readFile(WASM_URL).then((b) => WebAssembly.compile(b));
  return defaultModule;
}

/** Compiles given module bytes (e.g. inlined by a bundler), once per bytes object. */
export function compileEmulatorModule(bytes: Uint8Array<ArrayBuffer>): WebAssembly.Module {
  let m = byBytes.get(bytes);
  if (!m) {
    m = new WebAssembly.Module(bytes);
    byBytes.set(bytes, m);
  }
  return m;
}

/** KVM_MP_STATE values. */
export type MpState = "runnable" | "stopped";

/** One emulated machine (one wasm instance). */
export class Machine {
  readonly #x: Exports;
  /** Number of vCPUs. */
  readonly vcpus: number;

  private constructor(x: Exports) {
    this.#x = x;
    this.vcpus = x.nr_vcpus();
  }

  /** Creates a machine from the committed module. */
  static async create(config: MachineConfig): Promise<Machine> {
    return Machine.fromModule(await loadEmulatorModule(), config);
  }

  /** Creates a machine from module bytes the caller provides (bundled deployments). */
  static fromBytes(bytes: Uint8Array<ArrayBuffer>, config: MachineConfig): Machine {
    return Machine.fromModule(compileEmulatorModule(bytes), config);
  }

  /** Creates a machine from a compiled module. */
  static fromModule(module: WebAssembly.Module, config: MachineConfig): Machine {
    const instance = new WebAssembly.Instance(module, {});
    const x = instance.exports as unknown as Exports;
    const blob = encodeConfig(config);
    Machine.#put(x, blob);
    const rc = x.create(blob.length);
    if (rc !== 0) throw new KvmError("Cannot create machine from configuration", rc);
    return new Machine(x);
  }

  static #put(x: Exports, bytes: Uint8Array): void {
    const ptr = x.buf(Math.max(bytes.length, 1));
    if (ptr === 0) {
      throw new RangeError(`Cannot stage ${bytes.length} bytes: above the 64 MiB limit`);
    }
    new Uint8Array(x.memory.buffer, ptr, bytes.length).set(bytes);
  }

  /** The bytes the guest transmitted on the UART since the last call (empty without a UART). */
  takeConsole(): Uint8Array {
    return this.#take(this.#x.console_take());
  }

  #take(len: number): Uint8Array {
    const ptr = this.#x.buf(Math.max(len, 1));
    return new Uint8Array(this.#x.memory.buffer, ptr, len).slice();
  }

  /**
   * KVM_SET_ONE_REG: returns 0 or a negative errno (ENOENT for an unknown id). The register's
   * size comes from the id (KVM_REG_SIZE_*); bytes are little-endian, as KVM takes them.
   */
  setOneReg(vcpu: number, id: bigint, value: bigint | Uint8Array): number {
    const size = regSize(id);
    let bytes: Uint8Array;
    if (value instanceof Uint8Array) {
      if (value.length !== size) return ERRNO.EINVAL;
      bytes = value;
    } else {
      if (size <= 8) return this.#x.set_one_reg(vcpu, id, BigInt.asIntN(64, value));
      bytes = new Uint8Array(size);
      for (let i = 0, v = BigInt.asUintN(size * 8, value); i < size; i++, v >>= 8n) {
        bytes[i] = Number(v & 0xffn);
      }
    }
    if (size > 8) {
      Machine.#put(this.#x, bytes);
      return this.#x.set_one_reg_bytes(vcpu, id, bytes.length);
    }
    const b = new Uint8Array(8);
    b.set(bytes);
    return this.#x.set_one_reg(vcpu, id, new DataView(b.buffer).getBigInt64(0, true));
  }

  /** KVM_GET_ONE_REG: `{ errno: 0, value }` or `{ errno: <negative> }`. */
  tryGetOneReg(vcpu: number, id: bigint): { errno: number; value?: bigint } {
    if (regSize(id) > 8) {
      const rc = this.#x.get_one_reg_bytes(vcpu, id);
      if (rc !== 0) return { errno: rc };
      const b = this.#take(16);
      let v = 0n;
      for (let i = 15; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
      return { errno: 0, value: v };
    }
    const rc = this.#x.get_one_reg(vcpu, id);
    if (rc !== 0) return { errno: rc };
    return { errno: 0, value: BigInt.asUintN(64, this.#x.value()) };
  }

  /** KVM_GET_ONE_REG; throws {@link KvmError} on failure. */
  getOneReg(vcpu: number, id: bigint): bigint {
    const r = this.tryGetOneReg(vcpu, id);
    if (r.errno !== 0) {
      throw new KvmError(`Cannot get register 0x${id.toString(16)} of vCPU ${vcpu}`, r.errno);
    }
    return r.value!;
  }

  /** KVM_SET_DEVICE_ATTR on the vGIC: 0 or a negative errno. */
  setDeviceAttr(group: number, attr: bigint, value: bigint): number {
    return this.#x.set_device_attr(group, BigInt.asIntN(64, attr), BigInt.asIntN(64, value));
  }

  /** KVM_GET_DEVICE_ATTR on the vGIC: `{ errno: 0, value }` or `{ errno: <negative> }`. */
  tryGetDeviceAttr(group: number, attr: bigint): { errno: number; value?: bigint } {
    const rc = this.#x.get_device_attr(group, BigInt.asIntN(64, attr));
    if (rc !== 0) return { errno: rc };
    return { errno: 0, value: BigInt.asUintN(64, this.#x.value()) };
  }

  /** KVM_GET_DEVICE_ATTR; throws {@link KvmError} on failure. */
  getDeviceAttr(group: number, attr: bigint): bigint {
    const r = this.tryGetDeviceAttr(group, attr);
    if (r.errno !== 0) {
      throw new KvmError(
        `Cannot get vGIC attribute group ${group} attr 0x${attr.toString(16)}`,
        r.errno,
      );
    }
    return r.value!;
  }

  /** KVM_GET_MP_STATE. */
  getMpState(vcpu: number): MpState {
    const rc = this.#x.get_mp_state(vcpu);
    if (rc !== 0) throw new KvmError(`Cannot get mp_state of vCPU ${vcpu}`, rc);
    return this.#x.value() === 0n ? "runnable" : "stopped";
  }

  /** KVM_SET_MP_STATE. */
  setMpState(vcpu: number, state: MpState): void {
    const rc = this.#x.set_mp_state(vcpu, state === "runnable" ? 0 : 1);
    if (rc !== 0) throw new KvmError(`Cannot set mp_state of vCPU ${vcpu}`, rc);
  }

  /** Writes bytes into guest RAM; throws if the range is not entirely in one RAM region. */
  writeMemory(addr: bigint, bytes: Uint8Array): void {
    Machine.#put(this.#x, bytes);
    const rc = this.#x.write_memory(addr, bytes.length);
    if (rc !== 0) {
      throw new KvmError(`Cannot write ${bytes.length} bytes at 0x${addr.toString(16)}`, rc);
    }
  }

  /** Reads bytes of guest RAM. */
  readMemory(addr: bigint, length: number): Uint8Array {
    this.#x.buf(Math.max(length, 1));
    const rc = this.#x.read_memory(addr, length);
    if (rc !== 0) throw new KvmError(`Cannot read ${length} bytes at 0x${addr.toString(16)}`, rc);
    return this.#take(length);
  }

  /** Replaces the watched guest addresses: a vCPU reaching one stops the run (reason "watch"). */
  setWatches(addresses: bigint[]): void {
    const b = new Uint8Array(addresses.length * 8);
    const dv = new DataView(b.buffer);
    addresses.forEach((a, i) => dv.setBigUint64(i * 8, BigInt.asUintN(64, a), true));
    Machine.#put(this.#x, b);
    const rc = this.#x.set_watches(addresses.length);
    if (rc !== 0) throw new KvmError("Cannot set watches", rc);
  }

  /** Runs one vCPU, or all (round-robin), for at most `budget` instructions in total. */
  run(vcpu: number | "all", budget: bigint | number): RunResult {
    const rc = this.#x.run(vcpu === "all" ? -1 : vcpu, BigInt(budget));
    if (rc < 0) throw new KvmError(`Cannot run vCPU ${vcpu}`, rc);
    const x = this.#x;
    return {
      reason: REASONS[rc] ?? "budget",
      vcpu: x.stop_vcpu(),
      address: BigInt.asUintN(64, x.stop_addr()),
      size: x.stop_size(),
      write: x.stop_write() === 1,
      value: BigInt.asUintN(64, x.stop_value()),
      code: x.stop_code(),
      instructions: BigInt.asUintN(64, x.instructions(-1)),
    };
  }

  /** Instructions retired by one vCPU, or by all. */
  instructions(vcpu: number | "all" = "all"): bigint {
    return BigInt.asUintN(64, this.#x.instructions(vcpu === "all" ? -1 : vcpu));
  }

  /** The physical counter now (what CNTPCT_EL0 would read). */
  physicalCounter(): bigint {
    return BigInt.asUintN(64, this.#x.phys_counter());
  }
}

export { regSize, sysregEncoding };

/** KVM ONE_REG ids (arch/arm64/include/uapi/asm/kvm.h), for callers and tests; the encodings
 * themselves live in snapshots/kvm/ids.ts. */
export const REG = {
  /** Core register: 0x6030_0000_0010_0000 | offset in 32-bit words into struct kvm_regs. */
  core: (wordOffset: number): bigint => core(wordOffset),
  x: (n: number): bigint => core(CORE_OFFSET.x(n)),
  SP: core(CORE_OFFSET.SP),
  PC: core(CORE_OFFSET.PC),
  PSTATE: core(CORE_OFFSET.PSTATE),
  SP_EL1: core(CORE_OFFSET.SP_EL1),
  ELR_EL1: core(CORE_OFFSET.ELR_EL1),
  SPSR_EL1: core(CORE_OFFSET.spsr(0)),
  /** fp_regs.vregs[n], U128. */
  v: (n: number): bigint => core(CORE_OFFSET.v(n), KVM_REG_SIZE.U128),
  FPSR: core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32),
  FPCR: core(CORE_OFFSET.FPCR, KVM_REG_SIZE.U32),
  /** ARM64_SYS_REG(op0, op1, CRn, CRm, op2). */
  sys: sysreg,
  /** KVM_REG_ARM_DEMUX_ID_CCSIDR for a CSSELR value. */
  ccsidr: demuxCcsidr,
} as const;
