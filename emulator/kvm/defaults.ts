/**
 * What a target kernel holds in a fresh vCPU: `targetDefaults(target, features)` gives every
 * listed register's value after KVM_ARM_VCPU_INIT (the drift stage configures emulator machines
 * from it). Registers whose value depends on elapsed time (TIMER_CNT, PTIMER_CNT) or on host data
 * the host file does not give are left out; `targetDefaultsDetailed` says why for each.
 */
import {
  COPROC,
  core,
  CORE_OFFSET,
  fwReg,
  regCoproc,
  SVE_VLS,
  sysreg,
  sysregFields,
} from "../../snapshots/kvm/ids.ts";
import { regName } from "../../snapshots/kvm/names.ts";
import { VCPU_FEATURE } from "../../snapshots/model.ts";
import type { FactSource } from "../findings.ts";
import { hostHex, hostNum } from "../hosts/loader.ts";
import { getField, ID_FIELDS, idField, setField } from "../profiles/idfields.ts";
import {
  OSLSR_EL1,
  PTIMER_CNT,
  PTIMER_CTL,
  PTIMER_CVAL,
  TIMER_CNT,
  TIMER_CTL,
  TIMER_CVAL,
} from "../profiles/reggroups.ts";
import type { Target } from "../profiles/types.ts";
import { fact, must } from "./facts.ts";
import { regInventory } from "./inventory.ts";
import { pmuReset, RESET_PSTATE, RESET_SOURCE, tableReset } from "./resets.ts";

export interface DefaultValue {
  value?: bigint;
  /** Why the value is what it is (or why it is unknown). */
  how: string;
  source: FactSource;
  /** The fact keys the value was derived from: profile facts, and host facts as "host:<key>". */
  facts?: string[];
}

const HOST_SRC = (t: Target, key: string): FactSource =>
  t.host.facts[key]?.source ??
    { cite: `host ${t.host.id} does not give "${key}"`, confidence: "U" };

/** Names of the ID registers whose host values the host file carries as idreg.<NAME>. */
export function isIdSpace(id: bigint): boolean {
  if (regCoproc(id) !== COPROC.SYSREG) return false;
  const f = sysregFields(id);
  return f.op0 === 3 && f.op1 === 0 && f.crn === 0 && f.crm >= 1 && f.crm <= 7;
}

const FEATURE_OF: Record<string, number> = {
  pmu: VCPU_FEATURE.PMU_V3,
  sve: VCPU_FEATURE.SVE,
  "ptrauth-address": VCPU_FEATURE.PTRAUTH_ADDRESS,
  "ptrauth-generic": VCPU_FEATURE.PTRAUTH_GENERIC,
};

interface ShowRule {
  cap?: number;
  zero?: boolean;
  zeroWithout?: string;
}

/** The guest's value of an ID register: the host's, sanitised by the profile's idshow rules. */
export function idRegDefault(t: Target, id: bigint, features: number[]): DefaultValue {
  const name = regName(id);
  const hostKey = `idreg.${name}`;
  let v = hostHex(t.host, hostKey);
  if (v === undefined) {
    if (/^S3_0_C0_C[1-7]_[0-7]$/.test(name)) {
      return { value: 0n, how: "unallocated ID register: RAZ", source: RESET_SOURCE, facts: [] };
    }
    return {
      how: `host ${t.host.id} does not give ${name}`,
      source: HOST_SRC(t, hostKey),
      facts: [`host:${hostKey}`],
    };
  }
  const applied: string[] = [];
  const used = [`host:${hostKey}`];
  let source = HOST_SRC(t, hostKey);
  for (const [key, f] of Object.entries(t.profile.facts)) {
    if (!key.startsWith(`idshow.${name}.`)) continue;
    used.push(key);
    const field = key.slice(`idshow.${name}.`.length);
    const r = f.value as ShowRule;
    const hidden = r.zero ||
      (r.zeroWithout !== undefined && !features.includes(FEATURE_OF[r.zeroWithout]));
    if (field === "*") {
      if (hidden) {
        v = 0n;
        applied.push(`${name} hidden`);
        source = f.source;
      }
      continue;
    }
    const fd = idField(name, field) ?? ID_FIELDS.find((x) => x.reg === name && x.field === field);
    if (!fd) continue;
    const before = getField(v, fd);
    let after = before;
    if (hidden) after = 0;
    else if (r.cap !== undefined && before > r.cap) after = r.cap;
    if (after !== before) {
      v = setField(v, fd, after);
      applied.push(`${field} ${before}→${after}`);
      source = f.source;
    }
  }
  return {
    value: v,
    how: applied.length ? `host value sanitised (${applied.join(", ")})` : "host value",
    source,
    facts: used,
  };
}

const CTR_IDC = 1n << 28n;
const CTR_DIC = 1n << 29n;

