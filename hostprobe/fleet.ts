/**
 * A fleet host's own target from its `hostprobe capture`: a custom kernel profile (the
 * differences from an upstream base that the capture shows) and a host file (what the CPU gives),
 * in the formats emulator/profiles and emulator/hosts read, so users can check snapshots against
 * the kernels they actually run.
 *
 * Each derivable fact is one row: the fact key and how to read it off the capture document
 * (hostprobe/capture.ts). A row answers `undefined` when the capture cannot tell (e.g. the vGICv2
 * rules on a host without GICv2 emulation); the base's value then stands.
 */
import type { Doc, Json } from "./capture.ts";
import { buildProfile, parseProfileFile, resolveProfile } from "../emulator/profiles/loader.ts";
import { buildHost, parseHostFile } from "../emulator/hosts/loader.ts";
import type { HostFile, Patch, Profile, ProfileFile } from "../emulator/profiles/types.ts";
import type { Host } from "../emulator/target.ts";
import { sysregId } from "./host.ts";

type Derive = (c: Doc) => Json | undefined;

const obj = (v: Json | undefined): Doc =>
  typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
const at = (c: Doc, ...path: string[]): Json | undefined => {
  let v: Json | undefined = c;
  for (const k of path) v = obj(v)[k];
  return v;
};
const big = (v: Json | undefined): bigint | undefined =>
  typeof v === "string" && /^0x[0-9a-f]+$/.test(v) ? BigInt(v) : undefined;
const hex = (v: bigint) => `0x${v.toString(16)}`;

/** KVM_ARM_VCPU_INIT feature bit → the capture's feature set that tried it. */
const FEATURE_SETS: [bit: number[], set: string][] = [
  [[2], "psci-0.2"],
  [[3], "pmu-v3"],
  [[4], "sve"],
  [[5, 6], "ptrauth"],
  [[7], "el2"],
];

const PSCI_NAMES = ["0.1", "0.2", "1.0", "1.1", "1.2", "1.3"];
const psciName = (v: bigint) => `${v >> 16n}.${v & 0xffffn}`;

