/**
 * Loads kernel profiles: the upstream timeline (data/timeline.json), the built-in profile files
 * (data/*.json), behaviour variants (data/variants/*.json), and user-supplied profile files or
 * inline JSON. `resolveProfile("linux-6.1+iidr-rev1")` gives the fully patched profile.
 */
import timelineData from "./data/timeline.json" with { type: "json" };
import linux510 from "./data/linux-5.10.json" with { type: "json" };
import linux515 from "./data/linux-5.15.json" with { type: "json" };
import linux61 from "./data/linux-6.1.json" with { type: "json" };
import linux66 from "./data/linux-6.6.json" with { type: "json" };
import linux612 from "./data/linux-6.12.json" with { type: "json" };
import linux618 from "./data/linux-6.18.json" with { type: "json" };
import linux70 from "./data/linux-7.0.json" with { type: "json" };
import linux613 from "./data/linux-6.13.json" with { type: "json" };
import linux614 from "./data/linux-6.14.json" with { type: "json" };
import linux615 from "./data/linux-6.15.json" with { type: "json" };
import linux616 from "./data/linux-6.16.json" with { type: "json" };
import linux617 from "./data/linux-6.17.json" with { type: "json" };
import linux619 from "./data/linux-6.19.json" with { type: "json" };
import linux71 from "./data/linux-7.1.json" with { type: "json" };
import linux72 from "./data/linux-7.2.json" with { type: "json" };
import amzn2_510 from "./data/amzn2-5.10.json" with { type: "json" };
import amzn2023_61 from "./data/amzn2023-6.1.json" with { type: "json" };
import amzn2023_618 from "./data/amzn2023-6.18.json" with { type: "json" };
import debian61 from "./data/debian-6.1.json" with { type: "json" };
import debian612 from "./data/debian-6.12.json" with { type: "json" };
import iidrFix from "./data/variants/iidr-fix.json" with { type: "json" };
import groupsRevert from "./data/variants/groups-revert.json" with { type: "json" };
import iidrRev1 from "./data/variants/iidr-rev1.json" with { type: "json" };
import counterOffset from "./data/variants/counter-offset.json" with { type: "json" };
import { asFact, checkFacts, checkPatches, checkSource, PROFILE_FACTS } from "./schema.ts";
import { canonicalJson, sha256Hex } from "./digest.ts";
import {
  type Facts,
  type Json,
  type Patch,
  type Profile,
  ProfileError,
  type ProfileFile,
  type VariantFile,
} from "./types.ts";

