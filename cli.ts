/**
 * The rollsafe command line: `deno task rollsafe <command> …`.
 *
 * Each command lives in `cli/<command>.ts` and is one row of the table below.
 * Exit codes a runbook can branch on are in `cli/exit.ts`.
 */
import { ENGINE_VERSION } from "./version.ts";
import { type Command, EXIT } from "./cli/exit.ts";
import { importCommand } from "./cli/import.ts";
import { inspectCommand } from "./cli/inspect.ts";
import { keygenCommand } from "./cli/keygen.ts";
import { verifyCommand } from "./cli/verify.ts";
import { checkCommand } from "./cli/check.ts";
import { profilesCommand } from "./cli/profiles.ts";

const COMMANDS: Record<string, Command> = {
  version: {
    summary: "print the engine version",
    run: () => {
      console.log(ENGINE_VERSION);
      return EXIT.OK;
    },
  },
  import: importCommand,
  inspect: inspectCommand,
  keygen: keygenCommand,
  verify: verifyCommand,
  check: checkCommand,
  profiles: profilesCommand,
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(12)} ${c.summary}`);
  return `rollsafe ${ENGINE_VERSION}\nusage: deno task rollsafe <command> [options]\n\ncommands:\n${
    rows.join("\n")
  }\n`;
}

export async function main(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === undefined || name === "help" || name === "--help" || name === "-h") {
    console.log(usage());
    return EXIT.OK;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    console.error(`rollsafe: unknown command '${name}'\n${usage()}`);
    return EXIT.BAD_INPUT;
  }
  return await cmd.run(rest);
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
