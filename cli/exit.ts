/** Exit codes of the command line; a rollback runbook branches on these. */
export const EXIT = {
  /** Restorable on every target with nothing above info; or the command succeeded. */
  OK: 0,
  /** Restorable, with warnings or guest-visible drift. */
  WARN: 1,
  /** Not restorable on at least one target. */
  NOT_RESTORABLE: 2,
  /** Bad input, unknown target, unreadable input or unwritable output, or a usage error. */
  BAD_INPUT: 3,
  /**
   * An unexpected error inside rollsafe (a bug): one line on stderr, never a verdict. Distinct
   * from 1 so that a runbook that proceeds on "restorable with warnings" never proceeds on a crash.
   * (`verify` uses 10–17 for its own refusals; see cli/verify.ts.)
   */
  INTERNAL: 4,
} as const;

/**
 * A command that parses its own arguments (registered with `passthrough` in cli.ts). New commands
 * should be a `CommandSpec` (cli/args.ts) instead, so that they share the one parser.
 */
export interface Command {
  /** One line for `rollsafe help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run: (args: string[]) => number | Promise<number>;
}
