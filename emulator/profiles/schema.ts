/**
 * Validation of profile, variant and host data (built-in files and user uploads alike). Each fact
 * key belongs to a family (a row below: key pattern → value check); an unknown key, a bad value
 * or a missing source is a ProfileError naming the key, the file and the rule.
 */
import { type Fact, type Facts, type Json, type Patch, ProfileError } from "./types.ts";
import { regGroup } from "./reggroups.ts";

type Check = (v: Json, m: RegExpExecArray) => string | undefined;

const isInt = (v: Json, lo = 0, hi = Number.MAX_SAFE_INTEGER) =>
  typeof v === "number" && Number.isInteger(v) && v >= lo && v <= hi;
const oneOf = (...opts: string[]): Check => (v) =>
  typeof v === "string" && opts.includes(v)
    ? undefined
    : `expected one of ${opts.map((o) => `"${o}"`).join(", ")}`;
const bool: Check = (v) => (typeof v === "boolean" ? undefined : "expected true or false");
const intList = (lo: number, hi: number): Check => (v) =>
  Array.isArray(v) && v.every((x) => isInt(x, lo, hi))
    ? undefined
    : `expected an array of integers in ${lo}..${hi}`;
const hex64: Check = (v) =>
  typeof v === "string" && /^0x[0-9a-f]{1,16}$/.test(v)
    ? undefined
    : 'expected a lower-case hex string "0x…" of at most 64 bits';
const intIn = (lo: number, hi: number): Check => (v) =>
  isInt(v, lo, hi) ? undefined : `expected an integer in ${lo}..${hi}`;

/** vCPU features and host features a register group's listing may depend on. */
export const CONDITIONS = [
  "always",
  "vcpu:pmu",
  "vcpu:sve",
  "vcpu:no-sve",
  "vcpu:ptrauth-address",
  "vcpu:ptrauth-generic",
  "host:tcr2",
  "host:s1pie",
  "host:s1poe",
  "host:sctlrx",
] as const;
export type Condition = typeof CONDITIONS[number];

export const VCPU_CONDITIONS = ["pmu", "sve", "ptrauth-address", "ptrauth-generic"] as const;

const PSCI_VERSIONS = ["0.1", "0.2", "1.0", "1.1", "1.2", "1.3"];
const psciVersion: Check = (v) =>
  typeof v === "string" && PSCI_VERSIONS.includes(v)
    ? undefined
    : `expected a PSCI version (${PSCI_VERSIONS.join(", ")})`;

const REG_NAME = "([A-Z][A-Z0-9_]*)";

