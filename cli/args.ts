/**
 * The command line's one parser: every command is a row (`CommandSpec`: its arguments, options,
 * examples and handler) turned into a commander program here. Commands receive the parsed
 * arguments as plain data (`ParsedArgs`), so no command parses anything itself, and every
 * command gets the same `--help`, the same unknown-option message and the same exit code (3).
 */
import { Command as Commander, CommanderError, Option } from "commander";
import { EXIT } from "./exit.ts";

export class UsageError extends Error {
  override name = "UsageError";
}

export interface ParsedArgs {
  positionals: string[];
  /** Options that take a value, by long name; repeatable options keep every value in order. */
  values: Map<string, string[]>;
  /** Flags given on the command line, by long name (`no-probes` stays `no-probes`). */
  flags: Set<string>;
}

/** The single value of an option, or undefined; an error if given twice. */
export function one(p: ParsedArgs, name: string): string | undefined {
  const v = p.values.get(name);
  if (!v) return undefined;
  if (v.length > 1) throw new UsageError(`--${name} given ${v.length} times`);
  return v[0];
}

export interface OptionSpec {
  /** Long name without the dashes. */
  name: string;
  /** One-letter alias. */
  short?: string;
  /** Placeholder of the value (`profile@host`); absent for a flag. */
  value?: string;
  /** May be given more than once. */
  repeat?: boolean;
  required?: boolean;
  choices?: readonly string[];
  help: string;
}

export interface ArgumentSpec {
  /** commander syntax: `<snapshot>` required, `[file]` optional, `<ids...>` variadic. */
  name: string;
  help: string;
  choices?: readonly string[];
}

export interface CommandSpec {
  name: string;
  /** One line for the command list. */
  summary: string;
  args?: readonly ArgumentSpec[];
  options?: readonly OptionSpec[];
  /** Complete command lines, shown under "Examples:" in `--help`. */
  examples: readonly string[];
  /** Extra paragraphs after the examples (exit codes, formats). */
  notes?: string;
  /** Nested commands (`profiles list`); a spec with subcommands has no handler of its own. */
  subcommands?: readonly CommandSpec[];
  /**
   * The handler parses its own arguments (the older `Command` shape, cli/exit.ts): they reach it
   * untouched as `positionals`; `--help` still prints the summary and examples.
   */
  passthrough?: boolean;
  run?: (p: ParsedArgs) => number | Promise<number>;
}

/** Turns "max-age" into commander's key "maxAge" (and "no-probes" into "probes"). */
function optionKey(o: OptionSpec): string {
  const name = o.value === undefined && o.name.startsWith("no-") ? o.name.slice(3) : o.name;
  return name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

function addOption(cmd: Commander, o: OptionSpec) {
  const flags = `${o.short ? `-${o.short}, ` : ""}--${o.name}${o.value ? ` <${o.value}>` : ""}`;
  const opt = new Option(flags, o.help + (o.repeat ? " (repeatable)" : ""));
  if (o.choices) opt.choices(o.choices);
  if (o.repeat) opt.argParser((v: string, prev: string[] | undefined) => [...(prev ?? []), v]);
  if (o.required) opt.makeOptionMandatory();
  cmd.addOption(opt);
}

function collect(cmd: Commander, spec: CommandSpec): ParsedArgs {
  const opts = cmd.opts();
  const values = new Map<string, string[]>();
  const flags = new Set<string>();
  for (const o of spec.options ?? []) {
    const key = optionKey(o);
    if (cmd.getOptionValueSource(key) !== "cli") continue;
    const v = opts[key];
    if (o.value === undefined) flags.add(o.name);
    else values.set(o.name, Array.isArray(v) ? v : [String(v)]);
  }
  const positionals = (cmd.processedArgs as unknown[]).flatMap((a) =>
    a === undefined ? [] : Array.isArray(a) ? a.map(String) : [String(a)]
  );
  return { positionals, values, flags };
}

function build(parent: Commander, spec: CommandSpec, path: string, result: { code: number }) {
  const cmd = parent.command(spec.name).description(spec.summary);
  for (const a of spec.args ?? []) {
    const arg = cmd.createArgument(a.name, a.help);
    if (a.choices) arg.choices(a.choices);
    cmd.addArgument(arg);
  }
  for (const o of spec.options ?? []) addOption(cmd, o);
  if (spec.passthrough) {
    cmd.argument("[args...]", "passed to the command as they are").allowUnknownOption()
      .allowExcessArguments();
  }
  const full = `${path} ${spec.name}`;
  const tail = [
    spec.examples.length ? `\nExamples:\n${spec.examples.map((e) => `  ${e}`).join("\n")}` : "",
    spec.notes ? `\n\n${spec.notes}` : "",
  ].join("");
  if (tail) cmd.addHelpText("after", tail);
  configure(cmd, full);
  for (const s of spec.subcommands ?? []) build(cmd, s, full, result);
  if (spec.run) {
    const run = spec.run;
    cmd.action(async (..._: unknown[]) => {
      result.code = await run(collect(cmd, spec));
    });
  }
}

function configure(cmd: Commander, path: string) {
  cmd.exitOverride();
  cmd.showHelpAfterError(`(${path} --help lists the arguments and options)`);
  cmd.configureOutput({
    writeOut: (s) => console.log(s.trimEnd()),
    writeErr: (s) => console.error(s.trimEnd()),
    // commander's "error: unknown option '--x'" → "rollsafe check: unknown option '--x'"
    outputError: (s, write) => write(`${path}: ${s.replace(/^error: /, "")}`),
  });
}

/**
 * Parses `argv` against the command table and runs the chosen command; resolves to its exit
 * code. Usage errors (unknown option, missing argument, bad choice) print one line plus a hint
 * and give EXIT.BAD_INPUT; `--help`/`--version` give EXIT.OK. Anything a handler throws is the
 * caller's (cli.ts turns it into one line and EXIT.INTERNAL).
 */
export async function runCommands(
  argv: readonly string[],
  specs: readonly CommandSpec[],
  meta: { name: string; version: string; description: string; notes: string },
): Promise<number> {
  const result = { code: EXIT.OK as number };
  const program = new Commander(meta.name)
    .description(meta.description)
    .version(meta.version, "-v, --version", "print the engine version")
    .addHelpText("after", `\n${meta.notes}`);
  configure(program, meta.name);
  for (const s of specs) build(program, s, meta.name, result);
  if (argv.length === 0) {
    program.outputHelp();
    return EXIT.OK;
  }
  try {
    await program.parseAsync([...argv], { from: "user" });
  } catch (e) {
    if (!(e instanceof CommanderError)) throw e;
    // help and version end the parse through the same exception, with exit code 0
    return e.exitCode === 0 ? EXIT.OK : EXIT.BAD_INPUT;
  }
  return result.code;
}