/** Release strings compare numerically by component ("5.10" < "6.1" < "6.12"). */
export function compareRelease(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

interface TimelineChange extends Patch {
  release: string;
}

interface Timeline {
  baseline: { release: string; facts: Facts };
  changes: TimelineChange[];
}

const ID_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
/** A mainline release ("6.12") or a stable point release ("6.12.88"). */
const RELEASE_RE = /^[0-9]+\.[0-9]+(\.[0-9]+)?$/;

/** "6.12.88" → "6.12"; a mainline release is its own branch. */
const branchOf = (rel: string) => rel.split(".").slice(0, 2).join(".");
const isPoint = (rel: string) => rel.split(".").length === 3;

function loadTimeline(raw: unknown): Timeline {
  const t = raw as Record<string, unknown>;
  const where = "emulator/profiles/data/timeline.json";
  const b = t.baseline as Record<string, unknown>;
  const facts = checkFacts(b?.facts, PROFILE_FACTS, `${where}.baseline.facts`);
  if (!Array.isArray(t.changes)) {
    throw new ProfileError("schema/type", `${where}.changes`, "expected an array");
  }
  const changes = t.changes.map((c, i) => {
    const w = `${where}.changes[${i}]`;
    const { release, ...patch } = c as Record<string, unknown>;
    if (typeof release !== "string" || !RELEASE_RE.test(release)) {
      throw new ProfileError(
        "schema/type",
        `${w}.release`,
        'expected a release such as "6.1", or a stable point release such as "6.12.88"',
      );
    }
    const [p] = checkPatches([patch], PROFILE_FACTS, w);
    return { ...p, release };
  });
  for (let i = 1; i < changes.length; i++) {
    if (compareRelease(changes[i - 1].release, changes[i].release) > 0) {
      throw new ProfileError(
        "timeline/order",
        `${where}.changes[${i}]`,
        "changes must be in release order",
      );
    }
  }
  return { baseline: { release: String(b.release), facts }, changes };
}

const TIMELINE = loadTimeline(timelineData);

/**
 * The upstream facts of release `rel`: the baseline plus every mainline change up to its branch,
 * and, for a point release ("6.12.88"), the stable backports of that branch up to the point
 * (rows with a three-part release). A later mainline release carries a fix through its own row,
 * never through another branch's backport.
 */
function upstreamFacts(rel: string): { facts: Facts; applied: TimelineChange[] } {
  const facts: Facts = structuredClone(TIMELINE.baseline.facts);
  const applied: TimelineChange[] = [];
  const branch = branchOf(rel);
  for (const c of TIMELINE.changes) {
    if (isPoint(c.release)) {
      if (branchOf(c.release) !== branch || compareRelease(c.release, rel) > 0) continue;
    } else if (compareRelease(c.release, branch) > 0) break;
    applyPatch(facts, c);
    applied.push(c);
  }
  return { facts, applied };
}

/**
 * `linux-X.Y.Z`, a stable point release of a modelled mainline release `linux-X.Y`: the upstream
 * profile of that point (undefined when X.Y is not modelled).
 */
function pointReleaseFile(id: string): ProfileFile | undefined {
  const m = /^linux-([0-9]+\.[0-9]+)\.([0-9]+)$/.exec(id);
  if (!m || BUILTIN_PROFILES.get(`linux-${m[1]}`)?.kind !== "upstream") return undefined;
  const backports = TIMELINE.changes.filter((c) =>
    isPoint(c.release) && branchOf(c.release) === m[1] &&
    compareRelease(c.release, id.slice(6)) <= 0
  );
  return {
    id,
    kind: "upstream",
    title: `Upstream Linux ${id.slice(6)} (stable: ${m[1]} plus ${
      backports.length
        ? backports.map((c) => `${c.fact} from ${c.release}`).join(", ")
        : "no backport rollsafe models"
    })`,
    release: id.slice(6),
  };
}

/**
 * The distinct profiles of a range of point releases, `linux-6.12.80..linux-6.12.100` (or
 * `linux-6.12.80..6.12.100`): the first point, and each point in the range where a modelled stable
 * backport lands. A target over a range is each of these.
 */
export function expandRange(spec: string): string[] {
  const m = /^linux-([0-9]+\.[0-9]+)\.([0-9]+)\.\.(?:linux-)?([0-9]+\.[0-9]+)\.([0-9]+)$/.exec(
    spec,
  );
  if (!m || m[1] !== m[3]) {
    throw new ProfileError(
      "profile/range",
      spec,
      "a range is linux-X.Y.A..linux-X.Y.B, two point releases of one stable branch",
    );
  }
  const [lo, hi] = [Number(m[2]), Number(m[4])];
  if (lo > hi) {
    throw new ProfileError("profile/range", spec, "the range's first point is after its last");
  }
  const points = new Set([lo]);
  for (const c of TIMELINE.changes) {
    if (!isPoint(c.release) || branchOf(c.release) !== m[1]) continue;
    const z = Number(c.release.split(".")[2]);
    if (z > lo && z <= hi) points.add(z);
  }
  return [...points].sort((a, b) => a - b).map((z) => `linux-${m[1]}.${z}`);
}

/**
 * Facts the restore rules always read: a profile may change them but not remove them (list-like
 * families such as regs.*, idshow.* and per-field idwrite.* rows may be removed).
 */
function requiredFacts(): string[] {
  return Object.keys(TIMELINE.baseline.facts).filter((k) =>
    !k.startsWith("regs.") && !k.startsWith("idshow.") &&
    !/^idwrite\.[A-Z0-9_]+\.[A-Za-z0-9_]+$/.test(k) &&
    !k.startsWith("idcheck.") &&
    !/^idwrite\.[A-Z][A-Z0-9_]*$/.test(k)
  );
}

function checkComplete(id: string, facts: Facts): void {
  for (const k of requiredFacts()) {
    if (!facts[k]) {
      throw new ProfileError(
        "profile/incomplete",
        id,
        `the fact "${k}" may be changed but not removed`,
      );
    }
  }
}

function applyPatch(facts: Facts, p: Patch): void {
  if (p.value === null) delete facts[p.fact];
  else facts[p.fact] = asFact(p);
}

/** Validates a profile file (built-in or user-supplied); `where` names it in errors. */
export function parseProfileFile(raw: unknown, where: string): ProfileFile {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ProfileError("schema/type", where, "expected a JSON object");
  }
  const o = raw as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    if (
      !["id", "kind", "title", "release", "kernel", "base", "differences", "comment"].includes(k)
    ) {
      throw new ProfileError("schema/key", `${where}.${k}`, "unknown key in a profile");
    }
  }
  if (typeof o.id !== "string" || !ID_RE.test(o.id)) {
    throw new ProfileError(
      "schema/id",
      `${where}.id`,
      "expected an id of lower-case letters, digits, '.', '_' or '-'",
    );
  }
  if (o.kind !== "upstream" && o.kind !== "vendor" && o.kind !== "custom") {
    throw new ProfileError(
      "schema/kind",
      `${where}.kind`,
      'expected "upstream", "vendor" or "custom"',
    );
  }
  if (typeof o.title !== "string") {
    throw new ProfileError("schema/type", `${where}.title`, "expected a string");
  }
  if (o.kernel !== undefined && typeof o.kernel !== "string") {
    throw new ProfileError("schema/type", `${where}.kernel`, "expected a string");
  }
  if (o.kind === "upstream") {
    if (typeof o.release !== "string" || !RELEASE_RE.test(o.release)) {
      throw new ProfileError(
        "schema/release",
        `${where}.release`,
        'an upstream profile needs a release such as "6.1" or "6.12.88"',
      );
    }
    if (compareRelease(o.release, TIMELINE.baseline.release) < 0) {
      throw new ProfileError(
        "schema/release",
        `${where}.release`,
        `releases before ${TIMELINE.baseline.release} are not modelled`,
      );
    }
    if (o.base !== undefined || o.differences !== undefined) {
      throw new ProfileError(
        "schema/upstream",
        where,
        "an upstream profile has no base or differences: it is the timeline",
      );
    }
  } else {
    if (typeof o.base !== "string") {
      throw new ProfileError(
        "schema/base",
        `${where}.base`,
        "a vendor or custom profile names its base profile",
      );
    }
    checkPatches(o.differences ?? [], PROFILE_FACTS, `${where}.differences`);
  }
  return o as unknown as ProfileFile;
}

