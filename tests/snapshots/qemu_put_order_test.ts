/**
 * QEMU's KVM_SET_ONE_REG order (emulator/kvm/vmm_qemu.ts) on imported real streams: an SVE vCPU
 * (the -cpu max sample) is written core registers, Z/P/FFR, FPSR/FPCR, then its cpreg list,
 * with nothing left unwritten; a vCPU without SVE gets V0..V31 instead.
 */
import { assert, assertEquals } from "@std/assert";
import { qemuPutOrder } from "../../emulator/kvm/vmm_qemu.ts";
import { importQemuStream } from "../../snapshots/import/qemu/mod.ts";
import {
  core,
  CORE_OFFSET,
  KVM_REG_SIZE,
  sveFfr,
  sveZ,
  VCPU_FEATURE,
} from "../../snapshots/mod.ts";

const load = (n: string) =>
  importQemuStream(Deno.readFileSync(new URL(`../fixtures/qemu/${n}.qemu`, import.meta.url)));

Deno.test("qemu put order: SVE vCPU (max): core, Z0..Z31, P, FFR, FPSR, FPCR, then cpregs", () => {
  const v = load("virt-gicv3-max-smp2").vcpus[0];
  assert(v.features.includes(VCPU_FEATURE.SVE));
  const { order, notWritten } = qemuPutOrder(v.registers.keys(), true);
  assertEquals(notWritten, []);
  assertEquals(order.length, v.registers.size);
  assertEquals(order[0], core(CORE_OFFSET.x(0)));
  assertEquals(order[31], core(CORE_OFFSET.SP));
  const z0 = order.indexOf(sveZ(0, 0));
  assertEquals(z0, 31 + 1 + 1 + 1 + 1 + 1 + 5);
  assertEquals(order[z0 + 32 + 16], sveFfr(0));
  assertEquals(order[z0 + 49], core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32));
  const cpregs = order.slice(z0 + 51);
  assertEquals(cpregs, [...cpregs].sort((a, b) => (a < b ? -1 : 1)));
});

Deno.test("qemu put order: vCPU without SVE (cortex-a57): V0..V31 where Z would be", () => {
  const v = load("virt-gicv2-cortex-a57-smp2").vcpus[0];
  const { order, notWritten } = qemuPutOrder(v.registers.keys(), false);
  assertEquals(notWritten, []);
  assertEquals(order[41], core(CORE_OFFSET.v(0), KVM_REG_SIZE.U128));
  // The same ids treated as an SVE vCPU: QEMU would not write the V registers at all.
  assertEquals(qemuPutOrder(v.registers.keys(), true).notWritten.length, 32);
});
