/**
 * A small argument parser shared by the commands: `--name value`, `--name=value`, repeatable
 * options, boolean flags, and positionals. Unknown options are errors, so a typo in a runbook
 * fails loudly instead of being ignored.
 */
export class UsageError extends Error {
  override name = "UsageError";
}

export interface ArgSpec {
  /** Options that take a value (may repeat). */
  values?: readonly string[];
  /** Options that take no value. */
  flags?: readonly string[];
  /** Short aliases, e.g. { o: "out" }. */
  aliases?: Record<string, string>;
}

export interface ParsedArgs {
  positionals: string[];
  values: Map<string, string[]>;
  flags: Set<string>;
}

export function parseArgs(args: string[], spec: ArgSpec): ParsedArgs {
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  const positionals: string[] = [];
  const valueNames = new Set(spec.values ?? []);
  const flagNames = new Set(spec.flags ?? []);
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      positionals.push(...args.slice(i + 1));
      break;
    }
    let name: string | undefined;
    let inline: string | undefined;
    if (a.startsWith("--")) {
      const eq = a.indexOf("=");
      name = eq >= 0 ? a.slice(2, eq) : a.slice(2);
      inline = eq >= 0 ? a.slice(eq + 1) : undefined;
    } else if (a.startsWith("-") && a.length > 1) {
      name = spec.aliases?.[a.slice(1)];
      if (!name) throw new UsageError(`unknown option ${a}`);
    }
    if (name === undefined) {
      positionals.push(a);
      continue;
    }
    if (flagNames.has(name)) {
      if (inline !== undefined) throw new UsageError(`--${name} takes no value`);
      flags.add(name);
    } else if (valueNames.has(name)) {
      const v = inline ?? args[++i];
      if (v === undefined) throw new UsageError(`--${name} needs a value`);
      values.set(name, [...(values.get(name) ?? []), v]);
    } else {
      throw new UsageError(`unknown option --${name}`);
    }
  }
  return { positionals, values, flags };
}

/** The single value of an option, or undefined; an error if given twice. */
export function one(p: ParsedArgs, name: string): string | undefined {
  const v = p.values.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new UsageError(`--${name} given ${v.length} times`);
  return v[0];
}