/** 7af0c2534f4c reset_clidr: a CLIDR_EL1 fabricated from the sanitised CTR_EL0 (MTE not modelled). */
export function fabricatedClidr(ctr: bigint): bigint {
  let clidr: bigint;
  let loc: bigint;
  if (ctr & CTR_IDC) {
    loc = ctr & CTR_DIC ? 1n : 2n;
    clidr = 4n << (3n * (loc - 1n)); // CACHE_TYPE_UNIFIED at LoC
  } else {
    loc = 1n;
    clidr = (1n << 27n) | (1n << 21n) | 2n; // LoUU = LoUIS = 1, L1 data cache
  }
  if (!(ctr & CTR_DIC)) clidr |= 1n; // L1 instruction cache (CACHE_TYPE_INST)
  return clidr | (loc << 24n);
}

/** 7af0c2534f4c get_ccsidr: LineSize from the minimum line size, NumSets = Associativity = 0. */
export function fabricatedCcsidr(ctr: bigint, csselr: number): bigint {
  const log2Words = csselr & 1 ? Number(ctr & 0xfn) : Number((ctr >> 16n) & 0xfn);
  return BigInt(log2Words + 2 - 4);
}

/** reset_mpidr: Aff0 = vcpu_id[3:0], Aff1 = vcpu_id[11:4], Aff2 = vcpu_id[19:12], bit 31 RES1. */
export function resetMpidr(vcpuIndex: number): bigint {
  return (1n << 31n) | BigInt(vcpuIndex & 0xf) | (BigInt((vcpuIndex >> 4) & 0xff) << 8n) |
    (BigInt((vcpuIndex >> 12) & 0xff) << 16n);
}

export function psciVersionValue(v: string): bigint {
  const [maj, min] = v.split(".").map(Number);
  return (BigInt(maj) << 16n) | BigInt(min);
}

export function psciVersionName(v: bigint): string {
  return `${v >> 16n}.${v & 0xffffn}`;
}

