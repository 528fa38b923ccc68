/**
 * Guest-probe and drift speed. Run: deno bench -A bench/probes_bench.ts
 *
 * Ours: the committed probe binary (≈1,900 guest instructions: the whole ID space, caches, GIC
 * frames, IGROUPR write tests, ~50 HVC calls) on the wasm emulator, machine creation included;
 * and a whole drift run (two targets, two vCPUs each, restore model included).
 * Peer: the same probe binary on QEMU 7.2 TCG (`virt`, `-cpu max`), process start to SYSTEM_OFF,
 * which is what the drift stage would cost if it shelled out to QEMU instead (skipped when
 * qemu-system-aarch64 is missing).
 */
import { Machine } from "../emulator/machine.ts";
import { PROBE_SCRATCH_SIZE, probeScratch, runProbe } from "../emulator/probes/run.ts";
import { evaluateRestore } from "../emulator/kvm/mod.ts";
import { resolveTarget } from "../emulator/target.ts";
import { runDrift } from "../emulator/drift/mod.ts";
import { decodeSnapshot } from "../snapshots/mod.ts";
import { qemuSystemAvailable, runProbeOnQemu } from "../hostprobe/qemu_probe.ts";

const scratch = probeScratch([]);
await Machine.create({ vcpus: 1, ram: [{ base: scratch, size: PROBE_SCRATCH_SIZE }] }); // compile once

Deno.bench("probe on the emulator (1 vCPU, GICv3), machine creation included", {
  group: "probe",
  baseline: true,
}, async () => {
  const m = await Machine.create({
    vcpus: 1,
    ram: [{ base: scratch, size: PROBE_SCRATCH_SIZE }],
    gic: { model: 3 },
  });
  runProbe(m, 0, { scratch, gic: "v3", gicd: 0x0800_0000n, gicr: 0x080a_0000n });
});

if (qemuSystemAvailable()) {
  Deno.bench("peer: the same probe on QEMU 7.2 TCG (process start to SYSTEM_OFF)", {
    group: "probe",
    n: 20,
    warmup: 2,
  }, async () => {
    await runProbeOnQemu("v3");
  });
} else {
  console.error(
    "peer skipped: qemu-system-aarch64 not installed (apt-get install qemu-system-arm)",
  );
}

const sample = decodeSnapshot(
  await Deno.readFile(
    new URL("../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url),
  ),
);
Deno.bench("drift run linux-6.1 → linux-5.10, 2 vCPUs (restore model + 4 probe runs + diff)", {
  group: "drift",
}, async () => {
  const a = resolveTarget("linux-6.1@qemu-tcg-max");
  const b = resolveTarget("linux-5.10@qemu-tcg-max");
  await runDrift(
    sample,
    { target: a, restore: evaluateRestore(sample, a) },
    { target: b, restore: evaluateRestore(sample, b) },
  );
});
