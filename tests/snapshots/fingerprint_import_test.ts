import { assertEquals } from "@std/assert";
import { importFcFingerprint } from "../../snapshots/import/fc_fingerprint.ts";
import {
  bmapReg,
  decodeSnapshot,
  demuxCcsidr,
  encodeSnapshot,
  fwReg,
  REG_PC,
  regId,
  regValue,
  sysreg,
} from "../../snapshots/mod.ts";

const DIR = new URL("../fixtures/firecracker-fingerprints/", import.meta.url);
const load = (k: string) =>
  importFcFingerprint(Deno.readTextFileSync(new URL(`ARM_NEOVERSE_N1_${k}host.json`, DIR)));

// Counts are the number of reg_modifiers in each real dump (Firecracker commit 81b38b9).
const CASES = [
  { k: "5.10", count: 312, kernel: "5.10.255-253.1008.amzn2.aarch64", psci: 0x1_0000n },
  { k: "6.1", count: 242, kernel: "6.1.172-216.329.amzn2023.aarch64", psci: 0x1_0001n },
  { k: "6.18", count: 254, kernel: "6.18.30-61.116.amzn2023.aarch64", psci: 0x1_0003n },
];

for (const c of CASES) {
  Deno.test(`fingerprint ${c.k}: imports exactly the dumped register set`, () => {
    const s = load(c.k);
    assertEquals(s.vcpus.length, 1);
    const v = s.vcpus[0];
    assertEquals(v.registers.size, c.count);
    assertEquals(s.source?.kernel, c.kernel);
    assertEquals(s.source?.vmm, "firecracker");
    // Neoverse N1 r3p1 (MIDR 0x413fd0c1); MPIDR of vCPU 0 with the RES1 bit 31.
    assertEquals(regValue(v, regId("MIDR_EL1")!), 0x413f_d0c1n);
    assertEquals(v.mpidr, 0x8000_0000n);
    assertEquals(regValue(v, fwReg(0)), c.psci);
    // The dumps leave out PC and KVM_REG_ARM_TIMER_CNT (they change with time).
    assertEquals(v.registers.has(REG_PC), false);
    assertEquals(v.registers.has(regId("KVM_REG_ARM_TIMER_CNT")!), false);
  });
}

Deno.test("fingerprint values: CLIDR, CCSIDR demux, bitmaps and OSLSR per kernel", () => {
  const [k510, k61, k618] = ["5.10", "6.1", "6.18"].map((k) => load(k).vcpus[0]);
  const CLIDR = sysreg(3, 1, 0, 0, 1);
  const OSLSR = sysreg(2, 0, 1, 1, 4);
  assertEquals(regValue(k61, CLIDR), 0x8200_0023n);
  // 6.3+ fabricates the cache topology (7af0c2534f4c): CLIDR and the CCSIDR set change.
  assertEquals(regValue(k618, CLIDR), 0x300_0123n);
  assertEquals(regValue(k61, demuxCcsidr(0)), 0x701f_e01an);
  assertEquals(k61.registers.has(demuxCcsidr(3)), false);
  assertEquals(k618.registers.has(demuxCcsidr(3)), true);
  // OSLSR_EL1 is listed from 5.18 (d134998838ac); absent in the 5.10 dump.
  assertEquals(k510.registers.has(OSLSR), false);
  assertEquals(k61.registers.has(OSLSR), true);
  // Bitmap registers from 5.19; VENDOR_HYP_BMAP_2 from 6.15.
  assertEquals(k510.registers.has(bmapReg(0)), false);
  assertEquals(regValue(k61, bmapReg(2)), 0x3n);
  assertEquals(k61.registers.has(bmapReg(3)), false);
  assertEquals(regValue(k618, bmapReg(3)), 0x0n);
});

Deno.test("fingerprint round trip: import → encode → decode → encode is byte-identical", () => {
  for (const c of CASES) {
    const first = encodeSnapshot(load(c.k));
    const again = encodeSnapshot(decodeSnapshot(first));
    assertEquals(again, first, c.k);
  }
});
