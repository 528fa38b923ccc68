/**
 * Kernel profiles and hosts: every fact carries a source, upstream profiles are the timeline and
 * nothing else, vendor builds list each difference with its evidence, and the predicted inventory
 * and fresh-vCPU values of the Amazon Linux builds match the real Neoverse-N1 dumps.
 */
import { assert, assertEquals, assertNotEquals, assertStringIncludes } from "@std/assert";
import {
  builtinProfileIds,
  factsWithoutSource,
  profileFile,
  resolveProfile,
  timeline,
  variantIds,
} from "../../emulator/profiles/loader.ts";
import { builtinHostIds, resolveHost } from "../../emulator/hosts/loader.ts";
import { checkSource } from "../../emulator/profiles/schema.ts";
import { listTargets, resolveTarget } from "../../emulator/target.ts";
import { regInventory, targetDefaults, targetDefaultsDetailed } from "../../emulator/kvm/mod.ts";
import { fabricatedClidr } from "../../emulator/kvm/defaults.ts";
import { REG_PC } from "../../snapshots/kvm/ids.ts";
import { regName } from "../../snapshots/kvm/names.ts";
import { fingerprint, fingerprintValues } from "../restore/helpers.ts";

const AMZN: [string, string][] = [["5.10", "amzn2-5.10"], ["6.1", "amzn2023-6.1"], [
  "6.18",
  "amzn2023-6.18",
]];

Deno.test("every fact of every profile, variant combination, timeline row and host has a source", () => {
  for (const id of builtinProfileIds()) {
    assertEquals(factsWithoutSource(resolveProfile(id)), [], id);
    for (const v of variantIds()) {
      assertEquals(factsWithoutSource(resolveProfile(`${id}+${v}`)), [], `${id}+${v}`);
    }
  }
  for (const row of timeline()) checkSource(row.source, `timeline ${row.release} ${row.fact}`);
  for (const h of builtinHostIds()) {
    for (const [k, f] of Object.entries(resolveHost(h).facts)) checkSource(f.source, `${h} ${k}`);
  }
});

Deno.test("upstream profiles stay upstream: no differences, lineage of one, facts = the timeline up to the release", () => {
  const upstream = builtinProfileIds().filter((id) => id.startsWith("linux-"));
  assertEquals(upstream, [
    "linux-5.10",
    "linux-5.15",
    "linux-6.1",
    "linux-6.6",
    "linux-6.12",
    "linux-6.13",
    "linux-6.14",
    "linux-6.15",
    "linux-6.16",
    "linux-6.17",
    "linux-6.18",
    "linux-6.19",
    "linux-7.0",
    "linux-7.1",
    "linux-7.2",
  ]);
  for (const id of upstream) {
    const p = resolveProfile(id);
    assertEquals([p.kind, p.differences.length, p.lineage], ["upstream", 0, [id]], id);
    assertEquals(profileFile(id)?.base, undefined);
    for (const f of Object.values(p.facts)) {
      assert(
        !f.source.cite.includes("amzn2023") || f.source.cite.includes("evidence"),
        `${id}: a vendor build cited as the source of an upstream fact`,
      );
    }
  }
  // A timeline row applies from its release on: PSCI 1.1 from 5.18, 1.3 from 6.13.
  assertEquals(resolveProfile("linux-5.15").facts["psci.default"].value, "1.0");
  assertEquals(resolveProfile("linux-6.1").facts["psci.default"].value, "1.1");
  assertEquals(resolveProfile("linux-6.18").facts["psci.default"].value, "1.3");
  assertEquals(resolveProfile("linux-6.12").facts["regs.ptimer"].value, { when: "always" });
  assertEquals(resolveProfile("linux-6.1").facts["regs.ptimer"], undefined);
});

Deno.test("vendor builds are their upstream base plus the listed differences, each with evidence", () => {
  const expect: Record<string, string[]> = {
    "amzn2-5.10": ["regs.ptimer", "regs.fw-wa3"],
    "amzn2023-6.1": ["regs.ptimer"],
    "amzn2023-6.18": ["cache.clidr"],
  };
  for (const [id, facts] of Object.entries(expect)) {
    const p = resolveProfile(id);
    assertEquals(p.differences.map((d) => d.fact), facts, id);
    for (const d of p.differences) {
      assertStringIncludes(d.source.cite, "Firecracker fingerprint", `${id} ${d.fact}`);
    }
    const base = resolveProfile(p.lineage[0]);
    const changed = Object.keys({ ...p.facts, ...base.facts }).filter((k) =>
      JSON.stringify(p.facts[k]?.value) !== JSON.stringify(base.facts[k]?.value)
    );
    assertEquals(
      changed.sort(),
      [...facts].sort(),
      `${id}: only the listed facts differ from ${p.lineage[0]}`,
    );
  }
});

