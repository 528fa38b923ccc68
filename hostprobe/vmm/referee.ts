/**
 * The VMM referee's boots: a Debian arm64 kernel under `qemu-system-aarch64 -M
 * virt,virtualization=on` (as the oracle boots it, hostprobe/oracle.ts) with an initramfs whose
 * /init is referee.sh, Debian's arm64 QEMU and its libraries (packages.ts), busybox, our guest
 * programs (guests/) and the streams to restore; the console comes back framed by `@@vmm`
 * markers and is parsed here into per-job results with the saved streams.
 */
import { type CpioEntry, cpioNewc } from "../cpio.ts";
import {
  fetchKernel,
  HOSTPROBE_BIN,
  type KernelName,
  type KernelPackage,
  OracleError,
} from "../oracle.ts";
import { fetchVmmPackages, VMM_CACHE, type VmmPackages } from "./packages.ts";
import { GUEST_BIN, GUESTS } from "./guests/build.ts";
import { run } from "./proc.ts";

const REFEREE_SH = new URL("./referee.sh", import.meta.url).pathname;

export type Job =
  | { kind: "save"; name: string; guest: string; gic: 2 | 3 }
  | { kind: "restore"; name: string; guest: string; gic: 2 | 3; input: string }
  | { kind: "capture" };

export interface JobResult {
  kind: string;
  name: string;
  status: string;
  exit: number;
  seconds: number;
  /** cmdline, qmp (the QMP commands sent), monitor (QMP's answers), stderr, serial */
  texts: Record<string, string>;
  /** The saved migration stream (save jobs). */
  stream?: Uint8Array;
  streamSha256?: string;
}

export interface RefereeBoot {
  kernel: KernelPackage;
  release: string;
  kvm: boolean;
  qemu: string;
  outer: { cpu: string; gic: 2 | 3; args: string[] };
  jobs: JobResult[];
  seconds: number;
  console: string;
}

const NAME = /^[a-z0-9][a-z0-9.-]{0,80}$/;

function jobLine(j: Job): string {
  if (j.kind === "capture") return "capture";
  if (!NAME.test(j.name)) throw new OracleError(`job name "${j.name}": [a-z0-9.-] only`);
  if (!(GUESTS as readonly string[]).includes(j.guest)) {
    throw new OracleError(`guest "${j.guest}": one of ${GUESTS.join(", ")}`);
  }
  return j.kind === "save"
    ? `save ${j.name} ${j.guest} ${j.gic}`
    : `restore ${j.name} ${j.guest} ${j.gic} ${j.input}`;
}

/** The initramfs: QEMU + libraries + busybox, guests, /init, /jobs, /in/<name>.mig. */
export async function buildRefereeInitramfs(
  pkgs: VmmPackages,
  jobs: Job[],
  inputs: Record<string, Uint8Array>,
): Promise<Uint8Array> {
  const enc = new TextEncoder();
  const dirs = new Set<string>(["dev", "guests", "in"]);
  const files: CpioEntry[] = [];
  const addDirs = (path: string) => {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) dirs.add(parts.slice(0, i).join("/"));
  };
  for (const f of pkgs.files) {
    addDirs(f.path);
    files.push({ type: "file", path: f.path, data: await Deno.readFile(f.source), mode: 0o755 });
  }
  for (const g of GUESTS) {
    files.push({
      type: "file",
      path: `guests/${g}.elf`,
      data: await Deno.readFile(`${GUEST_BIN}${g}.elf`),
    });
  }
  for (const [name, bytes] of Object.entries(inputs)) {
    if (!NAME.test(name)) throw new OracleError(`input name "${name}": [a-z0-9.-] only`);
    files.push({ type: "file", path: `in/${name}.mig`, data: bytes });
  }
  if (jobs.some((j) => j.kind === "capture")) {
    files.push({
      type: "file",
      path: "hostprobe",
      data: await Deno.readFile(HOSTPROBE_BIN),
      mode: 0o755,
    });
  }
  files.push({ type: "file", path: "jobs", data: enc.encode(jobs.map(jobLine).join("\n") + "\n") });
  files.push({ type: "file", path: "init", data: await Deno.readFile(REFEREE_SH), mode: 0o755 });
  return cpioNewc([
    ...[...dirs].sort().map((path) => ({ type: "dir" as const, path })),
    { type: "chardev", path: "dev/console", major: 5, minor: 1 },
    ...files,
  ]);
}

/** The outer QEMU: the oracle's machine, with the CPU model and GIC of the case. */
export function outerArgs(image: string, initrd: string, cpu: string, gic: 2 | 3): string[] {
  return [
    "-M",
    `virt,virtualization=on,gic-version=${gic}`,
    "-cpu",
    cpu,
    "-smp",
    "2",
    "-m",
    "2G",
    "-nographic",
    "-no-reboot",
    "-nic",
    "none",
    "-kernel",
    image,
    "-initrd",
    initrd,
    "-append",
    "console=ttyAMA0 quiet loglevel=1 panic=-1",
  ];
}

