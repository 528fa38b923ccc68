/**
 * KVM_SET_ONE_REG on the target: one rule per register class, each naming the profile fact it
 * applies. Errnos are those the research or a capture supports; the rest say [U].
 */
import { COPROC, CORE_OFFSET, hex, regCoproc, SVE_VLS } from "../../snapshots/kvm/ids.ts";
import { regName } from "../../snapshots/kvm/names.ts";
import { VCPU_FEATURE } from "../../snapshots/model.ts";
import type { Errno, FactSource, Outcome } from "../findings.ts";
import { fieldsIn, getField } from "../profiles/idfields.ts";
import { timeline } from "../profiles/loader.ts";
import { OSLSR_EL1, PTIMER_CNT, regGroup, TIMER_CNT } from "../profiles/reggroups.ts";
import type { Target } from "../profiles/types.ts";
import { type DefaultValue, isIdSpace, psciVersionName } from "./defaults.ts";
import { fact, must } from "./facts.ts";
import { type Listed, whyUnlisted } from "./inventory.ts";

export interface Judgement {
  outcome: Outcome;
  errno?: Errno;
  reason: string;
  source?: FactSource;
  /** The value the target holds afterwards, when it is not simply the saved one (ok) or the old
   * one (failed/ignored). */
  held?: bigint;
}

export interface RegContext {
  t: Target;
  vcpu: number;
  features: number[];
  inventory: ReadonlyMap<bigint, Listed>;
  defaults: ReadonlyMap<bigint, DefaultValue>;
  finalized: boolean;
  counterOffsetApplied: boolean;
  /** The VM enabled KVM_CAP_ARM_WRITABLE_IMP_ID_REGS and the target accepted it. */
  impIdCap: boolean;
}

const ok = (reason: string, source?: FactSource, held?: bigint): Judgement => ({
  outcome: "ok",
  reason,
  source,
  held,
});
const fail = (errno: Errno, reason: string, source?: FactSource): Judgement => ({
  outcome: "failed",
  errno,
  reason,
  source,
});

/** The timeline row that first lists a register group, for "listed from X" explanations. */
function firstListed(group: string): { release: string; source: FactSource } | undefined {
  const row = timeline().find((c) => c.fact === `regs.${group}` && c.value !== null);
  return row ? { release: row.release, source: row.source } : undefined;
}

function groupOf(id: bigint): string | undefined {
  for (
    const g of [
      "pmu",
      "ptimer",
      "oslsr",
      "fw-wa3",
      "bmap",
      "bmap2",
      "tcr2-pie",
      "poe",
      "sctlr2",
      "sve",
      "pauth-address",
      "pauth-generic",
      "vregs",
    ]
  ) {
    if (regGroup(g)?.ids.includes(id)) return g;
  }
  return undefined;
}

/** Identification registers outside the ID space that KVM checks against the host. */
const INVARIANT_OR_ID = new Set(["MIDR_EL1", "REVIDR_EL1", "AIDR_EL1", "CTR_EL0", "CLIDR_EL1"]);

const ENOENT_SRC: FactSource = {
  cite:
    "sys_regs.c kvm_arm_sys_reg_set_reg returns -ENOENT for unlisted or hidden registers; a real Debian 6.1.176 returned ENOENT for CNTP_CTL_EL0 (tests/fixtures/oracle/)",
  confidence: "I",
};

function unlisted(c: RegContext, id: bigint): Judgement {
  const p = c.t.profile.id;
  if (regCoproc(id) === COPROC.DEMUX) {
    const f = must<string>(c.t.profile, "cache.demux");
    return fail(
      "ENOENT",
      `CSSELR ${
        Number(id & 0xffn)
      } names no cache level of the host's CLIDR_EL1, and ${p} accepts CCSIDR only for the host's cache levels (demux_c15_set: is_valid_cache)`,
      f.source,
    );
  }
  const why = whyUnlisted(c.t, id, c.features);
  const g = groupOf(id);
  const first = g ? firstListed(g) : undefined;
  const since = first && !fact(c.t.profile, `regs.${g}`)
    ? `; upstream lists it from ${first.release}`
    : "";
  return fail(
    "ENOENT",
    `not in ${p}'s KVM_GET_REG_LIST for this vCPU: ${why.reason}${since}`,
    why.source ?? first?.source ?? ENOENT_SRC,
  );
}

const PSCI_0_1 = 0x1n;

