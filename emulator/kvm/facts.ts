/** Typed reads of profile facts for the restore model; each returns the fact's source too. */
import type { FactSource } from "../findings.ts";
import type { Fact, Json, Profile } from "../profiles/types.ts";

export function fact<T extends Json>(p: Profile, key: string): Fact<T> | undefined {
  return p.facts[key] as Fact<T> | undefined;
}

/** A fact the timeline baseline always defines; a user profile that deletes it is an error. */
export function must<T extends Json>(p: Profile, key: string): Fact<T> {
  const f = p.facts[key];
  if (!f) throw new Error(`profile ${p.id} lacks the fact "${key}"`);
  return f as Fact<T>;
}

export const UNMODELLED: FactSource = {
  cite: "not in rollsafe's research; outcome not predicted",
  confidence: "U",
};
