/**
 * The TypeScript facade over the wasm boundary (`emulator/machine.ts`): KVM-shaped errors for bad
 * input, ONE_REG ids (core, sysreg, CCSIDR demux, firmware), vGIC device attributes, memory,
 * mp_state, counters, and a machine built from caller-provided module bytes.
 */
import { assertEquals, assertThrows } from "@std/assert";
import { ERRNO, KvmError, Machine, REG, WASM_URL } from "../../emulator/machine.ts";

const RAM = 0x4000_0000n;
const ram = [{ base: RAM, size: 0x1_0000n }];

Deno.test("Machine.create() rejects a configuration the module cannot build with EINVAL", async () => {
  for (
    const bad of [{ vcpus: 1, ram: [{ base: 0x1001n, size: 0x1000n }] }, {
      vcpus: 1,
      ram: [{ base: 0n, size: 0x2000n }, { base: 0x1000n, size: 0x1000n }],
    }]
  ) {
    const err = await Machine.create(bad).then(() => undefined, (e) => e);
    assertEquals(err instanceof KvmError && err.errno, ERRNO.EINVAL);
  }
});

Deno.test("Machine ONE_REG: unknown ids are ENOENT, bad sizes and PSTATE EINVAL, U128 V registers", async () => {
  const m = await Machine.create({ vcpus: 2, ram });
  assertEquals(m.tryGetOneReg(0, 0x6030_0000_0013_ffffn), { errno: ERRNO.ENOENT });
  assertThrows(() => m.getOneReg(0, 0x6030_0000_0013_ffffn), KvmError, "ENOENT");
  const v31 = 0x0123_4567_89ab_cdef_fedc_ba98_7654_3210n;
  assertEquals(m.setOneReg(0, REG.v(31), v31), 0);
  assertEquals(m.getOneReg(0, REG.v(31)), v31);
  assertEquals(m.getOneReg(1, REG.v(31)), 0n, "per vCPU");
  assertEquals(m.setOneReg(0, REG.FPCR, 0x0300_0000n), 0);
  assertEquals(m.getOneReg(0, REG.FPCR), 0x0300_0000n);
  assertEquals(m.setOneReg(0, REG.FPSR, 0x1_0000_0000n), ERRNO.EINVAL, "U32 register");
  assertEquals(
    m.setOneReg(0, REG.v(0), new Uint8Array(8)),
    ERRNO.EINVAL,
    "16-byte register, 8 bytes",
  );
  assertEquals(m.setOneReg(0, REG.PC, new Uint8Array(4)), ERRNO.EINVAL, "8-byte register, 4 bytes");
  assertEquals(m.setOneReg(0, REG.PSTATE, 0x3c9n), ERRNO.EINVAL, "EL2h");
  assertEquals(m.setOneReg(2, REG.PC, 0n), ERRNO.EINVAL, "no vCPU 2");
  assertEquals(m.setOneReg(1, REG.PC, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8])), 0);
  assertEquals(m.getOneReg(1, REG.PC), 0x0807_0605_0403_0201n, "little-endian bytes");
  assertEquals(m.getOneReg(0, REG.PSTATE), 0x3c5n, "KVM_ARM_VCPU_INIT state: EL1h, DAIF masked");
  assertEquals(m.getOneReg(1, REG.sys(3, 0, 0, 0, 5)), 0x8000_0001n, "KVM's MPIDR for vCPU 1");
});

Deno.test("Machine ONE_REG: configured ID and cache registers, CCSIDR demux, firmware registers", async () => {
  const m = await Machine.create({
    vcpus: 1,
    ram,
    sysregs: [{ encoding: 0xc000, value: 0x413f_d0c1n }, {
      encoding: 0xc020,
      value: 0x1100_0011_1111_2222n,
    }],
    ccsidr: [{ csselr: 0, value: 0x701f_e01an }],
  });
  assertEquals(m.getOneReg(0, REG.sys(3, 0, 0, 0, 0)), 0x413f_d0c1n, "MIDR_EL1");
  assertEquals(m.getOneReg(0, REG.sys(3, 0, 0, 4, 0)), 0x1100_0011_1111_2222n, "ID_AA64PFR0_EL1");
  assertEquals(m.getOneReg(0, REG.ccsidr(0)), 0x701f_e01an);
  assertEquals(m.setOneReg(0, REG.ccsidr(1), 0x1_0000_0000n), ERRNO.EINVAL, "U32 register");
  assertEquals(m.tryGetOneReg(0, REG.ccsidr(14)).errno, ERRNO.ENOENT, "CSSELR 14 is no cache");
  const PSCI_VERSION = 0x6030_0000_0014_0000n;
  assertEquals(m.getOneReg(0, PSCI_VERSION), 0x1_0003n);
  assertEquals(m.setOneReg(0, PSCI_VERSION, 0x1_0001n), 0);
  assertEquals(m.getOneReg(0, PSCI_VERSION), 0x1_0001n);
  assertEquals(m.setOneReg(0, PSCI_VERSION, 0x7_0000n), ERRNO.EINVAL);
});

Deno.test("Machine device attributes reach the vGIC (GICD_IIDR through KVM_DEV_ARM_VGIC_GRP_DIST_REGS)", async () => {
  const m = await Machine.create({ vcpus: 1, ram, gic: { model: 3, iidr: 0x4b00_243b } });
  assertEquals(m.getDeviceAttr(1, 0x8n), 0x4b00_243bn);
  const v2 = await Machine.create({ vcpus: 1, ram, gic: { model: 2, iidr: 0x4b00_243b } });
  assertEquals(v2.getDeviceAttr(1, 0x8n), 0x4b00_243bn);
});

Deno.test("Machine memory, mp_state and counters", async () => {
  const m = await Machine.create({ vcpus: 2, ram, powerOff: [1] });
  m.writeMemory(RAM + 0x10n, new Uint8Array([0xd4, 0x40, 0x00, 0x00].reverse()));
  assertEquals(m.readMemory(RAM + 0x10n, 4), new Uint8Array([0x00, 0x00, 0x40, 0xd4]));
  assertThrows(() => m.writeMemory(RAM + 0xfffen, new Uint8Array(4)), KvmError, "EINVAL");
  assertThrows(() => m.readMemory(0n, 4), KvmError);
  assertEquals([m.getMpState(0), m.getMpState(1)], ["runnable", "stopped"]);
  m.setMpState(1, "runnable");
  assertEquals(m.getMpState(1), "runnable");
  m.setOneReg(0, REG.PC, RAM + 0x10n); // hlt #0
  m.setMpState(1, "stopped");
  const r = m.run("all", 100);
  assertEquals([r.reason, r.vcpu, r.address, r.instructions], ["hlt", 0, RAM + 0x10n, 1n]);
  assertEquals(m.physicalCounter(), 1n, "one instruction, one tick");
});

Deno.test("Machine.fromBytes() builds independent machines from caller-provided module bytes", async () => {
  const bytes = await Deno.readFile(WASM_URL);
  const a = Machine.fromBytes(bytes, { vcpus: 1, ram });
  const b = Machine.fromBytes(bytes, { vcpus: 1, ram });
  a.setOneReg(0, REG.x(3), 42n);
  assertEquals([a.getOneReg(0, REG.x(3)), b.getOneReg(0, REG.x(3))], [42n, 0n]);
});
