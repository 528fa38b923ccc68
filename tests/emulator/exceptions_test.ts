/**
 * Exceptions through `emulator/machine.ts`: small guest programs (assembled now with GNU as)
 * raise SVC, HVC, BRK, UNDEF, data and instruction aborts, alignment faults and trapped system
 * register accesses; a vector table records ESR_EL1, ELR_EL1, SPSR_EL1, FAR_EL1 and the vector
 * offset, then either stops (HLT) or ERETs back. Expected syndromes are computed from the ARM ARM
 * encoding of ESR_EL1 (D19.2: EC[31:26], IL[25], ISS[24:0]), not copied from the emulator.
 */
import { assertEquals } from "@std/assert";
import { AARCH64_BINUTILS, oracleTest } from "../support/oracle.ts";
import { Machine, REG, type RunResult } from "../../emulator/machine.ts";

const RAM = 0x4000_0000n;
const UNMAPPED = 0x9000_0000n;

/** ESR_EL1 = EC << 26 | IL << 25 | ISS, IL = 1 for every A64 instruction. */
function esr(ec: number, iss: number): bigint {
  return (BigInt(ec) << 26n) | (1n << 25n) | BigInt(iss);
}

/**
 * The guest: EL1 entry sets VBAR_EL1 and SP, runs `el1`, and `el0` (if any) after an ERET to
 * EL0t. Every vector stores ESR/ELR/SPSR/FAR in x20..x23 and its offset in x24, then:
 * x25 = 0 stop (HLT #1); 1 ERET; 2 ERET to ELR + 4 (skip the faulting instruction).
 */
function guest(el1: string, el0 = ""): string {
  const vectors = Array.from(
    { length: 16 },
    (_, i) => `.balign 0x80\n  mov x24, #${i * 0x80}\n  b common`,
  )
    .join("\n");
  return `
.text
.globl _start
_start:
  adr x0, vectors
  msr vbar_el1, x0
  adr x0, stack_top
  mov sp, x0
  mov x20, #0
${el1}
  hlt #0
el0_entry:
${el0}
  hlt #2
.balign 0x800
vectors:
${vectors}
common:
  mrs x20, esr_el1
  mrs x21, elr_el1
  mrs x22, spsr_el1
  mrs x23, far_el1
  cbz x25, 1f
  cmp x25, #2
  b.ne 2f
  add x26, x21, #4
  msr elr_el1, x26
2:
  eret
1:
  hlt #1
.balign 16
  .skip 512
stack_top:
.data
.balign 16
data: .quad 0x1122334455667788, 0
`;
}

/** Enter EL0 at el0_entry with NZCV = `nzcv` (ERET from EL1 with SPSR = EL0t). */
function toEl0(nzcv = 0): string {
  return `  mov x0, #${
    nzcv << 28 >>> 0
  }\n  msr spsr_el1, x0\n  adr x0, el0_entry\n  msr elr_el1, x0\n  adr x0, stack_top\n  msr sp_el0, x0\n  eret`;
}