function parseVariant(raw: unknown, where: string): VariantFile {
  const o = raw as Record<string, unknown>;
  if (typeof o.id !== "string" || !ID_RE.test(o.id)) {
    throw new ProfileError("schema/id", `${where}.id`, "bad variant id");
  }
  if (typeof o.title !== "string") {
    throw new ProfileError("schema/type", `${where}.title`, "expected a string");
  }
  checkPatches(o.differences, PROFILE_FACTS, `${where}.differences`);
  return o as unknown as VariantFile;
}

const BUILTIN_PROFILES = new Map<string, ProfileFile>();
for (
  const raw of [
    linux510,
    linux515,
    linux61,
    linux66,
    linux612,
    linux613,
    linux614,
    linux615,
    linux616,
    linux617,
    linux618,
    linux619,
    linux70,
    linux71,
    linux72,
    amzn2_510,
    amzn2023_61,
    amzn2023_618,
    debian61,
    debian612,
  ]
) {
  const p = parseProfileFile(raw, `emulator/profiles/data/${(raw as { id: string }).id}.json`);
  BUILTIN_PROFILES.set(p.id, p);
}
const VARIANTS = new Map<string, VariantFile>();
for (const raw of [iidrFix, groupsRevert, iidrRev1, counterOffset]) {
  const v = parseVariant(raw, `emulator/profiles/data/variants/${(raw as { id: string }).id}.json`);
  VARIANTS.set(v.id, v);
}

export function builtinProfileIds(): string[] {
  return [...BUILTIN_PROFILES.keys()];
}

export function variantIds(): string[] {
  return [...VARIANTS.keys()];
}

export function variant(id: string): VariantFile | undefined {
  return VARIANTS.get(id);
}

export function profileFile(id: string): ProfileFile | undefined {
  return BUILTIN_PROFILES.get(id);
}

/** The release timeline rows (for listings and tests). */
export function timeline(): readonly (Patch & { release: string })[] {
  return TIMELINE.changes;
}

/** The canonical JSON text a profile's digest is computed over (id, release, kernel, facts). */
export function profileCanonical(p: Omit<Profile, "digest">): string {
  return canonicalJson({
    id: p.id,
    release: p.release,
    kernel: p.kernel ?? null,
    facts: p.facts as unknown as Json,
  });
}