function psci(c: RegContext, value: bigint): Judgement {
  const acc = must<string[]>(c.t.profile, "psci.accepted");
  const name = psciVersionName(value);
  if (!c.features.includes(VCPU_FEATURE.PSCI_0_2)) {
    return value === PSCI_0_1
      ? ok("PSCI 0.1 for a vCPU without KVM_ARM_VCPU_PSCI_0_2", acc.source)
      : fail(
        "EINVAL",
        `PSCI ${name} needs KVM_ARM_VCPU_PSCI_0_2; only 0.1 is accepted without it`,
        acc.source,
      );
  }
  if (!acc.value.includes(name)) {
    return fail(
      "EINVAL",
      `${c.t.profile.id} accepts PSCI ${acc.value.join(", ")} for a PSCI_0_2 vCPU, not ${name}`,
      acc.source,
    );
  }
  return ok(`PSCI ${name} accepted`, acc.source);
}

const WA_SRC: FactSource = {
  cite:
    "arch/arm64/kvm/hypercalls.c kvm_arm_set_fw_reg (SMCCC_ARCH_WORKAROUND_1/2/3); research §3.2",
  confidence: "V",
};

function workaround(c: RegContext, n: number, value: bigint): Judgement {
  const d = c.defaults.get(0x6030_0000_0014_0000n | BigInt(n));
  if (d?.value === undefined) {
    return ok(
      `host ${c.t.host.id} does not give its workaround-${n} level: not checked [U]`,
      d?.source,
    );
  }
  const host = d.value;
  if (n === 2) {
    // WA2: level in bits [3:0] plus ENABLED (bit 4); ENABLED only with AVAIL (2).
    if (value & ~0x1fn) return fail("EINVAL", "bits outside level|ENABLED are set", WA_SRC);
    const lvl = value & 0xfn;
    if ((value & 0x10n) && lvl !== 2n) {
      return fail("EINVAL", "ENABLED is only valid with AVAIL", WA_SRC);
    }
    // NOT_AVAIL(0)/UNKNOWN(1) narrow to NOT_AVAIL; AVAIL(2)/NOT_REQUIRED(3) to NOT_REQUIRED.
    const mapped = lvl <= 1n ? 0n : 3n;
    const hostMapped = host <= 1n ? 0n : 3n;
    if (hostMapped < mapped) {
      return fail(
        "EINVAL",
        `saved level ${lvl} (narrowed to ${mapped}) promises more Spectre-v4 protection than host ${c.t.host.id} (${host})`,
        WA_SRC,
      );
    }
    return ok(
      "level accepted (KVM validates but stores nothing; the guest sees the host's level)",
      WA_SRC,
      host,
    );
  }
  if (value & ~0xfn) return fail("EINVAL", "bits outside [3:0] are set", WA_SRC);
  if (host < value) {
    return fail(
      "EINVAL",
      `saved level ${value} promises more protection than host ${c.t.host.id} gives (${host})`,
      WA_SRC,
    );
  }
  return ok(
    "level accepted (KVM validates but stores nothing; the guest sees the host's level)",
    WA_SRC,
    host,
  );
}

function bitmap(c: RegContext, n: number, value: bigint): Judgement {
  const f = fact<{ supported: number; reset: number }>(c.t.profile, `bitmap.${n}`);
  if (!f) {
    return fail("ENOENT", `${c.t.profile.id} has no hypercall bitmap register ${n}`, ENOENT_SRC);
  }
  const extra = value & ~BigInt(f.value.supported);
  if (extra) {
    return fail(
      "EINVAL",
      `bits ${hex(extra)} are not supported by ${c.t.profile.id} (supported ${
        hex(f.value.supported)
      })`,
      f.source,
    );
  }
  return ok(`bits within the supported set ${hex(f.value.supported)}`, f.source);
}

/** ID_AA64PFR0_EL1: its EL0 field says whether the host runs AArch32 at EL0. */
const ID_AA64PFR0_EL1 = 0x603000000013c020n;

/**
 * A register setter's own field checks (`idcheck.<REG>.<FIELD>`, from the kernel's source): they
 * run before any comparison with the target's value. The AArch32 ID registers (CRm 1-3) are
 * RAZ and ignore userspace writes on a host without AArch32 at EL0 (aa32_id_visibility), so
 * their setters never run there.
 */
function setterCheck(c: RegContext, name: string, value: bigint): Judgement | undefined {
  const p = c.t.profile;
  const prefix = `idcheck.${name}.`;
  const checks = Object.keys(p.facts).filter((k) => k.startsWith(prefix));
  if (checks.length === 0) return undefined;
  if (/^(ID_(PFR|DFR|MMFR|ISAR|AFR)\d_EL1|MVFR\d_EL1)$/.test(name)) {
    const pfr0 = c.defaults.get(ID_AA64PFR0_EL1)?.value;
    if (pfr0 !== undefined && (pfr0 & 0xfn) < 2n) return undefined;
  }
  for (const k of checks) {
    const f = must<{ min: number; zeroOk?: boolean }>(p, k);
    const field = fieldsIn(name, ~0n).find((x) => x.field === k.slice(prefix.length));
    if (!field) continue;
    const v = getField(value, field);
    if (v < f.value.min && !(f.value.zeroOk && v === 0)) {
      return fail(
        "EINVAL",
        `${name}.${field.field} is ${v}; ${p.id} refuses values below ${f.value.min}${
          f.value.zeroOk ? " (other than 0)" : ""
        } whatever the target's value`,
        f.source,
      );
    }
  }
  return undefined;
}

