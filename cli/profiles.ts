/**
 * `rollsafe profiles list | show <profile[+variant]|profile@host> | diff <a> <b> [--json]`:
 * the kernel profiles, variants and hosts, one profile's facts with their citations, and the
 * explained differences between two targets (ending with `unexplained: N`).
 */
import { EXIT } from "./exit.ts";
import { type CommandSpec, one, type OptionSpec, type ParsedArgs, UsageError } from "./args.ts";
import {
  builtinProfileIds,
  profileFile,
  resolveProfile,
  variant,
  variantIds,
} from "../emulator/profiles/loader.ts";
import { builtinHostIds, resolveHost } from "../emulator/hosts/loader.ts";
import {
  addUserHost,
  addUserProfile,
  catalogue,
  emptyContext,
  ProfileError,
  resolveTarget,
} from "../emulator/target.ts";
import { diffTargets, renderDiff } from "../emulator/profile_diff.ts";
import type { Fact, Profile } from "../emulator/profiles/types.ts";
import { VCPU_FEATURE } from "../snapshots/model.ts";

function factLine(k: string, f: Fact): string {
  const v = typeof f.value === "string" ? f.value : JSON.stringify(f.value);
  return `  ${k} = ${v}\n      [${f.source.cite}; ${f.source.confidence}]${
    f.note ? `\n      ${f.note}` : ""
  }`;
}

function showProfile(p: Profile): string {
  const lines = [
    `${p.id}: ${p.title}`,
    `  kind ${p.kind}, upstream release ${p.release}${p.kernel ? `, kernel ${p.kernel}` : ""}`,
    `  lineage ${p.lineage.join(" → ")}`,
    `  sha256 ${p.digest}`,
  ];
  if (p.differences.length) {
    lines.push(`\ndifferences from upstream ${p.release} (${p.differences.length}):`);
    for (const d of p.differences) {
      lines.push(
        `  ${d.fact} = ${
          JSON.stringify(d.value)
        }: ${d.why}\n      [${d.source.cite}; ${d.source.confidence}]`,
      );
    }
  }
  lines.push(`\nfacts (${Object.keys(p.facts).length}):`);
  for (const k of Object.keys(p.facts).sort()) lines.push(factLine(k, p.facts[k]));
  return lines.join("\n");
}