function digestOf(p: Omit<Profile, "digest">): string {
  return sha256Hex(profileCanonical(p));
}

/**
 * Builds a profile from a file, resolving its base among the built-ins (and `extra`, user files
 * loaded in the same request). Depth-limited so a cycle is an error, not a hang.
 */
export function buildProfile(
  file: ProfileFile,
  extra: Map<string, ProfileFile> = new Map(),
  depth = 0,
): Profile {
  if (depth > 8) {
    throw new ProfileError("profile/cycle", file.id, "base chain deeper than 8 (a cycle?)");
  }
  if (file.kind === "upstream") {
    const { facts } = upstreamFacts(file.release!);
    const p = {
      id: file.id,
      kind: "upstream" as const,
      title: file.title,
      release: file.release!,
      kernel: file.kernel,
      lineage: [file.id],
      differences: [],
      facts,
    };
    return { ...p, digest: digestOf(p) };
  }
  const baseFile = extra.get(file.base!) ?? BUILTIN_PROFILES.get(file.base!);
  if (!baseFile) {
    throw new ProfileError(
      "profile/base",
      `${file.id}.base`,
      `unknown base profile "${file.base}" (known: ${builtinProfileIds().join(", ")})`,
    );
  }
  const base = buildProfile(baseFile, extra, depth + 1);
  const facts = structuredClone(base.facts);
  for (const d of file.differences ?? []) applyPatch(facts, d);
  checkComplete(file.id, facts);
  const p = {
    id: file.id,
    kind: file.kind,
    title: file.title,
    release: base.release,
    kernel: file.kernel,
    lineage: [...base.lineage, file.id],
    differences: [...base.differences, ...(file.differences ?? [])],
    facts,
  };
  return { ...p, digest: digestOf(p) };
}

/** Applies variants to a profile: `<base>+<variant>+…`. */
export function withVariants(base: Profile, variants: string[]): Profile {
  let p: Omit<Profile, "digest"> = base;
  for (const v of variants) {
    const vf = VARIANTS.get(v);
    if (!vf) {
      throw new ProfileError(
        "profile/variant",
        `${base.id}+${v}`,
        `unknown variant "${v}" (known: ${variantIds().join(", ")})`,
      );
    }
    const facts = structuredClone(p.facts);
    for (const d of vf.differences) applyPatch(facts, d);
    checkComplete(`${p.id}+${v}`, facts);
    p = {
      ...p,
      id: `${p.id}+${v}`,
      kind: "variant",
      title: `${p.title}, ${vf.title}`,
      lineage: [...p.lineage, `+${v}`],
      differences: [...p.differences, ...vf.differences],
      facts,
    };
  }
  return { ...p, digest: digestOf(p) } as Profile;
}

const RESOLVED = new Map<string, Profile>();

/**
 * Resolves "<profile>[+<variant>…]" among the built-ins and `extra` user profiles. Built-in
 * resolutions are cached: treat the returned profile as read-only.
 */
export function resolveProfile(spec: string, extra: Map<string, ProfileFile> = new Map()): Profile {
  if (extra.size === 0) {
    const hit = RESOLVED.get(spec);
    if (hit) return hit;
    const p = resolveProfileUncached(spec, extra);
    if (RESOLVED.size < 256) RESOLVED.set(spec, p); // specs come from requests: bound the cache
    return p;
  }
  return resolveProfileUncached(spec, extra);
}

function resolveProfileUncached(spec: string, extra: Map<string, ProfileFile>): Profile {
  const [id, ...variants] = spec.split("+");
  const file = extra.get(id) ?? BUILTIN_PROFILES.get(id) ?? pointReleaseFile(id);
  if (!file) {
    throw new ProfileError(
      "profile/unknown",
      spec,
      `unknown kernel profile "${id}" (known: ${
        [...extra.keys(), ...builtinProfileIds()].join(", ")
      }; a stable point release of an upstream one, e.g. linux-6.12.88; variants: ${
        variantIds().map((v) => `+${v}`).join(", ")
      })`,
    );
  }
  return withVariants(buildProfile(file, extra), variants);
}

/** Every fact of a profile has a source (the loader checks it; exported for tests). */
export function factsWithoutSource(p: Profile): string[] {
  const missing: string[] = [];
  for (const [k, f] of Object.entries(p.facts)) {
    try {
      checkSource(f.source, k);
    } catch {
      missing.push(k);
    }
  }
  return missing;
}
