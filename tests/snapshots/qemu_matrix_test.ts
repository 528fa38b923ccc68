/**
 * The importer against fresh streams from the installed QEMU (tests/fixtures/qemu/make.ts):
 * CPU models, GIC versions with and without ITS, -smp 1..8 and 17 (MATRIX), and the devices
 * real command lines carry (DEVICE_MATRIX: QEMU's default NIC with user networking, whose
 * legacy "slirp" section the vmdesc describes only as a measured buffer; virtio-net on PCI and
 * MMIO, virtio-blk with a disk image, virtio-rng, virtio-balloon, a USB keyboard, UEFI
 * firmware in pflash).
 *
 * The default test run makes a few of them (QUICK); `deno task test:qemu-matrix`
 * (ROLLSAFE_QEMU_MATRIX=full) makes them all. Streams are made in a temporary directory, two
 * QEMUs at a time, each under make.ts's deadline.
 */
import { assert, assertEquals } from "@std/assert";
import { importQemuStream } from "../../snapshots/import/qemu/mod.ts";
import { decodeSnapshot, encodeSnapshot, VCPU_FEATURE } from "../../snapshots/mod.ts";
import {
  buildGuest,
  DEVICE_MATRIX,
  hasIts,
  makeStream,
  MATRIX,
  QUICK_DEVICE_MATRIX,
  specName,
  type StreamSpec,
} from "../fixtures/qemu/make.ts";
import { AARCH64_BINUTILS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { checkGuest } from "./qemu_guest_checks.ts";

const { PSCI_0_2, PMU_V3, SVE, PTRAUTH_ADDRESS, PTRAUTH_GENERIC } = VCPU_FEATURE;
/** KVM_ARM_VCPU_INIT features per QEMU 7.2 CPU model (target/arm/cpu64.c feature sets). */
const FEATURES: Record<string, number[]> = {
  "max": [PSCI_0_2, PMU_V3, SVE, PTRAUTH_ADDRESS, PTRAUTH_GENERIC],
  "max,sve=off,pauth=off": [PSCI_0_2, PMU_V3],
  "cortex-a57": [PSCI_0_2, PMU_V3],
  "cortex-a72": [PSCI_0_2, PMU_V3],
  "cortex-a76": [PSCI_0_2, PMU_V3],
  "neoverse-n1": [PSCI_0_2, PMU_V3],
};

const FULL = Deno.env.get("ROLLSAFE_QEMU_MATRIX") === "full";
const SPECS: StreamSpec[] = FULL
  ? [...MATRIX, ...DEVICE_MATRIX]
  : [MATRIX[0], MATRIX[3], MATRIX[7], ...QUICK_DEVICE_MATRIX];

/** Section idstrs each device adds to the stream (QEMU 7.2 names), checked after import. */
const SECTIONS: Record<string, string[]> = {
  "default-nic": ["slirp", "0000:00:01.0/virtio-net"],
  "virtio-net-pci": ["slirp", "0000:00:01.0/virtio-net"],
  "virtio-net-device": ["slirp"],
  "virtio-blk": ["0000:00:01.0/virtio-blk"],
  "virtio-rng": ["0000:00:01.0/virtio-rng"],
  "balloon": ["0000:00:01.0/virtio-balloon"],
  "usb-kbd": ["0000:00:01.0/xhci", "0000:00:01.0/1/usb-kbd"],
  "uefi": ["pflash_cfi01"],
};

function check(spec: StreamSpec, bytes: Uint8Array): void {
  const name = specName(spec);
  const s = importQemuStream(bytes);
  if (spec.firmwareMs === undefined) checkGuest(s, spec);
  else {
    // UEFI ran from flash 0: the firmware's pages are in the stream, not just zero records.
    const flash = s.source!.extra.get("qemu_ram_blocks_not_imported") as Map<string, unknown>;
    const f0 = flash.get("virt.flash0") as Map<string, bigint | number>;
    assert((f0.get("nonzero_pages") as number) > 100, `${name}: UEFI code in virt.flash0`);
    assertEquals(s.vcpus.length, spec.smp);
  }
  for (const v of s.vcpus) assertEquals(v.features, FEATURES[spec.cpu], name);
  assertEquals(s.vm.vgic?.its !== undefined, hasIts(spec), `${name}: ITS`);
  const sections = s.source!.extra.get("qemu_sections_not_mapped") as string[];
  for (const want of SECTIONS[spec.label ?? ""] ?? []) {
    assert(
      sections.some((x) => x === want || x.endsWith(`/${want.split("/").pop()}`)),
      `${name}: section ${want} walked (${sections})`,
    );
  }
  const a = encodeSnapshot(s);
  assertEquals(encodeSnapshot(decodeSnapshot(a)), a, `${name} round trip`);
}

oracleTest({
  name: `qemu import: fresh QEMU streams, ${FULL ? "the whole" : "a few of the"} matrix (${
    SPECS.map(specName).join(", ")
  })`,
  needs: [QEMU_SYSTEM, AARCH64_BINUTILS],
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-qemu-" });
    try {
      const elfs = {
        2: await buildGuest(dir, 2),
        3: await buildGuest(dir, 3),
        noits: await buildGuest(dir, 3, false),
      };
      const queue = [...SPECS];
      const worker = async () => {
        for (let spec = queue.shift(); spec; spec = queue.shift()) {
          const elf = spec.gic === 3 && !hasIts(spec) ? elfs.noits : elfs[spec.gic];
          check(spec, await makeStream(spec, dir, elf));
        }
      };
      await Promise.all([worker(), worker()]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
