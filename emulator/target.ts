/**
 * Targets: `<profile>[+<variant>…]@<host>`, e.g. `linux-6.1+iidr-rev1@neoverse-n1`. Users may add
 * their own profiles and hosts (a file or inline JSON, as the HTTP layer passes them); both are
 * validated with errors naming the key and the rule.
 */
import {
  buildProfile,
  builtinProfileIds,
  parseProfileFile,
  resolveProfile,
  timeline,
  variant,
  variantIds,
} from "./profiles/loader.ts";
import { buildHost, builtinHostIds, parseHostFile, resolveHost } from "./hosts/loader.ts";
import {
  type Host,
  type Profile,
  ProfileError,
  type ProfileFile,
  type Target,
} from "./profiles/types.ts";

export { ProfileError };
export type { Host, Profile, Target };

/** User-supplied profiles and hosts that target specs may name besides the built-ins. */
export interface TargetContext {
  profiles: Map<string, ProfileFile>;
  hosts: Map<string, Host>;
}

export function emptyContext(): TargetContext {
  return { profiles: new Map(), hosts: new Map() };
}

/** Built-in profile@host pairs that have evidence behind them (what `profiles list` shows first). */
const KNOWN_PAIRS: Record<string, string> = {
  "amzn2-5.10": "neoverse-n1",
  "amzn2023-6.1": "neoverse-n1",
  "amzn2023-6.18": "neoverse-n1",
};

/** Every built-in target: each profile on each built-in host. Variants compose on top. */
export function listTargets(ctx: TargetContext = emptyContext()): string[] {
  const profiles = [...ctx.profiles.keys(), ...builtinProfileIds()];
  const hosts = [...ctx.hosts.keys(), ...builtinHostIds()];
  const out: string[] = [];
  for (const p of profiles) for (const h of hosts) out.push(`${p}@${h}`);
  return out.sort((a, b) => {
    const ka = KNOWN_PAIRS[a.split("@")[0]] === a.split("@")[1] ? 0 : 1;
    const kb = KNOWN_PAIRS[b.split("@")[0]] === b.split("@")[1] ? 0 : 1;
    return ka - kb || a.localeCompare(b);
  });
}

function knownSummary(ctx: TargetContext): string {
  return `profiles: ${[...ctx.profiles.keys(), ...builtinProfileIds()].join(", ")}; variants: ${
    variantIds().map((v) => `+${v}`).join(", ")
  }; hosts: ${[...ctx.hosts.keys(), ...builtinHostIds()].join(", ")}`;
}

/** Resolves a target spec; throws a ProfileError listing what is known. */
export function resolveTarget(spec: string, ctx: TargetContext = emptyContext()): Target {
  const s = spec.trim();
  const at = s.lastIndexOf("@");
  if (at <= 0 || at === s.length - 1) {
    throw new ProfileError(
      "target/syntax",
      spec,
      `a target is <profile>[+<variant>…]@<host>, e.g. amzn2023-6.1@neoverse-n1 (${
        knownSummary(ctx)
      })`,
    );
  }
  try {
    const profile = resolveProfile(s.slice(0, at), ctx.profiles);
    const host = resolveHost(s.slice(at + 1), ctx.hosts);
    return { id: `${profile.id}@${host.id}`, profile, host };
  } catch (e) {
    if (e instanceof ProfileError) {
      throw new ProfileError(
        e.code,
        spec,
        `${e.detail}; known targets are <profile>@<host> with ${knownSummary(ctx)}`,
      );
    }
    throw e;
  }
}

const MAX_USER_FILE = 1024 * 1024;

function parseJson(text: string, where: string): unknown {
  if (text.length > MAX_USER_FILE) {
    throw new ProfileError(
      "input/size",
      where,
      `${text.length} bytes is above the ${MAX_USER_FILE}-byte limit`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ProfileError("input/json", where, `not JSON: ${(e as Error).message}`);
  }
}

/**
 * Adds a user profile (JSON text or a parsed object) to the context and returns it resolved.
 * `where` names the input in errors (a file path, or "request.profiles[0]").
 */
export function addUserProfile(
  ctx: TargetContext,
  input: string | unknown,
  where: string,
): Profile {
  const raw = typeof input === "string" ? parseJson(input, where) : input;
  const file = parseProfileFile(raw, where);
  if (builtinProfileIds().includes(file.id)) {
    throw new ProfileError(
      "profile/duplicate",
      `${where}.id`,
      `"${file.id}" is a built-in profile; choose another id`,
    );
  }
  if (file.kind === "upstream") {
    throw new ProfileError(
      "profile/kind",
      `${where}.kind`,
      'user profiles are "vendor" or "custom" (a base plus differences)',
    );
  }
  const profile = buildProfile(file, ctx.profiles);
  ctx.profiles.set(file.id, file);
  return profile;
}

export function addUserHost(ctx: TargetContext, input: string | unknown, where: string): Host {
  const raw = typeof input === "string" ? parseJson(input, where) : input;
  const host = buildHost(parseHostFile(raw, where));
  if (builtinHostIds().includes(host.id)) {
    throw new ProfileError(
      "host/duplicate",
      `${where}.id`,
      `"${host.id}" is a built-in host; choose another id`,
    );
  }
  ctx.hosts.set(host.id, host);
  return host;
}

/** What `profiles list --json` and `GET /v1/profiles` show: every profile, variant and host. */
export function catalogue(ctx: TargetContext = emptyContext()) {
  const profiles = [...ctx.profiles.keys(), ...builtinProfileIds()].map((id) =>
    resolveProfile(id, ctx.profiles)
  );
  const hosts = [...ctx.hosts.keys(), ...builtinHostIds()].map((h) => resolveHost(h, ctx.hosts));
  return {
    profiles: profiles.map((x) => ({
      id: x.id,
      kind: x.kind,
      title: x.title,
      release: x.release,
      kernel: x.kernel ?? null,
      digest: x.digest,
      differences: x.differences.length,
    })),
    variants: variantIds().map((v) => ({ id: v, title: variant(v)!.title })),
    hosts: hosts.map((h) => ({ id: h.id, title: h.title, digest: h.digest })),
    targets: listTargets(ctx),
    timeline: timeline().length,
  };
}
