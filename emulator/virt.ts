/**
 * QEMU's `virt` board in the emulator, for booting a Linux kernel Image: RAM at 0x4000_0000, a
 * PL011 at 0x0900_0000, GICv3 (distributor 0x0800_0000, redistributors 0x080A_0000), the
 * generic timer and PSCI over HVC (hw/arm/virt.c `base_memmap`). The kernel is loaded the way
 * QEMU's boot loader loads an arm64 Image (hw/arm/boot.c and the kernel's
 * Documentation/arch/arm64/booting.rst): at a 2 MiB-aligned base plus the header's
 * text_offset, the DTB after it, x0 = DTB address, EL1h with interrupts masked and the MMU off.
 *
 * Devices the DTB describes but the board does not model must be left out of the DTB: an
 * access to an address nothing answers is a synchronous external abort, as on hardware.
 */
import { Machine, type MachineConfig, REG, type StopReason } from "./machine.ts";

/** hw/arm/virt.c base_memmap. */
export const VIRT = {
  ramBase: 0x4000_0000n,
  uart: 0x0900_0000n,
  gicDist: 0x0800_0000n,
  gicRedist: 0x080a_0000n,
} as const;

/**
 * The identification registers the board's vCPU reports: QEMU's `cortex-a57` values
 * (target/arm/tcg/cpu64.c aarch64_a57_initfn: MIDR, CTR, CLIDR, CCSIDR, ID_AA64DFR0,
 * ID_AA64MMFR0) with the feature fields cut to what the emulator executes (ARM ARM D19.2
 * field layouts): ID_AA64PFR0 has FP = AdvSIMD = 0xF (not implemented) and AArch64-only EL0/EL1,
 * ID_AA64ISAR0 advertises CRC32 but no AES/SHA. `encoding` is KVM's 16-bit sysreg form.
 */
