/**
 * The KVM_GET_REG_LIST inventory a target predicts for a vCPU: the register groups its profile
 * lists under conditions on the vCPU's features and the host's, plus the CCSIDR demux ids the
 * profile's cache rule gives for the host.
 */
import { VCPU_FEATURE } from "../../snapshots/model.ts";
import { demuxCcsidr } from "../../snapshots/kvm/ids.ts";
import type { FactSource } from "../findings.ts";
import { CSSELR_MAX, REG_GROUPS } from "../profiles/reggroups.ts";
import type { Condition } from "../profiles/schema.ts";
import type { Target } from "../profiles/types.ts";
import { hostBool, hostHex } from "../hosts/loader.ts";
import { fact, must } from "./facts.ts";

export interface Listed {
  group: string;
  source: FactSource;
}

export function conditionHolds(c: Condition, features: number[], t: Target): boolean {
  const has = (b: number) => features.includes(b);
  switch (c) {
    case "always":
      return true;
    case "vcpu:pmu":
      return has(VCPU_FEATURE.PMU_V3);
    case "vcpu:sve":
      return has(VCPU_FEATURE.SVE);
    case "vcpu:no-sve":
      return !has(VCPU_FEATURE.SVE);
    case "vcpu:ptrauth-address":
      return has(VCPU_FEATURE.PTRAUTH_ADDRESS);
    case "vcpu:ptrauth-generic":
      return has(VCPU_FEATURE.PTRAUTH_GENERIC);
    default:
      return hostBool(t.host, `feature.${c.slice("host:".length)}`);
  }
}

/** CSSELR values naming caches in a CLIDR_EL1 (Ctype<n>: 1 I, 2 D, 3 separate, 4 unified). */
export function csselrsOfClidr(clidr: bigint): number[] {
  const out: number[] = [];
  for (let level = 0; level < 7; level++) {
    const ctype = Number((clidr >> BigInt(3 * level)) & 7n);
    if (ctype === 0) break;
    if (ctype === 2 || ctype === 3 || ctype === 4) out.push(level * 2);
    if (ctype === 1 || ctype === 3) out.push(level * 2 + 1);
  }
  return out;
}

/** Which CCSIDR demux CSSELRs the target lists, or undefined if the host's CLIDR is unknown. */
export function demuxCsselrs(t: Target): { csselrs: number[] | undefined; source: FactSource } {
  const f = must<string>(t.profile, "cache.demux");
  if (f.value === "all-csselr") {
    return { csselrs: Array.from({ length: CSSELR_MAX }, (_, i) => i), source: f.source };
  }
  const clidr = hostHex(t.host, "cache.clidr");
  return { csselrs: clidr === undefined ? undefined : csselrsOfClidr(clidr), source: f.source };
}

/** id → the group (and fact) that lists it, for a vCPU with `features`. */
export function regInventory(t: Target, features: number[]): Map<bigint, Listed> {
  const out = new Map<bigint, Listed>();
  for (const g of REG_GROUPS) {
    const f = fact<{ when: Condition }>(t.profile, `regs.${g.name}`);
    if (!f || !conditionHolds(f.value.when, features, t)) continue;
    if (g.name === "demux-ccsidr") {
      const d = demuxCsselrs(t);
      for (const c of d.csselrs ?? []) out.set(demuxCcsidr(c), { group: g.name, source: d.source });
      continue;
    }
    for (const id of g.ids) out.set(id, { group: g.name, source: f.source });
  }
  return out;
}

/** Why an id is not listed: the group's fact (present but its condition fails) or its absence. */
export function whyUnlisted(
  t: Target,
  id: bigint,
  features: number[],
): { reason: string; source?: FactSource } {
  for (const g of REG_GROUPS) {
    if (!g.ids.includes(id)) continue;
    const f = fact<{ when: Condition }>(t.profile, `regs.${g.name}`);
    if (!f) {
      return { reason: `${t.profile.id} does not list the ${g.name} registers (${g.summary})` };
    }
    return {
      reason:
        `${t.profile.id} lists the ${g.name} registers only when ${f.value.when} holds (vCPU features [${
          features.join(",")
        }], host ${t.host.id})`,
      source: f.source,
    };
  }
  return { reason: `${t.profile.id} lists no such register` };
}
