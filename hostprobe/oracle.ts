/**
 * The real-kernel oracle: boot a Debian arm64 kernel under QEMU with nested virtualization
 * (`-M virt,virtualization=on,gic-version=3 -cpu max`: the guest kernel starts at EL2, so its
 * /dev/kvm works) with an initramfs whose /init is hostprobe, run captures and restore-plan
 * replays inside, and bring back their JSON lines.
 *
 * Kernel packages are resolved through Debian's metapackages (security updates replace old
 * builds), downloaded with `apt-get download`, and cached under .oracle-cache/ (only the kernel
 * image is kept). Every external process runs with a timeout.
 */
import { cpioNewc } from "./cpio.ts";
import { parseReplayOutput, type ReplayResult } from "./plan.ts";

/**
 * Kernels the oracle can boot: name → the Debian metapackage that tracks it, and optionally a
 * pinned metapackage version (an older build that is still in the archive; it disappears when the
 * archive moves on, and resolving it then fails with a message saying so).
 */
export const KERNELS: Record<string, { metapackage: string; version?: string }> = {
  "debian-6.1": { metapackage: "linux-image-arm64" },
  "debian-6.12": { metapackage: "linux-image-6.12-arm64" },
  // bookworm 12.x point-release build; the research's "real 6.1.176" observations
  "debian-6.1.176": { metapackage: "linux-image-arm64", version: "6.1.176-1" },
};
export type KernelName = "debian-6.1" | "debian-6.12" | "debian-6.1.176";

export class OracleError extends Error {
  override name = "OracleError";
}

const ROOT = new URL("..", import.meta.url).pathname;
export const CACHE_DIR = `${ROOT}.oracle-cache`;
export const HOSTPROBE_BIN = `${ROOT}hostprobe/bin/hostprobe-aarch64`;

/** The exact kernel a run used. */
export interface KernelPackage {
  kernel: KernelName;
  metapackage: string;
  metapackageVersion: string;
  /** The image package, e.g. "linux-image-6.1.0-56-arm64". */
  package: string;
  /** Its Debian version, e.g. "6.1.192-2". */
  version: string;
  /** Path of the kernel Image in the cache. */
  image: string;
  /** SHA-256 of the downloaded .deb. */
  debSha256: string;
}

