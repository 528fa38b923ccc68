/**
 * app/: the one application layer. `rollsafe check` (cli/check.ts) and the service
 * (functions/pipeline.ts) both turn bytes + target specs + options into an assessment, a verdict
 * and a signed COSE message through these functions, and keep only their own error mapping
 * (AppError → exit code 3, or → the Problem of the same type).
 *
 * Stable exports (other modules build on these names):
 * - `check(req)`: import the bytes, resolve targets/source/VMM, apply the limits, run the
 *   restore model and the guest probes → `Checked` (snapshot, validation, vmm).
 * - `sign(checked, { signer, now, gitRevision?, nonce? })`: build, sign → `Signed` (verdict,
 *   COSE bytes, SHA-256 of the COSE and of the snapshot). Requires a source (`source-required`).
 * - `engine(gitRevision?)`: the engine identity every verdict binds (cached per process).
 * - `userContext`, `resolveTargets`, `resolveSpec`, `vmmOf`, `checkInstructionBudget`,
 *   `MAX_USER_FILES`: the request rules, for front ends that refuse early (webhooks).
 * - `AppError`, `AppErrorType`: client-caused failures as data.
 * - `judgeAssessment(a)`: verdict/judge.ts's rule for an assessment (status, exit, label).
 * Judging itself (status per target, overall, exit code) is verdict/judge.ts, not here.
 */
export { AppError, type AppErrorType } from "./errors.ts";
export { engine } from "./engine.ts";
export {
  type Assessment,
  check,
  type Checked,
  checkInstructionBudget,
  type CheckLimits,
  type CheckRequest,
  judgeAssessment,
  MAX_USER_FILES,
  resolveSpec,
  resolveTargets,
  sign,
  type Signed,
  type SignOptions,
  userContext,
  type UserFile,
  type Validation,
  vmmOf,
} from "./pipeline.ts";
