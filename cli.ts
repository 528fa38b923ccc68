/**
 * The rollsafe command line: `deno task rollsafe <command> …`.
 *
 * Exit codes a runbook can branch on: 0 fine, 1 warnings, 2 not restorable, 3 bad input.
 */
import { ENGINE_VERSION } from "./version.ts";

const USAGE = `rollsafe ${ENGINE_VERSION}
usage: deno task rollsafe <command> [options]

commands:
  version                       print the version
`;

export function main(args: string[]): Promise<number> | number {
  const [cmd] = args;
  switch (cmd) {
    case "version":
      console.log(ENGINE_VERSION);
      return 0;
    case undefined:
    case "help":
    case "--help":
      console.log(USAGE);
      return 0;
    default:
      console.error(`rollsafe: unknown command '${cmd}'\n${USAGE}`);
      return 3;
  }
}

if (import.meta.main) {
  Deno.exit(await main(Deno.args));
}
