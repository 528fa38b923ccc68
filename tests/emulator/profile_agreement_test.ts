/**
 * Host profiles and the emulator agree: whatever a host's ID registers advertise, the guest the
 * emulator runs for that host is told only of features it can execute.
 *
 * For every built-in host, a machine is configured with the host's ID register values; a guest
 * reads the ID registers with MRS (what the guest is told, after wasm/src/sysreg/idsan.rs), and
 * for each feature below that the guest is told exists, executes one instruction of it at EL1
 * and requires it not to take UNDEFINED (ESR_EL1.EC 0). Field names and positions come from the
 * kernel's register description (emulator/profiles/idfields.ts); instruction words from GNU as
 * 2.40 (-march=armv8.5-a plus the extensions), source alongside.
 */
import { assert, assertEquals } from "@std/assert";
import { Machine, REG } from "../../emulator/machine.ts";
import { builtinHostIds, hostHex, resolveHost } from "../../emulator/hosts/loader.ts";
import { getField, idField } from "../../emulator/profiles/idfields.ts";
import { regId } from "../../snapshots/kvm/names.ts";

const RAM = 0x4000_0000n;
const VBAR = RAM + 0x800n;
const DATA = RAM + 0x1000n;
const HLT0 = 0xd440_0000;
const HLT1 = 0xd440_0020;

/** Feature → the ID field that advertises it and one instruction that needs it. */
const FEATURES: { reg: string; field: string; word: number; asm: string }[] = [
  { reg: "ID_AA64PFR0_EL1", field: "FP", word: 0x9e67_0020, asm: "fmov d0, x1" },
  { reg: "ID_AA64PFR0_EL1", field: "AdvSIMD", word: 0x4ea2_8420, asm: "add v0.4s, v1.4s, v2.4s" },
  { reg: "ID_AA64PFR0_EL1", field: "DIT", word: 0xd503_415f, asm: "msr dit, #1" },
  { reg: "ID_AA64PFR0_EL1", field: "RAS", word: 0xd538_5303, asm: "mrs x3, erridr_el1" },
  { reg: "ID_AA64PFR0_EL1", field: "SVE", word: 0x2518_e3e0, asm: "ptrue p0.b" },
  { reg: "ID_AA64PFR1_EL1", field: "SSBS", word: 0xd503_413f, asm: "msr ssbs, #1" },
  { reg: "ID_AA64PFR1_EL1", field: "MTE", word: 0x9adf_1023, asm: "irg x3, x1" },
  { reg: "ID_AA64ISAR0_EL1", field: "ATOMIC", word: 0xf821_0002, asm: "ldadd x1, x2, [x0]" },
  { reg: "ID_AA64ISAR0_EL1", field: "CRC32", word: 0x9ac2_4c23, asm: "crc32x w3, w1, x2" },
  { reg: "ID_AA64ISAR0_EL1", field: "AES", word: 0x4e28_4820, asm: "aese v0.16b, v1.16b" },
  { reg: "ID_AA64ISAR0_EL1", field: "SHA1", word: 0x5e28_0820, asm: "sha1h s0, s1" },
  { reg: "ID_AA64ISAR0_EL1", field: "SHA2", word: 0x5e02_4020, asm: "sha256h q0, q1, v2.4s" },
  { reg: "ID_AA64ISAR0_EL1", field: "RDM", word: 0x6e82_8420, asm: "sqrdmlah v0.4s, v1.4s, v2.4s" },
  { reg: "ID_AA64ISAR0_EL1", field: "DP", word: 0x6e82_9420, asm: "udot v0.4s, v1.16b, v2.16b" },
  { reg: "ID_AA64ISAR0_EL1", field: "TS", word: 0xd500_401f, asm: "cfinv" },
  { reg: "ID_AA64ISAR0_EL1", field: "RNDR", word: 0xd53b_2403, asm: "mrs x3, rndr" },
  { reg: "ID_AA64ISAR1_EL1", field: "DPB", word: 0xd50b_7c20, asm: "dc cvap, x0" },
  { reg: "ID_AA64ISAR1_EL1", field: "LRCPC", word: 0xf8bf_c001, asm: "ldapr x1, [x0]" },
  { reg: "ID_AA64ISAR1_EL1", field: "SB", word: 0xd503_30ff, asm: "sb" },
  { reg: "ID_AA64ISAR1_EL1", field: "API", word: 0xdac1_0023, asm: "pacia x3, x1" },
  { reg: "ID_AA64ISAR1_EL1", field: "JSCVT", word: 0x1e7e_0003, asm: "fjcvtzs w3, d0" },
  { reg: "ID_AA64MMFR1_EL1", field: "LO", word: 0xd538_a463, asm: "mrs x3, lorc_el1" },
  { reg: "ID_AA64MMFR1_EL1", field: "PAN", word: 0xd500_419f, asm: "msr pan, #1" },
  { reg: "ID_AA64MMFR2_EL1", field: "UAO", word: 0xd500_417f, asm: "msr uao, #1" },
];

