/**
 * `deno task bench:http`: load on the local HTTP service. Starts `deno serve` main.ts on a free
 * port (temporary ledger and key), then sends concurrent POST /v1/verdicts requests, each a
 * 4-vCPU snapshot against two targets, and prints throughput and p50/p99 latency beside the
 * budget the edge platforms set (docs.netlify.com/edge-functions/limits: 50 ms CPU per request).
 *
 *   deno task bench:http [--requests 200] [--concurrency 8]
 *
 * The 4-vCPU snapshot is the QEMU sample (2 vCPUs, GICv3) with two more vCPUs copied from the
 * first two at the next affinity-0 numbers, as QEMU's virt board numbers them.
 */
import { decodeSnapshot, encodeSnapshot, setRegValue, sysreg } from "../snapshots/mod.ts";
import { generateKeyPair, pemEncode } from "../verdict/mod.ts";

const ROOT = new URL("..", import.meta.url).pathname;
const SAMPLE = new URL("../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url);
/** As in tests/http/verdict_e2e_test.ts: the sample was taken under QEMU TCG (-cpu max, GICv3). */
const SOURCE = "linux-6.1@qemu-tcg-max";
const TARGETS = ["linux-6.1+iidr-rev1@qemu-tcg-max", "linux-5.10@qemu-tcg-max"];
const MPIDR_EL1 = sysreg(3, 0, 0, 0, 5);

function arg(name: string, dflt: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : dflt;
}

function fourVcpus(): Uint8Array<ArrayBuffer> {
  const s = decodeSnapshot(Deno.readFileSync(SAMPLE));
  const extra = s.vcpus.map((v) => {
    const mpidr = v.mpidr + BigInt(s.vcpus.length);
    const c = structuredClone(v);
    c.mpidr = mpidr;
    if (c.registers.has(MPIDR_EL1)) setRegValue(c, MPIDR_EL1, mpidr);
    return c;
  });
  s.vcpus.push(...extra);
  return encodeSnapshot(s);
}

async function start(dir: string, concurrency: number): Promise<{ url: string; stop(): void }> {
  const { pkcs8 } = await generateKeyPair();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", "main.ts"],
    cwd: ROOT,
    env: {
      NO_COLOR: "1",
      ROLLSAFE_DATA_DIR: dir,
      ROLLSAFE_SIGNING_KEY: pemEncode("PRIVATE KEY", pkcs8),
      ROLLSAFE_MAX_CONCURRENT: String(concurrency),
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  for await (const chunk of child.stderr) {
    text += dec.decode(chunk);
    const m = /Listening on (http:\/\/127\.0\.0\.1:[0-9]+)\//.exec(text);
    if (m) {
      child.stdout.cancel();
      return { url: m[1], stop: () => child.kill("SIGTERM") };
    }
  }
  throw new Error(`server did not start:\n${text}`);
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const requests = arg("requests", 200);
const concurrency = arg("concurrency", 8);
const body = fourVcpus();
const dir = await Deno.makeTempDir({ prefix: "rollsafe-bench-" });
const server = await start(dir, concurrency);
const q = new URLSearchParams([...TARGETS.map((t) => ["target", t]), ["source", SOURCE]]);
const url = `${server.url}/v1/verdicts?${q}`;
const post = async () => {
  const t0 = performance.now();
  const r = await fetch(url, {
    method: "POST",
    body,
    headers: { "content-type": "application/cbor" },
  });
  const text = r.status === 200 ? (await r.arrayBuffer(), "") : await r.text();
  return { ms: performance.now() - t0, status: r.status, text };
};
try {
  const first = await post(); // warm: wasm compile, profile tables, ledger open
  if (first.status !== 200) throw new Error(`warm-up answered ${first.status}: ${first.text}`);
  for (let i = 0; i < concurrency; i++) await post();
  const lat: number[] = [];
  const statuses = new Map<number, number>();
  let next = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < requests) {
      next++;
      const r = await post();
      lat.push(r.ms);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  const f = (x: number) => x.toFixed(1).padStart(8);
  console.log(
    `POST /v1/verdicts, ${body.length}-byte 4-vCPU snapshot × ${TARGETS.length} targets ` +
      `(${
        TARGETS.join(", ")
      }), ${requests} requests, concurrency ${concurrency}, one deno serve process`,
  );
  console.log(`statuses      ${[...statuses].map(([s, n]) => `${s}×${n}`).join(" ")}`);
  console.log(`throughput    ${f(requests / wall)} req/s`);
  console.log(
    `latency p50   ${f(pct(lat, 50))} ms      (budget: Netlify Edge 50 ms CPU per request)`,
  );
  console.log(`latency p99   ${f(pct(lat, 99))} ms`);
  console.log(`first request ${f(first.ms)} ms      (cold: module compile, tables, ledger)`);
} finally {
  server.stop();
  await Deno.remove(dir, { recursive: true }).catch(() => {});
}