/** Profile fact families. */
export const PROFILE_FACTS: { pattern: RegExp; what: string; check: Check }[] = [
  {
    pattern: /^regs\.([a-z0-9-]+)$/,
    what: "KVM_GET_REG_LIST lists the register group, under a condition",
    check: (v, m) => {
      if (!regGroup(m[1])) return `unknown register group "${m[1]}"`;
      if (typeof v !== "object" || v === null || Array.isArray(v)) return 'expected {"when": …}';
      const when = (v as Record<string, Json>).when;
      return typeof when === "string" && (CONDITIONS as readonly string[]).includes(when)
        ? undefined
        : `"when" must be one of ${CONDITIONS.join(", ")}`;
    },
  },
  {
    pattern: /^cache\.demux$/,
    what: "which CCSIDR demux ids are listed",
    check: oneOf("host-levels", "all-csselr"),
  },
  {
    pattern: /^cache\.clidr$/,
    what: "where the guest's CLIDR_EL1 comes from",
    check: oneOf("physical", "fabricated", "host-reported"),
  },
  {
    pattern: /^cache\.ccsidr$/,
    what: "where CCSIDR values come from",
    check: oneOf("physical", "fabricated"),
  },
  { pattern: /^cache\.writable$/, what: "CLIDR_EL1 and CCSIDR writable", check: bool },
  {
    pattern: new RegExp(`^idshow\\.${REG_NAME}\\.([A-Za-z0-9_]+|\\*)$`),
    what: "how KVM sanitises an ID register field for the guest",
    check: (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return "expected an object";
      const o = v as Record<string, Json>;
      for (const k of Object.keys(o)) {
        if (!["cap", "zero", "zeroWithout"].includes(k)) return `unknown key "${k}"`;
      }
      if (o.cap !== undefined && !isInt(o.cap, 0, 15)) return '"cap" must be 0..15';
      if (o.zero !== undefined && typeof o.zero !== "boolean") return '"zero" must be a boolean';
      if (
        o.zeroWithout !== undefined &&
        !(VCPU_CONDITIONS as readonly string[]).includes(o.zeroWithout as string)
      ) return `"zeroWithout" must be one of ${VCPU_CONDITIONS.join(", ")}`;
      return undefined;
    },
  },
  {
    pattern: /^idwrite\.default$/,
    what: "what userspace may write to ID registers not listed otherwise",
    check: oneOf("exact"),
  },
  {
    pattern: new RegExp(`^idwrite\\.${REG_NAME}$`),
    what: "what userspace may write to this register",
    check: oneOf("exact", "any", "fields", "validated-clidr", "with-imp-id-cap"),
  },
  {
    pattern: new RegExp(`^idwrite\\.${REG_NAME}\\.([A-Za-z0-9_]+)$`),
    what: "how a field may differ from the target's value",
    check: oneOf("lower-safe", "higher-safe", "exact"),
  },
  { pattern: /^idwrite\.masksIoctl$/, what: "KVM_ARM_GET_REG_WRITABLE_MASKS exists", check: bool },
  {
    // a register setter's own check (set_id_dfr0_el1: CopDbg below Armv8 is EINVAL), applied
    // whatever the rest of the value is
    pattern: new RegExp(`^idcheck\\.${REG_NAME}\\.([A-Za-z0-9_]+)$`),
    what: "a field value below `min` is refused with EINVAL (unless 0 and zeroOk)",
    check: (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return "expected an object";
      const o = v as Record<string, Json>;
      for (const k of Object.keys(o)) {
        if (!["min", "zeroOk"].includes(k)) return `unknown key "${k}"`;
      }
      if (!isInt(o.min, 0, 15)) return '"min" must be 0..15';
      if (o.zeroOk !== undefined && typeof o.zeroOk !== "boolean") {
        return '"zeroOk" must be a boolean';
      }
      return undefined;
    },
  },
  {
    pattern: /^impid\.writableCap$/,
    what: "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS makes MIDR/REVIDR/AIDR writable",
    check: bool,
  },
  {
    pattern: /^psci\.accepted$/,
    what: "PSCI versions accepted for a PSCI_0_2 vCPU",
    check: (v) =>
      Array.isArray(v) &&
        v.every((x) => psciVersion(x, [] as unknown as RegExpExecArray) === undefined)
        ? undefined
        : "expected an array of PSCI versions",
  },
  { pattern: /^psci\.default$/, what: "PSCI version reported by default", check: psciVersion },
  {
    pattern: /^bitmap\.([0-3])$/,
    what: "hypercall bitmap register: supported bits and reset value",
    check: (v) => {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return "expected an object";
      const o = v as Record<string, Json>;
      return isInt(o.supported, 0, 0xffff) && isInt(o.reset, 0, 0xffff) &&
          ((o.reset as number) & ~(o.supported as number)) === 0
        ? undefined
        : '"supported" and "reset" must be bit masks with reset ⊆ supported';
    },
  },
  {
    pattern: /^vgic\.iidr\.defaultRevision$/,
    what: "default GICD_IIDR.Revision",
    check: intIn(0, 15),
  },
  {
    pattern: /^vgic\.iidr\.accepted$/,
    what: "GICD_IIDR revisions a userspace write may set",
    check: (v) =>
      v === "equal-current" || intList(0, 15)(v, [] as unknown as RegExpExecArray) === undefined
        ? undefined
        : 'expected "equal-current" or an array of revisions',
  },
  {
    pattern: /^vgic\.iidr\.honoured$/,
    what: "an accepted revision write takes effect",
    check: bool,
  },
  {
    pattern: /^vgic\.groups\.configurable$/,
    what: "IGROUPR writable at revision ≥ 2",
    check: bool,
  },
  {
    pattern: /^vgic\.groups\.v2UserWritable$/,
    what: "when userspace GICv2 IGROUPR writes take effect",
    check: oneOf("after-iidr-write", "by-revision"),
  },
  {
    pattern: /^vgic\.accessBeforeInit$/,
    what: "GICv3 register access before CTRL_INIT",
    check: oneOf("EBUSY", "iidr-allowed"),
  },
  {
    pattern: /^vgic\.typer2$/,
    what: "userspace writes of GICD_TYPER2",
    check: oneOf("raz", "exact", "nassgicap-before-init"),
  },
  { pattern: /^its\.abiRevisions$/, what: "ITS table ABI revisions", check: intList(0, 15) },
  { pattern: /^timer\.counterOffset$/, what: "KVM_ARM_SET_COUNTER_OFFSET exists", check: bool },
  {
    pattern: /^timer\.ctlIstatusWhenDisabled$/,
    what: "timer CTL reads report ISTATUS while ENABLE is 0",
    check: bool,
  },
  {
    pattern: /^pmu\.pmcrReset$/,
    what: "PMCR_EL0 reset: the host's value, or N alone",
    check: oneOf("host", "n-only"),
  },
  { pattern: /^smccc\.filter$/, what: "KVM_ARM_VM_SMCCC_FILTER exists", check: bool },
  {
    pattern: /^nv\.ichOneReg$/,
    what: "an EL2 (nested) vCPU lists ICH_*_EL2 through ONE_REG (6.16 only)",
    check: bool,
  },
  {
    pattern: /^guest\.lsfe$/,
    what: "FEAT_LSFE is shown to guests (ID_AA64ISAR3_EL1.LSFE)",
    check: bool,
  },
  {
    pattern: /^vgic\.listRegisters$/,
    what: "how pending/active interrupts beyond the list registers are delivered",
    check: oneOf("classic", "overflow-rework"),
  },
  { pattern: /^mpstate\.accepted$/, what: "KVM_SET_MP_STATE values", check: intList(0, 15) },
  { pattern: /^vcpu\.features$/, what: "KVM_ARM_VCPU_INIT feature bits", check: intList(0, 31) },
];

