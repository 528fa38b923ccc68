/**
 * The restore model's compiled forms: a target compiled once (emulator/kvm/compiled.ts) and
 * shared by every restore on it, one plan shared by every side of a validation, and the one
 * little-endian register reader (snapshots/kvm/ids.ts leToBig) that the plan uses.
 */
import { assert, assertEquals, assertStrictEquals } from "@std/assert";
import { leToBig } from "../../snapshots/kvm/ids.ts";
import { decodeSnapshot } from "../../snapshots/mod.ts";
import { resolveTarget } from "../../emulator/target.ts";
import { compileTarget, targetKey } from "../../emulator/kvm/compiled.ts";
import {
  defaultFlavour,
  evaluateRestore,
  planRestore,
  regInventory,
  targetDefaultsDetailed,
} from "../../emulator/kvm/mod.ts";

Deno.test("leToBig: 64 bits at a time equals the byte-by-byte value, at any width and offset", () => {
  const slow = (b: Uint8Array) => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    return v;
  };
  for (let n = 0; n <= 33; n++) {
    for (const off of [0, 1, 3, 8]) {
      const buf = new Uint8Array(off + n);
      for (let i = 0; i < buf.length; i++) buf[i] = (i * 151 + n * 7 + off) & 0xff;
      const b = buf.subarray(off);
      assertEquals(leToBig(b), slow(b), `width ${n}, offset ${off}`);
    }
  }
  assertEquals(leToBig(Uint8Array.of(0x10, 0, 0, 0, 0, 0, 0, 0x80)), 0x8000000000000010n);
});

Deno.test("a target compiles once, by digest, into the same tables the model derives", () => {
  const t = resolveTarget("linux-6.1@neoverse-n1");
  const c = compileTarget(t);
  assertStrictEquals(compileTarget(resolveTarget("linux-6.1@neoverse-n1")), c);
  assert(targetKey(t).includes(t.profile.digest) && targetKey(t).includes(t.host.digest));
  assert(compileTarget(resolveTarget("linux-6.6@neoverse-n1")) !== c);
  const features = [2, 4];
  assertStrictEquals(c.inventory(features), c.inventory([2, 4]));
  assertEquals([...c.inventory(features).keys()], [...regInventory(t, features).keys()]);
  for (const i of [0, 3]) {
    const want = targetDefaultsDetailed(t, features, i);
    assertEquals(
      new Map([...c.defaults(features, i)].map(([k, d]) => [k, d.value])),
      new Map([...want].map(([k, d]) => [k, d.value])),
    );
  }
});

Deno.test("one plan for every side: the restore with a shared plan equals the one without", async () => {
  const s = decodeSnapshot(
    await Deno.readFile(
      new URL("../../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url),
    ),
  );
  const plan = planRestore(s, defaultFlavour(s.source?.vmm));
  for (const spec of ["linux-6.1@qemu-tcg-max", "linux-5.10@qemu-tcg-max"]) {
    const t = resolveTarget(spec);
    const alone = evaluateRestore(s, t);
    const shared = evaluateRestore(s, t, { plan });
    assertEquals(shared.operations, alone.operations, spec);
    assertEquals(shared.restorable, alone.restorable);
  }
});
