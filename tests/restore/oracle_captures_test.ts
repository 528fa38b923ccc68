/**
 * Predictions against the real kernels: the oracle captures of Debian 6.1 (6.1.192 and 6.1.176)
 * and 6.12 (6.12.117) under QEMU 7.2 `-cpu max` with nested virtualization
 * (tests/fixtures/oracle/, FINDINGS.md). The predicted KVM_GET_REG_LIST and fresh-vCPU values of
 * each vCPU configuration must equal the capture, and the predicted outcome of every register of
 * the three Neoverse-N1 fingerprints must equal what the real kernel answered when hostprobe
 * replayed them.
 */
import { assertEquals } from "@std/assert";
import { resolveTarget } from "../../emulator/target.ts";
import { evaluateRestore, regInventory, targetDefaults } from "../../emulator/kvm/mod.ts";
import { regName } from "../../snapshots/kvm/names.ts";
import { newVcpu, VCPU_FEATURE as F } from "../../snapshots/model.ts";
import { bigToLe, regSize } from "../../snapshots/kvm/ids.ts";
import { fingerprint, vgicSnapshot } from "./helpers.ts";

const ORACLE = new URL("../fixtures/oracle/", import.meta.url);
const load = (f: string) => JSON.parse(Deno.readTextFileSync(new URL(f, ORACLE)));

/** hostprobe's vCPU configurations (hostprobe/capture.ts) as KVM_ARM_VCPU_INIT feature bits. */
const CONFIGS: Record<string, number[]> = {
  plain: [],
  "psci-0.2": [F.PSCI_0_2],
  "pmu-v3": [F.PSCI_0_2, F.PMU_V3],
  sve: [F.PSCI_0_2, F.SVE],
  ptrauth: [F.PSCI_0_2, F.PTRAUTH_ADDRESS, F.PTRAUTH_GENERIC],
};

const KERNELS: [file: string, profile: string][] = [
  ["debian-6.1.json", "debian-6.1"],
  ["debian-6.1.176.json", "debian-6.1"],
  ["debian-6.12.json", "debian-6.12"],
];

for (const [file, profile] of KERNELS) {
  Deno.test(`${profile}@qemu-max-nested: register list and fresh values equal ${file}`, () => {
    const doc = load(file);
    const volatile = new Set<string>(
      (doc.volatile as string[]).map((v) => v.split(" / ")[2]),
    );
    const t = resolveTarget(`${profile}@qemu-max-nested`);
    for (const [cfg, features] of Object.entries(CONFIGS)) {
      const real = doc.capture.regs[cfg] as Record<string, string>;
      const predicted = [...regInventory(t, features).keys()].map((id) => `0x${id.toString(16)}`);
      assertEquals(predicted.sort(), Object.keys(real).sort(), `${cfg}: KVM_GET_REG_LIST`);
      const d = targetDefaults(t, features);
      const wrong: string[] = [];
      for (const [id, v] of Object.entries(real)) {
        if (volatile.has(id)) continue; // TIMER_CNT / PTIMER_CNT move between two captures
        const p = d.get(BigInt(id));
        if (p !== BigInt(v)) {
          wrong.push(`${regName(BigInt(id))}: real ${v}, predicted ${p?.toString(16)}`);
        }
      }
      assertEquals(wrong, [], `${cfg}: values`);
    }
  });
}

const REPLAYS: [file: string, profile: string][] = [
  ["debian-6.1.replays.json", "debian-6.1"],
  ["debian-6.1.176.replays.json", "debian-6.1"],
  ["debian-6.12.replays.json", "debian-6.12"],
];

for (const [file, profile] of REPLAYS) {
  Deno.test(`${profile}@qemu-max-nested: every replayed fingerprint register's outcome equals ${file}`, () => {
    const replays = load(file).replays as Record<string, { id: string; result: string }[]>;
    for (const [name, k] of [["n1-5_10", "5.10"], ["n1-6_1", "6.1"], ["n1-6_18", "6.18"]]) {
      const r = evaluateRestore(fingerprint(k), resolveTarget(`${profile}@qemu-max-nested`), {
        vmm: "firecracker",
      });
      const predicted = new Map(
        r.operations.filter((o) => o.id).map((
          o,
        ) => [o.id!, o.outcome === "failed" ? o.errno : "ok"]),
      );
      const differ = replays[name].filter((x) => x.id !== "vcpu_init")
        .filter((x) => predicted.get(x.id) !== x.result)
        .map((x) =>
          `${x.id} ${regName(BigInt(x.id))}: real ${x.result}, predicted ${predicted.get(x.id)}`
        );
      assertEquals(differ, [], `${name} onto ${profile}`);
      assertEquals(
        predicted.size,
        replays[name].length - 1,
        "one prediction per replayed register",
      );
    }
  });
}