/** Host fact families. */
export const HOST_FACTS: { pattern: RegExp; what: string; check: Check }[] = [
  { pattern: /^midr$|^revidr$|^aidr$|^ctr$/, what: "identification register value", check: hex64 },
  {
    pattern: new RegExp(`^idreg\\.${REG_NAME}$`),
    what: "sanitised host ID register value",
    check: hex64,
  },
  { pattern: /^cache\.clidr$/, what: "physical CLIDR_EL1", check: hex64 },
  { pattern: /^cache\.reportedClidr$/, what: "CLIDR_EL1 as a kernel reports it", check: hex64 },
  {
    pattern: /^cache\.ccsidr\.([0-9]|1[0-3])$/,
    what: "physical CCSIDR for a CSSELR",
    check: hex64,
  },
  { pattern: /^gic\.version$/, what: "GIC architecture", check: oneOf("v3", "v2") },
  { pattern: /^gic\.v2compat$/, what: "GICv3 CPU interface with GICv2 compatibility", check: bool },
  { pattern: /^gic\.priBits$/, what: "ICH_VTR_EL2.PRIbits + 1", check: intIn(5, 8) },
  { pattern: /^gic\.idBits$/, what: "ICH_VTR_EL2.IDbits as a bit count", check: intIn(16, 24) },
  {
    pattern: /^gic\.seis$|^gic\.a3v$|^gic\.v4_1$/,
    what: "ICH_VTR_EL2 / GICv4.1 flag",
    check: bool,
  },
  { pattern: /^smccc\.wa[123]$/, what: "SMCCC workaround level KVM reports", check: intIn(0, 3) },
  { pattern: /^sve\.vqs$/, what: "SVE vector lengths (quadwords)", check: intList(1, 16) },
  { pattern: /^pmu\.pmcr$/, what: "PMCR_EL0 reset value KVM reports", check: hex64 },
  { pattern: /^pmu\.counters$/, what: "PMU event counters", check: intIn(0, 31) },
  {
    pattern: /^feature\.(pmu|sve|ptrauth|mte|nv|tcr2|s1pie|s1poe|sctlrx)$/,
    what: "the CPU implements the feature",
    check: bool,
  },
  { pattern: /^cntfrq$/, what: "CNTFRQ_EL0", check: hex64 },
];

