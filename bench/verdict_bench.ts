/**
 * `deno task bench:verdict`: where the time of one verdict goes, per stage, for a real 4-vCPU
 * QEMU migration stream (made by tests/fixtures/qemu/make.ts's machinery under QEMU TCG, run as
 * a program; the committed 2-vCPU sample with two more vCPUs when QEMU is not installed) judged
 * on two targets:
 *
 *   decode            the snapshot as native CBOR → model
 *   import            the QEMU stream → model
 *   restore model     evaluateRestore, per target
 *   probes            one side of the drift run (every probe on every vCPU in the emulator)
 *   sign              build the verdict + COSE_Sign1 (Ed25519)
 *   verdict           app/ check + sign: all of the above for 2 targets, as a request does it
 *   http              the whole request through the hono app (POST /v1/verdicts, ledger included)
 *
 * CPU is the process's user+system time (node:process cpuUsage) around each run, so time spent
 * waiting for other processes on a noisy machine is not counted; wall time is printed beside it.
 * Beside the verdict, the time `qemu-system-aarch64 -incoming` takes to load the same stream
 * (measured in the same run, when QEMU is installed). The last line is exactly
 * `verdict: <ms> ms CPU median (4 vCPUs x 2 targets), <n> verdicts/s`.
 *
 *   deno task bench:verdict [--runs 30]
 */
import { cpuUsage } from "node:process";
import { importSnapshot } from "../snapshots/import/mod.ts";
import {
  decodeSnapshot,
  encodeSnapshot,
  setRegValue,
  type Snapshot,
  sysreg,
} from "../snapshots/mod.ts";
import { evaluateRestore } from "../emulator/kvm/mod.ts";
import { driftSide, probeSide } from "../emulator/drift/mod.ts";
import { resolveTarget } from "../emulator/target.ts";
import { check, sign } from "../app/mod.ts";
import { generateKeyPair, signerFromPkcs8 } from "../verdict/mod.ts";
import { qemuSystemAvailable } from "../hostprobe/qemu_probe.ts";
import { outputWithin } from "../hostprobe/process.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SOURCE = "linux-6.1@qemu-tcg-max";
const TARGETS = ["linux-6.1+iidr-rev1@qemu-tcg-max", "linux-5.10@qemu-tcg-max"];
const RUNS = (() => {
  const i = Deno.args.indexOf("--runs");
  return i >= 0 ? Number(Deno.args[i + 1]) : 30;
})();
/** The stream's guest RAM and CPUs, as tests/fixtures/qemu/make.ts makes them. */
const QEMU_ARGS = ["-M", "virt,gic-version=3", "-cpu", "max", "-smp", "4", "-m", "16"];

/** A 4-vCPU stream made by QEMU itself, or undefined when QEMU cannot make one here. */
async function qemuStream(dir: string): Promise<Uint8Array | undefined> {
  if (!qemuSystemAvailable()) return undefined;
  const out = `${dir}/smp4.qemu`;
  // The fixture maker run as a program (bench/ imports nothing from tests/).
  const code = `
    import { buildGuest, makeStream } from "${ROOT}tests/fixtures/qemu/make.ts";
    const elf = await buildGuest(${JSON.stringify(dir)}, 3);
    const bytes = await makeStream({ gic: 3, cpu: "max", smp: 4 }, ${JSON.stringify(dir)}, elf);
    await Deno.writeFile(${JSON.stringify(out)}, bytes);
  `;
  const r = await outputWithin(Deno.execPath(), ["eval", "--no-check", code], 120_000);
  if (!r.success) {
    console.error(`qemu stream: ${new TextDecoder().decode(r.stderr).trim().split("\n")[0]}`);
    return undefined;
  }
  return await Deno.readFile(out);
}