const enc = (op0: number, op1: number, crn: number, crm: number, op2: number) =>
  (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
export const VIRT_ID_REGS: { name: string; encoding: number; value: bigint }[] = [
  { name: "MIDR_EL1", encoding: enc(3, 0, 0, 0, 0), value: 0x411f_d070n },
  // EL0 = EL1 = 1 (AArch64 only), FP = AdvSIMD = 0xF (absent), GIC = 1 (system registers).
  {
    name: "ID_AA64PFR0_EL1",
    encoding: enc(3, 0, 0, 4, 0),
    value: 0x0100_0000n | 0xff0000n | 0x11n,
  },
  // CRC32 = 1 (QEMU's A57 also has AES = 2, SHA1 = SHA2 = 1: SIMD, not executed here).
  { name: "ID_AA64ISAR0_EL1", encoding: enc(3, 0, 0, 6, 0), value: 0x1_0000n },
  { name: "ID_AA64MMFR0_EL1", encoding: enc(3, 0, 0, 7, 0), value: 0x0000_1124n },
  { name: "ID_AA64DFR0_EL1", encoding: enc(3, 0, 0, 5, 0), value: 0x1030_5106n },
  { name: "CTR_EL0", encoding: enc(3, 3, 0, 0, 1), value: 0x8444_c004n },
  { name: "CLIDR_EL1", encoding: enc(3, 1, 0, 0, 1), value: 0x0a20_0023n },
];

/** CCSIDR_EL1 by CSSELR of QEMU's cortex-a57: 32 KiB L1D, 48 KiB L1I, 2 MiB L2. */
const VIRT_CCSIDR = [
  { csselr: 0, value: 0x701f_e00an },
  { csselr: 1, value: 0x201f_e012n },
  { csselr: 2, value: 0x70ff_e07an },
];

/**
 * Firmware as QEMU's own PSCI (not KVM's): PSCI 1.1, no SMCCC_ARCH_WORKAROUND_1/2/3 and no
 * vendor hypervisor services (devices.rs `set_fw_field`: 0/1 PSCI version, 3..5 workaround
 * levels, 9 vendor bitmap).
 */
const VIRT_FIRMWARE = [
  { field: 0, value: 0x1_0001n },
  { field: 1, value: 0x1_0001n },
  { field: 3, value: 0n },
  { field: 4, value: 0n },
  { field: 5, value: 0n },
  { field: 9, value: 0n },
];

export interface BootOptions {
  kernel: Uint8Array;
  dtb: Uint8Array;
  initrd?: Uint8Array;
  /** RAM size in bytes (must match the DTB's memory node). */
  ramBytes: bigint;
  /** Instruction budget. */
  maxInstructions: bigint;
  /** Called with console bytes as they appear (per run chunk). */
  onConsole?: (bytes: Uint8Array) => void;
  /** Stop (after the current chunk) once the console contains this text. */
  until?: string;
  /** Instructions per run chunk (default 50 million). */
  chunk?: bigint;
}

export interface BootResult {
  reason: StopReason;
  instructions: bigint;
  pc: bigint;
  console: string;
}

/** The arm64 Image header (booting.rst): text_offset, image_size, magic "ARM\x64" at 0x38. */
export function imageHeader(kernel: Uint8Array): { textOffset: bigint; imageSize: bigint } {
  if (kernel.length < 64) {
    throw new RangeError(
      `kernel: ${kernel.length} bytes, shorter than the 64-byte arm64 Image header`,
    );
  }
  const dv = new DataView(kernel.buffer, kernel.byteOffset, kernel.byteLength);
  if (dv.getUint32(0x38, true) !== 0x644d_5241) {
    throw new RangeError(
      "kernel: no arm64 Image magic 'ARM\\x64' at offset 0x38 (a compressed or EFI-zboot image?)",
    );
  }
  const imageSize = dv.getBigUint64(16, true);
  return {
    textOffset: dv.getBigUint64(8, true),
    imageSize: imageSize === 0n ? BigInt(kernel.length) : imageSize,
  };
}

const MiB2 = 0x20_0000n;
const alignUp = (v: bigint, a: bigint) => (v + a - 1n) / a * a;

/** Where kernel, DTB and initrd go (QEMU's order: kernel, initrd, DTB, each 2 MiB aligned). */
export function layout(o: BootOptions) {
  const { textOffset, imageSize } = imageHeader(o.kernel);
  // A text_offset of 0 (relocatable kernels) still leaves the first 2 MiB to the DTB's side.
  const kernel = VIRT.ramBase + (textOffset === 0n ? MiB2 : textOffset);
  const initrd = alignUp(kernel + imageSize, MiB2);
  const dtb = alignUp(initrd + BigInt(o.initrd?.length ?? 0), MiB2);
  if (dtb + BigInt(o.dtb.length) > VIRT.ramBase + o.ramBytes) {
    throw new RangeError("kernel, initrd and DTB do not fit in RAM");
  }
  return { kernel, initrd, dtb };
}

/** The machine configuration of the board. */
export function virtConfig(ramBytes: bigint): MachineConfig {
  return {
    vcpus: 1,
    ram: [{ base: VIRT.ramBase, size: ramBytes }],
    // QEMU's virt has 256 interrupt IDs (NUM_IRQS = 256 SPIs... less the 32 private ones).
    gic: { model: 3, nrIrqs: 256, distBase: VIRT.gicDist, redistBase: VIRT.gicRedist },
    sysregs: VIRT_ID_REGS.map(({ encoding, value }) => ({ encoding, value })),
    ccsidr: VIRT_CCSIDR,
    firmwareFields: VIRT_FIRMWARE,
    paBits: 44,
    uart: VIRT.uart,
    // Real kernels run here: they must not be told of a feature the emulator cannot execute.
    idCap: true,
  };
}

/** Boots the kernel until the budget, a stop, or PSCI SYSTEM_OFF/RESET. */
export async function bootVirt(o: BootOptions): Promise<BootResult> {
  const at = layout(o);
  const m = await Machine.create(virtConfig(o.ramBytes));
  const CHUNK = 32 << 20;
  for (let off = 0; off < o.kernel.length; off += CHUNK) {
    m.writeMemory(at.kernel + BigInt(off), o.kernel.subarray(off, off + CHUNK));
  }
  if (o.initrd) m.writeMemory(at.initrd, o.initrd);
  m.writeMemory(at.dtb, o.dtb);
  m.setOneReg(0, REG.x(0), at.dtb);
  m.setOneReg(0, REG.PC, at.kernel);
  const decoder = new TextDecoder();
  let console = "";
  let left = o.maxInstructions;
  let reason: StopReason = "budget";
  while (left > 0n) {
    const chunk = o.chunk ?? 50_000_000n;
    const step = left < chunk ? left : chunk;
    const before = m.instructions();
    const r = m.run(0, step);
    left -= m.instructions() - before;
    const bytes = m.takeConsole();
    if (bytes.length) {
      o.onConsole?.(bytes);
      console += decoder.decode(bytes, { stream: true });
    }
    reason = r.reason;
    if (r.reason !== "budget") break;
    if (o.until !== undefined && console.includes(o.until)) break;
  }
  return { reason, instructions: m.instructions(), pc: m.getOneReg(0, REG.PC), console };
}
