/**
 * Shared by the GIC and timer guest tests: assemble a small AArch64 guest with the GNU binutils
 * (the AARCH64_BINUTILS oracle), load it into a fresh machine at 0x4000_0000 and start vCPU 0
 * there at EL1h with DAIF masked (KVM's reset PSTATE 0x3c5). Guests report through a data page
 * at DATA and end with PSCI SYSTEM_OFF.
 */
import { assertEquals } from "@std/assert";
import { Machine, type MachineConfig, REG } from "../../emulator/machine.ts";

export const RAM_BASE = 0x4000_0000n;
export const DATA = 0x4001_0000n;

/** The assembler prelude every guest gets: frame addresses of QEMU's `virt` map. */
const PRELUDE = `
  .equ GICD, 0x08000000
  .equ GICC, 0x08010000
  .equ GICR, 0x080a0000
  .equ DATA, 0x40010000
  .equ PSCI_SYSTEM_OFF, 0x84000008
  .equ PSCI_CPU_ON, 0xc4000003
  .text
`;

/** Assembles `source` (GNU as syntax) into a flat binary of its .text section. */
export async function assemble(source: string): Promise<Uint8Array> {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-guest-" });
  try {
    await Deno.writeTextFile(`${dir}/g.s`, PRELUDE + source);
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
