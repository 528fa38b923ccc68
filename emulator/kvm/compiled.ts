/**
 * A target compiled once into lookup tables: the register inventory (KVM_GET_REG_LIST) per vCPU
 * feature set and the fresh-vCPU register defaults per feature set and vCPU index. Deriving
 * them walks every listed register through the profile and host facts; a restore then only
 * looks them up. Compiled targets are cached by the profile's and host's content digests (the
 * digests a verdict binds), so the same target in the next request, or a user profile with the
 * same bytes, costs nothing; a resolved Target is never modified after resolution.
 */
import type { Target } from "../target.ts";
import { type DefaultValue, targetDefaultsDetailed } from "./defaults.ts";
import { type Listed, regInventory } from "./inventory.ts";

export interface CompiledTarget {
  /** The predicted KVM_GET_REG_LIST for vCPUs created with `features` (shared: do not mutate). */
  inventory(features: readonly number[]): ReadonlyMap<bigint, Listed>;
  /** A fresh vCPU's registers (shared: do not mutate). */
  defaults(features: readonly number[], vcpuIndex: number): ReadonlyMap<bigint, DefaultValue>;
}

/** Most compiled targets kept; the least recently used goes first (user targets are many). */
const MAX_COMPILED = 64;
const cache = new Map<string, CompiledTarget>();

/** The digest key of a target: what it was compiled from. */
export function targetKey(t: Target): string {
  return `${t.profile.id}:${t.profile.digest}@${t.host.id}:${t.host.digest}`;
}

export function compileTarget(t: Target): CompiledTarget {
  const key = targetKey(t);
  const hit = cache.get(key);
  if (hit) {
    cache.delete(key);
    cache.set(key, hit);
    return hit;
  }
  const inventories = new Map<string, Map<bigint, Listed>>();
  const defaults = new Map<string, Map<bigint, DefaultValue>>();
  const compiled: CompiledTarget = {
    inventory(features) {
      const k = features.join(",");
      let m = inventories.get(k);
      if (!m) inventories.set(k, m = regInventory(t, [...features]));
      return m;
    },
    defaults(features, vcpuIndex) {
      const k = `${features.join(",")}/${vcpuIndex}`;
      let m = defaults.get(k);
      if (!m) defaults.set(k, m = targetDefaultsDetailed(t, [...features], vcpuIndex));
      return m;
    },
  };
  cache.set(key, compiled);
  if (cache.size > MAX_COMPILED) cache.delete(cache.keys().next().value!);
  return compiled;
}