Deno.test("GICD_IIDR revision 2 on the Debian kernels takes effect, as predicted (a0e6ae45af17 is backported)", () => {
  for (
    const [file, profile] of [["debian-6.1.json", "debian-6.1"], [
      "debian-6.12.json",
      "debian-6.12",
    ]]
  ) {
    const real = load(file).capture.iidr["v3 rev2 after init"];
    const s = vgicSnapshot({ model: "v3", dist: [[0x8, 0x4b00243b]] });
    const r = evaluateRestore(s, resolveTarget(`${profile}@qemu-max-nested`), { vmm: "generic" });
    const iidr = r.operations.find((o) => o.name === "GICD_IIDR")!;
    assertEquals(iidr.outcome, real.result, file);
    assertEquals(`0x${r.effective.vgic!.dist.get(0x8)!.toString(16)}`, real.readback, file);
    // GICR_CTLR shows IR|CES (0x6) only at revision 3.
    assertEquals(r.effective.vgic!.gicrCtlrIrCes ? "0x6" : "0x0", real.gicrCtlr, file);
  }
});

Deno.test("GICv2 IGROUPR from userspace: ignored unless an accepted GICD_IIDR write came first (debian .gicv2 captures)", () => {
  for (
    const [file, profile] of [["debian-6.1.gicv2.json", "debian-6.1"], [
      "debian-6.12.gicv2.json",
      "debian-6.12",
    ]]
  ) {
    const cases = load(file).capture.igrouprV2 as Record<
      string,
      { revision?: number; iidrWrite?: string; readback: string }
    >;
    for (const [name, c] of Object.entries(cases)) {
      const dist: [number, number][] = [];
      // The "without CTRL_INIT" case names its revision only in the case name.
      const m = /rev=(\d)/.exec(name);
      const rev = c.revision ?? (m ? Number(m[1]) : undefined);
      if (rev !== undefined) {
        dist.push([0x8, ((0x4b << 24) | (rev << 12) | 0x43b) >>> 0]);
      }
      dist.push([0x84, 0xffffffff]); // GICD_IGROUPR1: every SPI 32..63 in group 1
      const s = vgicSnapshot({ model: "v2", dist });
      const r = evaluateRestore(s, resolveTarget(`${profile}@qemu-max-gicv2-nested`), {
        vmm: "generic",
      });
      const iidr = r.operations.find((o) => o.name === "GICD_IIDR");
      if (c.iidrWrite) {
        assertEquals(
          iidr?.outcome === "failed" ? iidr.errno : "ok",
          c.iidrWrite,
          `${file} ${name}: IIDR`,
        );
      }
      assertEquals(
        `0x${r.effective.vgic!.dist.get(0x84)!.toString(16)}`,
        c.readback,
        `${file} ${name}: IGROUPR1 as held`,
      );
    }
  }
});

Deno.test("single-register probes of the captures (changed values, CCSIDR writes, unlisted ids) are predicted exactly", () => {
  for (
    const [file, profile] of [["debian-6.1.json", "debian-6.1"], [
      "debian-6.12.json",
      "debian-6.12",
    ]]
  ) {
    const capture = load(file).capture;
    const t = resolveTarget(`${profile}@qemu-max-nested`);
    let n = 0;
    for (const section of ["changed", "ccsidrSet", "unlisted"]) {
      for (
        const [name, e] of Object.entries(
          capture[section] as Record<string, { id?: string; written?: string; result: string }>,
        )
      ) {
        const id = BigInt(e.id ?? name);
        const v = newVcpu(0x80000000n);
        v.features = [F.PSCI_0_2];
        const width = regSize(id);
        v.registers.set(id, bigToLe(e.written ? BigInt(e.written) : 0n, width));
        const s = {
          vm: { caps: [], smcccFilter: [], extra: new Map() },
          vcpus: [v],
          extra: new Map(),
        };
        const o = evaluateRestore(s, t, { vmm: "generic" }).operations.find((x) =>
          x.op === "KVM_SET_ONE_REG"
        )!;
        assertEquals(
          o.outcome === "failed" ? o.errno : "ok",
          e.result,
          `${file} ${section} ${name}: ${o.reason}`,
        );
        n++;
      }
    }
    assertEquals(n >= 25, true, `${file}: ${n} probes`);
  }
});
