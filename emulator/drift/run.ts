/**
 * The drift run: restore the same snapshot into two emulator machines (the source target and a
 * destination target, each holding what the restore model says that kernel holds), run the guest
 * probe on every vCPU of each, and diff what the guest observed.
 *
 * Public API (for emulator/validate.ts):
 *   const source = { target: resolveTarget(a), restore: evaluateRestore(snapshot, ta, {vmm}) };
 *   const target = { target: resolveTarget(b), restore: evaluateRestore(snapshot, tb, {vmm}) };
 *   const run = await runDrift(snapshot, source, target);       // run.findings: DriftFinding[]
 *   const reliance = analyseReliance(snapshot, run, target);    // RelianceFinding[]
 * The source side is probed once per RestoreResult object, however many targets it is diffed
 * against.
 */
import type { DriftFinding } from "../findings.ts";
import type { MachineConfig } from "../machine.ts";
import type { RestoreResult } from "../kvm/evaluate.ts";
import type { Target } from "../profiles/types.ts";
import { runProbe } from "../probes/run.ts";
import type { ProbeResults } from "../probes/results.ts";
import { regValue, type Snapshot } from "../../snapshots/model.ts";
import { sysreg } from "../../snapshots/kvm/ids.ts";
import { driftSide } from "./adapter.ts";
import { diffProbeRuns } from "./diff.ts";
import { buildSide, type DriftSide, type SkippedWrite } from "./side.ts";

/** A target with the restore model's answer for the snapshot on it. */
export interface RestoredTarget {
  target: Target;
  restore: RestoreResult;
}

/** What the guest observes on one side: probe results per vCPU. */
export interface SideProbe {
  id: string;
  side: DriftSide;
  runs: ProbeResults[];
  /** Held values the emulator could not load (it models less than KVM, e.g. FP/SIMD, debug). */
  skipped: SkippedWrite[];
}

export interface DriftRun {
  findings: DriftFinding[];
  source: SideProbe;
  target: SideProbe;
}

/** A drift run that could not be carried out (emulator or configuration problem), with where. */
export class DriftError extends Error {
  override name = "DriftError";
  constructor(readonly where: string, detail: string) {
    super(`drift run, ${where}: ${detail}`);
  }
}

/** Where the probe finds the GIC of a machine, for one vCPU (GICv3 RD frames: 2 × 64 KiB each). */
export function gicFrames(c: MachineConfig, vcpu: number) {
  const g = c.gic;
  if (!g) return { gic: "none" as const };
  return g.model === 3
    ? {
      gic: "v3" as const,
      gicd: g.distBase ?? 0x0800_0000n,
      gicr: (g.redistBase ?? 0x080a_0000n) + BigInt(vcpu) * 0x2_0000n,
    }
    : { gic: "v2" as const, gicd: g.distBase ?? 0x0800_0000n, gicc: g.cpuBase ?? 0x0801_0000n };
}

/**
 * Builds a side's machine and runs the probe on each vCPU in turn. One machine per side: each
 * probe run changes only its own vCPU (registers, CSSELR) and puts back the group registers it
 * writes, so later vCPUs see the restored state.
 */
export async function probeSide(side: DriftSide): Promise<SideProbe> {
  let built;
  try {
    built = await buildSide(side);
  } catch (e) {
    throw new DriftError(side.id, `cannot build the emulator machine: ${(e as Error).message}`);
  }
  const runs: ProbeResults[] = [];
  for (let vcpu = 0; vcpu < side.config.vcpus; vcpu++) {
    try {
      runs.push(
        runProbe(built.machine, vcpu, { scratch: built.scratch, ...gicFrames(side.config, vcpu) }),
      );
    } catch (e) {
      throw new DriftError(`${side.id} vCPU ${vcpu}`, (e as Error).message);
    }
  }
  return { id: side.id, side, runs, skipped: built.skipped };
}

/** Diffs two probed sides (lower level than runDrift: sides built by the caller). */
export function diffSides(
  source: SideProbe,
  target: SideProbe,
  savedCounters?: (bigint | undefined)[],
): DriftRun {
  if (source.runs.length !== target.runs.length) {
    throw new DriftError(
      `${source.id} → ${target.id}`,
      `${source.runs.length} vCPU(s) on the source, ${target.runs.length} on the target`,
    );
  }
  return {
    findings: diffProbeRuns(source.runs, target.runs, {
      targetFacts: target.side.facts,
      savedCounters,
    }),
    source,
    target,
  };
}

/** KVM_REG_ARM_TIMER_CNT (KVM's name; the encoding is CNTV_CVAL_EL0's, api.rst). */
const TIMER_CNT = sysreg(3, 3, 14, 3, 2);
const sourceCache = new WeakMap<RestoreResult, Promise<SideProbe>>();

function probeRestored(snapshot: Snapshot, r: RestoredTarget): Promise<SideProbe> {
  let p = sourceCache.get(r.restore);
  if (!p) {
    p = probeSide(driftSide(r.target, snapshot, r.restore.effective));
    sourceCache.set(r.restore, p);
  }
  return p;
}

/**
 * Restores `snapshot` as `source` and as `target` hold it, probes every vCPU of both and diffs
 * what the guest observes. Findings are in probe-row order; a finding shared by every vCPU has
 * no `vcpu`. Throws DriftError when a machine cannot be built or a probe does not finish.
 */
export async function runDrift(
  snapshot: Snapshot,
  source: RestoredTarget,
  target: RestoredTarget,
): Promise<DriftRun> {
  const [s, t] = await Promise.all([
    probeRestored(snapshot, source),
    probeRestored(snapshot, target),
  ]);
  return diffSides(s, t, snapshot.vcpus.map((c) => regValue(c, TIMER_CNT)));
}
