/** Exit codes of the command line; a rollback runbook branches on these. */
export const EXIT = {
  /** Restorable on every target with nothing above info; or the command succeeded. */
  OK: 0,
  /** Restorable, with warnings or guest-visible drift. */
  WARN: 1,
  /** Not restorable on at least one target. */
  NOT_RESTORABLE: 2,
  /** Bad input, unknown target, or a usage error. */
  BAD_INPUT: 3,
} as const;

export interface Command {
  /** One line for `rollsafe help`. */
  summary: string;
  /** Runs the command with the arguments after its name; resolves to the exit code. */
  run: (args: string[]) => number | Promise<number>;
}
