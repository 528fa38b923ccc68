/**
 * Captured ground truth: tests/fixtures/oracle/<kernel>.json, written by
 * `deno task oracle fixtures`, and the rule for comparing a fresh capture with it.
 *
 * Each kernel is captured twice in one boot; leaves that differ between the two captures are
 * recorded as volatile (counters, mostly) and are not compared later.
 */
import { captureToDocument, diffDocuments, type Difference, type Doc } from "./capture.ts";
import { bootAndRun, type KernelName } from "./oracle.ts";
import { captureToHost } from "./host.ts";
import { fingerprintPlan, fingerprintRegs, N1_FINGERPRINTS } from "./fingerprint.ts";
import { encodePlan, type ReplayResult } from "./plan.ts";
import { checkPredictions, type PredictionCase } from "./predict.ts";
import { importFcFingerprint } from "../snapshots/import/fc_fingerprint.ts";

export const FIXTURE_DIR = new URL("../tests/fixtures/oracle/", import.meta.url).pathname;

export interface Fixture {
  generatedBy: string;
  capturedAt: string;
  kernel: {
    name: KernelName;
    metapackage: string;
    metapackageVersion: string;
    package: string;
    version: string;
    debSha256: string;
    release: string;
  };
  qemu: string;
  /** QEMU virt gic-version of the emulated host. */
  hostGic: 2 | 3;
  hostprobeSha256: string;
  bootSeconds: number;
  /** Leaves that differed between the two captures of the boot. */
  volatile: string[];
  capture: Doc;
}

/**
 * Leaves never compared: the counters (KVM_REG_ARM_TIMER_CNT, KVM_REG_ARM_PTIMER_CNT; KVM's
 * names, ids 0x603000000013df1a and ...df01) and the header (the package build string).
 */
const ALWAYS_VOLATILE = [
  /^regs \/ [^/]+ \/ 0x603000000013df1a$/,
  /^regs \/ [^/]+ \/ 0x603000000013df01$/,
  /^header \//,
];

/** Differences between a fixture and a fresh capture document, volatile leaves excluded. */
export function stableDifferences(fixture: Fixture, doc: Doc): Difference[] {
  const vol = new Set(fixture.volatile);
  return diffDocuments(
    fixture.capture,
    doc,
    (p) => vol.has(p) || ALWAYS_VOLATILE.some((re) => re.test(p)),
  );
}

/** Fixture file name: <kernel>.json on the GICv3 host, <kernel>.gicv2.json on the GICv2 host. */
export function fixtureName(kernel: KernelName, gic: 2 | 3 = 3): string {
  return gic === 3 ? `${kernel}.json` : `${kernel}.gicv2.json`;
}

export async function readFixture(kernel: KernelName, gic: 2 | 3 = 3): Promise<Fixture> {
  return JSON.parse(
    await Deno.readTextFile(`${FIXTURE_DIR}${fixtureName(kernel, gic)}`),
  ) as Fixture;
}

async function sha256(path: string): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", await Deno.readFile(path));
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

async function qemuVersion(): Promise<string> {
  const out = await new Deno.Command("qemu-system-aarch64", {
    args: ["--version"],
    stdout: "piped",
    signal: AbortSignal.timeout(30_000),
  }).output();
  return new TextDecoder().decode(out.stdout).split("\n")[0].trim();
}

/** One replayed SET_ONE_REG, reduced to its facts. */
export interface ReplayFact {
  id: string;
  result: string;
  /** "same" if the value read back equals the value written, else "differs"; absent on failure. */
  readback?: "same" | "differs";
}

/** The KVM counters (TIMER_CNT, PTIMER_CNT) move between the write and the read-back. */
const COUNTER_IDS = new Set(["0x603000000013df1a", "0x603000000013df01"]);

/** Per-operation facts of a replay (the vcpu_init first, then each register). */
export function replayFacts(results: ReplayResult[]): ReplayFact[] {
  return results.map((r) => {
    const fact: ReplayFact = { id: r.id ?? r.op, result: r.result };
    if (r.readback !== undefined && !COUNTER_IDS.has(r.id ?? "")) {
      fact.readback = r.readback === r.value ? "same" : "differs";
    }
    return fact;
  });
}

