/**
 * Differential test of the A64 integer core against QEMU user mode (`qemu-aarch64`), RISU style:
 * thousands of seeded random sequences plus hand-written edge cases are assembled into one static
 * aarch64 ELF (GNU as + ld, at test time, in a temp dir). QEMU runs them all in one process and
 * dumps X0-X30, SP, NZCV and every scratch area; the emulator runs each sequence from the same
 * state at the same addresses and must end with identical registers, flags and memory.
 */
import { assertEquals } from "@std/assert";
import { AARCH64_BINUTILS, oracleTest, QEMU_USER } from "../support/oracle.ts";
import { Machine, REG } from "../../emulator/machine.ts";
import {
  DATA_BASE,
  EDGE_CASES,
  edgeSequence,
  generate,
  harness,
  Rng,
  SCRATCH_BYTES,
  type Sequence,
  STATE_WORDS,
  TEXT_BASE,
} from "./risu_gen.ts";

const SEED = 0x5eed_0001n;
const RANDOM_SEQUENCES = 4000;
/** Vector base for unexpected exceptions: watched, so an exception stops the run. */
const VBAR = 0x30_0000n;

async function run(cmd: string, args: string[], cwd: string): Promise<Uint8Array> {
  // A generator bug that made a sequence loop must fail the test, not hang the suite.
  const signal = AbortSignal.timeout(60_000);
  const out = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped", signal })
    .output();
  if (out.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (${out.code}): ${
        new TextDecoder().decode(out.stderr).slice(0, 2000)
      }`,
    );
  }
  return out.stdout;
}

function symbols(nm: string): Map<string, bigint> {
  const m = new Map<string, bigint>();
  for (const line of nm.split("\n")) {
    const [addr, , name] = line.trim().split(/\s+/);
    if (addr && name) m.set(name, BigInt("0x" + addr));
  }
  return m;
}

function nzcvName(v: bigint): string {
  const f = Number(v >> 28n) & 0xf;
  return ["N", "Z", "C", "V"].filter((_, i) => f & (8 >> i)).join("") || "-";
}

oracleTest({
  name: "A64 integer core matches qemu-aarch64 on random sequences and edge cases",
  needs: [QEMU_USER, AARCH64_BINUTILS],
  fn: async () => {
    const seqs: Sequence[] = generate(SEED, RANDOM_SEQUENCES);
    const edgeRng = new Rng(SEED + 1n);
    EDGE_CASES.forEach((e, i) => seqs.push(edgeSequence(RANDOM_SEQUENCES + i, e, edgeRng)));
    const names = new Map<number, string>(
      EDGE_CASES.map((e, i) => [RANDOM_SEQUENCES + i, `edge case "${e.name}"`]),
    );

    const dir = await Deno.makeTempDir({ prefix: "rollsafe-risu-" });
    try {
      await Deno.writeTextFile(`${dir}/h.S`, harness(seqs));
      // LSE atomics, LDAPR (RCpc) and CRC32 are beyond ARMv8.0.
      await run("aarch64-linux-gnu-as", ["-march=armv8.2-a+rcpc+crc", "h.S", "-o", "h.o"], dir);
      await run("aarch64-linux-gnu-ld", [
        "-static",
        "-e",
        "_start",
        `-Ttext=0x${TEXT_BASE.toString(16)}`,
        `-Tdata=0x${DATA_BASE.toString(16)}`,
        "h.o",
        "-o",
        "h.elf",
      ], dir);
      const sym = symbols(
        new TextDecoder().decode(await run("aarch64-linux-gnu-nm", ["h.elf"], dir)),
      );
      assertEquals(sym.get("scratch"), DATA_BASE, "scratch areas start at DATA_BASE");
      await run(
        "aarch64-linux-gnu-objcopy",
        ["-O", "binary", "-j", ".text", "h.elf", "text.bin"],
        dir,
      );
      await run(
        "aarch64-linux-gnu-objcopy",
        ["-O", "binary", "-j", ".data", "h.elf", "data.bin"],
        dir,
      );
      const text = await Deno.readFile(`${dir}/text.bin`);
      const data = await Deno.readFile(`${dir}/data.bin`);

      const qemuOut = await run("qemu-aarch64", ["h.elf"], dir);
      const outBytes = seqs.length * STATE_WORDS * 8;
      assertEquals(qemuOut.length, outBytes + seqs.length * SCRATCH_BYTES, "QEMU output size");
      const qv = new DataView(qemuOut.buffer, qemuOut.byteOffset, qemuOut.byteLength);

      const m = await Machine.create({
        vcpus: 1,
        ram: [
          { base: VBAR, size: 0x10_0000n },
          { base: TEXT_BASE, size: BigInt(Math.ceil(text.length / 4096) * 4096 + 4096) },
          { base: DATA_BASE, size: BigInt(Math.ceil(data.length / 4096) * 4096 + 4096) },
        ],
      });
      m.writeMemory(TEXT_BASE, text);
      m.writeMemory(DATA_BASE, data);
      m.setOneReg(0, REG.sys(3, 0, 12, 0, 0), VBAR);
      const vectors = [0n, 0x200n, 0x400n].map((o) => VBAR + o);
      const ends = seqs.map((s) => sym.get(`e_${s.index}`)!);
      m.setWatches([...vectors, ...ends]);

      const mismatches: string[] = [];
      const bad = new Set<number>();
      let instructions = 0n;
      for (const s of seqs) {
        const label = names.get(s.index) ?? `sequence ${s.index}`;
        const start = sym.get(`b_${s.index}`)!;
        for (let r = 0; r < 31; r++) m.setOneReg(0, REG.x(r), s.init[r]!);
        // EL0t with the initial flags; SP_EL0 is KVM's `sp`.
        assertEquals(m.setOneReg(0, REG.PSTATE, s.init[32]!), 0);
        m.setOneReg(0, REG.SP, s.init[31]!);
        m.setOneReg(0, REG.PC, start);
        const scratchAt = DATA_BASE + BigInt(s.index * SCRATCH_BYTES);
        m.writeMemory(scratchAt, s.scratch);
        const before = m.instructions();
        const res = m.run(0, 10_000);
        instructions += m.instructions() - before;
        if (res.reason !== "watch" || res.address !== ends[s.index]) {
          const esr = m.getOneReg(0, REG.sys(3, 0, 5, 2, 0));
          const elr = m.getOneReg(0, REG.ELR_EL1);
          bad.add(s.index);
          mismatches.push(
            `${label}: stopped with ${res.reason} at 0x${res.address.toString(16)} (ESR_EL1 0x${
              esr.toString(16)
            }, ELR_EL1 0x${elr.toString(16)})\n${s.body.join("\n")}`,
          );
          continue;
        }
        const diffs: string[] = [];
        const base = s.index * STATE_WORDS * 8;
        for (let r = 0; r < 33; r++) {
          const want = qv.getBigUint64(base + r * 8, true);
          const got = r < 31
            ? m.getOneReg(0, REG.x(r))
            : r === 31
            ? m.getOneReg(0, REG.SP)
            : m.getOneReg(0, REG.PSTATE) & 0xf000_0000n;
          if (want !== got) {
            const n = r < 31 ? `x${r}` : r === 31 ? "sp" : "nzcv";
            const show = (v: bigint) => r === 32 ? nzcvName(v) : `0x${v.toString(16)}`;
            diffs.push(`${n}: qemu ${show(want)} emulator ${show(got)}`);
          }
        }
        const memWant = qemuOut.subarray(
          outBytes + s.index * SCRATCH_BYTES,
          outBytes + (s.index + 1) * SCRATCH_BYTES,
        );
        const memGot = m.readMemory(scratchAt, SCRATCH_BYTES);
        for (let j = 0; j < SCRATCH_BYTES; j++) {
          if (memWant[j] !== memGot[j]) {
            diffs.push(
              `scratch+${j}: qemu 0x${memWant[j]!.toString(16)} emulator 0x${
                memGot[j]!.toString(16)
              }`,
            );
            break;
          }
        }
        if (diffs.length) {
          bad.add(s.index);
          mismatches.push(`${label}:\n  ${diffs.join("\n  ")}\n${s.body.join("\n")}`);
        }
      }
      console.log(
        `differential: ${seqs.length} sequences (${RANDOM_SEQUENCES} random, ${EDGE_CASES.length} edge cases), ` +
          `${instructions} instructions compared against qemu-aarch64`,
      );
      // Per class: sequences containing it, instructions of it emitted, sequences that differ.
      const rows = new Map<string, { seqs: number; insns: number; bad: number }>();
      for (const s of seqs) {
        for (const [cls, n] of Object.entries(s.classes)) {
          const row = rows.get(cls) ?? { seqs: 0, insns: 0, bad: 0 };
          row.seqs++;
          row.insns += n;
          if (bad.has(s.index)) row.bad++;
          rows.set(cls, row);
        }
      }
      console.log("class        sequences  instructions  mismatching sequences");
      for (const [cls, r] of [...rows].sort()) {
        console.log(
          `${cls.padEnd(12)} ${String(r.seqs).padStart(9)}  ${String(r.insns).padStart(12)}  ${
            String(r.bad).padStart(21)
          }`,
        );
      }
      assertEquals(mismatches.slice(0, 5), [], `${mismatches.length} sequences differ`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