/** One register's default on the target. */
export function registerDefault(
  t: Target,
  id: bigint,
  features: number[],
  vcpuIndex = 0,
): DefaultValue {
  const p = t.profile;
  const name = regName(id);
  if (isIdSpace(id)) return idRegDefault(t, id, features);
  const hostReg = (key: string, what: string): DefaultValue => {
    const v = hostHex(t.host, key);
    return v === undefined
      ? {
        how: `host ${t.host.id} does not give ${what}`,
        source: HOST_SRC(t, key),
        facts: [`host:${key}`],
      }
      : { value: v, how: `host ${what}`, source: HOST_SRC(t, key), facts: [`host:${key}`] };
  };
  switch (id) {
    case sysreg(3, 0, 0, 0, 0):
      return hostReg("midr", "MIDR_EL1");
    case sysreg(3, 0, 0, 0, 6):
      return hostReg("revidr", "REVIDR_EL1");
    case sysreg(3, 1, 0, 0, 7):
      return hostReg("aidr", "AIDR_EL1");
    case sysreg(3, 3, 0, 0, 1):
      return hostReg("ctr", "CTR_EL0");
    case sysreg(3, 0, 0, 0, 5):
      return { value: resetMpidr(vcpuIndex), how: "reset_mpidr", source: RESET_SOURCE, facts: [] };
    case sysreg(3, 1, 0, 0, 1): {
      const f = must<string>(p, "cache.clidr");
      if (f.value === "physical") {
        return {
          ...hostReg("cache.clidr", "CLIDR_EL1"),
          source: f.source,
          facts: ["cache.clidr", "host:cache.clidr"],
        };
      }
      if (f.value === "host-reported") {
        return {
          ...hostReg("cache.reportedClidr", "CLIDR_EL1 as reported"),
          source: f.source,
          facts: ["cache.clidr", "host:cache.reportedClidr"],
        };
      }
      const ctr = hostHex(t.host, "ctr");
      return ctr === undefined
        ? {
          how: "fabricated from CTR_EL0, which the host does not give",
          source: f.source,
          facts: ["cache.clidr", "host:ctr"],
        }
        : {
          value: fabricatedClidr(ctr),
          how: "fabricated from CTR_EL0",
          source: f.source,
          facts: ["cache.clidr", "host:ctr"],
        };
    }
    case TIMER_CTL:
    case PTIMER_CTL: {
      const f = must<boolean>(p, "timer.ctlIstatusWhenDisabled");
      return {
        value: f.value ? 4n : 0n,
        how: f.value ? "ENABLE=0, ISTATUS=1" : "0",
        source: f.source,
        facts: ["timer.ctlIstatusWhenDisabled"],
      };
    }
    case TIMER_CVAL:
    case PTIMER_CVAL:
      return { value: 0n, how: "reset 0", source: RESET_SOURCE, facts: [] };
    case TIMER_CNT:
    case PTIMER_CNT:
      return { how: "the counter depends on elapsed time", source: RESET_SOURCE, facts: [] };
    case OSLSR_EL1:
      return {
        value: 0x8n,
        how: "OSLM implemented, OS lock clear",
        source: RESET_SOURCE,
        facts: [],
      };
    case sysreg(3, 3, 9, 12, 0): {
      const f = must<string>(p, "pmu.pmcrReset");
      const n = hostNum(t.host, "pmu.counters");
      if (f.value === "n-only" && features.includes(VCPU_FEATURE.PMU_V3)) {
        return n === undefined
          ? {
            how: "N alone, which the host does not give",
            source: f.source,
            facts: ["pmu.pmcrReset", "host:pmu.counters"],
          }
          : {
            value: BigInt(n) << 11n,
            how: `N=${n} alone`,
            source: f.source,
            facts: ["pmu.pmcrReset", "host:pmu.counters"],
          };
      }
      return {
        ...hostReg("pmu.pmcr", "PMCR_EL0 reset value"),
        facts: ["pmu.pmcrReset", "host:pmu.pmcr"],
      };
    }
    case core(CORE_OFFSET.PSTATE):
      return { value: RESET_PSTATE, how: "EL1h, DAIF masked", source: RESET_SOURCE, facts: [] };
    case SVE_VLS: {
      const vqs = (t.host.facts["sve.vqs"]?.value as number[] | undefined) ?? [];
      let bits = 0n;
      for (const vq of vqs) bits |= 1n << BigInt(vq - 1);
      return {
        value: bits,
        how: "every vector length the host supports",
        source: HOST_SRC(t, "sve.vqs"),
      };
    }
  }
  switch (regCoproc(id)) {
    case COPROC.DEMUX: {
      const csselr = Number(id & 0xffn);
      const f = must<string>(p, "cache.ccsidr");
      if (f.value === "physical") {
        return {
          ...hostReg(`cache.ccsidr.${csselr}`, `CCSIDR for CSSELR ${csselr}`),
          source: f.source,
          facts: ["cache.ccsidr", `host:cache.ccsidr.${csselr}`],
        };
      }
      const ctr = hostHex(t.host, "ctr");
      return ctr === undefined
        ? { how: "fabricated from CTR_EL0, which the host does not give", source: f.source }
        : {
          value: fabricatedCcsidr(ctr, csselr),
          how: "fabricated from the minimum line size",
          source: f.source,
          facts: ["cache.ccsidr", "host:ctr"],
        };
    }
    case COPROC.FW: {
      const n = Number(id & 0xffffn);
      if (n === 0) {
        const f = must<string>(p, "psci.default");
        const v = features.includes(VCPU_FEATURE.PSCI_0_2) ? f.value : "0.1";
        return {
          value: psciVersionValue(v),
          how: `PSCI ${v}`,
          source: f.source,
          facts: ["psci.default"],
        };
      }
      const lvl = hostNum(t.host, `smccc.wa${n}`);
      return lvl === undefined
        ? {
          how: `host ${t.host.id} does not give its workaround-${n} level`,
          source: HOST_SRC(t, `smccc.wa${n}`),
          facts: [`host:smccc.wa${n}`],
        }
        : {
          value: BigInt(lvl),
          how: `host level`,
          source: HOST_SRC(t, `smccc.wa${n}`),
          facts: [`host:smccc.wa${n}`],
        };
    }
    case COPROC.FW_FEAT_BMAP: {
      const f = fact<{ supported: number; reset: number }>(p, `bitmap.${Number(id & 0xffffn)}`);
      return f
        ? {
          value: BigInt(f.value.reset),
          how: "reset value",
          source: f.source,
          facts: [`bitmap.${Number(id & 0xffffn)}`],
        }
        : { how: "no such bitmap", source: RESET_SOURCE };
    }
  }
  if (features.includes(VCPU_FEATURE.PMU_V3)) {
    const n = hostNum(t.host, "pmu.counters");
    const v = n === undefined ? undefined : pmuReset(id, n);
    if (v !== undefined) {
      return {
        value: v,
        how: `PMU reset masked to ${n} counters`,
        source: RESET_SOURCE,
        facts: ["host:pmu.counters"],
      };
    }
  }
  const r = tableReset(id);
  return {
    value: r ?? 0n,
    how: r === undefined ? "reset 0" : `reset ${name}`,
    source: RESET_SOURCE,
  };
}

/** Every listed register of a fresh vCPU with its default and how it was derived. */
export function targetDefaultsDetailed(
  t: Target,
  features: number[],
  vcpuIndex = 0,
): Map<bigint, DefaultValue> {
  const out = new Map<bigint, DefaultValue>();
  for (const id of regInventory(t, features).keys()) {
    out.set(id, registerDefault(t, id, features, vcpuIndex));
  }
  return out;
}

/**
 * A fresh vCPU's register values on the target (KVM_GET_ONE_REG after KVM_ARM_VCPU_INIT with
 * `features`). Registers whose value is time-dependent or unknown for this host are omitted.
 */
export function targetDefaults(t: Target, features: number[], vcpuIndex = 0): Map<bigint, bigint> {
  const out = new Map<bigint, bigint>();
  for (const [id, d] of targetDefaultsDetailed(t, features, vcpuIndex)) {
    if (d.value !== undefined) out.set(id, d.value);
  }
  return out;
}

export { fwReg };