/** The committed 2-vCPU sample with two more vCPUs at the next affinity-0 numbers. */
function fourFromSample(): Snapshot {
  const s = decodeSnapshot(
    Deno.readFileSync(
      new URL("../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url),
    ),
  );
  const MPIDR_EL1 = sysreg(3, 0, 0, 0, 5);
  const extra = s.vcpus.map((v) => {
    const c = structuredClone(v);
    c.mpidr = v.mpidr + BigInt(s.vcpus.length);
    if (c.registers.has(MPIDR_EL1)) setRegValue(c, MPIDR_EL1, c.mpidr);
    return c;
  });
  s.vcpus.push(...extra);
  return s;
}

/** Wall time of `qemu-system-aarch64 -incoming` loading `file` until migration completes. */
async function qemuIncoming(file: string): Promise<number | undefined> {
  const t0 = performance.now();
  const child = new Deno.Command("qemu-system-aarch64", {
    args: [
      ...QEMU_ARGS,
      "-nodefaults",
      "-display",
      "none",
      "-S",
      "-incoming",
      `exec:cat ${file}`,
      "-qmp",
      "stdio",
    ],
    stdin: "piped",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const w = child.stdin.getWriter();
  const enc = new TextEncoder();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let buf = "";
  const next = async (): Promise<Record<string, unknown>> => {
    for (;;) {
      const nl = buf.indexOf("\n");
      if (nl >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        const m = JSON.parse(line);
        if (!("event" in m)) return m;
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("QEMU closed QMP");
      buf += value;
    }
  };
  try {
    await next(); // greeting
    await w.write(enc.encode('{"execute":"qmp_capabilities"}\n'));
    await next();
    for (;;) {
      await w.write(enc.encode('{"execute":"query-migrate"}\n'));
      const r = (await next()).return as { status?: string } | undefined;
      if (r?.status === "completed") return performance.now() - t0;
      if (r?.status === "failed") return undefined;
      await new Promise((res) => setTimeout(res, 1));
    }
  } catch {
    return undefined;
  } finally {
    clearTimeout(killer);
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
    await w.close().catch(() => {});
    await reader.cancel().catch(() => {});
  }
}

interface Sample {
  cpu: number;
  wall: number;
}

async function measure(runs: number, f: () => unknown): Promise<Sample[]> {
  const out: Sample[] = [];
  for (let i = 0; i < runs; i++) {
    const c0 = cpuUsage();
    const t0 = performance.now();
    await f();
    const wall = performance.now() - t0;
    const c = cpuUsage(c0);
    out.push({ cpu: (c.user + c.system) / 1000, wall });
  }
  return out;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
};
const f2 = (n: number) => n.toFixed(2).padStart(9);

function row(name: string, s: Sample[], note = "") {
  console.log(
    `${name.padEnd(30)}${f2(median(s.map((x) => x.cpu)))} ms CPU${
      f2(median(s.map((x) => x.wall)))
    } ms wall  ${note}`,
  );
}

const dir = await Deno.makeTempDir({ prefix: "rollsafe-bench-verdict-" });
try {
  const stream = await qemuStream(dir);
  const snapshot = stream ? await importSnapshot(stream) : fourFromSample();
  const native = encodeSnapshot(snapshot);
  const bytes = stream ?? native;
  const what = stream
    ? `QEMU stream (-smp 4, ${stream.length} bytes)`
    : "2-vCPU sample + 2 copied vCPUs (no QEMU to make a stream)";
  console.log(`input: ${what}, ${snapshot.vcpus.length} vCPUs; targets ${TARGETS.join(", ")}`);
  console.log(`${"stage".padEnd(30)}   median        median`);

  row("decode (native CBOR)", await measure(RUNS, () => decodeSnapshot(native)));
  if (stream) row("import (QEMU stream)", await measure(RUNS, () => importSnapshot(stream)));
  const source = resolveTarget(SOURCE);
  const targets = TARGETS.map((t) => resolveTarget(t));
  row("resolve target (cached)", await measure(RUNS, () => resolveTarget(TARGETS[0])));
  for (const t of targets) {
    row(`restore model ${t.profile.id}`, await measure(RUNS, () => evaluateRestore(snapshot, t)));
  }
  // One side's probes (a fresh machine per vCPU, every probe program); runDrift runs two of
  // these (the source side once per request) and diffs them.
  for (const t of [source, ...targets]) {
    const restore = evaluateRestore(snapshot, t);
    row(
      `probes ${t.profile.id} (one side)`,
      await measure(RUNS, () => probeSide(driftSide(t, snapshot, restore.effective))),
    );
  }
  const { pkcs8 } = await generateKeyPair();
  const signer = await signerFromPkcs8(pkcs8);
  const checked = await check({ bytes, targets: TARGETS, source: SOURCE });
  const now = new Date();
  row("sign (build + COSE Ed25519)", await measure(RUNS, () => sign(checked, { signer, now })));

  // The whole request through the hono app (ledger on node:sqlite in a temporary directory).
  const { createApp } = await import("../functions/app.ts");
  const { Services } = await import("../functions/services.ts");
  const { loadConfig } = await import("../functions/config.ts");
  const { SqliteLedger } = await import("../functions/ledger/sqlite.ts");
  const env: Record<string, string> = { ROLLSAFE_DATA_DIR: dir, ROLLSAFE_CONFIG_DIR: dir };
  const config = loadConfig((n) => env[n]);
  const services = new Services({
    config,
    env: (n) => env[n],
    ledger: new SqliteLedger(config.sqlitePath),
    signer,
  });
  const app = createApp(services);
  const q = new URLSearchParams([["source", SOURCE], ...TARGETS.map((t) => ["target", t])]);
  const type = stream ? "application/vnd.qemu.migration" : "application/cbor";
  const http = await measure(RUNS, async () => {
    const r = await app.request(`/v1/verdicts?${q}`, {
      method: "POST",
      body: new Uint8Array(bytes),
      headers: { "content-type": type },
    });
    if (r.status !== 200) throw new Error(`POST /v1/verdicts: ${r.status} ${await r.text()}`);
    await r.arrayBuffer();
  });
  row("http (POST /v1/verdicts)", http, "(CPU of this process; a worker thread's work counts)");
  await services.close();

  let peer = "";
  if (stream) {
    const file = `${dir}/in.qemu`;
    await Deno.writeFile(file, stream);
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const ms = await qemuIncoming(file);
      if (ms !== undefined) times.push(ms);
    }
    peer = times.length
      ? `qemu-system-aarch64 -incoming loads the same stream in ${
        median(times).toFixed(1)
      } ms wall (median of ${times.length})`
      : "qemu-system-aarch64 -incoming: did not complete";
  } else peer = "qemu-system-aarch64 not installed: no -incoming comparison";

  const verdict = await measure(RUNS, async () => {
    const c = await check({ bytes, targets: TARGETS, source: SOURCE });
    await sign(c, { signer, now });
  });
  row("verdict (app check + sign)", verdict);
  console.log(peer);
  const cpu = median(verdict.map((x) => x.cpu));
  console.log(
    `verdict: ${cpu.toFixed(1)} ms CPU median (4 vCPUs x 2 targets), ${
      Math.round(1000 / cpu)
    } verdicts/s`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
