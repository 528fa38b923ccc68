/**
 * Kernel profiles and hosts are data: every statement about a kernel build or a CPU is a `Fact`
 * (a value plus where it comes from). A profile is a map of fact keys to facts; vendor builds and
 * behaviour variants are patches over a base profile, so every difference carries its evidence.
 */
import type { FactSource } from "../findings.ts";

export type { FactSource };

/** JSON value a fact may hold. */
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** One fact: a value and its citation. `note` says what is uncertain or how it was derived. */
export interface Fact<T extends Json = Json> {
  value: T;
  source: FactSource;
  note?: string;
}

export type Facts = Record<string, Fact>;

/**
 * A change to one fact: a row of the upstream timeline, a vendor difference or a variant.
 * `value: null` removes the fact (e.g. a register group that is no longer listed).
 */
export interface Patch {
  fact: string;
  value: Json;
  source: FactSource;
  /** One sentence: what changes and why. */
  why: string;
}

export type ProfileKind = "upstream" | "vendor" | "variant" | "custom";

/** A profile as written in a data file (or supplied by a user). */
export interface ProfileFile {
  id: string;
  kind: "upstream" | "vendor" | "custom";
  title: string;
  /** Upstream release this build is ("6.1"); upstream profiles take the timeline up to it. */
  release?: string;
  /** Exact kernel release string of the build, when known ("6.1.172-216.329.amzn2023.aarch64"). */
  kernel?: string;
  /** Vendor and custom profiles: the profile they patch. */
  base?: string;
  /** Vendor and custom profiles: the differences from `base`, each with evidence. */
  differences?: Patch[];
}

/** A behaviour variant: a named patch that composes with any base (`<base>+<variant>`). */
export interface VariantFile {
  id: string;
  title: string;
  differences: Patch[];
}

/** A profile with every patch applied: what the restore model and the CLI use. */
export interface Profile {
  id: string;
  kind: ProfileKind;
  title: string;
  release: string;
  kernel?: string;
  /** Profiles this one is built from, oldest first (e.g. ["linux-6.1", "amzn2023-6.1"]). */
  lineage: string[];
  /** Every patch applied on top of the upstream release, in order, with its evidence. */
  differences: Patch[];
  facts: Facts;
  /** SHA-256 (hex) of the canonical JSON of `facts` and the identity fields. */
  digest: string;
}

/** A host CPU as written in a data file: facts about what the hardware gives. */
export interface HostFile {
  id: string;
  title: string;
  facts: Facts;
}

export interface Host extends HostFile {
  digest: string;
}

/** A profile on a host: what `check` evaluates against. */
export interface Target {
  /** "<profile>@<host>" */
  id: string;
  profile: Profile;
  host: Host;
}

/** Thrown for an invalid profile, host or target; names what, where and why. */
export class ProfileError extends Error {
  override name = "ProfileError";
  constructor(
    readonly code: string,
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail} [${code}]`);
  }
}
