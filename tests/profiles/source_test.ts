// The profiles against their kernels' own source: the facts `deno task kernel:extract` read from
// Debian's linux-source-6.1 and linux-source-6.12 (emulator/profiles/extracted/) must not
// contradict debian-6.1 / debian-6.12, and a contradiction is reported with both sides quoted.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { resolveProfile } from "../../emulator/profiles/loader.ts";
import { contradictions, sourceFacts } from "../../emulator/profiles/source_rules.ts";
import type { Extraction } from "../../emulator/profiles/extract/kvm.ts";
import { extract, FILES } from "../../emulator/profiles/extract/kvm.ts";
import { type Oracle, oracleTest } from "../support/oracle.ts";
import x61 from "../../emulator/profiles/extracted/debian-6.1.192.json" with { type: "json" };
import x612 from "../../emulator/profiles/extracted/debian-6.12.118.json" with { type: "json" };

const PAIRS: [profile: string, extraction: Extraction][] = [
  ["debian-6.1", x61 as unknown as Extraction],
  ["debian-6.12", x612 as unknown as Extraction],
];

for (const [id, x] of PAIRS) {
  Deno.test(`${id} agrees with its kernel's source (linux ${x.kernel})`, () => {
    assertEquals(contradictions(resolveProfile(id), x), []);
  });
}

Deno.test("the extractions hold the facts the issue names, with file and line", () => {
  const [, a] = PAIRS[0];
  const [, b] = PAIRS[1];
  // 6.1: set_id_reg refuses any change; 6.12: arm64_check_features against writable masks
  assertEquals([a.setIdReg.mode, b.setIdReg.mode], ["exact", "ftr-safe"]);
  assertEquals([a.setIdReg.ebusyAfterRun, b.setIdReg.ebusyAfterRun], [false, true]);
  const mmfr0 = b.idRegisters.find((e) => e.reg === "ID_AA64MMFR0_EL1")!;
  assertEquals([mmfr0.entry, mmfr0.writableMask], ["ID_WRITABLE", "0xff00f000ffffff0f"]);
  const dfr0 = b.setterChecks.find((c) =>
    c.reg === "ID_DFR0_EL1" && c.when[0]?.field === "CopDbg"
  )!;
  assertEquals(dfr0.when, [{ field: "CopDbg", op: "<", value: 6 }]);
  assertStringIncludes(dfr0.file + ":" + dfr0.line, "arch/arm64/kvm/sys_regs.c:");
  for (const x of [a, b]) {
    assertEquals(x.vgicIidr.v3.acceptedRevisions, [2, 3]);
    assertEquals(x.vgicIidr.v3.revisionFrom, "val"); // both Debian builds carry a0e6ae45af17
    assertEquals(x.firmware.psciAccepted, ["0.2", "1.0", "1.1"]);
    assertEquals(x.sysregFields.regs.CTR_EL0.fields.some((f) => f[0] === "DminLine"), true);
  }
  assertEquals(b.midrFields.fields.map((f) => f[0]), [
    "Implementer",
    "Variant",
    "Architecture",
    "PartNum",
    "Revision",
  ]);
  // every source fact names the kernel and a file:line
  for (const s of sourceFacts(b)) assertStringIncludes(s.cite, "linux 6.12.118 ");
});

Deno.test("a profile fact the source contradicts fails with both sides quoted", () => {
  const [, x] = PAIRS[1];
  const p = structuredClone(resolveProfile("debian-6.12"));
  p.facts["vgic.iidr.honoured"] = {
    value: false,
    source: { cite: "a claim under test", confidence: "U" },
  };
  p.facts["idwrite.ID_AA64ISAR1_EL1.APA"] = {
    value: "lower-safe",
    source: { cite: "another claim", confidence: "U" },
  };
  delete p.facts["idcheck.ID_DFR0_EL1.CopDbg"];
  const c = contradictions(p, x);
  assertEquals(c.length, 3, c.join("\n"));
  const iidr = c.find((l) => l.startsWith("vgic.iidr.honoured"))!;
  assertStringIncludes(iidr, "says false (a claim under test)");
  assertStringIncludes(iidr, "source says true");
  assertStringIncludes(iidr, "arch/arm64/kvm/vgic/vgic-mmio-v3.c:");
  const apa = c.find((l) => l.startsWith("idwrite.ID_AA64ISAR1_EL1.APA"))!;
  assertStringIncludes(apa, "writable mask 0xffffffff00fff00f");
  assertStringIncludes(
    c.find((l) => l.startsWith("idcheck."))!,
    "if (copdbg < ID_DFR0_EL1_CopDbg_Armv8)",
  );
});

const tarball = (v: string) => `/usr/src/linux-source-${v}.tar.xz`;
const LINUX_SOURCES: Oracle = {
  name: "Debian kernel sources (/usr/src/linux-source-6.1.tar.xz, linux-source-6.12.tar.xz)",
  install: "apt-get install linux-source-6.1 linux-source-6.12",
  available: () =>
    ["6.1", "6.12"].every((v) => {
      try {
        return Deno.statSync(tarball(v)).isFile;
      } catch {
        return false;
      }
    }),
};

// The committed extractions are what the extractor reads from today's Debian sources; when the
// archive moves to a new build, this says which and what changed in its facts.
oracleTest({
  name: "the committed extractions are what kernel:extract reads from the installed sources",
  needs: [LINUX_SOURCES],
  fn: async (t) => {
    for (const [id, x] of PAIRS) {
      await t.step(id, async () => {
        const v = id.replace("debian-", "");
        const files = await readFromTarball(tarball(v));
        const fresh = extract(files);
        const drift = fresh.kernel !== x.kernel
          ? `Debian's linux-source-${v} is now ${fresh.kernel}, the committed extraction is ${x.kernel}: ` +
            `run deno task kernel:extract and review: ${
              contradictions(resolveProfile(id), fresh as Extraction).join("; ") ||
              "no profile contradictions"
            }`
          : "";
        assertEquals(drift, "");
        assertEquals(JSON.stringify(sourceFacts(fresh)), JSON.stringify(sourceFacts(x)));
      });
    }
  },
});

async function readFromTarball(path: string) {
  const top = path.split("/").pop()!.replace(/\.tar\.xz$/, "");
  const tmp = await Deno.makeTempDir();
  try {
    const r = await new Deno.Command("tar", {
      args: ["-C", tmp, "-xJf", path, ...Object.values(FILES).map((p) => `${top}/${p}`)],
      signal: AbortSignal.timeout(300_000),
    }).output();
    if (!r.success) throw new Error(`tar -xJf ${path} failed`);
    const out: Record<string, string> = {};
    for (const [k, p] of Object.entries(FILES)) {
      out[k] = await Deno.readTextFile(`${tmp}/${top}/${p}`);
    }
    return out as Parameters<typeof extract>[0];
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