interface RunOut {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a command with a hard timeout; a timeout or a missing program is an OracleError. */
async function run(
  cmd: string,
  args: string[],
  timeoutMs: number,
  opts: { cwd?: string; env?: Record<string, string> } = {},
): Promise<RunOut> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command(cmd, {
      args,
      cwd: opts.cwd,
      env: opts.env,
      stdout: "piped",
      stderr: "piped",
      stdin: "null",
      signal: AbortSignal.timeout(timeoutMs),
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new OracleError(`${cmd}: not installed (needed for ${args[0] ?? cmd})`);
    }
    if ((e as Error).name === "AbortError" || (e as Error).name === "TimeoutError") {
      throw new OracleError(`${cmd} ${args.join(" ")}: no answer within ${timeoutMs / 1000} s`);
    }
    throw e;
  }
  if (out.signal === "SIGTERM" || out.signal === "SIGKILL") {
    throw new OracleError(
      `${cmd} ${args.join(" ")}: killed after ${timeoutMs / 1000} s (${out.signal})`,
    );
  }
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function field(stanza: string, name: string): string | undefined {
  const m = stanza.match(new RegExp(`^${name}: (.*)$`, "m"));
  return m?.[1].trim();
}

/**
 * The metapackage's candidate version and the image package it depends on, from apt's lists
 * (needs `dpkg --add-architecture arm64 && apt-get update`).
 */
export async function resolveKernel(
  kernel: KernelName,
): Promise<{ metapackage: string; metapackageVersion: string; package: string; version: string }> {
  const meta = KERNELS[kernel]?.metapackage;
  if (!meta) throw new OracleError(`unknown kernel "${kernel}" (known: ${Object.keys(KERNELS)})`);
  const policy = await run("apt-cache", ["policy", `${meta}:arm64`], 60_000);
  const pinned = KERNELS[kernel].version;
  const cand = pinned ?? policy.stdout.match(/Candidate: (\S+)/)?.[1];
  if (!cand || cand === "(none)") {
    throw new OracleError(
      `${meta}:arm64 has no candidate version in apt's lists; run ` +
        "`dpkg --add-architecture arm64 && apt-get update` first",
    );
  }
  if (pinned && !policy.stdout.includes(` ${pinned} `)) {
    throw new OracleError(
      `${kernel}: ${meta}:arm64 version ${pinned} is no longer in apt's lists ` +
        `(available:${
          [...policy.stdout.matchAll(/^\s+(?:\*\*\* )?(\S+) \d+$/gm)].map((m) => " " + m[1])
        })`,
    );
  }
  const show = await run("apt-cache", ["show", `${meta}:arm64=${cand}`], 60_000);
  const depends = field(show.stdout, "Depends") ?? "";
  const dep = depends.match(/(linux-image-[^\s,(]+)\s*\(= ([^)]+)\)/);
  if (!dep) {
    throw new OracleError(`${meta}:arm64=${cand}: no "linux-image-… (= version)" in Depends`);
  }
  return { metapackage: meta, metapackageVersion: cand, package: dep[1], version: dep[2] };
}

async function sha256Hex(path: string): Promise<string> {
  const data = await Deno.readFile(path);
  const d = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * The kernel Image for `kernel`, downloaded once and cached in .oracle-cache/<pkg>_<ver>/.
 * Debian's arm64 /boot/vmlinuz-* is a plain (uncompressed) arm64 Image, which `qemu -kernel`
 * boots as is.
 */
export async function fetchKernel(kernel: KernelName): Promise<KernelPackage> {
  const r = await resolveKernel(kernel);
  const name = `${r.package}_${r.version}`;
  const dir = `${CACHE_DIR}/${name}`;
  const cached = await readCached(dir);
  if (cached) return { ...cached, kernel, metapackageVersion: r.metapackageVersion };
  // Download and extract into a private directory, then rename it into place: test files run in
  // parallel and may fetch the same kernel at once; the first rename wins, the others use it.
  await Deno.mkdir(CACHE_DIR, { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: CACHE_DIR, prefix: `.${name}.` });
  try {
    const dl = await run("apt-get", ["download", `${r.package}:arm64=${r.version}`], 600_000, {
      cwd: tmp,
    });
    const deb = [...Deno.readDirSync(tmp)].find((e) => e.name.endsWith(".deb"))?.name;
    if (dl.code !== 0 || !deb) {
      throw new OracleError(
        `apt-get download ${r.package}:arm64=${r.version} failed (${dl.code}): ${dl.stderr.trim()}`,
      );
    }
    const debPath = `${tmp}/${deb}`;
    const debSha256 = await sha256Hex(debPath);
    // Extract only the kernel image: tar reads the package's data archive from dpkg-deb.
    const x = await run(
      "bash",
      [
        "-c",
        'set -o pipefail; dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "./boot/vmlinuz-*"',
        "extract",
        debPath,
        tmp,
      ],
      300_000,
    );
    if (x.code !== 0) throw new OracleError(`extracting /boot/vmlinuz-* from ${deb}: ${x.stderr}`);
    const img = [...Deno.readDirSync(`${tmp}/boot`)].find((e) => e.name.startsWith("vmlinuz-"));
    if (!img) throw new OracleError(`${deb} has no /boot/vmlinuz-*`);
    await Deno.remove(debPath);
    const meta = { kernel, ...r, imageFile: `boot/${img.name}`, debSha256 };
    await Deno.writeTextFile(`${tmp}/package.json`, JSON.stringify(meta, null, 2) + "\n");
    try {
      await Deno.rename(tmp, dir);
    } catch {
      // another process put it there first
    }
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
  }
  const done = await readCached(dir);
  if (!done) throw new OracleError(`${dir}: kernel cache incomplete after download`);
  return { ...done, kernel, metapackageVersion: r.metapackageVersion };
}

/** A cached kernel (package.json + the image it names), or undefined. */
async function readCached(dir: string): Promise<KernelPackage | undefined> {
  try {
    const meta = JSON.parse(await Deno.readTextFile(`${dir}/package.json`));
    const image = `${dir}/${meta.imageFile}`;
    await Deno.stat(image);
    const { imageFile: _f, ...rest } = meta;
    return { ...rest, image } as KernelPackage;
  } catch {
    return undefined;
  }
}

/** One JSON line of `hostprobe capture` (kinds: hostprobe/README.md). */
export type CaptureLine = Record<string, unknown> & { kind: string };

export interface OracleRun {
  kernel: KernelPackage;
  /** `uname -r` inside the guest. */
  release: string;
  /** Each requested capture's JSON lines. */
  captures: CaptureLine[][];
  /** Each plan's per-operation results, by plan name. */
  replays: Record<string, ReplayResult[]>;
  /** Exit status of each job (0 = ran to completion). */
  jobs: { job: string; status: string; code: number }[];
  /** Wall time of the boot in seconds. */
  seconds: number;
  /** The whole serial console, for diagnosis. */
  console: string;
}

export interface BootRequest {
  kernel: KernelName;
  /** How many `hostprobe capture` runs (0, 1 or 2: twice shows which values are volatile). */
  captures?: number;
  /** Restore plans (text from encodePlan) to replay, by name ([a-z0-9_-], unique). */
  plans?: { name: string; text: string }[];
  /** Hard limit for the whole boot, default 600 s. */
  timeoutMs?: number;
  /** hostprobe binary to use as /init, default hostprobe/bin/hostprobe-aarch64. */
  hostprobe?: string;
  /**
   * The emulated host's interrupt controller (QEMU virt gic-version), default 3. With 3 KVM can
   * only offer vGICv3 (QEMU's GICv3 has no GICv2 compatibility); with 2, only vGICv2.
   */
  gic?: 2 | 3;
  /** QEMU -cpu model of the emulated host (it needs EL2 for /dev/kvm), default "max". */
  cpu?: string;
}

/** The initramfs bytes: /init = hostprobe, /jobs, /plans/<name>.plan, /dev/console. */
export function buildInitramfs(
  hostprobe: Uint8Array,
  captures: number,
  plans: { name: string; text: string }[],
): Uint8Array {
  const enc = new TextEncoder();
  const jobs: string[] = [];
  for (let i = 0; i < captures; i++) jobs.push("capture");
  const seen = new Set<string>();
  for (const p of plans) {
    if (!/^[a-z0-9_-]{1,64}$/.test(p.name) || seen.has(p.name)) {
      throw new OracleError(`plan name "${p.name}": must be unique, [a-z0-9_-], 1..64 chars`);
    }
    seen.add(p.name);
    jobs.push(`replay /plans/${p.name}.plan`);
  }
  return cpioNewc([
    { type: "dir", path: "dev" },
    { type: "chardev", path: "dev/console", major: 5, minor: 1 },
    { type: "dir", path: "plans" },
    ...plans.map((p) => ({
      type: "file" as const,
      path: `plans/${p.name}.plan`,
      data: enc.encode(p.text),
    })),
    { type: "file", path: "jobs", data: enc.encode(jobs.join("\n") + "\n") },
    { type: "file", path: "init", data: hostprobe, mode: 0o755 },
  ]);
}

/** Split the console into the framed job outputs (`@@rollsafe begin/end`, printed by init). */
export function splitJobs(
  consoleText: string,
): { job: string; status: string; code: number; text: string }[] {
  const out: { job: string; status: string; code: number; text: string }[] = [];
  let cur: { job: string; lines: string[] } | null = null;
  for (const raw of consoleText.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const begin = line.match(/^@@rollsafe begin (.*) (\d+)$/);
    const end = line.match(/^@@rollsafe end (exit|timeout) (-?\d+)$/);
    if (begin) {
      cur = { job: begin[1], lines: [] };
    } else if (end && cur) {
      out.push({ job: cur.job, status: end[1], code: Number(end[2]), text: cur.lines.join("\n") });
      cur = null;
    } else if (cur) {
      cur.lines.push(line);
    }
  }
  return out;
}

/** JSON lines of one capture job; lines that are not hostprobe's (console noise) are skipped. */
export function parseCaptureOutput(text: string): CaptureLine[] {
  const out: CaptureLine[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/\r$/, "").trim();
    if (!line.startsWith('{"kind"')) return;
    try {
      out.push(JSON.parse(line) as CaptureLine);
    } catch (e) {
      throw new OracleError(`capture output line ${i + 1}: not JSON (${(e as Error).message})`);
    }
  });
  return out;
}

