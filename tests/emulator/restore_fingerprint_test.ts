/**
 * Real KVM register state into the emulator: every register of three real Firecracker CPU
 * fingerprints (Neoverse N1 hosts on Linux 5.10, 6.1 and 6.18; `KVM_GET_REG_LIST` plus values)
 * is set through `Machine.setOneReg` and must read back byte for byte: the emulator knows every
 * id those kernels list, with raw (side-effect-free) accessors.
 */
import { assertEquals } from "@std/assert";
import { importFcFingerprint } from "../../snapshots/import/fc_fingerprint.ts";
import { Machine } from "../../emulator/machine.ts";

const DIR = new URL("../fixtures/firecracker-fingerprints/", import.meta.url);

for (const k of ["5.10", "6.1", "6.18"]) {
  Deno.test(`Machine restores every register of the ${k} Neoverse N1 fingerprint and reads it back`, async () => {
    const snap = importFcFingerprint(
      Deno.readTextFileSync(new URL(`ARM_NEOVERSE_N1_${k}host.json`, DIR)),
    );
    const regs = snap.vcpus[0]!.registers;
    // The emulator plays the source host: its firmware offers the workaround levels the dump
    // holds (what KVM_GET_ONE_REG returns for FW regs 1..3 is the host's level).
    const fw = (n: number) => regs.get(0x6030_0000_0014_0000n + BigInt(n));
    const level = (n: number) => fw(n) ? BigInt(fw(n)![0]!) : 0n;
    const m = await Machine.create({
      vcpus: 1,
      ram: [{ base: 0x4000_0000n, size: 0x1000n }],
      firmwareFields: [{ field: 3, value: level(1) }, { field: 4, value: level(2) }, {
        field: 5,
        value: level(3),
      }],
    });
    const failed: string[] = [];
    for (const [id, bytes] of regs) {
      const rc = m.setOneReg(0, id, bytes);
      if (rc !== 0) failed.push(`set 0x${id.toString(16)}: ${rc}`);
    }
    for (const [id, bytes] of regs) {
      const r = m.tryGetOneReg(0, id);
      let want = 0n;
      for (let i = bytes.length - 1; i >= 0; i--) want = (want << 8n) | BigInt(bytes[i]!);
      // CNTV_CTL/CNTP_CTL: ISTATUS (bit 2) is computed from the counter when read, as KVM's
      // read_timer_ctl() does; the dump's counter is not ours.
      const ctl = id === 0x6030_0000_0013_df19n || id === 0x6030_0000_0013_df11n;
      const got = ctl && r.value !== undefined ? r.value & ~4n : r.value;
      if (ctl) want &= ~4n;
      if (r.errno !== 0 || got !== want) {
        failed.push(
          `get 0x${id.toString(16)}: ${r.errno} 0x${r.value?.toString(16)} != 0x${
            want.toString(16)
          }`,
        );
      }
    }
    assertEquals(failed, [], `${regs.size} registers`);
  });
}
