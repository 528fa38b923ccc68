/**
 * Captured ground truth: tests/fixtures/oracle/<kernel>.json, written by
 * `deno task oracle fixtures`, and the rule for comparing a fresh capture with it.
 *
 * Each kernel is captured twice in one boot; leaves that differ between the two captures are
 * recorded as volatile (counters, mostly) and are not compared later.
 */
import { captureToDocument, diffDocuments, type Difference, type Doc } from "./capture.ts";
import { bootAndRun, type KernelName } from "./oracle.ts";
import { captureToHost, emulatorHost } from "./host.ts";
import { fingerprintPlan, fingerprintRegs, N1_FINGERPRINTS } from "./fingerprint.ts";
import { encodePlan, type ReplayResult } from "./plan.ts";
import { disagreements, type PredictionCase } from "./predict.ts";
import { toPlan } from "./toplan.ts";
import { evaluateRestore } from "../emulator/kvm/mod.ts";
import { resolveTarget } from "../emulator/target.ts";
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

/** A QEMU -cpu model as a name part: "max,sve=off,pauth=off" → "max-sve-off-pauth-off". */
export const cpuSlug = (cpu: string) => cpu.replace(/[,=]/g, "-");

/**
 * Fixture file name: <kernel>.json on the GICv3 host, <kernel>.gicv2.json on the GICv2 host, with
 * `.<cpu>` before the suffix for a -cpu model other than max.
 */
export function fixtureName(kernel: KernelName, gic: 2 | 3 = 3, cpu = "max"): string {
  const c = cpu === "max" ? "" : `.${cpuSlug(cpu)}`;
  return gic === 3 ? `${kernel}${c}.json` : `${kernel}${c}.gicv2.json`;
}

