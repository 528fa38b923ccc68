/**
 * Shared by the GIC and timer guest tests: assemble a small AArch64 guest with the GNU binutils
 * (the AARCH64_BINUTILS oracle), load it into a fresh machine at 0x4000_0000 and start vCPU 0
 * there at EL1h with DAIF masked (KVM's reset PSTATE 0x3c5). Guests report through a data page
 * at DATA and end by branching to `finish` (PSCI SYSTEM_OFF).
 *
 * The same guests also run on QEMU's `virt` board (TCG), a real GIC implementation, to check the
 * architectural parts (acknowledge, priorities, EOI, SGI routing) against an independent model.
 * There `finish` first prints the first 16 words of the data page over the PL011.
 */
import { assertEquals } from "@std/assert";
import { Machine, type MachineConfig, REG } from "../../emulator/machine.ts";
import { outputWithin } from "../support/process.ts";

export const RAM_BASE = 0x4000_0000n;
export const DATA = 0x4001_0000n;

/** QEMU `virt` puts its device tree at the start of RAM, so guests load above it there. */
const QEMU_IMAGE_AT = 0x4010_0000n;

/** The assembler prelude every guest gets: frame addresses of QEMU's `virt` map, and the data
 * page (above QEMU's image on QEMU). */
function prelude(onQemu: boolean): string {
  return `
  .equ ON_QEMU, ${onQemu ? 1 : 0}
  .equ GICD, 0x08000000
  .equ GICC, 0x08010000
  .equ GICR, 0x080a0000
  .equ UART, 0x09000000
  .equ DATA, ${onQemu ? "0x40210000" : "0x40010000"}
  .equ PSCI_SYSTEM_OFF, 0x84000008
  .equ PSCI_CPU_ON, 0xc4000003
  .text
`;
}

/** \`finish\`: on QEMU, print DATA[0..0x80) as 16 hex words, one per line, to the PL011
 * data register; then PSCI SYSTEM_OFF. */
const EPILOGUE = `
finish:
.if ON_QEMU
  ldr   x1, =UART
  ldr   x9, =DATA
  mov   x5, #0
91:ldr  x3, [x9, x5]
  mov   x6, #60
92:lsr  x4, x3, x6
  and   x4, x4, #0xf
  cmp   x4, #10
  add   x7, x4, #48
  add   x8, x4, #87
  csel  x4, x8, x7, hs
  str   w4, [x1]
  subs  x6, x6, #4
  b.ge  92b
  mov   w4, #10
  str   w4, [x1]
  add   x5, x5, #8
  cmp   x5, #0x80
  b.lt  91b
.endif
  ldr   x0, =PSCI_SYSTEM_OFF
  hvc   #0
93:b    93b
  .ltorg
`;

/** Assembles `source` (GNU as syntax) into a flat binary of its .text section. */
export async function assemble(source: string, onQemu = false): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-guest-" });
  try {
    await Deno.writeTextFile(`${dir}/g.s`, prelude(onQemu) + source + EPILOGUE);
    await run("aarch64-linux-gnu-as", ["-o", `${dir}/g.o`, `${dir}/g.s`]);
    await run("aarch64-linux-gnu-objcopy", [
      "-O",
      "binary",
      "-j",
      ".text",
      `${dir}/g.o`,
      `${dir}/g.bin`,
    ]);
    return await Deno.readFile(`${dir}/g.bin`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** A machine with 1 MiB of RAM at RAM_BASE running `image` from its first byte on vCPU 0. */
export async function boot(
  image: Uint8Array,
  config: Omit<MachineConfig, "ram">,
): Promise<Machine> {
  const m = await Machine.create({ ...config, ram: [{ base: RAM_BASE, size: 0x10_0000n }] });
  m.writeMemory(RAM_BASE, image);
  assertEquals(m.setOneReg(0, REG.PC, RAM_BASE), 0);
  assertEquals(m.setOneReg(0, REG.PSTATE, 0x3c5n), 0);
  return m;
}

/** The little-endian u64 at DATA + `offset`. */
export function data64(m: Machine, offset: number): bigint {
  const b = m.readMemory(DATA + BigInt(offset), 8);
  return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0, true);
}

/**
 * Runs `image` on `qemu-system-aarch64 -M virt,gic-version=N -cpu max` (TCG, EL1, no firmware;
 * secondary CPUs start powered off and come up through PSCI CPU_ON over HVC), loaded at
 * QEMU_IMAGE_AT with CPU 0's PC there, and returns the 16 data words `finish` printed.
 */
export async function runOnQemu(image: Uint8Array, gic: 2 | 3, smp: number): Promise<bigint[]> {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-guest-qemu-" });
  try {
    await Deno.writeFile(`${dir}/g.bin`, image);
    const addr = `0x${QEMU_IMAGE_AT.toString(16)}`;
    const args = [
      "-M",
      `virt,gic-version=${gic}`,
      "-cpu",
      "max",
      "-m",
      "128",
      "-smp",
      String(smp),
      "-nodefaults",
      "-display",
      "none",
      "-serial",
      "stdio",
      "-device",
      `loader,file=${dir}/g.bin,addr=${addr},force-raw=on`,
      "-device",
      `loader,addr=${addr},cpu-num=0`,
    ];
    let out = await outputWithin("qemu-system-aarch64", args, 30_000);
    if (out.timedOut && out.stdout.length === 0) {
      // Seen once in CI: multi-threaded TCG with -smp 2 on a loaded machine printed nothing in
      // 30 s for a guest that powers off in under a second. One more run, said aloud; a guest
      // that really hangs is killed twice and fails below.
      console.error(`notice: qemu-system-aarch64 printed nothing in 30 s; running it once more`);
      out = await outputWithin("qemu-system-aarch64", args, 30_000);
    }
    const text = new TextDecoder().decode(out.stdout);
    const words = text.split("\n").filter((l) => /^[0-9a-f]{16}$/.test(l)).map((l) =>
      BigInt(`0x${l}`)
    );
    if (words.length !== 16 || out.code !== 0) {
      const err = new TextDecoder().decode(out.stderr);
      throw new Error(
        `qemu-system-aarch64 ${args.join(" ")}: ${
          out.timedOut ? "killed after 30 s (the guest never powered off)" : `exit ${out.code}`
        }, ${words.length} words; ${JSON.stringify(text.slice(0, 300))} ${
          JSON.stringify(err.slice(0, 300))
        }`,
      );
    }
    return words;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The first 16 data words of a machine, as `finish` prints them on QEMU. */
export function dataWords(m: Machine): bigint[] {
  return Array.from({ length: 16 }, (_, i) => data64(m, i * 8));
}
