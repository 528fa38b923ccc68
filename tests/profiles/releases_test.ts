// Every upstream release to 7.2, stable point releases and ranges, and vendor-backported
// capabilities: what changed between two releases is explained fact by fact with its source.
import { assert, assertEquals, assertStringIncludes, assertThrows } from "@std/assert";
import { expandRange, resolveProfile } from "../../emulator/profiles/loader.ts";
import { resolveTarget } from "../../emulator/target.ts";
import { diffTargets } from "../../emulator/profile_diff.ts";

Deno.test("linux-6.12 → linux-7.2: every difference explained, each with a commit, pull or file", () => {
  const d = diffTargets(
    resolveTarget("linux-6.12@neoverse-n1"),
    resolveTarget("linux-7.2@neoverse-n1"),
  );
  assertEquals(d.unexplained, 0);
  const facts = d.rows.filter((r) => r.kind === "fact").map((r) => r.what).sort();
  for (
    const f of [
      "regs.tcr2-pie", // 6.13
      "regs.bmap2", // 6.15
      "idshow.ID_AA64PFR1_EL1.MTE_frac", // 6.16 MTE_ASYNC
      "vcpu.features", // 6.16 NV
      "nv.ichOneReg", // 6.17
      "idwrite.ID_AA64MMFR1_EL1.HCX", // 6.18
      "idwrite.ID_AA64MMFR1_EL1.TWED",
      "guest.lsfe",
      "vgic.listRegisters", // 6.19
      "vgic.iidr.honoured", // 7.1
    ]
  ) assert(facts.includes(f), `${f} among the differences: ${facts.join(", ")}`);
  for (const r of d.rows) {
    for (const c of r.causes) {
      assert(
        /linux [0-9a-f]{12}|pull|tag kvmarm|\.c:|\.rst|get-reg-list|oracle capture|Firecracker|QEMU|kvmarm/
          .test(c.source.cite),
        `${r.what}: ${c.source.cite}`,
      );
    }
  }
});

Deno.test("point releases carry the stable backports up to their point, not later branches' fixes", () => {
  assertEquals(resolveProfile("linux-6.12.87").facts["vgic.iidr.honoured"].value, false);
  const fixed = resolveProfile("linux-6.12.88");
  assertEquals(fixed.facts["vgic.iidr.honoured"].value, true);
  assertStringIncludes(fixed.facts["vgic.iidr.honoured"].source.cite, "6.12.88");
  assertStringIncludes(fixed.title, "vgic.iidr.honoured from 6.12.88");
  assertEquals(resolveProfile("linux-6.12").facts["vgic.iidr.honoured"].value, false);
  // mainline 7.0 shipped without the fix, 7.1 has it; 6.13 does not inherit 6.12.88's backport
  assertEquals(resolveProfile("linux-7.0").facts["vgic.iidr.honoured"].value, false);
  assertEquals(resolveProfile("linux-7.1").facts["vgic.iidr.honoured"].value, true);
  assertEquals(resolveProfile("linux-6.13").facts["vgic.iidr.honoured"].value, false);
  assertThrows(() => resolveProfile("linux-6.3.1"), Error, "unknown kernel profile");
});

Deno.test("a range of point releases is each distinct profile in it", () => {
  assertEquals(expandRange("linux-6.12.80..linux-6.12.100"), ["linux-6.12.80", "linux-6.12.88"]);
  assertEquals(expandRange("linux-6.12.88..6.12.90"), ["linux-6.12.88"]);
  assertThrows(() => expandRange("linux-6.12.9..linux-6.13.1"), Error, "one stable branch");
  assertThrows(() => expandRange("linux-6.12.90..linux-6.12.80"), Error, "after its last");
});

Deno.test("a vendor-backported capability is a variant, not a version number", () => {
  assertEquals(resolveProfile("linux-6.1").facts["timer.counterOffset"].value, false);
  const p = resolveProfile("linux-6.1+counter-offset");
  assertEquals(p.facts["timer.counterOffset"].value, true);
  assertStringIncludes(p.facts["timer.counterOffset"].source.cite, "30ec7997d175");
});
