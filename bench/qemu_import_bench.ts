/**
 * QEMU migration-stream import speed on the committed real streams (QEMU 7.2.22, virt, 2 vCPUs,
 * ~400 KB). Run: deno bench -A bench/qemu_import_bench.ts
 *
 * Peer: QEMU's own scripts/analyze-migration.py is the only other reader of these streams. It is
 * not packaged by Debian, and the 7.2 version stops at the arm configuration subsection
 * ("Unknown section type: 5"; fixed upstream in 2023 by "migration: Fix
 * analyze-migration.py 'configuration' parsing"), so there is no peer figure for arm
 * streams from this QEMU; the bench prints ours alone.
 */
import { importQemuStream } from "../snapshots/import/qemu/mod.ts";
import { parseStream } from "../snapshots/import/qemu/stream.ts";
import { encodeSnapshot } from "../snapshots/mod.ts";

const fixtures = new URL("../tests/fixtures/qemu/", import.meta.url);
const v3 = Deno.readFileSync(new URL("virt-gicv3-max-smp2.qemu", fixtures));
const v2 = Deno.readFileSync(new URL("virt-gicv2-cortex-a57-smp2.qemu", fixtures));

Deno.bench(
  "container + vmdesc parse (GICv3, max, 2 vCPUs)",
  { group: "v3", baseline: true },
  () => {
    parseStream(v3);
  },
);
Deno.bench("importQemuStream (GICv3, max, 2 vCPUs)", { group: "v3" }, () => {
  importQemuStream(v3);
});
Deno.bench("importQemuStream + encodeSnapshot (GICv3)", { group: "v3" }, () => {
  encodeSnapshot(importQemuStream(v3));
});
Deno.bench("importQemuStream (GICv2, cortex-a57, 2 vCPUs)", () => {
  importQemuStream(v2);
});