const ID_REGS = [...new Set(FEATURES.map((f) => f.reg))];

function encoding(reg: string): number {
  const id = regId(reg);
  if (id === undefined) throw new Error(`no register ${reg}`);
  return Number(id & 0xffffn);
}

async function hostMachine(hostId: string): Promise<Machine> {
  const h = resolveHost(hostId);
  const sysregs = ID_REGS.flatMap((reg) => {
    const v = hostHex(h, `idreg.${reg}`);
    return v === undefined ? [] : [{ encoding: encoding(reg), value: v }];
  });
  // idCap: the configuration a board running real guest code uses (virtConfig).
  const m = await Machine.create({
    vcpus: 1,
    ram: [{ base: RAM, size: 0x1_0000n }],
    sysregs,
    idCap: true,
  });
  m.writeMemory(VBAR + 0x200n, new Uint8Array(new Uint32Array([HLT1]).buffer));
  m.setOneReg(0, REG.sys(3, 0, 12, 0, 0), VBAR);
  return m;
}

/** Runs `word; hlt #0` at EL1; returns ESR_EL1.EC if it raised an exception, else -1. */
function execute(m: Machine, word: number): number {
  m.writeMemory(RAM, new Uint8Array(new Uint32Array([word, HLT0]).buffer));
  m.setOneReg(0, REG.PC, RAM);
  m.setOneReg(0, REG.PSTATE, 0x3c5n);
  m.setOneReg(0, REG.x(0), DATA);
  const r = m.run(0, 100);
  assertEquals(r.reason, "hlt");
  return r.code === 0 ? -1 : Number(m.getOneReg(0, REG.sys(3, 0, 5, 2, 0)) >> 26n);
}

/** What the guest reads from `reg` (an MRS at EL1). */
function guestRead(m: Machine, reg: string): bigint {
  assertEquals(execute(m, 0xd520_0000 | (encoding(reg) << 5) | 1), -1, `mrs ${reg}`);
  return m.getOneReg(0, REG.x(1));
}

/** Signed fields (FP, AdvSIMD) read -1 (0xF) for "not implemented"; others 0. */
function advertised(reg: string, field: string, v: bigint): boolean {
  const f = idField(reg, field);
  if (!f) throw new Error(`the kernel's sysreg file names no ${reg}.${field}`);
  const x = getField(v, f);
  return f.signed ? x >= 0 : x !== 0;
}

for (const hostId of builtinHostIds()) {
  Deno.test(`profile/emulator agreement: ${hostId}: every feature the guest is told of executes`, async () => {
    const m = await hostMachine(hostId);
    const told: string[] = [];
    for (const f of FEATURES) {
      const v = guestRead(m, f.reg);
      if (!advertised(f.reg, f.field, v)) continue;
      told.push(`${f.reg}.${f.field}`);
      const ec = execute(m, f.word);
      assert(
        ec !== 0,
        `${hostId}: the guest is told ${f.reg}.${f.field} but '${f.asm}' is UNDEFINED`,
      );
    }
    console.log(`${hostId}: advertised and executed: ${told.join(", ") || "(none of the table)"}`);
  });
}

Deno.test("profile/emulator agreement: the Neoverse N1 host's FP, AdvSIMD and AES are cut, LSE, CRC32 and PAN kept", async () => {
  const h = resolveHost("neoverse-n1");
  const raw = hostHex(h, "idreg.ID_AA64ISAR0_EL1")!;
  assert(advertised("ID_AA64ISAR0_EL1", "AES", raw), "the N1 host itself has AES");
  const m = await hostMachine("neoverse-n1");
  const isar0 = guestRead(m, "ID_AA64ISAR0_EL1");
  assert(!advertised("ID_AA64ISAR0_EL1", "AES", isar0));
  assert(advertised("ID_AA64ISAR0_EL1", "ATOMIC", isar0));
  assert(advertised("ID_AA64ISAR0_EL1", "CRC32", isar0));
  const pfr0 = guestRead(m, "ID_AA64PFR0_EL1");
  assert(!advertised("ID_AA64PFR0_EL1", "FP", pfr0));
  assert(!advertised("ID_AA64PFR0_EL1", "AdvSIMD", pfr0));
  assert(advertised("ID_AA64MMFR1_EL1", "PAN", guestRead(m, "ID_AA64MMFR1_EL1")));
  // The restore view is untouched: KVM_GET_ONE_REG returns what was configured.
  assertEquals(m.getOneReg(0, regId("ID_AA64ISAR0_EL1")!), raw);
});