function gunzip(bytes: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("gzip"));
  return new Response(s).arrayBuffer().then((b) => new Uint8Array(b));
}

function fromBase64(text: string): Uint8Array {
  const bin = atob(text.replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** The console's `@@vmm` frames → job results (streams decoded and checked). */
export async function parseConsole(
  text: string,
): Promise<Omit<RefereeBoot, "kernel" | "outer" | "seconds" | "console">> {
  const lines = text.replaceAll("\r", "").split("\n");
  const out = { release: "", kvm: false, qemu: "", jobs: [] as JobResult[] };
  let cur: JobResult | undefined;
  let text_: { what: string; lines: string[] } | undefined;
  let blob: { name: string; size: number; sha: string; lines: string[] } | undefined;
  for (const line of lines) {
    if (text_) {
      if (line === "@@vmm endtext") {
        cur!.texts[text_.what] = text_.lines.join("\n").replace(/\n+$/, "");
        text_ = undefined;
      } else text_.lines.push(line);
      continue;
    }
    if (blob) {
      if (line === "@@vmm endblob") {
        const bytes = await gunzip(fromBase64(blob.lines.join("")));
        const sha = [
          ...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as BufferSource)),
        ]
          .map((b) => b.toString(16).padStart(2, "0")).join("");
        if (bytes.length !== blob.size || sha !== blob.sha) {
          throw new OracleError(
            `stream ${blob.name}: ${bytes.length} bytes ${sha} on the console, the guest said ${blob.size} ${blob.sha}`,
          );
        }
        cur!.stream = bytes;
        cur!.streamSha256 = sha;
        blob = undefined;
      } else blob.lines.push(line);
      continue;
    }
    const m = line.match(/^@@vmm (\S+) ?(.*)$/);
    if (!m) continue;
    const [, what, rest] = m;
    if (what === "uname") out.release = rest;
    else if (what === "kvm") out.kvm = rest === "yes";
    else if (what === "qemu") out.qemu = rest;
    else if (what === "begin") {
      const [kind, name] = rest.split(" ");
      cur = { kind, name: name ?? kind, status: "", exit: -1, seconds: 0, texts: {} };
      out.jobs.push(cur);
    } else if (what === "text" && cur) text_ = { what: rest, lines: [] };
    else if (what === "blob" && cur) {
      const [name, size, sha] = rest.split(" ");
      blob = { name, size: Number(size), sha, lines: [] };
    } else if (what === "end" && cur) {
      const [, status, exit, secs] = rest.split(" ");
      cur.status = status;
      cur.exit = Number(exit);
      cur.seconds = Number(secs);
      cur = undefined;
    }
  }
  return out;
}

export interface BootOptions {
  kernel: KernelName;
  cpu: string;
  gic: 2 | 3;
  jobs: Job[];
  inputs?: Record<string, Uint8Array>;
  timeoutMs: number;
}

/** One outer boot running `jobs`; the console is also copied to .oracle-cache/vmm/logs/. */
export async function bootReferee(o: BootOptions): Promise<RefereeBoot> {
  const [kernel, pkgs] = await Promise.all([fetchKernel(o.kernel), fetchVmmPackages()]);
  const tmp = await Deno.makeTempDir({ prefix: "rollsafe-vmm-" });
  const logDir = `${VMM_CACHE}/logs`;
  await Deno.mkdir(logDir, { recursive: true });
  const log = `${logDir}/${o.kernel}-${
    o.cpu.replaceAll(/[^a-z0-9-]/g, "_")
  }-gicv${o.gic}-${Date.now()}.log`;
  try {
    const initrd = `${tmp}/initrd.cpio`;
    await Deno.writeFile(initrd, await buildRefereeInitramfs(pkgs, o.jobs, o.inputs ?? {}));
    const args = outerArgs(kernel.image, initrd, o.cpu, o.gic);
    const t0 = performance.now();
    const q = await run("qemu-system-aarch64", args, o.timeoutMs, { tee: log });
    const seconds = Math.round((performance.now() - t0) / 100) / 10;
    const console_ = q.stdout.replaceAll("\r", "");
    if (!console_.includes("@@vmm poweroff")) {
      throw new OracleError(
        `${kernel.package} on ${o.cpu} GICv${o.gic}: the referee did not finish ` +
          `(${q.killed ? `killed after ${o.timeoutMs / 1000} s` : `qemu exit ${q.code}`}; ` +
          `${q.stderr.trim() || "no stderr"}); console in ${log}; tail:\n${console_.slice(-1500)}`,
      );
    }
    const parsed = await parseConsole(console_);
    return {
      kernel,
      ...parsed,
      outer: {
        cpu: o.cpu,
        gic: o.gic,
        args: args.map((a) =>
          a === initrd ? "<initrd>" : a === kernel.image ? "<kernel Image>" : a
        ),
      },
      seconds,
      console: console_,
    };
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
}
