/**
 * Emulator speed: MIPS of the wasm interpreter in Deno on a fixed integer program, next to
 * qemu-aarch64 (TCG, a JIT) on the same program, both measured here.
 *
 * The program is one static aarch64 ELF, assembled now with GNU as/ld: a loop of 9 integer
 * instructions (ALU, shifted operands, register-offset load and store, multiply-add, compare and
 * branch) ending in the exit system call. QEMU runs the ELF; the emulator runs the same bytes at
 * EL0 at the same addresses and stops when the SVC reaches the EL1 vector. The instruction count
 * is the emulator's own retired count (the same for QEMU: same code, same path).
 *
 * Run: `deno task bench:emulator` (needs binutils-aarch64-linux-gnu and qemu-user).
 */
import { Machine, REG } from "../emulator/machine.ts";

const ITERATIONS_EMU = Number(Deno.env.get("EMU_ITERS") ?? 40_000_000);
const ITERATIONS_QEMU = 400_000_000;
const REPEATS = 5;
const TEXT = 0x40_0000n;
const DATA = 0x50_0000n;
const VBAR = 0x30_0000n;

function program(iterations: number): string {
  return `
.text
.globl _start
_start:
  ldr x0, =${iterations}
  adrp x9, buf
  add x9, x9, :lo12:buf
  mov x2, #0
  mov x6, #1
loop:
  and x3, x2, #63
  ldr x4, [x9, x3, lsl #3]
  add x4, x4, x2
  eor x5, x4, x4, lsr #7
  str x5, [x9, x3, lsl #3]
  add x2, x2, #1
  madd x6, x5, x2, x6
  subs x0, x0, #1
  b.ne loop
  mov x0, #0
  mov x8, #93
  svc #0
.ltorg
.data
.balign 4096
buf: .zero 512
`;
}

async function sh(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stderr: "piped" }).output();
  if (out.code !== 0) throw new Error(`${cmd} failed: ${new TextDecoder().decode(out.stderr)}`);
}

async function build(dir: string, iterations: number, name: string): Promise<void> {
  await Deno.writeTextFile(`${dir}/${name}.S`, program(iterations));
  await sh("aarch64-linux-gnu-as", [`${name}.S`, "-o", `${name}.o`], dir);
  await sh("aarch64-linux-gnu-ld", [
    "-static",
    "-e",
    "_start",
    `-Ttext=0x${TEXT.toString(16)}`,
    `-Tdata=0x${DATA.toString(16)}`,
    `${name}.o`,
    "-o",
    `${name}.elf`,
  ], dir);
  for (const s of ["text", "data"]) {
    await sh("aarch64-linux-gnu-objcopy", [
      "-O",
      "binary",
      "-j",
      `.${s}`,
      `${name}.elf`,
      `${name}.${s}`,
    ], dir);
  }
}

async function emulator(dir: string, name: string): Promise<{ insns: bigint; seconds: number }> {
  const m = await Machine.create({
    vcpus: 1,
    ram: [{ base: VBAR, size: 0x1000n }, { base: TEXT, size: 0x1000n }, {
      base: DATA,
      size: 0x1000n,
    }],
  });
  m.writeMemory(TEXT, await Deno.readFile(`${dir}/${name}.text`));
  m.writeMemory(DATA, await Deno.readFile(`${dir}/${name}.data`));
  m.setOneReg(0, REG.sys(3, 0, 12, 0, 0), VBAR);
  m.setWatches([VBAR + 0x400n]);
  m.setOneReg(0, REG.PSTATE, 0n); // EL0t
  m.setOneReg(0, REG.PC, TEXT);
  const t0 = performance.now();
  const r = m.run(0, 1n << 40n);
  const seconds = (performance.now() - t0) / 1000;
  if (r.reason !== "watch") throw new Error(`emulator stopped with ${r.reason}`);
  return { insns: m.instructions(), seconds };
}

async function qemu(dir: string, name: string): Promise<number> {
  const t0 = performance.now();
  await sh("qemu-aarch64", [`${name}.elf`], dir);
  return (performance.now() - t0) / 1000;
}

const dir = await Deno.makeTempDir({ prefix: "rollsafe-bench-" });
try {
  await build(dir, 1_000_000, "warm");
  await build(dir, ITERATIONS_EMU, "emu");
  await build(dir, ITERATIONS_QEMU, "qemu");
  await emulator(dir, "warm"); // compile and tier up the wasm
  // Best of REPEATS: the host is shared, so the fastest run is the least disturbed one.
  const runs = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await emulator(dir, "emu"));
  runs.sort((a, b) => a.seconds - b.seconds);
  const e = runs[0]!;
  const median = runs[Math.floor(runs.length / 2)]!;
  // 5 setup instructions, 9 per iteration, then mov, mov, svc.
  const perIter = Number(e.insns - 8n) / ITERATIONS_EMU;
  const emuMips = Number(e.insns) / e.seconds / 1e6;
  const qemuInsns = perIter * ITERATIONS_QEMU + 8;
  const qruns = [];
  for (let i = 0; i < REPEATS; i++) qruns.push(await qemu(dir, "qemu"));
  const qs = Math.min(...qruns);
  const qemuMips = qemuInsns / qs / 1e6;
  console.log(
    `program: ${perIter} instructions per iteration (integer ALU, ld/st register offset, madd, branch)`,
  );
  console.log(
    `emulator (wasm in Deno): ${e.insns} instructions in ${e.seconds.toFixed(2)} s = ${
      emuMips.toFixed(1)
    } MIPS ` +
      `(best of ${REPEATS}; median ${
        (Number(median.insns) / median.seconds / 1e6).toFixed(1)
      } MIPS)`,
  );
  console.log(
    `qemu-aarch64 (TCG JIT):  ${qemuInsns} instructions in ${qs.toFixed(2)} s = ${
      qemuMips.toFixed(1)
    } MIPS ` +
      `(best of ${REPEATS}, process start included)`,
  );
  console.log(`ratio: qemu is ${(qemuMips / emuMips).toFixed(1)}x the emulator`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
