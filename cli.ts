/**
 * The rollsafe command line: `deno task rollsafe <command> …` (or the compiled `rollsafe`).
 *
 * Each command lives in `cli/<command>.ts` as one row (`CommandSpec`) of the table below; one
 * parser (cli/args.ts, on commander) reads every command's arguments and prints its `--help`.
 * Exit codes a runbook can branch on are in `cli/exit.ts`; anything unexpected is one line on
 * stderr and EXIT.INTERNAL (4), never a stack trace and never a code a runbook would proceed on.
 */
import { ENGINE_VERSION } from "./version.ts";
import { type Command, EXIT } from "./cli/exit.ts";
import { type CommandSpec, runCommands } from "./cli/args.ts";
import { importCommand } from "./cli/import.ts";
import { inspectCommand } from "./cli/inspect.ts";
import { keygenCommand } from "./cli/keygen.ts";
import { verifyCommand } from "./cli/verify.ts";
import { checkCommand } from "./cli/check.ts";
import { profilesCommand } from "./cli/profiles.ts";
import { showCommand } from "./cli/show.ts";
import { emulateCommand } from "./cli/emulate.ts";

/** A command that still parses its own arguments (cli/exit.ts `Command`). */
export function passthrough(name: string, c: Command, examples: string[]): CommandSpec {
  return {
    name,
    summary: c.summary,
    passthrough: true,
    examples,
    run: (p) => c.run(p.positionals),
  };
}

const COMMANDS: CommandSpec[] = [
  checkCommand,
  showCommand,
  verifyCommand,
  importCommand,
  inspectCommand,
  profilesCommand,
  keygenCommand,
  emulateCommand,
  {
    name: "version",
    summary: "print the engine version",
    examples: ["rollsafe version"],
    run: () => {
      console.log(ENGINE_VERSION);
      return EXIT.OK;
    },
  },
];

const NOTES = `Exit codes: 0 ok / restorable, 1 restorable with warnings, 2 not restorable,
3 bad input or usage, 4 internal error (a bug), 10-17 verify's refusals (rollsafe verify --help).
Files: - reads stdin / writes stdout. NO_COLOR is respected (the output has no colour).`;

/** Runs the command line; `commands` is the table above (a test may pass its own). */
export async function main(
  args: string[],
  commands: readonly CommandSpec[] = COMMANDS,
): Promise<number> {
  try {
    return await runCommands(args, commands, {
      name: "rollsafe",
      version: ENGINE_VERSION,
      description:
        "Will this arm64 KVM snapshot restore on that host kernel, and will the guest notice?",
      notes: NOTES,
    });
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.error(
      `rollsafe: internal error (exit ${EXIT.INTERNAL}): ${msg.split("\n")[0]}` +
        (Deno.env.get("ROLLSAFE_DEBUG") ? `\n${(e as Error).stack}` : ""),
    );
    return EXIT.INTERNAL;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