async function sh(cmd: string, args: string[], cwd: string): Promise<void> {
  const out = await new Deno.Command(cmd, { args, cwd, stderr: "piped" }).output();
  if (out.code !== 0) {
    throw new Error(`${cmd} ${args.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
  }
}

/** Assembles `src`, links text at RAM and data right after, returns the flat image. */
async function build(src: string): Promise<{ image: Uint8Array; symbols: Map<string, bigint> }> {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-exc-" });
  try {
    await Deno.writeTextFile(`${dir}/g.S`, src);
    await sh("aarch64-linux-gnu-as", ["g.S", "-o", "g.o"], dir);
    await sh("aarch64-linux-gnu-ld", [
      "-e",
      "_start",
      `-Ttext=0x${RAM.toString(16)}`,
      "-Tdata=0x40010000",
      "g.o",
      "-o",
      "g.elf",
    ], dir);
    await sh("aarch64-linux-gnu-objcopy", ["-O", "binary", "g.elf", "g.bin"], dir);
    const nm = await new Deno.Command("aarch64-linux-gnu-nm", {
      args: ["g.elf"],
      cwd: dir,
      stdout: "piped",
    }).output();
    const symbols = new Map<string, bigint>();
    for (const line of new TextDecoder().decode(nm.stdout).split("\n")) {
      const [a, , n] = line.trim().split(/\s+/);
      if (a && n) symbols.set(n, BigInt("0x" + a));
    }
    return { image: await Deno.readFile(`${dir}/g.bin`), symbols };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

interface Outcome {
  run: RunResult;
  m: Machine;
  sym: Map<string, bigint>;
  x: (n: number) => bigint;
}

async function execute(src: string, regs: Record<number, bigint> = {}): Promise<Outcome> {
  const { image, symbols } = await build(src);
  const m = await Machine.create({ vcpus: 1, ram: [{ base: RAM, size: 0x2_0000n }] });
  m.writeMemory(RAM, image);
  for (const [r, v] of Object.entries(regs)) m.setOneReg(0, REG.x(Number(r)), v);
  m.setOneReg(0, REG.PC, RAM);
  const run = m.run(0, 10_000);
  return { run, m, sym: symbols, x: (n) => m.getOneReg(0, REG.x(n)) };
}

function stoppedInHandler(o: Outcome): void {
  assertEquals([o.run.reason, o.run.code], ["hlt", 1], "the guest stops in the vector handler");
}

oracleTest({
  name: "SVC #0x1234 at EL0: EC 0x15, IL 1, ISS imm16, lower-EL vector, ERET back",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const o = await execute(
      guest(`  mov x25, #1\n${toEl0(0b1001)}`, "  svc #0x1234\n  mov x27, #7"),
    );
    assertEquals([o.run.reason, o.run.code], ["hlt", 2], "returned to EL0 and finished");
    assertEquals(o.x(20), esr(0x15, 0x1234));
    assertEquals(o.x(20), 0x5600_1234n);
    const svcAt = o.sym.get("el0_entry")!;
    assertEquals(o.x(21), svcAt + 4n, "ELR_EL1 is the instruction after the SVC");
    assertEquals(o.x(22), 0x9000_0000n, "SPSR_EL1: N and V set, EL0t, DAIF clear");
    assertEquals(o.x(24), 0x400n, "synchronous, lower EL using AArch64");
    assertEquals(o.x(27), 7n, "execution continued after the SVC");
    assertEquals(o.m.getOneReg(0, REG.PSTATE) & 0xfn, 0n, "back at EL0t");
  },
});

oracleTest({
  name: "HVC at EL1 is answered by firmware (PSCI_VERSION); HVC at EL0 is UNDEFINED",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const el1 = await execute(
      guest(`  mov x25, #0\n  ldr x0, =0x84000000\n  hvc #0\n  mov x19, x0`),
    );
    assertEquals([el1.run.reason, el1.run.code], ["hlt", 0]);
    assertEquals(el1.x(19), 0x1_0003n, "PSCI 1.3, the latest mainline default");
    const el0 = await execute(guest(`  mov x25, #0\n${toEl0()}`, "  hvc #0"));
    stoppedInHandler(el0);
    assertEquals(el0.x(20), esr(0, 0));
    assertEquals(el0.x(21), el0.sym.get("el0_entry")!, "ELR_EL1 is the HVC itself");
  },
});

oracleTest({
  name: "BRK and UDF: EC 0x3C with the immediate, EC 0x00; ELR points at the instruction",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const brk = await execute(guest(`  mov x25, #2\n  brk #0x42\n  mov x27, #9`));
    assertEquals([brk.run.reason, brk.run.code], ["hlt", 0], "resumed after the BRK");
    assertEquals(brk.x(20), esr(0x3c, 0x42));
    assertEquals(brk.x(20), 0xf200_0042n);
    assertEquals(brk.x(24), 0x200n, "synchronous, current EL with SP_ELx");
    assertEquals(brk.x(27), 9n);
    const udf = await execute(guest(`  mov x25, #0\nudf_at:\n  .inst 0x00000000`));
    stoppedInHandler(udf);
    assertEquals(udf.x(20), 0x0200_0000n, "EC 0, IL 1, ISS 0");
    assertEquals(udf.x(21), udf.sym.get("udf_at")!);
    assertEquals(udf.x(22), 0x3c5n, "SPSR_EL1: EL1h with DAIF masked (reset PSTATE)");
  },
});

oracleTest({
  name: "data aborts on unmapped addresses: EC 0x25 at EL1, 0x24 at EL0, DFSC 0x10, WnR, FAR",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const load = await execute(guest(`  mov x25, #0\n  ldr x0, [x1]`), { 1: UNMAPPED });
    stoppedInHandler(load);
    assertEquals(load.x(20), esr(0x25, 0x10));
    assertEquals(load.x(20), 0x9600_0010n);
    assertEquals(load.x(23), UNMAPPED, "FAR_EL1 holds the faulting address");
    const store = await execute(guest(`  mov x25, #0\n  str x0, [x1, #8]`), { 1: UNMAPPED });
    assertEquals(store.x(20), esr(0x25, 0x10 | 1 << 6), "WnR set for a write");
    assertEquals(store.x(23), UNMAPPED + 8n);
    const el0 = await execute(guest(`  mov x25, #0\n${toEl0()}`, "  ldrb w0, [x1]"), {
      1: UNMAPPED,
    });
    assertEquals(el0.x(20), esr(0x24, 0x10));
    assertEquals(el0.x(24), 0x400n);
  },
});