/** ID registers: only the fields the profile lists as writable may differ from the target's value. */
function idReg(c: RegContext, id: bigint, value: bigint): Judgement {
  const p = c.t.profile;
  const name = regName(id);
  const d = c.defaults.get(id);
  if (d?.value === undefined) {
    return ok(`target value unknown (${d?.how ?? "no default"}): not checked [U]`, d?.source);
  }
  const target = d.value;
  const refused = setterCheck(c, name, value);
  if (refused) return refused;
  const policyFact = fact<string>(p, `idwrite.${name}`) ?? must<string>(p, "idwrite.default");
  const policy = policyFact.value;
  if (policy === "any") return ok(`${name} is writable`, policyFact.source);
  if (value === target) return ok(`equals the target's value`, d.source);
  if (["MIDR_EL1", "REVIDR_EL1", "AIDR_EL1"].includes(name) && c.impIdCap) {
    const cap = must<boolean>(p, "impid.writableCap");
    return ok(`writable: the VM enabled KVM_CAP_ARM_WRITABLE_IMP_ID_REGS`, cap.source);
  }
  if (policy === "validated-clidr") {
    // set_clidr: RES0 bits, or a hierarchy that needs no cleaning while CTR_EL0.IDC is 0.
    const ctr = c.defaults.get(0x603000000013d801n)?.value;
    const loc = (value >> 24n) & 7n;
    const louis = (value >> 21n) & 7n;
    const louu = (value >> 27n) & 7n;
    const idc = loc === 0n || (louis === 0n && louu === 0n);
    if (value >> 47n) {
      return fail("EINVAL", "CLIDR_EL1 RES0 bits [63:47] are set", policyFact.source);
    }
    if (ctr !== undefined && !(ctr & (1n << 28n)) && idc) {
      return fail(
        "EINVAL",
        "the CLIDR_EL1 hierarchy implies no data-cache cleaning to the PoU but the target's CTR_EL0.IDC is 0",
        policyFact.source,
      );
    }
    return ok(
      `CLIDR_EL1 is writable on ${p.id} and the value is consistent with CTR_EL0`,
      policyFact.source,
    );
  }
  const diff = value ^ target;
  const bad: string[] = [];
  const writable: string[] = [];
  let src = policyFact.source;
  for (const f of fieldsIn(name, diff)) {
    const w = fact<string>(p, `idwrite.${name}.${f.field}`);
    const sv = getField(value, f);
    const tv = getField(target, f);
    if (w?.value === "lower-safe" && sv <= tv) {
      writable.push(`${f.field} ${sv} ≤ ${tv}`);
      continue;
    }
    if (w?.value === "higher-safe" && sv >= tv) {
      writable.push(`${f.field} ${sv} ≥ ${tv}`);
      continue;
    }
    if (w) {
      bad.push(`field ${f.field}: ${sv} > ${tv} (${w.value})`);
      src = w.source;
    } else bad.push(`field ${f.field}: ${sv} ≠ ${tv}`);
  }
  if (bad.length === 0) {
    return ok(`writable fields lowered within the target's limits (${writable.join(", ")})`, src);
  }
  const allowed = Object.keys(p.facts).filter((k) => k.startsWith(`idwrite.${name}.`)).map((k) =>
    k.slice(`idwrite.${name}.`.length)
  );
  const rule = allowed.length
    ? `only ${allowed.join(", ")} may differ`
    : name === "MIDR_EL1" || name === "REVIDR_EL1" || name === "AIDR_EL1" || name === "CTR_EL0" ||
        name === "CLIDR_EL1"
    ? "it is invariant (must equal the host's value)"
    : "no field is writable";
  return fail(
    "EINVAL",
    `${p.id} rejects a value that differs from the target's ${hex(target)} [${d.how}] (${
      bad.join("; ")
    }); ${rule}`,
    src,
  );
}

