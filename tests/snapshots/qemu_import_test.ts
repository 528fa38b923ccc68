/**
 * The QEMU migration-stream importer on the committed real streams (QEMU 7.2.22 TCG, see
 * tests/fixtures/qemu/README.md): what the guest wrote is found at the right ids and offsets,
 * CPU features and the TCG timer-id swap are right, and the import round-trips byte for byte.
 */
import { assert, assertEquals } from "@std/assert";
import { importQemuStream } from "../../snapshots/import/qemu/mod.ts";
import { detectAccel } from "../../snapshots/import/qemu/cpu.ts";
import { locateVmdesc } from "../../snapshots/import/qemu/vmdesc.ts";
import {
  decodeSnapshot,
  encodeSnapshot,
  isArm64,
  regValue,
  sysreg,
  VCPU_FEATURE,
} from "../../snapshots/mod.ts";
import { COMMITTED, specName, type StreamSpec } from "../fixtures/qemu/make.ts";
import { checkGuest, KVM_REG_ARM_TIMER_CNT } from "./qemu_guest_checks.ts";

const dir = new URL("../fixtures/qemu/", import.meta.url);
const load = (spec: StreamSpec) => Deno.readFileSync(new URL(`${specName(spec)}.qemu`, dir));

for (const spec of COMMITTED) {
  Deno.test(`qemu import: ${specName(spec)} holds what the guest wrote`, () => {
    const s = importQemuStream(load(spec));
    checkGuest(s, spec);
    assertEquals(s.source?.vmm, "qemu");
    assertEquals(s.source?.vmmVersion, "7.2");
    assertEquals(s.source?.importer, "qemu-stream");
    assertEquals(s.source?.extra.get("qemu_accel"), "tcg");
    assertEquals(s.vm.vgic?.nrIrqs, 288, "virt: NUM_IRQS + 32");
    for (const v of s.vcpus) {
      for (const id of v.registers.keys()) assert(isArm64(id), "only KVM_REG_ARM64 ids");
      // One VM-wide counter: every vCPU has the same derived TIMER_CNT.
      assertEquals(
        v.registers.get(KVM_REG_ARM_TIMER_CNT),
        s.vcpus[0].registers.get(
          KVM_REG_ARM_TIMER_CNT,
        ),
      );
    }
    // Guest RAM: mach-virt.ram at 0x40000000 with the guest image page at 0x40080000.
    const ram = s.memory!.find((m) => m.name === "mach-virt.ram")!;
    assertEquals(ram.base, 0x4000_0000n);
    assertEquals(ram.size, 16n << 20n);
    const code = ram.pages.get(0x80000n)!;
    // The first instruction of guest.S: mov x0, #0 (0xd2800000, little-endian).
    assertEquals([...code.subarray(0, 4)], [0x00, 0x00, 0x80, 0xd2]);
    const other = s.source?.extra.get("qemu_ram_blocks_not_imported") as Map<string, unknown>;
    assert(other.has("virt.flash0"), "flash is not guest RAM");
    assert((s.source?.extra.get("qemu_dropped_aarch32_regs") as number) > 0);
    // QEMU's TCG list has FPCR/FPSR as sysregs (3,3,4,4,0/1); KVM only as core registers.
    assertEquals(s.vcpus[0].registers.has(sysreg(3, 3, 4, 4, 0)), false);
    assertEquals(s.vcpus[0].registers.has(sysreg(3, 3, 4, 4, 1)), false);
    assertEquals((s.source?.extra.get("qemu_dropped_core_duplicates") as string[]).length, 2);
  });

  Deno.test(`qemu import: ${specName(spec)} round-trips byte for byte`, () => {
    const s = importQemuStream(load(spec));
    const a = encodeSnapshot(s);
    const b = encodeSnapshot(decodeSnapshot(a));
    assertEquals(b, a);
  });
}

Deno.test("qemu import: CPU features follow the CPU model", () => {
  const max = importQemuStream(load(COMMITTED[0]));
  const a57 = importQemuStream(load(COMMITTED[1]));
  // -cpu max: PMU, SVE (cpu/sve subsection) and pointer auth (APIAKEYLO_EL1 listed).
  assertEquals(max.vcpus[0].features, [
    VCPU_FEATURE.PSCI_0_2,
    VCPU_FEATURE.PMU_V3,
    VCPU_FEATURE.SVE,
    VCPU_FEATURE.PTRAUTH_ADDRESS,
    VCPU_FEATURE.PTRAUTH_GENERIC,
  ]);
  assert(typeof max.source?.extra.get("qemu_sve_state") === "string");
  // Cortex-A57: ARMv8.0 with a PMU, no SVE, no pointer auth.
  assertEquals(a57.vcpus[0].features, [VCPU_FEATURE.PSCI_0_2, VCPU_FEATURE.PMU_V3]);
  // QEMU's cortex-a57 MIDR is not in a TCG list, but its ID registers are: ID_AA64PFR0_EL1
  // is computed too, ID_AA64ISAR0_EL1 (AES, SHA1, SHA2, CRC32 = 0x11120) is raw state.
  assertEquals(regValue(a57.vcpus[0], sysreg(3, 0, 0, 6, 0)), 0x11120n);
});