/** The fingerprint plans every oracle boot replays, with their texts. */
export async function fingerprintPlans(): Promise<{ name: string; text: string }[]> {
  return await Promise.all(N1_FINGERPRINTS.map(async (f) => ({
    name: f.name,
    text: encodePlan(
      fingerprintPlan(fingerprintRegs(await Deno.readTextFile(f.path), f.path)),
      `Firecracker fingerprint ${f.path.split("/").pop()}: every register onto a PSCI 0.2 vCPU`,
    ),
  })));
}

/**
 * Capture `kernel` twice and replay the fingerprint plans, in one boot; write the capture
 * fixture, the replay fixture and the host description.
 */
export async function writeFixtures(kernel: KernelName, gic: 2 | 3 = 3): Promise<string[]> {
  // the fingerprint replays need no vGIC: replayed once, on the GICv3 host
  const plans = gic === 3 ? await fingerprintPlans() : [];
  const r = await bootAndRun({ kernel, captures: 2, plans, gic });
  const [a, b] = r.captures.map(captureToDocument);
  const volatile = diffDocuments(a, b).map((d) => d.path);
  const fixture: Fixture = {
    generatedBy: `deno task oracle fixtures ${kernel}${gic === 2 ? " --gicv2" : ""}`,
    capturedAt: new Date().toISOString(),
    kernel: {
      name: kernel,
      metapackage: r.kernel.metapackage,
      metapackageVersion: r.kernel.metapackageVersion,
      package: r.kernel.package,
      version: r.kernel.version,
      debSha256: r.kernel.debSha256,
      release: r.release,
    },
    qemu: await qemuVersion(),
    hostGic: gic,
    hostprobeSha256: await sha256(new URL("./bin/hostprobe-aarch64", import.meta.url).pathname),
    bootSeconds: r.seconds,
    volatile,
    capture: a,
  };
  await Deno.mkdir(FIXTURE_DIR, { recursive: true });
  const path = `${FIXTURE_DIR}${fixtureName(kernel, gic)}`;
  await Deno.writeTextFile(path, JSON.stringify(fixture, null, 1) + "\n");
  if (gic === 2) return [path];
  const hostPath = `${FIXTURE_DIR}qemu-max-nested.${kernel}.host.json`;
  await Deno.writeTextFile(hostPath, JSON.stringify(captureToHost(fixture), null, 2) + "\n");
  const replays: Record<string, ReplayFact[]> = {};
  for (const p of plans) replays[p.name] = replayFacts(r.replays[p.name]);
  const replayPath = `${FIXTURE_DIR}${kernel}.replays.json`;
  const replayDoc = {
    generatedBy: fixture.generatedBy,
    capturedAt: fixture.capturedAt,
    kernel: fixture.kernel,
    plans: "hostprobe/fingerprint.ts fingerprintPlan() of each N1 fingerprint",
    replays,
  };
  await Deno.writeTextFile(replayPath, JSON.stringify(replayDoc, null, 1) + "\n");
  return [path, hostPath, replayPath];
}

/**
 * Kernel drift: the fixture names the build it was captured from; when Debian's archive has moved
 * to another build, say which, and what the new build's capture differs in, instead of a bare
 * list of differences. `changed` is false when the booted build is the fixture's.
 */
export interface Drift {
  changed: boolean;
  fixtureBuild: string;
  bootedBuild: string;
  differences: Difference[];
  message: string;
}

export function kernelDrift(
  fixture: Fixture,
  booted: { package: string; version: string },
  doc: Doc,
): Drift {
  const fixtureBuild = `${fixture.kernel.package} ${fixture.kernel.version}`;
  const bootedBuild = `${booted.package} ${booted.version}`;
  const differences = stableDifferences(fixture, doc);
  const changed = fixtureBuild !== bootedBuild;
  const shown = differences.slice(0, 40).map((d) =>
    `  ${d.path}: fixture ${JSON.stringify(d.expected)}, kernel ${JSON.stringify(d.actual)}`
  );
  const message = changed
    ? `${fixture.kernel.name}: Debian's archive moved from ${fixtureBuild} (the fixture, captured ` +
      `${
        fixture.capturedAt.slice(0, 10)
      }) to ${bootedBuild}; its capture differs in ${differences.length} ` +
      `stable leaves${differences.length ? `:\n${shown.join("\n")}` : ""}\n` +
      `  refresh with \`deno task oracle fixtures ${fixture.kernel.name}\` after reviewing the differences`
    : `${fixture.kernel.name}: ${bootedBuild} (the fixture's build) differs from its fixture in ` +
      `${differences.length} stable leaves${differences.length ? `:\n${shown.join("\n")}` : ""}`;
  return { changed, fixtureBuild, bootedBuild, differences, message };
}

