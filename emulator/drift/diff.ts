/**
 * The diff of two probe runs (source target, destination target), one result set per vCPU,
 * into DriftFindings. Generic over the rows of rules.ts; the only cross-row logic here is what
 * makes two values "the same" (status, value outside bits that move on their own), which cache
 * rows apply (CLIDR says which caches exist), counter continuity, and folding a finding every
 * vCPU shares into one VM-wide finding.
 */
import type { DriftFinding, FactSource } from "../findings.ts";
import { type Observation, type ProbeResults, showObservation } from "../probes/results.ts";
import { ruleFor } from "./rules.ts";

/** Counter difference between the two machines that is noise (the probe paths differ a little). */
export const COUNTER_TOLERANCE = 100_000n;

export interface DiffOptions {
  /** Citations from the destination target's profile and host, by rule topic. */
  targetFacts?: Record<string, FactSource>;
  /** The guest's saved virtual counter (KVM_REG_ARM_TIMER_CNT) per vCPU, for explanations. */
  savedCounters?: (bigint | undefined)[];
}

function same(a: Observation, b: Observation, ignore: bigint): boolean {
  if (a.status.kind !== b.status.kind) return false;
  if (a.status.kind === "exception" && b.status.kind === "exception") {
    return a.status.esr === b.status.esr;
  }
  return (a.value & ~ignore) === (b.value & ~ignore);
}

/** CCSIDR_EL1.L<n><D|I> applies when CLIDR_EL1.Ctype<n> has that kind of cache (Arm ARM D24.2.31). */
function cacheExists(clidr: Observation | undefined, slotName: string): boolean {
  const m = /^CCSIDR_EL1\.L(\d)([DI])$/.exec(slotName);
  if (!m || !clidr || clidr.status.kind !== "ok") return true;
  const ctype = Number((clidr.value >> BigInt(3 * (Number(m[1]) - 1))) & 7n);
  // 1 instruction only, 2 data only, 3 separate, 4 unified.
  return m[2] === "I" ? ctype === 1 || ctype === 3 : ctype >= 2 && ctype <= 4;
}

function counterFinding(
  name: "CNTVCT_EL0" | "CNTPCT_EL0",
  vcpu: number,
  s: Observation,
  t: Observation,
  saved: bigint | undefined,
  fact: FactSource,
  cntfrq: bigint,
): DriftFinding | undefined {
  if (s.status.kind !== "ok" || t.status.kind !== "ok") return undefined;
  const jump = BigInt.asIntN(64, t.value - s.value);
  if ((jump < 0n ? -jump : jump) <= COUNTER_TOLERANCE) return undefined;
  const secs = cntfrq > 0n ? Number(jump) / Number(cntfrq) : NaN;
  const from = saved === undefined ? "" : ` (saved counter 0x${saved.toString(16)})`;
  const virt = name === "CNTVCT_EL0";
  return {
    what: name,
    vcpu,
    source: showObservation(s),
    target: showObservation(t),
    severity: virt ? "breaking" : "notable",
    explanation: `${virt ? "the virtual counter" : "the physical counter"} the guest reads after ` +
      `the restore differs by ${jump} ticks${
        Number.isNaN(secs) ? "" : ` (${secs.toFixed(3)} s)`
      } between source and target${from}: ${
        virt
          ? "the target does not restore the counter the same way, so the guest's clock and every armed timer deadline shift"
          : "the target does not offset the physical counter like the source"
      }`,
    fact,
  };
}

/** Findings for one vCPU. */
function diffVcpu(
  vcpu: number,
  src: ProbeResults,
  tgt: ProbeResults,
  opts: DiffOptions,
): DriftFinding[] {
  const out: DriftFinding[] = [];
  const srcClidr = src.observations.get("CLIDR_EL1");
  const tgtClidr = tgt.observations.get("CLIDR_EL1");
  for (const [name, s] of src.observations) {
    const t = tgt.observations.get(name);
    if (!t) continue;
    const rule = ruleFor(name);
    const fact = opts.targetFacts?.[rule.topic] ?? rule.fact;
    if (name === "CNTVCT_EL0" || name === "CNTPCT_EL0") {
      const freq = src.observations.get("CNTFRQ_EL0");
      const f = counterFinding(
        name,
        vcpu,
        s,
        t,
        opts.savedCounters?.[vcpu],
        fact,
        freq?.status.kind === "ok" ? freq.value : 0n,
      );
      if (f) out.push(f);
      continue;
    }
    if (same(s, t, rule.ignoreBits ?? 0n)) continue;
    if (!cacheExists(srcClidr, name) && !cacheExists(tgtClidr, name)) continue;
    const v = rule.judge(s, t);
    if (!v) continue;
    out.push({
      what: name,
      vcpu,
      source: showObservation(s),
      target: showObservation(t),
      severity: v.severity,
      explanation: v.explanation,
      fact,
    });
  }
  return out;
}

/**
 * Diffs per-vCPU probe results. A finding that every vCPU has identically is reported once,
 * without `vcpu`; otherwise once per vCPU. Order: probe-row order, then vCPU order.
 */
export function diffProbeRuns(
  source: ProbeResults[],
  target: ProbeResults[],
  opts: DiffOptions = {},
): DriftFinding[] {
  if (source.length !== target.length) {
    throw new Error(
      `drift diff: ${source.length} source vCPU run(s) against ${target.length} target run(s)`,
    );
  }
  const per = source.map((s, i) =>
    new Map(diffVcpu(i, s, target[i], opts).map((f) => [f.what, f]))
  );
  // Counter readings differ per vCPU by the instructions between them; fold on severity alone.
  const key = (f: DriftFinding) =>
    /^CNT[VP]CT_EL0$/.test(f.what) ? f.severity : JSON.stringify([f.source, f.target, f.severity]);
  const out: DriftFinding[] = [];
  for (const name of source[0]?.observations.keys() ?? []) {
    const found = per.map((m) => m.get(name));
    const present = found.filter((f): f is DriftFinding => f !== undefined);
    if (present.length === 0) continue;
    if (present.length === source.length && present.every((f) => key(f) === key(present[0]))) {
      const { vcpu: _v, ...shared } = present[0];
      out.push(shared);
    } else {
      out.push(...present);
    }
  }
  return out;
}