export async function readFixture(
  kernel: KernelName,
  gic: 2 | 3 = 3,
  cpu = "max",
): Promise<Fixture> {
  return JSON.parse(
    await Deno.readTextFile(`${FIXTURE_DIR}${fixtureName(kernel, gic, cpu)}`),
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
export async function writeFixtures(
  kernel: KernelName,
  gic: 2 | 3 = 3,
  cpu = "max",
): Promise<string[]> {
  // the fingerprint replays need no vGIC: replayed once, on the GICv3 max host
  const plans = gic === 3 && cpu === "max" ? await fingerprintPlans() : [];
  const r = await bootAndRun({ kernel, captures: 2, plans, gic, cpu });
  const [a, b] = r.captures.map(captureToDocument);
  const volatile = diffDocuments(a, b).map((d) => d.path);
  const fixture: Fixture = {
    generatedBy: cpu === "max"
      ? `deno task oracle fixtures ${kernel}${gic === 2 ? " --gicv2" : ""}`
      : `deno task oracle:cpus ${kernel} ${cpu}${gic === 2 ? " --gicv2" : ""}`,
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
  const path = `${FIXTURE_DIR}${fixtureName(kernel, gic, cpu)}`;
  await Deno.writeTextFile(path, JSON.stringify(fixture, null, 1) + "\n");
  if (gic === 2) return [path];
  const hostPath = `${FIXTURE_DIR}qemu-${cpuSlug(cpu)}-nested.${kernel}.host.json`;
  await Deno.writeTextFile(hostPath, JSON.stringify(captureToHost(fixture), null, 2) + "\n");
  if (plans.length === 0) return [path, hostPath];
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

export function predictionFixtureName(kernel: KernelName, cpu = "max"): string {
  return cpu === "max"
    ? `${kernel}.predictions.json`
    : `${kernel}.${cpuSlug(cpu)}.predictions.json`;
}

/** The rollsafe host of a QEMU -cpu model under the oracle (GICv3 machine). */
export const oracleCpuHost = (cpu: string) => `qemu-${cpuSlug(cpu)}-nested`;

export async function writePredictionFixture(kernel: KernelName, cpu = "max"): Promise<string> {
  const target = resolveTarget(`${kernel}@${oracleCpuHost(cpu)}`);
  const evaluated = predictionCases().map((c) => {
    const result = evaluateRestore(c.snapshot, target, { vmm: c.vmm });
    const plan = toPlan(result);
    return {
      c,
      result,
      plan,
      text: encodePlan(plan.ops, `${c.name} as evaluated for ${target.id}`),
    };
  });
  const run = await bootAndRun({
    kernel,
    cpu,
    captures: 0,
    plans: evaluated.map((e) => ({ name: e.c.name, text: e.text })),
    timeoutMs: 600_000,
  });
  const cases: PredictionFixture["cases"] = {};
  for (const e of evaluated) {
    const real = run.replays[e.c.name];
    cases[e.c.name] = {
      compared: e.plan.planIndex.filter((i) => i >= 0).length,
      disagreements: disagreements(e.result, e.plan.planIndex, real),
      real: real.map((x) => {
        const r: RealResult = { index: x.index, op: x.op, result: x.result };
        if (x.id !== undefined) r.id = x.id;
        if (x.value !== undefined) r.value = x.value;
        if (x.readback !== undefined) r.readback = x.readback;
        return r;
      }),
    };
  }
  const doc: PredictionFixture = {
    generatedBy: `deno task oracle:predictions ${kernel}${cpu === "max" ? "" : ` ${cpu}`}`,
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
    target: target.id,
    seconds: run.seconds,
    cases,
  };
  const path = `${FIXTURE_DIR}${predictionFixtureName(kernel, cpu)}`;
  // one line per real result keeps the file reviewable (and a third of the indented size)
  const text = JSON.stringify(doc, null, 1).replace(
    /\{\n\s+"index": [\s\S]*?\n\s+\}/g,
    (m) => JSON.stringify(JSON.parse(m)),
  );
  await Deno.writeTextFile(path, text + "\n");
  return path;
}

/** QEMU 7.2's 64-bit -cpu models, and max without SVE and pointer auth: every one the oracle tries. */
export const ORACLE_CPUS = [
  "max",
  "max,sve=off,pauth=off",
  "neoverse-n1",
  "cortex-a76",
  "cortex-a72",
  "cortex-a57",
  "cortex-a53",
  "cortex-a35",
  "a64fx",
] as const;

if (import.meta.main && Deno.args[0] === "cpus") {
  // deno task oracle:cpus [kernel …] [cpu …] [--gicv2]: capture fixtures per CPU model
  const args = Deno.args.slice(1);
  const gic = args.includes("--gicv2") ? 2 : 3;
  const kernels = args.filter((a) => a.startsWith("debian-")) as KernelName[];
  const cpus = args.filter((a) => !a.startsWith("debian-") && !a.startsWith("--"));
  for (const k of kernels.length ? kernels : ["debian-6.1", "debian-6.12"] as KernelName[]) {
    for (const cpu of cpus.length ? cpus : ORACLE_CPUS.filter((c) => c !== "max")) {
      try {
        const out = await writeFixtures(k, gic, cpu);
        const f = JSON.parse(await Deno.readTextFile(out[0])) as Fixture;
        console.log(`${k} -cpu ${cpu} gicv${gic}: ${f.bootSeconds} s -> ${out.join(", ")}`);
      } catch (e) {
        console.log(`${k} -cpu ${cpu} gicv${gic}: FAILED ${(e as Error).message.split("\n")[0]}`);
      }
    }
  }
}

if (import.meta.main && Deno.args[0] === "hosts") {
  // emulator/hosts/data/qemu-<cpu>-nested.json (and -gicv2-nested) from the committed captures
  for (const cpu of ORACLE_CPUS.filter((c) => c !== "max")) {
    const file61 = fixtureName("debian-6.1", 3, cpu);
    const file612 = fixtureName("debian-6.12", 3, cpu);
    let f61: Fixture, f612: Fixture;
    try {
      f61 = await readFixture("debian-6.1", 3, cpu);
      f612 = await readFixture("debian-6.12", 3, cpu);
    } catch {
      console.log(`${cpu}: no captures (${file61}, ${file612}); skipped`);
      continue;
    }
    for (const gic of [3, 2] as const) {
      const h = emulatorHost(cpu, gic, f61, f612, { slug: cpuSlug(cpu), file61, file612 });
      const out = new URL(`../emulator/hosts/data/${h.id}.json`, import.meta.url).pathname;
      await Deno.writeTextFile(out, JSON.stringify(h, null, 2) + "\n");
      await new Deno.Command(Deno.execPath(), { args: ["fmt", "-q", out] }).output();
      console.log(`${h.id} -> ${out}`);
    }
  }
}

if (import.meta.main && Deno.args[0] === "predictions") {
  // deno task oracle:predictions [kernel …] [cpu …]
  const args = Deno.args.slice(1);
  const ks = args.filter((a) => a.startsWith("debian-"));
  const cpus = args.filter((a) => !a.startsWith("debian-"));
  const pairs = (ks.length ? ks : ["debian-6.1", "debian-6.12"]).flatMap((k) =>
    (cpus.length ? cpus : ["max"]).map((cpu) => [k, cpu])
  );
  for (const [k, cpu] of pairs) {
    const path = await writePredictionFixture(k as KernelName, cpu);

    const doc = JSON.parse(await Deno.readTextFile(path)) as PredictionFixture;
    const bad = Object.entries(doc.cases).filter(([, c]) => c.disagreements.length);
    console.log(
      `${k} -cpu ${cpu}: ${doc.kernel.package} ${doc.kernel.version}, ${doc.seconds} s, ${
        Object.values(doc.cases).reduce((n, c) => n + c.compared, 0)
      } predictions compared, ${bad.length} cases with disagreements -> ${path}`,
    );
    for (const [n, c] of bad) for (const d of c.disagreements) console.log(`  ${n}: ${d}`);
  }
}
