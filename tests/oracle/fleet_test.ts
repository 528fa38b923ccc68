// A fleet host's own target from its capture (hostprobe/fleet.ts): the profile derived from a
// real Debian capture must agree with the hand-built Debian profile on every fact a capture shows,
// and the derived target must work in the restore model.
import { assertEquals, assertThrows } from "@std/assert";
import { captureToTarget, PROFILE_ROWS } from "../../hostprobe/fleet.ts";
import { readFixture } from "../../hostprobe/fixtures.ts";
import { resolveProfile } from "../../emulator/profiles/loader.ts";
import { ProfileError } from "../../emulator/profiles/types.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { fingerprint } from "../restore/helpers.ts";

const DERIVED = [...PROFILE_ROWS.map((r) => r.fact), "vcpu.features"];

for (
  const [kernel, base] of [["debian-6.1", "linux-6.1"], ["debian-6.12", "linux-6.12"]] as const
) {
  Deno.test(`fleet profile from the ${kernel} capture equals the ${kernel} profile`, async () => {
    const f = await readFixture(kernel);
    const t = captureToTarget(f.capture, {
      profileId: `fleet-${kernel}`,
      hostId: `fleet-${kernel}-host`,
      base,
      evidence: `${kernel}.json`,
    });
    // the only difference from upstream a capture shows: the IIDR fix is in Debian's builds
    assertEquals(t.profileFile.differences!.map((d) => [d.fact, d.value]), [
      ["vgic.iidr.honoured", true],
    ]);
    const ref = resolveProfile(kernel);
    for (const key of DERIVED) {
      assertEquals(t.profile.facts[key]?.value, ref.facts[key]?.value, key);
    }
    assertEquals(t.host.facts.midr.value, "0xf0510");
    assertEquals(t.host.facts["gic.priBits"].value, 5);
    assertEquals(t.host.facts["sve.vqs"].value, [...Array(16)].map((_, i) => i + 1));

    // the derived target in the restore model: a Neoverse-N1 6.18 register dump does not restore
    // (MIDR differs), and PSCI 1.3 is refused as on the real kernel
    const r = evaluateRestore(fingerprint("6.18"), {
      id: `${t.profile.id}@${t.host.id}`,
      profile: t.profile,
      host: t.host,
    }, { vmm: "firecracker" });
    assertEquals(r.restorable, false);
    const psci = r.operations.find((o) => o.id === "0x6030000000140000");
    assertEquals([psci?.outcome, psci?.errno], ["failed", "EINVAL"]);
  });
}

Deno.test("fleet profile from a GICv2-host capture: v2 IGROUPR rule and host GIC", async () => {
  const f = await readFixture("debian-6.12", 2);
  const t = captureToTarget(f.capture, {
    profileId: "fleet-v2",
    hostId: "fleet-v2-host",
    base: "linux-6.12",
    evidence: "debian-6.12.gicv2.json",
  });
  assertEquals(t.profile.facts["vgic.groups.v2UserWritable"].value, "after-iidr-write");
  assertEquals(t.host.facts["gic.version"].value, "v2");
});

Deno.test("a capture without the host's identity is refused, naming the missing fact", () => {
  const e = assertThrows(
    () => captureToTarget({}, { profileId: "x", hostId: "h", base: "linux-6.1", evidence: "e" }),
    ProfileError,
  );
  assertEquals(e.message.includes('"midr"'), true, e.message);
});