const FEATURES: Record<string, number> = {
  "psci-0.2": VCPU_FEATURE.PSCI_0_2,
  pmu: VCPU_FEATURE.PMU_V3,
  sve: VCPU_FEATURE.SVE,
  "ptrauth-address": VCPU_FEATURE.PTRAUTH_ADDRESS,
  "ptrauth-generic": VCPU_FEATURE.PTRAUTH_GENERIC,
};

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** `sub` is the subcommand; its arguments follow in p.positionals. */
function run(sub: "list" | "show" | "diff", p: ParsedArgs): number {
  try {
    const rest = p.positionals;
    const ctx = emptyContext();
    for (const f of p.values.get("profile-file") ?? []) {
      addUserProfile(
        ctx,
        f.trimStart().startsWith("{") ? f : readText(f),
        f.trimStart().startsWith("{") ? "--profile-file (inline)" : f,
      );
    }
    for (const f of p.values.get("host-file") ?? []) {
      addUserHost(
        ctx,
        f.trimStart().startsWith("{") ? f : readText(f),
        f.trimStart().startsWith("{") ? "--host-file (inline)" : f,
      );
    }
    const json = p.flags.has("json");
    if (sub === "list" && rest.length === 0) {
      const profiles = [...ctx.profiles.keys(), ...builtinProfileIds()].map((id) =>
        resolveProfile(id, ctx.profiles)
      );
      const hosts = [...ctx.hosts.keys(), ...builtinHostIds()].map((h) =>
        resolveHost(h, ctx.hosts)
      );
      if (json) {
        console.log(JSON.stringify(catalogue(ctx), null, 2));
      } else {
        console.log("kernel profiles:");
        for (const x of profiles) {
          console.log(
            `  ${x.id.padEnd(16)} ${x.kind.padEnd(8)} ${x.title}${
              x.differences.length
                ? ` (${x.differences.length} difference(s) from ${x.lineage[0]})`
                : ""
            }`,
          );
        }
        console.log("\nvariants (compose with any profile as <profile>+<variant>):");
        for (const v of variantIds()) console.log(`  +${v.padEnd(15)} ${variant(v)!.title}`);
        console.log("\nhosts:");
        for (const h of hosts) console.log(`  ${h.id.padEnd(22)} ${h.title}`);
        console.log("\na target is <profile>[+<variant>…]@<host>, e.g. amzn2023-6.1@neoverse-n1");
      }
      return EXIT.OK;
    }
    if (sub === "show" && rest.length === 1) {
      const spec = rest[0];
      if (spec.includes("@")) {
        const t = resolveTarget(spec, ctx);
        if (json) {
          console.log(
            JSON.stringify({ target: t.id, profile: t.profile, host: t.host }, null, 2),
          );
        } else {
          console.log(showProfile(t.profile));
          console.log(`\nhost ${t.host.id}: ${t.host.title}\n  sha256 ${t.host.digest}`);
          for (const k of Object.keys(t.host.facts).sort()) {
            console.log(factLine(k, t.host.facts[k]));
          }
        }
      } else {
        const pr = resolveProfile(spec, ctx.profiles);
        console.log(
          json
            ? JSON.stringify({ profile: pr, file: profileFile(spec) ?? null }, null, 2)
            : showProfile(pr),
        );
      }
      return EXIT.OK;
    }
    if (sub === "diff" && rest.length === 2) {
      const features = (one(p, "features") ?? "psci-0.2").split(",").filter(Boolean).map((f) => {
        const b = FEATURES[f];
        if (b === undefined) {
          throw new UsageError(
            `unknown feature "${f}" (known: ${Object.keys(FEATURES).join(", ")})`,
          );
        }
        return b;
      });
      const d = diffTargets(resolveTarget(rest[0], ctx), resolveTarget(rest[1], ctx), features);
      console.log(json ? JSON.stringify(d, null, 2) : renderDiff(d));
      return d.unexplained > 0 ? EXIT.WARN : EXIT.OK;
    }
    throw new UsageError(`profiles ${sub}: wrong number of arguments`);
  } catch (e) {
    if (e instanceof ProfileError || e instanceof UsageError) {
      console.error(`rollsafe: ${e.message}`);
      return EXIT.BAD_INPUT;
    }
    throw e;
  }
}

const COMMON: OptionSpec[] = [
  { name: "json", help: "print data instead of text" },
  {
    name: "profile-file",
    value: "file",
    repeat: true,
    help: "add a kernel profile of your own (JSON)",
  },
  { name: "host-file", value: "file", repeat: true, help: "add a host of your own (JSON)" },
];

export const profilesCommand: CommandSpec = {
  name: "profiles",
  summary:
    "kernel profiles, variants and hosts: list, show one, or explain two targets' differences",
  examples: [
    "rollsafe profiles list",
    "rollsafe profiles show amzn2023-6.1@neoverse-n1",
    "rollsafe profiles diff amzn2-5.10@neoverse-n1 amzn2023-6.1@neoverse-n1",
  ],
  subcommands: [
    {
      name: "list",
      summary: "every profile, variant and host a target can name",
      options: COMMON,
      examples: ["rollsafe profiles list --json"],
      run: (p) => run("list", p),
    },
    {
      name: "show",
      summary: "one profile's facts with their citations (with @host: the host's too)",
      args: [{ name: "<id>", help: "profile[+variant] or profile@host" }],
      options: COMMON,
      examples: [
        "rollsafe profiles show linux-6.1+iidr-fix",
        "rollsafe profiles show debian-6.12@qemu-max-nested",
      ],
      run: (p) => run("show", p),
    },
    {
      name: "diff",
      summary: "every difference between two targets with its citation; ends with unexplained: N",
      args: [{ name: "<from>", help: "profile@host" }, { name: "<to>", help: "profile@host" }],
      options: [
        ...COMMON,
        {
          name: "features",
          value: "list",
          help: `vCPU features, comma-separated (default psci-0.2; known: ${
            Object.keys(FEATURES).join(", ")
          })`,
        },
      ],
      examples: ["rollsafe profiles diff amzn2-5.10@neoverse-n1 amzn2023-6.1@neoverse-n1"],
      notes: "Exit codes: 0 every difference explained, 1 some unexplained, 3 unknown target.",
      run: (p) => run("diff", p),
    },
  ],
};
