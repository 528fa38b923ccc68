/**
 * The VMM referee's case matrix and its fixtures.
 *
 * A case: one guest program, saved by QEMU/KVM on Debian kernel A and restored by QEMU/KVM on
 * kernel B, both nested in the same outer machine (`-cpu <cpu>`, GICv2 or GICv3). Cases are
 * grouped by outer machine ("platform") so one boot serves several: the saves on 6.1, then on
 * 6.12 the saves and the restores of the 6.1 streams (upgrade, and 6.12 identity), then on 6.1
 * the restores of the 6.12 streams (rollback) and of its own (6.1 identity, a later boot than
 * the save). Results: tests/fixtures/vmm/<case>.json, the streams in streams/<save>.qemu.gz.
 */
import { type KernelName, OracleError } from "../oracle.ts";
import { type GuestName, GUESTS } from "./guests/build.ts";
import { bootReferee, type Job, type JobResult, type RefereeBoot } from "./referee.ts";
import { fetchVmmPackages } from "./packages.ts";
import { sha256Hex } from "./proc.ts";

export const FIXTURES = new URL("../../tests/fixtures/vmm/", import.meta.url).pathname;
export const STREAMS = `${FIXTURES}streams/`;

/** Outer CPU models (QEMU 7.2 runs them with EL2) and the GICs of the matrix. */
export const CPUS = ["max", "neoverse-n1", "cortex-a57", "cortex-a72", "max,sve=off"] as const;
export const GICS = [3, 2] as const;
export const KINDS = {
  "identity-6.1": ["debian-6.1", "debian-6.1"],
  "identity-6.12": ["debian-6.12", "debian-6.12"],
  upgrade: ["debian-6.1", "debian-6.12"],
  rollback: ["debian-6.12", "debian-6.1"],
} as const satisfies Record<string, readonly [KernelName, KernelName]>;
export type Kind = keyof typeof KINDS;

export interface CaseSpec {
  id: string;
  cpu: string;
  gic: 2 | 3;
  kind: Kind;
  guest: GuestName;
  source: KernelName;
  target: KernelName;
  /** The rollsafe host this outer machine is, as nested KVM sees it. */
  host: string;
}

const slug = (cpu: string) => cpu.replace(",sve=off", "-sve-off").replace(/[^a-z0-9-]/g, "-");
/**
 * `qemu-<cpu>-nested` / `qemu-<cpu>-gicv2-nested`, the hosts hostprobe captures on the same
 * outer machines (emulator/hosts/data/).
 */
export function hostId(cpu: string, gic: 2 | 3): string {
  return gic === 2 ? `qemu-${slug(cpu)}-gicv2-nested` : `qemu-${slug(cpu)}-nested`;
}

export function platformId(cpu: string, gic: 2 | 3): string {
  return `${slug(cpu)}-gicv${gic}`;
}

export function caseId(cpu: string, gic: 2 | 3, kind: Kind, guest: string): string {
  return `${platformId(cpu, gic)}.${kind}.${guest}`;
}

export function allCases(): CaseSpec[] {
  const out: CaseSpec[] = [];
  for (const cpu of CPUS) {
    for (const gic of GICS) {
      for (const kind of Object.keys(KINDS) as Kind[]) {
        for (const guest of GUESTS) {
          const [source, target] = KINDS[kind];
          out.push({
            id: caseId(cpu, gic, kind, guest),
            cpu,
            gic,
            kind,
            guest,
            source,
            target,
            host: hostId(cpu, gic),
          });
        }
      }
    }
  }
  return out;
}

/** Case ids, or a prefix of them ("max-gicv3", "max-gicv3.rollback"), → cases. */
export function selectCases(patterns: string[]): CaseSpec[] {
  const all = allCases();
  const picked = all.filter((c) =>
    patterns.some((p) => c.id === p || c.id.startsWith(p.endsWith(".") ? p : `${p}.`))
  );
  const unknown = patterns.filter((p) =>
    !all.some((c) => c.id === p || c.id.startsWith(p.endsWith(".") ? p : `${p}.`))
  );
  if (unknown.length) {
    throw new OracleError(
      `unknown case ${unknown.join(", ")}; a case is <cpu>-gicv<2|3>.<${
        Object.keys(KINDS).join("|")
      }>.<${GUESTS.join("|")}> with cpu one of ${CPUS.map(slug).join(", ")}`,
    );
  }
  return picked;
}

