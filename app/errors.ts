/**
 * Client-caused failures of the application layer, as data. `type` is the failure's kind in the
 * service's problem vocabulary (functions/problem.ts PROBLEMS), so functions/ maps an AppError to
 * a Problem one to one and cli/ maps every AppError to exit code 3; neither front end re-derives
 * what went wrong. Anything else thrown out of app/ is a bug.
 */
export type AppErrorType =
  | "bad-request"
  | "too-many-targets"
  | "unknown-target"
  | "invalid-profile"
  | "invalid-snapshot"
  | "budget-exceeded"
  | "source-required"
  | "not-configured";

export class AppError extends Error {
  override name = "AppError";
  constructor(
    readonly type: AppErrorType,
    /** One line: what, where, why. */
    readonly detail: string,
    /** Machine-readable members (code, where, limit) the service puts in its problem body. */
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
  }
}
