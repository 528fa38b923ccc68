/**
 * Prediction against the real kernel: evaluate a snapshot's restore on `<kernel>@<host>`
 * (emulator/kvm evaluateRestore), turn the evaluated sequence into a hostprobe plan (toPlan),
 * replay it on the real kernel, and list every operation whose real result is not the predicted
 * outcome. ok → 0; failed → that errno; ignored → 0 with a read-back that is not the value written.
 */
import { evaluateRestore, type RestoreResult } from "../emulator/kvm/mod.ts";
import { toPlan } from "./toplan.ts";
import type { VmmFlavour } from "../emulator/kvm/flavours.ts";
import { resolveTarget } from "../emulator/target.ts";
import type { Snapshot } from "../snapshots/model.ts";
import { encodePlan, type ReplayResult } from "./plan.ts";
import { bootAndRun, type KernelName, type OracleRun } from "./oracle.ts";

/** The rollsafe host a kernel runs on in the oracle, by emulated GIC. */
export function oracleHost(gic: 2 | 3): string {
  return gic === 3 ? "qemu-max-nested" : "qemu-max-gicv2-nested";
}

export interface PredictionCase {
  /** [a-z0-9_-], unique within one run. */
  name: string;
  snapshot: Snapshot;
  vmm?: VmmFlavour;
}

export interface PredictionCheck {
  name: string;
  target: string;
  /** The evaluation and its plan. */
  result: RestoreResult;
  planIndex: number[];
  /** Number of operations in the replayed plan. */
  planOps: number;
  /** The real per-plan-op results. */
  real: ReplayResult[];
  /** Operations compared (those with a plan op). */
  compared: number;
  disagreements: string[];
}

/** Operations whose real result is not the predicted outcome, one line each. */
export function disagreements(
  r: RestoreResult,
  planIndex: number[],
  real: ReplayResult[],
): string[] {
  const out: string[] = [];
  r.operations.forEach((o, i) => {
    const k = planIndex[i];
    if (k < 0) return; // a VMM-side check, or an operation hostprobe cannot replay yet
    const x = real[k];
    const what = `${o.op} ${o.name}${o.id ? ` ${o.id}` : ""}${o.attr ? ` ${o.attr}` : ""}` +
      (o.vcpu !== undefined ? ` (vCPU ${o.vcpu})` : "");
    if (!x) {
      out.push(`${what}: no real result for plan operation ${k}`);
      return;
    }
    let agrees: boolean;
    if (o.outcome === "failed") agrees = x.result === o.errno;
    else if (o.outcome === "ignored") {
      agrees = x.result === "ok" && x.readback !== undefined && x.readback !== x.value;
    } else agrees = x.result === "ok";
    if (!agrees) {
      const predicted = o.outcome === "failed" ? `${o.errno}` : o.outcome;
      out.push(
        `${what}: predicted ${predicted} (${o.reason}), real ${x.result}` +
          (x.readback !== undefined ? ` (wrote ${x.value}, read back ${x.readback})` : ""),
      );
    }
  });
  return out;
}

/** Evaluate every case for `kernel` on the oracle host, replay all in one boot, compare. */
export async function checkPredictions(opts: {
  kernel: KernelName;
  gic?: 2 | 3;
  cases: PredictionCase[];
  timeoutMs?: number;
}): Promise<{ run: OracleRun; checks: PredictionCheck[] }> {
  const gic = opts.gic ?? 3;
  const target = resolveTarget(`${opts.kernel}@${oracleHost(gic)}`);
  const evaluated = opts.cases.map((c) => {
    const result = evaluateRestore(c.snapshot, target, c.vmm ? { vmm: c.vmm } : {});
    const plan = toPlan(result);
    return {
      c,
      result,
      plan,
      text: encodePlan(plan.ops, `${c.name} as evaluated for ${target.id}`),
    };
  });
  const run = await bootAndRun({
    kernel: opts.kernel,
    gic,
    captures: 0,
    plans: evaluated.map((e) => ({ name: e.c.name, text: e.text })),
    timeoutMs: opts.timeoutMs,
  });
  const checks = evaluated.map((e): PredictionCheck => {
    const real = run.replays[e.c.name];
    return {
      name: e.c.name,
      target: target.id,
      result: e.result,
      planIndex: e.plan.planIndex,
      planOps: e.plan.ops.length,
      real,
      compared: e.plan.planIndex.filter((i) => i >= 0).length,
      disagreements: disagreements(e.result, e.plan.planIndex, real),
    };
  });
  return { run, checks };
}