const saveName = (kernel: KernelName, guest: string) => `${kernel.slice(7)}.${guest}`;
const restoreName = (c: CaseSpec) => `${c.kind}.${c.guest}`;

/** The boots one platform's cases need, in order. */
export function planBoots(cases: CaseSpec[]): { kernel: KernelName; jobs: Job[] }[] {
  const gic = cases[0].gic;
  const saves = (k: KernelName) =>
    [...new Set(cases.filter((c) => c.source === k).map((c) => c.guest))].map((guest): Job => ({
      kind: "save",
      name: saveName(k, guest),
      guest,
      gic,
    }));
  const restores = (k: KernelName) =>
    cases.filter((c) => c.target === k).map((c): Job => ({
      kind: "restore",
      name: restoreName(c),
      guest: c.guest,
      gic,
      input: saveName(c.source, c.guest),
    }));
  const boots: { kernel: KernelName; jobs: Job[] }[] = [];
  const s61 = saves("debian-6.1");
  if (s61.length) boots.push({ kernel: "debian-6.1", jobs: s61 });
  const b612 = [...saves("debian-6.12"), ...restores("debian-6.12")];
  if (b612.length) boots.push({ kernel: "debian-6.12", jobs: b612 });
  const r61 = restores("debian-6.1");
  if (r61.length) boots.push({ kernel: "debian-6.1", jobs: r61 });
  return boots;
}

/** `@@obs`/`@@after`/`@@changed` lines of a guest's serial output. */
export function guestObservations(serial: string): {
  guest?: string;
  before: Record<string, string>;
  after: Record<string, string>;
  changed: { name: string; before: string; after: string }[];
  ready: boolean;
  done: boolean;
} {
  const before: Record<string, string> = {};
  const after: Record<string, string> = {};
  const changed: { name: string; before: string; after: string }[] = [];
  let guest: string | undefined;
  for (const line of serial.split("\n")) {
    const [tag, name, a, b] = line.trim().split(" ");
    if (tag === "@@guest") guest = name;
    else if (tag === "@@obs") before[name] = a;
    else if (tag === "@@after") after[name] = a;
    else if (tag === "@@changed") changed.push({ name, before: a, after: b });
  }
  return {
    guest,
    before,
    after,
    changed,
    ready: serial.includes("@@ready"),
    done: serial.includes("@@done"),
  };
}

function kernelRecord(b: RefereeBoot) {
  const { image: _i, ...k } = b.kernel;
  return { ...k, release: b.release };
}

function jobRecord(j: JobResult) {
  return {
    status: j.status,
    exit: j.exit,
    seconds: j.seconds,
    commandLine: j.texts.cmdline,
    qmp: j.texts.qmp?.split("\n").filter((l) => l.length),
    qmpReplies: j.texts.monitor?.split("\n").filter((l) => l.length),
    stderr: j.texts.stderr,
  };
}

async function gzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as BlobPart]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

export async function readStream(file: string): Promise<Uint8Array> {
  const s = (await Deno.open(`${FIXTURES}${file}`)).readable.pipeThrough(
    new DecompressionStream("gzip"),
  );
  return new Uint8Array(await new Response(s).arrayBuffer());
}