/**
 * Predictions refereed: each Neoverse N1, V1 and V2 fingerprint (tests/fixtures/firecracker-
 * fingerprints/) evaluated as a Firecracker restore on `<kernel>@qemu-max-nested`, replayed on the
 * real kernel in one boot, the real per-operation results kept in
 * tests/fixtures/oracle/<kernel>.predictions.json. A fast test re-evaluates the model against
 * them (every prediction must equal the real result); `deno task oracle:predictions` refreshes
 * them from the real kernels.
 */
export const PREDICTION_CPUS = ["N1", "V1", "V2"] as const;
export const PREDICTION_HOST_KERNELS = ["5.10", "6.1", "6.18"] as const;

export function predictionCases(): PredictionCase[] {
  return PREDICTION_CPUS.flatMap((cpu) =>
    PREDICTION_HOST_KERNELS.map((k) => ({
      name: `${cpu.toLowerCase()}-${k.replace(".", "_")}`,
      vmm: "firecracker" as const,
      snapshot: importFcFingerprint(
        Deno.readTextFileSync(
          new URL(
            `../tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_${cpu}_${k}host.json`,
            import.meta.url,
          ),
        ),
      ),
    }))
  );
}

/** One real result of a plan operation, as the prediction check needs it. */
export type RealResult = Pick<ReplayResult, "index" | "op" | "result" | "value" | "readback"> & {
  id?: string;
};

export interface PredictionFixture {
  generatedBy: string;
  capturedAt: string;
  kernel: Fixture["kernel"];
  target: string;
  seconds: number;
  cases: Record<string, { compared: number; disagreements: string[]; real: RealResult[] }>;
}

export function predictionFixtureName(kernel: KernelName): string {
  return `${kernel}.predictions.json`;
}

export async function writePredictionFixture(kernel: KernelName): Promise<string> {
  const { run, checks } = await checkPredictions({
    kernel,
    cases: predictionCases(),
    timeoutMs: 600_000,
  });
  const cases: PredictionFixture["cases"] = {};
  for (const c of checks) {
    cases[c.name] = {
      compared: c.compared,
      disagreements: c.disagreements,
      real: c.real.map((x) => {
        const r: RealResult = { index: x.index, op: x.op, result: x.result };
        if (x.id !== undefined) r.id = x.id;
        if (x.value !== undefined) r.value = x.value;
        if (x.readback !== undefined) r.readback = x.readback;
        return r;
      }),
    };
  }
  const doc: PredictionFixture = {
    generatedBy: `deno task oracle:predictions ${kernel}`,
    capturedAt: new Date().toISOString(),
    kernel: {
      name: kernel,
      metapackage: run.kernel.metapackage,
      metapackageVersion: run.kernel.metapackageVersion,
      package: run.kernel.package,
      version: run.kernel.version,
      debSha256: run.kernel.debSha256,
      release: run.release,
    },
    target: checks[0]?.target ?? "",
    seconds: run.seconds,
    cases,
  };
  const path = `${FIXTURE_DIR}${predictionFixtureName(kernel)}`;
  // one line per real result keeps the file reviewable (and a third of the indented size)
  const text = JSON.stringify(doc, null, 1).replace(
    /\{\n\s+"index": [\s\S]*?\n\s+\}/g,
    (m) => JSON.stringify(JSON.parse(m)),
  );
  await Deno.writeTextFile(path, text + "\n");
  return path;
}

if (import.meta.main && Deno.args[0] === "predictions") {
  for (
    const k of (Deno.args.slice(1).length ? Deno.args.slice(1) : ["debian-6.1", "debian-6.12"])
  ) {
    const path = await writePredictionFixture(k as KernelName);
    const doc = JSON.parse(await Deno.readTextFile(path)) as PredictionFixture;
    const bad = Object.entries(doc.cases).filter(([, c]) => c.disagreements.length);
    console.log(
      `${k}: ${doc.kernel.package} ${doc.kernel.version}, ${doc.seconds} s, ${
        Object.values(doc.cases).reduce((n, c) => n + c.compared, 0)
      } predictions compared, ${bad.length} cases with disagreements -> ${path}`,
    );
    for (const [n, c] of bad) for (const d of c.disagreements) console.log(`  ${n}: ${d}`);
  }
}
