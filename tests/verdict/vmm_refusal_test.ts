/**
 * A VMM's own refusal (op "VMM": QEMU's cpu_post_load refusing saved registers the target kernel
 * does not list) fails before any ioctl, so it carries no errno; the signed verdict keeps it as
 * such instead of refusing to sign (which made the service answer 500 for such streams).
 */
import { assert, assertEquals } from "@std/assert";
import { check, sign } from "../../app/mod.ts";
import { signerFromSeed, unverifiedPayload, VerdictError } from "../../verdict/mod.ts";
import { buildVerdict, type TargetInput } from "../../verdict/mod.ts";
import { assertThrows } from "@std/assert";

const STREAM = new URL("../fixtures/qemu/virt-gicv3-max-smp2.qemu", import.meta.url);

Deno.test("a QEMU load refusal is signed as a failed VMM operation without errno", async () => {
  const checked = await check({
    bytes: await Deno.readFile(STREAM),
    targets: ["linux-6.1@qemu-tcg-max"],
    source: "linux-6.1@qemu-tcg-max",
    vmm: "qemu",
    probes: false,
  });
  const refusals = checked.validation.targets[0].restore.operations.filter((o) => o.op === "VMM");
  assert(refusals.length > 0 && refusals.every((o) => o.outcome === "failed"), "no VMM refusal");
  const signer = await signerFromSeed(new Uint8Array(32).fill(7));
  const signed = await sign(checked, { signer, now: new Date(Date.UTC(2026, 11, 4)) });
  const v = unverifiedPayload(signed.cose);
  const kept = v.targets[0].operations.filter((o) => o.op === "VMM");
  assertEquals(kept.length, refusals.length);
  assertEquals(kept.map((o) => o.errno), refusals.map(() => undefined));
  assertEquals(v.targets[0].status, "fail");

  // An ioctl that failed still must name its errno, and a VMM refusal must not invent one.
  const input = {
    snapshot: { sha256: new Uint8Array(32), size: 1 },
    source: v.source,
    vmm: "qemu",
    engine: v.engine,
  };
  const target = (op: Record<string, unknown>) => ({
    profile: v.source.profile,
    host: v.source.host,
    restorable: false,
    operations: [{ name: "x", component: "vcpu", outcome: "failed", reason: "r", ...op }],
  });
  const now = { now: new Date(0) };
  const build = (op: Record<string, unknown>) =>
    buildVerdict({ ...input, targets: [target(op) as unknown as TargetInput] }, now);
  assertThrows(() => build({ op: "KVM_SET_ONE_REG" }), VerdictError, "must name its errno");
  assertThrows(() => build({ op: "VMM", errno: "EINVAL" }), VerdictError, "has no errno");
  assertEquals(build({ op: "VMM" }).targets[0].operations[0].op, "VMM");
});
