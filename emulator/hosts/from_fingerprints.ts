/**
 * `deno task hosts:fingerprints`: host descriptions (emulator/hosts/data/neoverse-<cpu>.json)
 * built from Firecracker's public CPU fingerprints of one CPU on three host kernels
 * (tests/fixtures/firecracker-fingerprints/). A fingerprint shows what a guest read, i.e. the host
 * value after that kernel's sanitisation; kernels only hide or cap ID-register fields, never raise
 * them, so each field's largest value across the kernels is the closest the dumps come to the CPU.
 * What no dump shows (the GIC CPU interface limits) is stated with [U] and its reason.
 */
import { importFcFingerprint } from "../../snapshots/import/fc_fingerprint.ts";
import { demuxCcsidr, fwReg, hex, leToBig } from "../../snapshots/kvm/ids.ts";
import { regId } from "../../snapshots/kvm/names.ts";
import { getField, ID_FIELDS, idField, setField } from "../profiles/idfields.ts";
import { isIdSpace } from "../kvm/defaults.ts";
import { regName } from "../../snapshots/kvm/names.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const FP_DIR = `${ROOT}tests/fixtures/firecracker-fingerprints/`;
const KERNELS = ["5.10", "6.1", "6.18"] as const;
const AMZN: Record<string, string> = {
  "5.10": "Amazon Linux 5.10.255",
  "6.1": "Amazon Linux 6.1.172",
  "6.18": "Amazon Linux 6.18.30",
};

export const CPUS = [
  {
    id: "neoverse-v1",
    fp: "V1",
    title: "Arm Neoverse V1 (AWS Graviton3), from the Firecracker fingerprints",
  },
  {
    id: "neoverse-v2",
    fp: "V2",
    title: "Arm Neoverse V2 (AWS Graviton4), from the Firecracker fingerprints",
  },
] as const;

type Fact = { value: unknown; source: { cite: string; confidence: "V" | "I" | "U" } };

const fpName = (cpu: string, k: string) => `ARM_NEOVERSE_${cpu}_${k}host.json`;

function dump(cpu: string, k: string): Map<bigint, bigint> {
  const s = importFcFingerprint(Deno.readTextFileSync(`${FP_DIR}${fpName(cpu, k)}`));
  return new Map([...s.vcpus[0].registers].map(([id, b]) => [id, leToBig(b)]));
}

const byName = (n: string) => {
  const id = regId(n);
  if (id === undefined) throw new Error(`no ONE_REG id for ${n}`);
  return id;
};