/** Kernel facts a capture shows, by profile fact key (emulator/profiles/schema.ts). */
export const PROFILE_ROWS: { fact: string; what: string; derive: Derive }[] = [
  {
    fact: "psci.accepted",
    what: "KVM_REG_ARM_PSCI_VERSION writes accepted on a PSCI_0_2 vCPU",
    derive: (c) => {
      const s = obj(at(c, "firmware", "psciSet", "psci-0.2"));
      if (!Object.keys(s).length) return undefined;
      return PSCI_NAMES.filter((v) => v !== "0.1" && s[v] === "ok");
    },
  },
  {
    fact: "psci.default",
    what: "KVM_REG_ARM_PSCI_VERSION of a fresh PSCI_0_2 vCPU",
    derive: (c) => {
      const v = big(at(c, "firmware", "defaults", "psci-0.2", "KVM_REG_ARM_PSCI_VERSION"));
      return v === undefined ? undefined : psciName(v);
    },
  },
  ...[0, 1, 2, 3].map((n) => ({
    fact: `bitmap.${n}`,
    what: `KVM_REG_ARM_FW_FEAT_BMAP_REG(${n}): reset value; a set bit beyond it is rejected`,
    derive: (c: Doc): Json | undefined => {
      const id = `0x603000000016000${n}`;
      const d = at(c, "firmware", "defaults", "psci-0.2", BITMAP_NAMES[n]);
      if (d === "ENOENT") return null; // not listed: the fact is removed
      const reset = big(d);
      if (reset === undefined) return undefined;
      const sets = obj(at(c, "firmware", "bitmapSet", id));
      // supported = the reset value when one more bit is refused (registers 0-2 reset to "all
      // supported", fw-pseudo-registers.rst); register 3 resets to 0, so its set is not visible
      let next = 0n;
      while (next < 63n && reset >> next) next++;
      const probe = sets[hex(reset | (1n << next))];
      if (n === 3 || probe !== "EINVAL") return undefined;
      return { supported: Number(reset), reset: Number(reset) };
    },
  })),
  {
    fact: "vgic.iidr.defaultRevision",
    what: "GICD_IIDR.Revision after KVM_DEV_ARM_VGIC_CTRL_INIT",
    derive: (c) => {
      const v = big(at(c, "gic", "v3", "after_init", "GICD_IIDR")) ??
        big(at(c, "gic", "v2", "after_init", "GICD_IIDR"));
      return v === undefined ? undefined : Number((v >> 12n) & 0xfn);
    },
  },
  {
    fact: "vgic.iidr.accepted",
    what: "GICD_IIDR revisions a userspace write may set (GICv3)",
    derive: (c) => {
      const r = [0, 1, 2, 3].map((n) => at(c, "iidr", `v3 rev${n} after init`, "result"));
      return r.every((x) => typeof x === "string")
        ? [0, 1, 2, 3].filter((n) => r[n] === "ok")
        : undefined;
    },
  },
  {
    fact: "vgic.iidr.honoured",
    what: "a revision-2 IIDR write reads back as revision 2 (a0e6ae45af17)",
    derive: (c) => {
      const x = obj(at(c, "iidr", "v3 rev2 after init"));
      return x.result === "ok" ? x.readback === x.written : undefined;
    },
  },
  {
    fact: "vgic.accessBeforeInit",
    what: "GICv3 GICD_IIDR read before CTRL_INIT",
    derive: (c) => {
      const r = at(c, "gic", "v3", "before_init", "GICD_IIDR");
      if (r === undefined) return undefined;
      return r === "EBUSY" ? "EBUSY" : "iidr-allowed";
    },
  },
  {
    fact: "vgic.groups.v2UserWritable",
    what: "GICv2 userspace IGROUPR writes without / after an IIDR write",
    derive: (c) => {
      const none = at(c, "igrouprV2", "iidrFirst=0 rev=-", "readback");
      const after = at(c, "igrouprV2", "iidrFirst=1 rev=2", "readback");
      if (none === undefined || after === undefined) return undefined;
      return none === "0x0" && after === "0xffffffff" ? "after-iidr-write" : "by-revision";
    },
  },
  {
    fact: "timer.counterOffset",
    what: "KVM_ARM_SET_COUNTER_OFFSET",
    derive: (c) => {
      const r = at(c, "timers", "counterOffset", "result");
      return r === undefined ? undefined : r === "ok";
    },
  },
  {
    fact: "timer.ctlIstatusWhenDisabled",
    what: "KVM_REG_ARM_TIMER_CTL of a fresh vCPU has ISTATUS with ENABLE clear",
    derive: (c) => {
      const v = big(at(c, "regs", "psci-0.2", "0x603000000013df19"));
      return v === undefined ? undefined : (v & 5n) === 4n;
    },
  },
  {
    fact: "idwrite.masksIoctl",
    what: "KVM_ARM_GET_REG_WRITABLE_MASKS",
    derive: (c) => {
      const r = at(c, "writableMasks", "result");
      return r === undefined ? undefined : r === "ok";
    },
  },
  {
    fact: "impid.writableCap",
    what: "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS",
    derive: (c) => {
      const v = at(c, "caps", "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS", "value");
      return typeof v === "number" ? v > 0 : undefined;
    },
  },
  {
    fact: "cache.writable",
    what: "CLIDR_EL1 with LoC changed",
    derive: (c) => {
      const r = at(c, "changed", "CLIDR_EL1 LoC bit0", "result");
      return r === undefined ? undefined : r === "ok";
    },
  },
];

const BITMAP_NAMES = [
  "KVM_REG_ARM_STD_BMAP",
  "KVM_REG_ARM_STD_HYP_BMAP",
  "KVM_REG_ARM_VENDOR_HYP_BMAP",
  "KVM_REG_ARM_VENDOR_HYP_BMAP_2",
];

/** vcpu.features: the base's bits, corrected by what KVM_ARM_VCPU_INIT answered per feature. */
function features(c: Doc, base: number[]): number[] | undefined {
  const init = obj(c.vcpuInit);
  if (!Object.keys(init).length) return undefined;
  const out = new Set(base);
  for (const [bits, set] of FEATURE_SETS) {
    if (init[set] === undefined) continue;
    for (const b of bits) init[set] === "ok" ? out.add(b) : out.delete(b);
  }
  return [...out].sort((a, b) => a - b);
}

export interface FleetTarget {
  profileFile: ProfileFile;
  hostFile: HostFile;
  profile: Profile;
  host: Host;
}

/**
 * The custom profile (differences from `base`) and the host file for a capture document; both
 * pass emulator/profiles and emulator/hosts validation before they are returned.
 */