export function checkSource(s: unknown, where: string): void {
  if (typeof s !== "object" || s === null || Array.isArray(s)) {
    throw new ProfileError("fact/source", where, 'every fact needs "source": {cite, confidence}');
  }
  const o = s as Record<string, unknown>;
  if (typeof o.cite !== "string" || o.cite.trim() === "" || o.cite.length > 400) {
    throw new ProfileError(
      "fact/source",
      `${where}.cite`,
      "expected a non-empty citation (≤ 400 chars)",
    );
  }
  if (o.confidence !== "V" && o.confidence !== "I" && o.confidence !== "U") {
    throw new ProfileError("fact/source", `${where}.confidence`, 'expected "V", "I" or "U"');
  }
  for (const k of Object.keys(o)) {
    if (k !== "cite" && k !== "confidence") {
      throw new ProfileError("fact/source", `${where}.${k}`, "unknown key in a source");
    }
  }
}

function family(
  key: string,
  table: typeof PROFILE_FACTS,
  where: string,
): { check: Check; m: RegExpExecArray } {
  for (const f of table) {
    const m = f.pattern.exec(key);
    if (m) return { check: f.check, m };
  }
  throw new ProfileError("fact/unknown", where, `unknown fact "${key}"`);
}

export function checkFactValue(
  key: string,
  value: Json,
  table: typeof PROFILE_FACTS,
  where: string,
): void {
  const { check, m } = family(key, table, where);
  if (value === null) return; // removal (patches only; checked by the caller)
  const err = check(value, m);
  if (err) throw new ProfileError("fact/value", where, `${key}: ${err}`);
}

export function checkFacts(facts: unknown, table: typeof PROFILE_FACTS, where: string): Facts {
  if (typeof facts !== "object" || facts === null || Array.isArray(facts)) {
    throw new ProfileError("schema/type", where, "expected an object of facts");
  }
  for (const [k, f] of Object.entries(facts as Record<string, unknown>)) {
    const w = `${where}["${k}"]`;
    if (typeof f !== "object" || f === null || Array.isArray(f)) {
      throw new ProfileError("schema/type", w, 'expected {"value", "source"}');
    }
    const o = f as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!["value", "source", "note"].includes(key)) {
        throw new ProfileError("schema/key", `${w}.${key}`, "unknown key in a fact");
      }
    }
    if (!("value" in o) || o.value === null) {
      throw new ProfileError("schema/missing", `${w}.value`, "a fact needs a value");
    }
    checkSource(o.source, `${w}.source`);
    if (o.note !== undefined && typeof o.note !== "string") {
      throw new ProfileError("schema/type", `${w}.note`, "expected a string");
    }
    checkFactValue(k, o.value as Json, table, w);
  }
  return facts as Facts;
}

export function checkPatches(p: unknown, table: typeof PROFILE_FACTS, where: string): Patch[] {
  if (!Array.isArray(p)) {
    throw new ProfileError("schema/type", where, "expected an array of differences");
  }
  return p.map((d, i) => {
    const w = `${where}[${i}]`;
    if (typeof d !== "object" || d === null || Array.isArray(d)) {
      throw new ProfileError("schema/type", w, 'expected {"fact", "value", "source", "why"}');
    }
    const o = d as Record<string, unknown>;
    for (const key of Object.keys(o)) {
      if (!["fact", "value", "source", "why"].includes(key)) {
        throw new ProfileError("schema/key", `${w}.${key}`, "unknown key in a difference");
      }
    }
    if (typeof o.fact !== "string") {
      throw new ProfileError("schema/type", `${w}.fact`, "expected a fact key");
    }
    if (!("value" in o)) {
      throw new ProfileError(
        "schema/missing",
        `${w}.value`,
        "a difference needs a value (null removes)",
      );
    }
    if (typeof o.why !== "string" || o.why.trim() === "") {
      throw new ProfileError("schema/missing", `${w}.why`, "a difference needs a reason");
    }
    checkSource(o.source, `${w}.source`);
    checkFactValue(o.fact, o.value as Json, table, `${w} (${o.fact})`);
    return d as Patch;
  });
}

export function asFact(p: Patch): Fact {
  return { value: p.value, source: p.source, note: p.why };
}
