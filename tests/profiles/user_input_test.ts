/** User-supplied profiles, hosts and target specs: accepted when valid, precise errors when not. */
import { assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import {
  addUserHost,
  addUserProfile,
  emptyContext,
  ProfileError,
  resolveTarget,
} from "../../emulator/target.ts";
import { evaluateRestore } from "../../emulator/kvm/mod.ts";
import { fingerprint } from "../restore/helpers.ts";

const SRC = { cite: "our fleet: hostprobe capture 2026-11-20", confidence: "V" };

Deno.test("a user vendor profile (inline JSON) patches its base and is usable as a target", () => {
  const ctx = emptyContext();
  const p = addUserProfile(
    ctx,
    JSON.stringify({
      id: "fleet-6.1",
      kind: "vendor",
      title: "our 6.1 build with the ptimer backport",
      base: "linux-6.1",
      differences: [{
        fact: "regs.ptimer",
        value: { when: "always" },
        source: SRC,
        why: "backported",
      }],
    }),
    "request.profiles[0]",
  );
  assertEquals(p.lineage, ["linux-6.1", "fleet-6.1"]);
  const r = evaluateRestore(fingerprint("6.1"), resolveTarget("fleet-6.1@neoverse-n1", ctx));
  assertEquals(r.restorable, true);
});

Deno.test("invalid user profiles are refused with what, where and why", () => {
  const cases: [unknown, string, string][] = [
    ["{not json", "input/json", "request.profiles[0]: not JSON"],
    [
      { id: "X Y", kind: "vendor", title: "t", base: "linux-6.1" },
      "schema/id",
      "request.profiles[0].id",
    ],
    [
      { id: "a", kind: "vendor", title: "t", base: "linux-9.9" },
      "profile/base",
      'unknown base profile "linux-9.9"',
    ],
    [
      {
        id: "a",
        kind: "vendor",
        title: "t",
        base: "linux-6.1",
        differences: [{ fact: "psci.default", value: "9.9", source: SRC, why: "w" }],
      },
      "fact/value",
      "psci.default: expected a PSCI version",
    ],
    [
      {
        id: "a",
        kind: "vendor",
        title: "t",
        base: "linux-6.1",
        differences: [{ fact: "vgic.frobnicate", value: 1, source: SRC, why: "w" }],
      },
      "fact/unknown",
      'unknown fact "vgic.frobnicate"',
    ],
    [
      {
        id: "a",
        kind: "vendor",
        title: "t",
        base: "linux-6.1",
        differences: [{ fact: "psci.default", value: "1.1", why: "w" }],
      },
      "fact/source",
      'every fact needs "source"',
    ],
    [
      {
        id: "a",
        kind: "vendor",
        title: "t",
        base: "linux-6.1",
        differences: [{
          fact: "psci.default",
          value: "1.1",
          source: { cite: "x", confidence: "maybe" },
          why: "w",
        }],
      },
      "fact/source",
      '.confidence: expected "V", "I" or "U"',
    ],
    [
      {
        id: "a",
        kind: "vendor",
        title: "t",
        base: "linux-6.1",
        differences: [{ fact: "regs.nonsense", value: { when: "always" }, source: SRC, why: "w" }],
      },
      "fact/value",
      'unknown register group "nonsense"',
    ],
    [
      { id: "linux-6.1", kind: "vendor", title: "t", base: "linux-6.1" },
      "profile/duplicate",
      "is a built-in profile",
    ],
    [
      { id: "a", kind: "upstream", title: "t", release: "6.1" },
      "profile/kind",
      "user profiles are",
    ],
    [
      {
        id: "a",
        kind: "vendor",
        title: "t",
        base: "linux-6.1",
        differences: [{ fact: "psci.default", value: null, source: SRC, why: "w" }],
      },
      "profile/incomplete",
      '"psci.default" may be changed but not removed',
    ],
  ];
  for (const [input, code, text] of cases) {
    const e = assertThrows(
      () =>
        addUserProfile(
          emptyContext(),
          typeof input === "string" ? input : JSON.stringify(input),
          "request.profiles[0]",
        ),
      ProfileError,
    );
    assertEquals(e.code, code, e.message);
    assertStringIncludes(e.message, text);
  }
});

Deno.test("a user host needs MIDR and the GIC limits; its facts need sources", () => {
  const ctx = emptyContext();
  const good = {
    id: "graviton-x",
    title: "t",
    facts: {
      midr: { value: "0x413fd0c1", source: SRC },
      "gic.version": { value: "v3", source: SRC },
      "gic.priBits": { value: 5, source: SRC },
      "gic.idBits": { value: 16, source: SRC },
    },
  };
  assertEquals(addUserHost(ctx, good, "request.hosts[0]").id, "graviton-x");
  assertEquals(resolveTarget("linux-6.6@graviton-x", ctx).id, "linux-6.6@graviton-x");
  const e = assertThrows(
    () => addUserHost(emptyContext(), { ...good, facts: { midr: good.facts.midr } }, "h.json"),
    ProfileError,
  );
  assertStringIncludes(e.message, 'a host needs the fact "gic.version"');
  const e2 = assertThrows(
    () =>
      addUserHost(emptyContext(), {
        ...good,
        facts: { ...good.facts, "gic.priBits": { value: 9, source: SRC } },
      }, "h.json"),
    ProfileError,
  );
  assertStringIncludes(
    e2.message,
    'h.json.facts["gic.priBits"]: gic.priBits: expected an integer in 5..8',
  );
});

Deno.test("unknown targets are refused with the list of known profiles, variants and hosts", () => {
  for (
    const spec of [
      "linux-4.19@neoverse-n1",
      "linux-6.1@m1-max",
      "linux-6.1",
      "linux-6.1+nope@neoverse-n1",
    ]
  ) {
    const e = assertThrows(() => resolveTarget(spec), ProfileError);
    assertStringIncludes(e.message, "amzn2023-6.1");
    assertStringIncludes(e.message, "neoverse-n1");
    assertStringIncludes(e.message, "+iidr-rev1");
  }
});
