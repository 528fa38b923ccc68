/**
 * Guest-visible drift and reliance analysis.
 *
 * - `runDrift(snapshot, source, target)` → `DriftRun` ({findings: DriftFinding[], source, target
 *   probe results}): both targets as RestoredTarget ({target, restore: evaluateRestore(...)}).
 * - `analyseReliance(snapshot, run, target)` → RelianceFinding[] for the run's target.
 * - Lower level: `driftSide` (restore answer → machine configuration + writes), `probeSide`,
 *   `diffSides`, `diffProbeRuns`, `relianceFindings`; the rule tables DRIFT_RULES and
 *   RELIANCE_RULES.
 */
export { DriftError, type DriftRun, type RestoredTarget, runDrift, type SideProbe } from "./run.ts";
export { diffSides, gicFrames, probeSide } from "./run.ts";
export {
  analyseReliance,
  RELIANCE_RULES,
  relianceFindings,
  type RelianceInput,
} from "./reliance.ts";
export { driftSide } from "./adapter.ts";
export { type DriftSide, type SkippedWrite, type StateWrite } from "./side.ts";
export { COUNTER_TOLERANCE, diffProbeRuns } from "./diff.ts";
export { DRIFT_RULES, ruleFor } from "./rules.ts";