/** Run the cases of one platform and write their fixtures; returns the files written. */
export async function runPlatform(
  cases: CaseSpec[],
  log: (s: string) => void = console.error,
): Promise<string[]> {
  const { cpu, gic } = cases[0];
  const pkgs = await fetchVmmPackages();
  const streams: Record<string, { bytes: Uint8Array; boot: RefereeBoot; job: JobResult }> = {};
  const restores: Record<string, { boot: RefereeBoot; job: JobResult }> = {};
  for (const { kernel, jobs } of planBoots(cases)) {
    const inputs: Record<string, Uint8Array> = {};
    const savedHere = new Set(jobs.map((j) => j.kind === "save" ? j.name : ""));
    for (const j of jobs) {
      if (j.kind !== "restore" || savedHere.has(j.input)) continue;
      const bytes = streams[j.input]?.bytes;
      if (!bytes) throw new OracleError(`stream ${j.input} was not saved (see its save above)`);
      inputs[j.input] = bytes;
    }
    log(
      `${platformId(cpu, gic)}: booting ${kernel} for ${
        jobs.map((j) => j.kind === "capture" ? "capture" : `${j.kind} ${j.name}`).join(", ")
      }`,
    );
    const boot = await bootReferee({
      kernel,
      cpu,
      gic,
      jobs,
      inputs,
      timeoutMs: 300_000 + 400_000 * jobs.length,
    });
    if (!boot.kvm) throw new OracleError(`${boot.release} on ${cpu}: no /dev/kvm in the guest`);
    log(`  ${boot.kernel.package} ${boot.kernel.version}: ${boot.seconds} s`);
    for (const j of boot.jobs) {
      log(`  ${j.kind} ${j.name}: ${j.status} (exit ${j.exit}, ${j.seconds} s)`);
      if (j.kind === "save" && j.stream) streams[j.name] = { bytes: j.stream, boot, job: j };
      if (j.kind === "restore") restores[j.name] = { boot, job: j };
    }
  }
  await Deno.mkdir(STREAMS, { recursive: true });
  const written: string[] = [];
  for (const c of cases) {
    const s = streams[saveName(c.source, c.guest)];
    const r = restores[restoreName(c)];
    if (!s || !r) {
      log(`  ${c.id}: no result (save ${s ? "ok" : "missing"}, restore ${r ? "ok" : "missing"})`);
      continue;
    }
    const streamFile = `streams/${platformId(cpu, gic)}.${saveName(c.source, c.guest)}.qemu.gz`;
    await Deno.writeFile(`${FIXTURES}${streamFile}`, await gzip(s.bytes));
    const saved = guestObservations(s.job.texts.serial ?? "");
    const restored = guestObservations(r.job.texts.serial ?? "");
    const doc = {
      generatedBy: `deno task oracle vmm ${c.id}`,
      case: c.id,
      kind: c.kind,
      guest: c.guest,
      outer: { cpu, gic, qemu: s.boot.qemu, args: s.boot.outer.args },
      host: c.host,
      inner: {
        qemu: s.boot.qemu,
        packages: pkgs.debs.map((d) => ({
          package: d.package,
          version: d.version,
          sha256: d.sha256,
        })),
      },
      source: { kernel: kernelRecord(s.boot), save: jobRecord(s.job) },
      target: { kernel: kernelRecord(r.boot), restore: jobRecord(r.job) },
      stream: {
        file: streamFile,
        bytes: s.bytes.length,
        sha256: await sha256Hex(s.bytes),
      },
      /** QEMU loaded the stream and the guest ran on to its @@done. */
      restored: r.job.status === "ran",
      observed: {
        before: saved.before,
        after: restored.after,
        changed: restored.changed,
      },
    };
    const file = `${c.id}.json`;
    await Deno.writeTextFile(`${FIXTURES}${file}`, JSON.stringify(doc, null, 1) + "\n");
    written.push(file);
  }
  return written;
}

/** Run `cases` platform by platform. */
export async function runCases(cases: CaseSpec[]): Promise<string[]> {
  const byPlatform = new Map<string, CaseSpec[]>();
  for (const c of cases) {
    const p = platformId(c.cpu, c.gic);
    byPlatform.set(p, [...(byPlatform.get(p) ?? []), c]);
  }
  const written: string[] = [];
  for (const group of byPlatform.values()) written.push(...await runPlatform(group));
  return written;
}