Deno.test("predicted register inventory of a Firecracker vCPU equals each Amazon Linux dump", () => {
  // Firecracker's dumps leave out PC, KVM_REG_ARM_TIMER_CNT (0x603000000013df1a) and CNTPCT
  // (KVM_REG_ARM_PTIMER_CNT, 0x603000000013df01) because they change with time; so does this test.
  const excluded = new Set([REG_PC, 0x603000000013df1an, 0x603000000013df01n]);
  for (const [k, p] of AMZN) {
    const s = fingerprint(k);
    assertEquals(s.vcpus[0].features, [2], "Firecracker: PSCI 0.2, no PMU, no SVE");
    const predicted = [
      ...regInventory(resolveTarget(`${p}@neoverse-n1`), s.vcpus[0].features).keys(),
    ]
      .filter((id) => !excluded.has(id)).sort();
    const dumped = [...s.vcpus[0].registers.keys()].sort();
    assertEquals(predicted.map(regName), dumped.map(regName), p);
  }
});

Deno.test("predicted fresh-vCPU values equal the dumps (all but X0, which Firecracker sets to the FDT address)", () => {
  for (const [k, p] of AMZN) {
    const t = resolveTarget(`${p}@neoverse-n1`);
    const d = targetDefaults(t, [2]);
    const got: string[] = [];
    for (const [id, v] of fingerprintValues(k)) {
      if (d.get(id) !== v) {
        got.push(`${regName(id)} dump ${v.toString(16)} predicted ${d.get(id)?.toString(16)}`);
      }
    }
    assertEquals(got, ["X0 dump 87e00000 predicted 0"], p);
  }
});

Deno.test("firmware defaults and cache behaviour per build, as the dumps show them", () => {
  const v = (p: string, id: bigint) =>
    targetDefaults(resolveTarget(`${p}@neoverse-n1`), [2]).get(id);
  assertEquals(v("amzn2-5.10", 0x6030000000140000n), 0x10000n); // PSCI 1.0
  assertEquals(v("amzn2023-6.1", 0x6030000000140000n), 0x10001n); // PSCI 1.1
  assertEquals(v("amzn2023-6.18", 0x6030000000140000n), 0x10003n); // PSCI 1.3
  assertEquals(v("amzn2023-6.1", 0x6030000000160002n), 0x3n); // VENDOR_HYP: FUNC_FEAT | PTP
  assertEquals(v("amzn2023-6.18", 0x6030000000160003n), 0n); // VENDOR_HYP_BMAP_2 opt-in
  // Physical CCSIDR before 6.3, fabricated from CTR_EL0's line sizes after.
  assertEquals(v("amzn2023-6.1", 0x6020000000110000n), 0x701fe01an);
  assertEquals(v("amzn2023-6.18", 0x6020000000110000n), 0x2n);
  // Upstream 6.18 fabricates CLIDR_EL1 from CTR_EL0 (IDC=1, DIC=1: one unified level); the
  // Amazon 6.18 build reports the host's hierarchy instead.
  assertEquals(fabricatedClidr(0xb444c004n), 0x1000004n);
  assertEquals(v("linux-6.18", 0x603000000013c801n), 0x1000004n);
  assertEquals(v("amzn2023-6.18", 0x603000000013c801n), 0x3000123n);
  const how = targetDefaultsDetailed(resolveTarget("amzn2023-6.1@neoverse-n1"), [2]).get(
    0x603000000013c028n,
  )!;
  assertStringIncludes(how.how, "DebugVer 8→6");
});

Deno.test("variants compose with any base, and digests identify the data", () => {
  const p = resolveProfile("amzn2023-6.1+iidr-rev1");
  assertEquals(p.lineage, ["linux-6.1", "amzn2023-6.1", "+iidr-rev1"]);
  assertEquals(p.facts["vgic.iidr.accepted"].value, [1, 2, 3]);
  assertEquals(p.facts["regs.ptimer"].value, { when: "always" }, "the vendor difference survives");
  assertEquals(resolveProfile("linux-6.1").digest, resolveProfile("linux-6.1").digest);
  assertNotEquals(resolveProfile("linux-6.1").digest, resolveProfile("debian-6.1").digest);
  assertEquals(resolveProfile("linux-6.1").digest.length, 64);
  assert(listTargets().includes("amzn2023-6.1@neoverse-n1"));
  assertEquals(listTargets()[0].endsWith("@neoverse-n1"), true);
});