export function hostFromFingerprints(c: typeof CPUS[number]) {
  const dumps = Object.fromEntries(KERNELS.map((k) => [k, dump(c.fp, k)]));
  const d510 = dumps["5.10"];
  const all = `Firecracker fingerprints ${KERNELS.map((k) => fpName(c.fp, k)).join(", ")}`;
  const one = (k: string, what: string): Fact["source"] => ({
    cite: `Firecracker fingerprint ${fpName(c.fp, k)} (${AMZN[k]}) ${what}`,
    confidence: "V",
  });
  const facts: Record<string, Fact> = {};
  // ID registers: each field's largest value over the three kernels
  const idregs = [...d510.keys()].filter((id) => isIdSpace(id) && regName(id).endsWith("_EL1"))
    .filter((id) => /^(ID_|MVFR)/.test(regName(id)));
  for (const id of idregs) {
    const name = regName(id);
    let v = d510.get(id)!;
    const raised: string[] = [];
    for (const f of ID_FIELDS.filter((x) => x.reg === name)) {
      for (const k of KERNELS) {
        const o = dumps[k].get(id);
        if (o === undefined) continue;
        if (getField(o, f) > getField(v, f)) {
          v = setField(v, f, getField(o, f));
          raised.push(`${f.field} from ${k}`);
        }
      }
    }
    facts[`idreg.${name}`] = {
      value: hex(v),
      source: {
        cite:
          `${all}: each field's largest value over the three kernels (they hide or cap fields, never raise them)${
            raised.length ? `; ${[...new Set(raised)].join(", ")}` : ""
          }`,
        confidence: "I",
      },
    };
  }
  const r = (n: string) => d510.get(byName(n))!;
  facts.midr = { value: hex(r("MIDR_EL1")), source: one("5.10", "MIDR_EL1") };
  facts.revidr = { value: hex(r("REVIDR_EL1")), source: one("5.10", "REVIDR_EL1") };
  facts.aidr = { value: hex(r("AIDR_EL1")), source: one("5.10", "AIDR_EL1") };
  facts.ctr = { value: hex(r("CTR_EL0")), source: one("5.10", "CTR_EL0") };
  facts["cache.clidr"] = {
    value: hex(r("CLIDR_EL1")),
    source: one("5.10", "CLIDR_EL1 (before 6.3 KVM passed the physical value through)"),
  };
  for (let i = 0; i < 14; i++) {
    const v = d510.get(demuxCcsidr(i));
    if (v !== undefined) {
      facts[`cache.ccsidr.${i}`] = { value: hex(v), source: one("5.10", `CCSIDR demux id ${i}`) };
    }
  }
  facts["cache.reportedClidr"] = {
    value: hex(dumps["6.18"].get(byName("CLIDR_EL1"))!),
    source: one("6.18", "CLIDR_EL1 as a 6.3+ kernel reports it"),
  };
  const gicU = (v: unknown, what: string): Fact => ({
    value: v,
    source: {
      cite:
        `${what}; not in any fingerprint (they hold no vGIC state): the N1's CPU-interface value, as the Neoverse cores share it`,
      confidence: "U",
    },
  });
  facts["gic.version"] = gicU("v3", "GICv3 CPU interface (Graviton hosts use a GICv3 distributor)");
  facts["gic.v2compat"] = gicU(false, "no GICv2 compatibility (ICC_SRE_EL1.SRE RAO)");
  facts["gic.priBits"] = gicU(5, "ICH_VTR_EL2.PRIbits = 0b100 (5 bits)");
  facts["gic.idBits"] = gicU(16, "ICH_VTR_EL2.IDbits = 0b000 (16 bits)");
  facts["gic.seis"] = gicU(false, "ICH_VTR_EL2.SEIS = 0");
  facts["gic.a3v"] = gicU(true, "ICH_VTR_EL2.A3V = 1");
  facts["gic.v4_1"] = gicU(false, "GICv4.1 not assumed");
  for (const n of [1, 2, 3]) {
    const vals = KERNELS.map((k) => dumps[k].get(fwReg(n))).filter((x) => x !== undefined);
    facts[`smccc.wa${n}`] = {
      value: Number(vals[0]),
      source: {
        cite: `${all}: KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_${n} = ${
          vals.map((x) => hex(x!)).join(", ")
        }`,
        confidence: "V",
      },
    };
  }
  const pmcr = d510.get(byName("PMCR_EL0"));
  if (pmcr !== undefined) {
    facts["pmu.pmcr"] = { value: hex(pmcr), source: one("5.10", "PMCR_EL0 reset value") };
    facts["pmu.counters"] = {
      value: Number((pmcr >> 11n) & 0x1fn),
      source: one("5.10", "PMCR_EL0.N"),
    };
  }
  const idv = (reg: string) => BigInt((facts[`idreg.${reg}`]?.value as string) ?? "0x0");
  const field = (reg: string, f: string) => getField(idv(reg), idField(reg, f)!);
  const feature = (on: boolean, why: string, hiddenWithout?: string): Fact => ({
    value: on,
    source: on || !hiddenWithout
      ? { cite: `${all} (largest field values): ${why}`, confidence: "I" }
      : {
        cite:
          `${all}: ${why} reads 0, but KVM hides it from a vCPU created without ${hiddenWithout}, ` +
          "as the dumped vCPUs were: the dumps cannot show whether the CPU has it",
        confidence: "U",
      },
  });
  facts["feature.pmu"] = feature(field("ID_AA64DFR0_EL1", "PMUVer") > 0, "ID_AA64DFR0_EL1.PMUVer");
  facts["feature.sve"] = feature(
    field("ID_AA64PFR0_EL1", "SVE") > 0,
    "ID_AA64PFR0_EL1.SVE",
    "KVM_ARM_VCPU_SVE",
  );
  facts["feature.ptrauth"] = feature(
    ["APA", "API", "GPA", "GPI"].some((f) => field("ID_AA64ISAR1_EL1", f) > 0) ||
      ["APA3", "GPA3"].some((f) => field("ID_AA64ISAR2_EL1", f) > 0),
    "ID_AA64ISAR1_EL1.{APA,API,GPA,GPI}, ID_AA64ISAR2_EL1.{APA3,GPA3}",
    "KVM_ARM_VCPU_PTRAUTH_ADDRESS/GENERIC",
  );
  facts["feature.mte"] = feature(field("ID_AA64PFR1_EL1", "MTE") >= 2, "ID_AA64PFR1_EL1.MTE ≥ 2");
  facts["feature.nv"] = feature(field("ID_AA64MMFR2_EL1", "NV") > 0, "ID_AA64MMFR2_EL1.NV");
  for (
    const [k, f] of [["tcr2", "TCRX"], ["s1pie", "S1PIE"], ["s1poe", "S1POE"], ["sctlrx", "SCTLRX"]]
  ) {
    const fd = idField("ID_AA64MMFR3_EL1", f);
    facts[`feature.${k}`] = feature(
      fd ? getField(idv("ID_AA64MMFR3_EL1"), fd) > 0 : false,
      `ID_AA64MMFR3_EL1.${f}`,
    );
  }
  return { id: c.id, title: c.title, facts };
}

if (import.meta.main) {
  for (const c of CPUS) {
    const out = `${ROOT}emulator/hosts/data/${c.id}.json`;
    await Deno.writeTextFile(out, JSON.stringify(hostFromFingerprints(c), null, 2) + "\n");
    await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", out] }).output();
    console.log(`${c.id} -> ${out}`);
  }
}