Deno.test("qemu import: explicit accel option and memory off", () => {
  const s = importQemuStream(load(COMMITTED[0]), { accel: "kvm", memory: false });
  assertEquals(s.source?.extra.get("qemu_accel"), "kvm");
  assertEquals(s.source?.extra.get("qemu_accel_from"), "option");
  assertEquals(s.memory, undefined);
  // Treated as KVM ids, the TCG stream's CNTV_CVAL_EL0 entry stays at (3,3,14,3,2).
  assertEquals(s.vcpus[0].registers.has(KVM_REG_ARM_TIMER_CNT), true);
  // KVM streams do not get QEMU's emulated GICD_IIDR.
  assertEquals(s.vm.vgic?.dist.has(0x8), false);
});

Deno.test("qemu import: TCG/KVM detection on a real KVM register list", () => {
  // KVM_GET_REG_LIST of a vCPU on Debian's 6.1 kernel (captured by hostprobe, see
  // tests/fixtures/oracle/); QEMU's KVM cpreg list is that list without the core and SVE groups
  // (target/arm/kvm64.c kvm_arm_reg_syncs_via_cpreg_list).
  const cap = JSON.parse(
    Deno.readTextFileSync(new URL("../fixtures/oracle/debian-6.1.json", import.meta.url)),
  );
  const kvmList: [bigint, bigint][] = Object.entries(
    cap.capture.regs["psci-0.2"] as Record<string, string>,
  )
    .map(([id, v]) => [BigInt(id), BigInt(v)] as [bigint, bigint])
    .filter(([id]) => ((id >> 16n) & 0xffffn) !== 0x10n && ((id >> 16n) & 0xffffn) !== 0x15n);
  assertEquals(detectAccel(kvmList), "kvm");
  // The evidence for dropping a TCG list's FPCR/FPSR sysreg entries: KVM lists them only as
  // core registers.
  const ids = new Set(Object.keys(cap.capture.regs["psci-0.2"]));
  assert(ids.has("0x60200000001000d4") && ids.has("0x60200000001000d5"), "core FPSR/FPCR");
  assert(!ids.has("0x603000000013da20") && !ids.has("0x603000000013da21"), "no sysreg FPCR/FPSR");
  const tcg = importQemuStream(load(COMMITTED[0]));
  const tcgList: [bigint, bigint][] = [...tcg.vcpus[0].registers.keys()].map((id) => [id, 0n]);
  assertEquals(detectAccel(tcgList), "tcg");
});

Deno.test("qemu import: GICv3 bitmaps from a QEMU with the migration shift bug", () => {
  // Rewrite the real stream the way a QEMU with the bug wrote it: every distributor bitmap one
  // 32-bit word higher and no arm_gicv3/gicd_no_migration_shift_bug subsection. The import
  // must move them back and give the same distributor state.
  const good = load(COMMITTED[0]);
  const enc = new TextEncoder();
  const indexOf = (hay: Uint8Array, needle: Uint8Array) => {
    outer: for (let i = 0; i + needle.length <= hay.length; i++) {
      for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
      return i;
    }
    throw new Error("not found");
  };
  const idstr = indexOf(good, new Uint8Array([9, ...enc.encode("arm_gicv3")]));
  const payload = idstr + 1 + 9 + 4 + 4; // u8 len, idstr, be32 instance, be32 version
  const bad = good.slice();
  for (let k = 0; k < 7; k++) { // group, grpmod, enabled, pending, active, level, edge_trigger
    const at = payload + 12 + 128 * k; // after gicd_ctlr (4) and gicd_statusr (8)
    bad.copyWithin(at + 4, at, at + 124);
  }
  const sub = enc.encode("arm_gicv3/gicd_no_migration_shift_bug");
  const subAt = indexOf(bad, new Uint8Array([5, sub.length, ...sub]));
  const cut = new Uint8Array(bad.length - (2 + sub.length + 4 + 1));
  cut.set(bad.subarray(0, subAt));
  cut.set(bad.subarray(subAt + 2 + sub.length + 5), subAt);
  // The vmdesc must no longer list the subsection: rebuild its record.
  const loc = locateVmdesc(cut)!;
  const desc = JSON.parse(new TextDecoder().decode(loc.json));
  delete desc.devices[0].subsections;
  const json = enc.encode(JSON.stringify(desc));
  const stream = new Uint8Array(loc.at + 5 + json.length);
  stream.set(cut.subarray(0, loc.at));
  stream[loc.at] = 6;
  new DataView(stream.buffer).setUint32(loc.at + 1, json.length);
  stream.set(json, loc.at + 5);

  const a = importQemuStream(good), b = importQemuStream(stream);
  assertEquals(b.vm.vgic!.dist, a.vm.vgic!.dist);
  assertEquals(a.source?.extra.has("qemu_gicv3_shift_bug"), false);
  assertEquals(typeof b.source?.extra.get("qemu_gicv3_shift_bug"), "string");
});