oracleTest({
  name: "alignment: unaligned access with the MMU off (Device memory), SP and PC alignment",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const data = await execute(guest(`  mov x25, #0\n  adr x1, data\n  ldr x0, [x1, #4]`));
    assertEquals(data.x(20), esr(0x25, 0x21), "Alignment fault DFSC 0x21");
    assertEquals(data.x(23), 0x4001_0004n);
    // SCTLR_EL1.SA is set at reset (0x00C50838): a misaligned SP base faults with EC 0x26.
    const spAlign = await execute(guest(`  mov x25, #0\n  sub sp, sp, #8\n  ldr x0, [sp]`));
    assertEquals(spAlign.x(20), esr(0x26, 0));
    const pc = await execute(
      guest(`  mov x25, #0\n  adr x1, target\n  add x1, x1, #2\n  br x1\ntarget:\n  nop`),
    );
    assertEquals(pc.x(20), esr(0x22, 0));
    assertEquals(pc.x(23), pc.sym.get("target")! + 2n, "FAR_EL1 is the misaligned PC");
    const iabt = await execute(guest(`  mov x25, #0\n  br x1`), { 1: UNMAPPED });
    assertEquals(iabt.x(20), esr(0x21, 0x10), "instruction abort, current EL, external");
    assertEquals(iabt.x(21), UNMAPPED);
  },
});

oracleTest({
  name: "system registers: EL0 CTR_EL0 traps (EC 0x18) unless SCTLR_EL1.UCT; unknown ones UNDEF",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const trapped = await execute(guest(`  mov x25, #0\n${toEl0()}`, "  mrs x3, ctr_el0"));
    // ISS: Op0[21:20]=3 Op2[19:17]=1 Op1[16:14]=3 CRn[13:10]=0 Rt[9:5]=3 CRm[4:1]=0 Dir[0]=1
    assertEquals(trapped.x(20), esr(0x18, 3 << 20 | 1 << 17 | 3 << 14 | 3 << 5 | 1));
    const uct = await execute(
      guest(
        `  mov x25, #0\n  mrs x0, sctlr_el1\n  orr x0, x0, #(1 << 15)\n  msr sctlr_el1, x0\n${toEl0()}`,
        "  mrs x3, ctr_el0",
      ),
    );
    assertEquals([uct.run.reason, uct.run.code], ["hlt", 2], "readable at EL0 with UCT set");
    const unknown = await execute(guest(`  mov x25, #0\n  mrs x0, s3_0_c15_c15_7`));
    assertEquals(unknown.x(20), esr(0, 0));
    const el0Sys = await execute(guest(`  mov x25, #0\n${toEl0()}`, "  mrs x0, sctlr_el1"));
    assertEquals(el0Sys.x(20), esr(0, 0), "EL1 register at EL0 is UNDEFINED");
    const idReg = await execute(
      guest(`  mov x25, #0\n  mrs x5, id_aa64pfr0_el1\n  mrs x6, s3_0_c0_c7_7`),
    );
    assertEquals([idReg.run.reason, idReg.run.code], ["hlt", 0], "reserved ID space reads as zero");
    assertEquals(idReg.x(6), 0n);
  },
});

oracleTest({
  name: "exception entry uses SP_EL1 and the SP_EL0 vector group; ERET restores flags and EL",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const sp0 = await execute(
      guest(
        `  mov x25, #2\n  msr spsel, #0\n  mov x9, sp\n  svc #1\n  mov x10, sp\n  mrs x11, spsel`,
      ),
    );
    assertEquals([sp0.run.reason, sp0.run.code], ["hlt", 0]);
    assertEquals(sp0.x(24), 0x000n, "current EL with SP_EL0");
    assertEquals(sp0.x(22) & 0xfn, 0b0100n, "SPSR_EL1.M = EL1t");
    assertEquals(sp0.x(11), 0n, "SPSel restored by ERET");
    // Illegal exception return (SPSR.M = EL2h): PSTATE.IL, then EC 0x0E on the next instruction.
    const illegal = await execute(
      guest(
        `  mov x25, #0\n  mov x0, #0x9\n  msr spsr_el1, x0\n  adr x0, 1f\n  msr elr_el1, x0\n  eret\n1:\n  nop`,
      ),
    );
    stoppedInHandler(illegal);
    assertEquals(illegal.x(20), esr(0x0e, 0));
    assertEquals((illegal.x(22) >> 20n) & 1n, 1n, "SPSR_EL1.IL set");
  },
});