/** QEMU arguments for one oracle boot. */
export function qemuArgs(
  image: string,
  initrd: string,
  gic: 2 | 3 = 3,
  cpu = "max",
): string[] {
  return [
    "-M",
    `virt,virtualization=on,gic-version=${gic}`,
    "-cpu",
    cpu,
    "-m",
    "1G",
    "-nographic",
    "-no-reboot",
    "-nic",
    "none",
    "-kernel",
    image,
    "-initrd",
    initrd,
    // panic=-1: a kernel panic reboots, and -no-reboot turns that into an exit
    "-append",
    "console=ttyAMA0 quiet loglevel=1 panic=-1",
  ];
}

/** Boot `kernel`, run the requested captures and replays, return their results. */
export async function bootAndRun(req: BootRequest): Promise<OracleRun> {
  const kernel = await fetchKernel(req.kernel);
  const binPath = req.hostprobe ?? HOSTPROBE_BIN;
  let bin: Uint8Array;
  try {
    bin = await Deno.readFile(binPath);
  } catch {
    throw new OracleError(`${binPath}: missing; run \`deno task build:hostprobe\``);
  }
  const plans = req.plans ?? [];
  const captures = req.captures ?? 1;
  const tmp = await Deno.makeTempDir({ prefix: "rollsafe-oracle-" });
  try {
    const initrd = `${tmp}/initrd.cpio`;
    await Deno.writeFile(initrd, buildInitramfs(bin, captures, plans));
    const t0 = performance.now();
    const timeoutMs = req.timeoutMs ?? 600_000;
    const q = await run(
      "qemu-system-aarch64",
      qemuArgs(kernel.image, initrd, req.gic, req.cpu),
      timeoutMs,
    );
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const consoleText = q.stdout.replaceAll("\r", "");
    if (!consoleText.includes("@@rollsafe poweroff")) {
      throw new OracleError(
        `${kernel.package} ${kernel.version}: the guest did not finish its jobs ` +
          `(qemu exit ${q.code}; ${q.stderr.trim() || "no stderr"}); console tail:\n` +
          consoleText.slice(-2000),
      );
    }
    const jobs = splitJobs(consoleText);
    if (jobs.length !== captures + plans.length) {
      throw new OracleError(
        `${kernel.package}: ${jobs.length} framed job outputs for ${captures + plans.length} jobs`,
      );
    }
    const result: OracleRun = {
      kernel,
      release: "",
      captures: [],
      replays: {},
      jobs: jobs.map(({ job, status, code }) => ({ job, status, code })),
      seconds,
      console: consoleText,
    };
    jobs.forEach((j, i) => {
      if (i < captures) {
        if (j.status !== "exit" || j.code !== 0) {
          throw new OracleError(
            `capture ${i} on ${kernel.package}: hostprobe ${j.status} ${j.code}: ` +
              j.text.slice(-500),
          );
        }
        const lines = parseCaptureOutput(j.text);
        result.captures.push(lines);
        const h = lines.find((l) => l.kind === "header");
        const u = h?.uname as { release?: string } | undefined;
        if (u?.release) result.release = u.release;
      } else {
        const name = plans[i - captures].name;
        if (j.status !== "exit" || j.code !== 0) {
          throw new OracleError(
            `plan "${name}" on ${kernel.package}: hostprobe ${j.status} ${j.code}: ` +
              j.text.slice(-500),
          );
        }
        result.replays[name] = parseReplayOutput(j.text);
        const hdr = j.text.match(/"mode":"replay","release":"([^"]*)"/);
        if (hdr && !result.release) result.release = hdr[1];
      }
    });
    return result;
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