export function captureToTarget(
  capture: Doc,
  opts: { profileId: string; hostId: string; base: string; evidence: string },
): FleetTarget {
  const base = resolveProfile(opts.base);
  const release = String(at(capture, "header", "uname", "release") ?? "unknown");
  const source = (what: string) => ({
    cite: `hostprobe capture of ${release} (${opts.evidence}): ${what}`,
    confidence: "V" as const,
  });
  const differences: Patch[] = [];
  const add = (fact: string, value: Json, what: string) => {
    const old = base.facts[fact]?.value;
    if (JSON.stringify(old ?? null) === JSON.stringify(value)) return;
    if (value === null && old === undefined) return;
    differences.push({
      fact,
      value,
      source: source(what),
      why: `${base.id} has ${JSON.stringify(old ?? null)}; this kernel answered ${
        JSON.stringify(value)
      }`,
    });
  };
  for (const row of PROFILE_ROWS) {
    const v = row.derive(capture);
    if (v !== undefined) add(row.fact, v, row.what);
  }
  const f = features(capture, (base.facts["vcpu.features"]?.value as number[]) ?? []);
  if (f) add("vcpu.features", f, "KVM_ARM_VCPU_INIT per feature set");
  const profileFile = parseProfileFile({
    id: opts.profileId,
    kind: "custom",
    title: `${release} as captured by hostprobe (${opts.evidence})`,
    kernel: release,
    base: base.id,
    differences,
  }, opts.profileId);
  const hostFile = parseHostFile(
    {
      id: opts.hostId,
      title: `host of ${release} (${opts.evidence})`,
      facts: hostFacts(capture, source),
    },
    opts.hostId,
  );
  return {
    profileFile,
    hostFile,
    profile: buildProfile(profileFile),
    host: buildHost(hostFile),
  };
}

/** ID register names by (CRm, op2) for op0=3 op1=0 CRn=0 (AArch64 ones only: what hosts carry). */
const HOST_IDREGS: [string, number, number][] = [
  ["ID_AA64PFR0_EL1", 4, 0],
  ["ID_AA64PFR1_EL1", 4, 1],
  ["ID_AA64PFR2_EL1", 4, 2],
  ["ID_AA64ZFR0_EL1", 4, 4],
  ["ID_AA64SMFR0_EL1", 4, 5],
  ["ID_AA64DFR0_EL1", 5, 0],
  ["ID_AA64DFR1_EL1", 5, 1],
  ["ID_AA64AFR0_EL1", 5, 4],
  ["ID_AA64AFR1_EL1", 5, 5],
  ["ID_AA64ISAR0_EL1", 6, 0],
  ["ID_AA64ISAR1_EL1", 6, 1],
  ["ID_AA64ISAR2_EL1", 6, 2],
  ["ID_AA64MMFR0_EL1", 7, 0],
  ["ID_AA64MMFR1_EL1", 7, 1],
  ["ID_AA64MMFR2_EL1", 7, 2],
  ["ID_AA64MMFR3_EL1", 7, 3],
  ["ID_AA64MMFR4_EL1", 7, 4],
];

type Source = (what: string) => { cite: string; confidence: "V" };

