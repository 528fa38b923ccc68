/**
 * Writes the sample snapshots other parts of rollsafe use from the committed QEMU streams:
 *   deno task samples:qemu
 * Deterministic (the importer and the CBOR encoding are), so CI rebuilds and compares them
 * (.ci/artifacts).
 */
import { encodeSnapshot } from "../../codec.ts";
import { importQemuStream } from "./mod.ts";

/** [committed stream in tests/fixtures/qemu/, sample in snapshots/samples/]. */
export const SAMPLES: [string, string][] = [
  ["virt-gicv3-max-smp2.qemu", "qemu-virt-gicv3-max-smp2.cbor"],
  ["virt-gicv2-cortex-a57-smp2.qemu", "qemu-virt-gicv2-cortex-a57-smp2.cbor"],
];

if (import.meta.main) {
  const fixtures = new URL("../../../tests/fixtures/qemu/", import.meta.url);
  const samples = new URL("../../samples/", import.meta.url);
  for (const [from, to] of SAMPLES) {
    const bytes = encodeSnapshot(importQemuStream(Deno.readFileSync(new URL(from, fixtures))));
    Deno.writeFileSync(new URL(to, samples), bytes);
    console.log(`snapshots/samples/${to}: ${bytes.length} bytes`);
  }
}