function ccsidr(c: RegContext, id: bigint, value: bigint): Judgement {
  const w = must<boolean>(c.t.profile, "cache.writable");
  const d = c.defaults.get(id);
  if (!w.value) {
    if (d?.value === undefined) return ok(`host CCSIDR unknown: not checked [U]`, d?.source);
    return value === d.value ? ok("equals the physical CCSIDR", w.source) : fail(
      "EINVAL",
      `${c.t.profile.id} accepts only the physical CPU's CCSIDR (${hex(d.value)}) for CSSELR ${
        Number(id & 0xffn)
      }`,
      w.source,
    );
  }
  // set_ccsidr: the line size may not be below the minimum line size (RES0 is bits [63:32]).
  const min = d?.value === undefined ? undefined : d.value & 7n;
  if (min !== undefined && (value & 7n) < min) {
    return fail("EINVAL", `LineSize ${value & 7n} is below the minimum line size ${min}`, w.source);
  }
  return ok(`CCSIDR writable on ${c.t.profile.id}`, w.source);
}

const TIMER_SRC: FactSource = {
  cite:
    "Documentation/virt/kvm/api.rst §4.138: after KVM_ARM_SET_COUNTER_OFFSET, SET_ONE_REG of CNTVCT/CNTPCT is ignored",
  confidence: "V",
};

export function evalOneReg(c: RegContext, id: bigint, value: bigint): Judgement {
  const p = c.t.profile;
  if (id === SVE_VLS) {
    if (!c.features.includes(VCPU_FEATURE.SVE)) return unlisted(c, id);
    if (c.finalized) {
      return fail("EPERM", "KVM_REG_ARM64_SVE_VLS after KVM_ARM_VCPU_FINALIZE", {
        cite: "get-reg-list.c sve sublist; api.rst KVM_ARM_VCPU_FINALIZE",
        confidence: "V",
      });
    }
    const vqs = (c.t.host.facts["sve.vqs"]?.value as number[] | undefined) ?? [];
    for (let vq = 1; vq <= 512; vq++) {
      if ((value >> BigInt(vq - 1)) & 1n && !vqs.includes(vq)) {
        return fail(
          "EINVAL",
          `vector length ${vq * 128} bits is not supported by host ${c.t.host.id}`,
          c.t.host.facts["sve.vqs"]?.source,
        );
      }
    }
    return ok("vector lengths supported by the host", c.t.host.facts["sve.vqs"]?.source);
  }
  // V0-V31 are not accepted for SVE vCPUs (api.rst); the errno is from memory.
  if (
    regCoproc(id) === COPROC.CORE && c.features.includes(VCPU_FEATURE.SVE) &&
    (id & 0xffffn) >= BigInt(CORE_OFFSET.v(0)) && (id & 0xffffn) < BigInt(CORE_OFFSET.FPSR)
  ) {
    return fail("EINVAL", "V registers are not accepted for SVE-enabled vCPUs [U errno]", {
      cite: "Documentation/virt/kvm/api.rst: V0-V31 not accepted for SVE-enabled vCPUs",
      confidence: "U",
    });
  }
  const listed = c.inventory.get(id);
  if (!listed) return unlisted(c, id);
  const coproc = regCoproc(id);
  if (coproc === COPROC.FW) {
    const n = Number(id & 0xffffn);
    if (n === 0) return psci(c, value);
    return workaround(c, n, value);
  }
  if (coproc === COPROC.FW_FEAT_BMAP) return bitmap(c, Number(id & 0xffffn), value);
  if (coproc === COPROC.DEMUX) return ccsidr(c, id, value);
  if (isIdSpace(id) || INVARIANT_OR_ID.has(regName(id))) return idReg(c, id, value);
  if (id === TIMER_CNT || id === PTIMER_CNT) {
    if (c.counterOffsetApplied) {
      return {
        outcome: "ignored",
        reason:
          "written after KVM_ARM_SET_COUNTER_OFFSET: the write is ignored and the VM-wide offset stands",
        source: TIMER_SRC,
      };
    }
    return ok(
      id === TIMER_CNT
        ? "sets the virtual counter offset (CNTVOFF) for every vCPU of the VM"
        : "sets the physical counter offset",
      listed.source,
    );
  }
  if (id === OSLSR_EL1) {
    const d = c.defaults.get(id)?.value ?? 0x8n;
    if ((value ^ d) & ~0x2n) {
      return fail("EINVAL", `only OSLK (bit 1) may differ from ${hex(d)} [U]`, {
        cite: "sys_regs.c set_oslsr_el1",
        confidence: "U",
      });
    }
    return ok("OS lock state restored", listed.source);
  }
  if (id === 0x603000000013c005n) {
    return ok("MPIDR_EL1 is writable", fact(p, "idwrite.MPIDR_EL1")?.source);
  }
  return ok(`listed by ${p.id}; the value is stored`, listed.source);
}