/** Host facts (emulator/hosts schema) a capture shows. */
function hostFacts(
  c: Doc,
  source: Source,
): Record<string, { value: Json; source: ReturnType<Source>; note?: string }> {
  const facts: Record<string, { value: Json; source: ReturnType<Source>; note?: string }> = {};
  const put = (k: string, v: Json | undefined, what: string, note?: string) => {
    if (v === undefined || v === null) return;
    facts[k] = note ? { value: v, source: source(what), note } : { value: v, source: source(what) };
  };
  // The PMU vCPU shows the PMU fields of ID_AA64DFR0_EL1; every other register as a PSCI vCPU has it.
  const reg = (id: string, set = "psci-0.2") => {
    const v = at(c, "regs", set, id);
    return typeof v === "string" && v.startsWith("0x") ? v : undefined;
  };
  put("midr", reg(sysregId(3, 0, 0, 0, 0)), "MIDR_EL1");
  put("revidr", reg(sysregId(3, 0, 0, 0, 6)), "REVIDR_EL1");
  put("aidr", reg(sysregId(3, 1, 0, 0, 7)), "AIDR_EL1");
  put("ctr", reg(sysregId(3, 3, 0, 0, 1)), "CTR_EL0");
  for (const [name, crm, op2] of HOST_IDREGS) {
    // the vCPU configuration whose view shows the register's feature fields
    const set = name === "ID_AA64DFR0_EL1"
      ? "pmu-v3"
      : name === "ID_AA64ZFR0_EL1"
      ? "sve"
      : name === "ID_AA64ISAR1_EL1"
      ? "ptrauth"
      : "psci-0.2";
    put(
      `idreg.${name}`,
      reg(sysregId(3, 0, 0, crm, op2), set) ?? reg(sysregId(3, 0, 0, crm, op2)),
      `${name} of a '${set}' vCPU`,
      "as this kernel sanitises it",
    );
  }
  put("cache.reportedClidr", reg(sysregId(3, 1, 0, 0, 1)), "CLIDR_EL1 as this kernel reports it");
  const v3 = at(c, "gic", "v3", "create");
  const v2 = at(c, "gic", "v2", "create");
  put(
    "gic.version",
    v3 === "ok" ? "v3" : v2 === "ok" ? "v2" : undefined,
    "KVM_CREATE_DEVICE vGICv3 / vGICv2",
  );
  if (v3 === "ok") put("gic.v2compat", v2 === "ok", "KVM_CREATE_DEVICE of a vGICv2 next to GICv3");
  const icc = big(at(c, "gic", "v3", "after_init", "ICC_CTLR_EL1"));
  if (icc !== undefined) {
    // ICC_CTLR_EL1 (IHI 0069 12.2.6): PRIbits [10:8] = bits-1, IDbits [13:11], SEIS [14], A3V [15]
    put("gic.priBits", Number((icc >> 8n) & 7n) + 1, "ICC_CTLR_EL1.PRIbits (from ICH_VTR_EL2)");
    put("gic.idBits", ((icc >> 11n) & 7n) === 1n ? 24 : 16, "ICC_CTLR_EL1.IDbits");
    put("gic.seis", ((icc >> 14n) & 1n) === 1n, "ICC_CTLR_EL1.SEIS");
    put("gic.a3v", ((icc >> 15n) & 1n) === 1n, "ICC_CTLR_EL1.A3V");
  } else if (v2 === "ok") {
    // GICv2 virtual CPU interface: 5 priority bits (GICH_VTR.PRIbits on GIC-400), 10-bit INTIDs
    put(
      "gic.priBits",
      5,
      "GICv2 host: no ICC_CTLR_EL1; GICv2 list registers carry 5 priority bits",
    );
    put("gic.idBits", 16, "GICv2 host: INTIDs below 1020");
  }
  for (const n of [1, 2, 3]) {
    const v = big(
      at(c, "firmware", "defaults", "psci-0.2", `KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_${n}`),
    );
    put(
      `smccc.wa${n}`,
      v === undefined ? undefined : Number(v & 0xfn),
      `KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_${n}`,
    );
  }
  const vls = big(at(c, "sve", "vls"));
  if (vls !== undefined) {
    const vqs: number[] = [];
    for (let i = 0; i < 16; i++) if ((vls >> BigInt(i)) & 1n) vqs.push(i + 1);
    put("sve.vqs", vqs, "KVM_REG_ARM64_SVE_VLS before finalization");
  }
  const pmcr = reg(sysregId(3, 3, 9, 12, 0), "pmu-v3");
  put("pmu.pmcr", pmcr, "PMCR_EL0 of a PMUv3 vCPU");
  if (pmcr) put("pmu.counters", Number((BigInt(pmcr) >> 11n) & 0x1fn), "PMCR_EL0.N");
  const init = obj(c.vcpuInit);
  const ok = (set: string) => (init[set] === undefined ? undefined : init[set] === "ok");
  put("feature.pmu", ok("pmu-v3"), "KVM_ARM_VCPU_INIT with PMU_V3");
  put("feature.sve", ok("sve"), "KVM_ARM_VCPU_INIT with SVE");
  put("feature.ptrauth", ok("ptrauth"), "KVM_ARM_VCPU_INIT with PTRAUTH_ADDRESS|GENERIC");
  const mte = at(c, "caps", "KVM_CAP_ARM_MTE", "value");
  put("feature.mte", typeof mte === "number" ? mte > 0 : undefined, "KVM_CAP_ARM_MTE");
  return facts;
}
