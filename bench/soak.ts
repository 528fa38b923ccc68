/**
 * `deno task soak`: the service under a hostile load for minutes, then the ledger checked.
 *
 *   deno task soak [--seconds 120] [--clients 64] [--store sqlite|postgres] [--no-kill]
 *
 * A real server process (`deno serve main.ts`) on 127.0.0.1 with a fresh ledger; `clients`
 * loops send a mix of valid uploads (the real Firecracker fingerprints and QEMU samples) and
 * hostile ones (crafted to be slow, truncated, oversized, meaningless, wrongly typed, or forged
 * webhooks), plus ledger listings and /healthz. Halfway through, the server is killed with
 * SIGKILL and started again on the same ledger (unless --no-kill). At the end every verdict the
 * server acknowledged (a 200 with COSE bytes) must be in the ledger listing exactly once and
 * verify against the service's published key, and the sqlite file must pass
 * `PRAGMA integrity_check`.
 *
 * Prints requests, answers by status, p50/p99 latency, server RSS at start/middle/end, and the
 * ledger figures. PostgreSQL: DATABASE_URL or ROLLSAFE_TEST_DATABASE_URL (`source .ci/postgres`).
 */
import { DatabaseSync } from "node:sqlite";
import { decodeSnapshot, encodeSnapshot } from "../snapshots/mod.ts";
import { parsePublicKeys, toHex, verifyVerdict } from "../verdict/mod.ts";

const ROOT = new URL("../", import.meta.url);
const enc = new TextEncoder();

export interface SoakOptions {
  seconds: number;
  clients: number;
  store: "sqlite" | "postgres";
  kill: boolean;
  /** PostgreSQL URL when store is postgres. */
  databaseUrl?: string;
  log?: (line: string) => void;
}

export interface SoakFigures {
  requests: number;
  byStatus: Record<string, number>;
  /** Requests cut by the SIGKILL (connection reset while the server was down). */
  cut: number;
  p50Ms: number;
  p99Ms: number;
  rssMb: { start: number; middle: number; end: number; peak: number };
  acknowledged: number;
  verified: number;
  listedOnce: number;
  lost: number;
  duplicated: number;
  integrity: string;
  restarts: number;
  /** /healthz latency while the load runs (a separate prober, one request every 500 ms). */
  healthP99Ms: number;
  healthMaxMs: number;
}

interface Server {
  url: string;
  pid: number;
  child: Deno.ChildProcess;
  log(): string;
}

async function start(env: Record<string, string>): Promise<Server> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["serve", "-A", "--host", "127.0.0.1", "--port", "0", "main.ts"],
    cwd: new URL(".", ROOT).pathname,
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const dec = new TextDecoder();
  const found = Promise.withResolvers<string>();
  const pump = async (s: ReadableStream<Uint8Array>) => {
    for await (const chunk of s) {
      text = (text + dec.decode(chunk, { stream: true })).slice(-200_000);
      const m = /Listening on (http:\/\/127\.0\.0\.1:[0-9]+)\//.exec(text);
      if (m) found.resolve(m[1]);
    }
  };
  pump(child.stdout).catch(() => {});
  pump(child.stderr).catch(() => {});
  const timer = setTimeout(() => found.reject(new Error(`server did not start:\n${text}`)), 60_000);
  child.status.then((st) => found.reject(new Error(`server exited (${st.code}):\n${text}`)));
  try {
    return { url: await found.promise, pid: child.pid, child, log: () => text };
  } finally {
    clearTimeout(timer);
  }
}

/** SIGTERM, then SIGKILL if the server has not exited within 5 s (open database pools). */
async function stop(server: Server): Promise<void> {
  server.child.kill("SIGTERM");
  const timer = setTimeout(() => server.child.kill("SIGKILL"), 5000);
  await server.child.status;
  clearTimeout(timer);
}

function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+([0-9]+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Math.round(Number(m[1]) / 1024) : 0;
  } catch {
    return 0;
  }
}

interface Req {
  label: string;
  weight: number;
  make(url: string): Promise<Request> | Request;
  /** A 200 here carries a verdict to account for: the snapshot digest it is listed under. */
  snapshot?: string;
}

async function sha256Hex(b: Uint8Array): Promise<string> {
  return toHex(new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(b))));
}

/** The request mix: real inputs, crafted hostile ones, listings and health. */
export async function requestMix(): Promise<Req[]> {
  const fpDir = new URL("tests/fixtures/firecracker-fingerprints/", ROOT);
  const fps = await Promise.all(
    ["5.10", "6.1", "6.18"].map((k) =>
      Deno.readFile(new URL(`ARM_NEOVERSE_N1_${k}host.json`, fpDir))
    ),
  );
  const qemu = await Deno.readFile(
    new URL("snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", ROOT),
  );
  const fpTargets = "target=linux-6.1@neoverse-n1&target=linux-5.10@neoverse-n1";
  const qTargets = "target=linux-6.1@qemu-max-nested&source=linux-6.1@qemu-max-nested";
  const slow = (() => {
    const doc = JSON.parse(new TextDecoder().decode(fps[1]));
    const regs = doc.guest_cpu_config.reg_modifiers as { addr: string; bitmap: string }[];
    const have = new Set(regs.map((r) => BigInt(r.addr)));
    for (let id = 0x6030000000130000n; regs.length < 20_242; id++) {
      if (!have.has(id)) regs.push({ addr: `0x${id.toString(16)}`, bitmap: `0b${"0".repeat(64)}` });
    }
    return enc.encode(JSON.stringify(doc));
  })();
  const s = decodeSnapshot(qemu);
  s.vcpus.forEach((v) => v.registers = new Map());
  const empty = encodeSnapshot(s);
  const bit31 = decodeSnapshot(qemu);
  bit31.vcpus.forEach((v) => v.features.push(31));
  const b31 = encodeSnapshot(bit31);
  const fpDigests = await Promise.all(fps.map(sha256Hex));
  const post = (url: string, path: string, body: BodyInit, type: string, extra = {}) =>
    new Request(url + path, { method: "POST", body, headers: { "content-type": type, ...extra } });
  const JSON_T = "application/json";
  const CBOR_T = "application/vnd.rollsafe.snapshot+cbor";
  return [
    ...fps.map((fp, i) => ({
      label: `fingerprint ${i}`,
      weight: 6,
      snapshot: fpDigests[i],
      make: (u: string) => post(u, `/v1/verdicts?${fpTargets}`, fp, JSON_T),
    })),
    {
      label: "qemu sample",
      weight: 3,
      snapshot: await sha256Hex(qemu),
      make: (u) => post(u, `/v1/verdicts?${qTargets}`, qemu, CBOR_T),
    },
    {
      label: "feature bit 31",
      weight: 2,
      snapshot: await sha256Hex(b31),
      make: (u) => post(u, `/v1/verdicts?${qTargets}`, b31, CBOR_T),
    },
    {
      label: "slow fingerprint (deadline)",
      weight: 1,
      make: (u) => post(u, `/v1/verdicts?${fpTargets}`, slow, JSON_T),
    },
    {
      label: "no register state",
      weight: 2,
      make: (u) => post(u, `/v1/verdicts?${qTargets}`, empty, CBOR_T),
    },
    {
      label: "truncated CBOR",
      weight: 2,
      make: (u) => post(u, `/v1/verdicts?${qTargets}`, qemu.subarray(0, 977), CBOR_T),
    },
    {
      label: "random bytes",
      weight: 2,
      make: (u) =>
        post(
          u,
          "/v1/snapshots",
          crypto.getRandomValues(new Uint8Array(4096)),
          "application/octet-stream",
        ),
    },
    {
      label: "not UTF-8",
      weight: 1,
      make: (u) => post(u, `/v1/verdicts?${fpTargets}`, new Uint8Array([0x7b, 0xff, 0x7d]), JSON_T),
    },
    {
      label: "declared 1 GB",
      weight: 1,
      make: (u) =>
        new Request(u + `/v1/verdicts?${fpTargets}`, {
          method: "POST",
          body: fps[0],
          headers: { "content-type": JSON_T, "content-length": String(1 << 30) },
        }),
    },
    {
      label: "store snapshot",
      weight: 2,
      make: (u) => post(u, "/v1/snapshots", fps[2], JSON_T),
    },
    {
      label: "forged webhook",
      weight: 1,
      make: (u) =>
        post(u, "/v1/hooks/standard", "{}", JSON_T, {
          "webhook-id": crypto.randomUUID(),
          "webhook-timestamp": String(Math.floor(Date.now() / 1000)),
          "webhook-signature": Array(500).fill("v1,AAAA").join(" "),
        }),
    },
    {
      label: "listing",
      weight: 3,
      make: (u) => new Request(`${u}/v1/verdicts/${fpDigests[0]}?limit=50`),
    },
    { label: "healthz", weight: 2, make: (u) => new Request(`${u}/healthz`) },
  ];
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

/** Every verdict listed for `digest`, page by page through the cursor. */
async function listAll(url: string, digest: string): Promise<string[]> {
  const out: string[] = [];
  let next: string | undefined = `/v1/verdicts/${digest}?limit=100`;
  while (next !== undefined) {
    const r: Response = await fetch(url + next);
    if (r.status === 404) return out;
    if (r.status !== 200) throw new Error(`listing ${digest}: ${r.status} ${await r.text()}`);
    const j: { verdicts: { sha256: string }[]; next?: string } = await r.json();
    out.push(...j.verdicts.map((v: { sha256: string }) => v.sha256));
    next = j.next;
  }
  return out;
}

export async function runSoak(o: SoakOptions): Promise<SoakFigures> {
  const log = o.log ?? ((l: string) => console.log(l));
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-soak-" });
  const env: Record<string, string> = {
    ROLLSAFE_DATA_DIR: dir,
    ROLLSAFE_CONFIG_DIR: dir,
    ROLLSAFE_TIME_BUDGET_MS: "10000",
    ROLLSAFE_STANDARD_WEBHOOK_SECRET: "whsec_" + btoa("soak-standard-webhooks-secret-32"),
    DATABASE_URL: o.store === "postgres" ? o.databaseUrl! : "",
  };
  const mix = await requestMix();
  const total = mix.reduce((a, r) => a + r.weight, 0);
  const pick = () => {
    let x = Math.random() * total;
    for (const r of mix) if ((x -= r.weight) < 0) return r;
    return mix[mix.length - 1];
  };
  let server = await start(env);
  log(`server ${server.url} pid ${server.pid}`);
  const rss = { start: rssMb(server.pid), middle: 0, end: 0, peak: 0 };
  const byStatus: Record<string, number> = {};
  const latencies: number[] = [];
  const acknowledged: { snapshot: string; sha256: string }[] = [];
  let requests = 0;
  let cut = 0;
  let restarts = 0;
  let down = false;
  const until = Date.now() + o.seconds * 1000;
  const sampler = setInterval(() => {
    if (!down) rss.peak = Math.max(rss.peak, rssMb(server.pid));
  }, 500);

  const client = async () => {
    while (Date.now() < until) {
      if (down) {
        await new Promise((r) => setTimeout(r, 100));
        continue;
      }
      const r = pick();
      const t0 = performance.now();
      try {
        const res = await fetch(await r.make(server.url), { signal: AbortSignal.timeout(60_000) });
        const body = new Uint8Array(await res.arrayBuffer());
        latencies.push(performance.now() - t0);
        requests++;
        byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
        if (res.status === 200 && r.snapshot !== undefined) {
          acknowledged.push({ snapshot: r.snapshot, sha256: await sha256Hex(body) });
        }
        if (res.status >= 500 && res.status !== 503) {
          log(`5xx on ${r.label}: ${new TextDecoder().decode(body).slice(0, 300)}`);
        }
      } catch (e) {
        if ((e as Error).name === "TimeoutError") {
          // No answer in 60 s: counted as an error of its own kind.
          byStatus.timeout = (byStatus.timeout ?? 0) + 1;
          log(`no answer in 60 s: ${r.label}`);
          continue;
        }
        // Only the SIGKILL cuts connections; anything else is a failure of the soak itself.
        if (!down && Date.now() < until) throw new Error(`${r.label}: connection failed while up`);
        cut++;
      }
    }
  };

  const killer = o.kill
    ? (async () => {
      await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 2));
      rss.middle = rssMb(server.pid);
      down = true;
      server.child.kill("SIGKILL");
      await server.child.status;
      log(`SIGKILL at ${o.seconds / 2} s with requests in flight; restarting on the same ledger`);
      server = await start(env);
      restarts++;
      down = false;
    })()
    : (async () => {
      await new Promise((r) => setTimeout(r, (o.seconds * 1000) / 2));
      rss.middle = rssMb(server.pid);
    })();

  const health: number[] = [];
  const prober = (async () => {
    while (Date.now() < until) {
      await new Promise((r) => setTimeout(r, 500));
      if (down) continue;
      const t0 = performance.now();
      try {
        const r = await fetch(`${server.url}/healthz`);
        await r.body?.cancel();
        if (!down) health.push(performance.now() - t0);
      } catch {
        // cut by the kill
      }
    }
  })();
  await Promise.all([...Array.from({ length: o.clients }, client), killer, prober]);
  clearInterval(sampler);
  rss.end = rssMb(server.pid);

  // Every acknowledged verdict: listed exactly once, and verifies against the published key.
  const keys = await parsePublicKeys(
    new Uint8Array(
      await (await fetch(`${server.url}/v1/keys`, { headers: { accept: "application/json" } }))
        .arrayBuffer(),
    ),
    "GET /v1/keys",
  );
  const listed = new Map<string, string[]>();
  for (const d of new Set(acknowledged.map((a) => a.snapshot))) {
    listed.set(d, await listAll(server.url, d));
  }
  const bySha = new Map<string, Uint8Array>();
  let listedOnce = 0;
  let lost = 0;
  let duplicated = 0;
  for (const a of acknowledged) {
    const n = listed.get(a.snapshot)!.filter((x) => x === a.sha256).length;
    if (n === 1) listedOnce++;
    else if (n === 0) lost++;
    else duplicated++;
  }
  // Fetch the COSE bytes back (CBOR listing) and verify each acknowledged one.
  for (const d of listed.keys()) {
    let next: string | undefined = `/v1/verdicts/${d}?limit=100`;
    while (next !== undefined) {
      const r: Response = await fetch(server.url + next, {
        headers: { accept: "application/json" },
      });
      const j = await r.json();
      for (const v of j.verdicts) {
        bySha.set(v.sha256, Uint8Array.from(atob(v.cose), (c) => c.charCodeAt(0)));
      }
      next = j.next;
    }
  }
  let verified = 0;
  for (const a of acknowledged) {
    const cose = bySha.get(a.sha256);
    if (cose === undefined) continue;
    const v = await verifyVerdict(cose, {
      keys,
      snapshotDigest: Uint8Array.from(a.snapshot.match(/../g)!, (h) => parseInt(h, 16)),
      target: "linux-6.1",
      acceptDevKey: true,
    });
    // Signed, about these snapshot bytes, covering the target: the verdict's own status (pass,
    // warn, fail) is what it says, not a verification failure.
    if (v.ok || ["not-restorable", "breaking", "warnings"].includes(v.reason)) verified++;
    else log(`verdict ${a.sha256} does not verify: ${v.message}`);
  }
  await stop(server);

  let integrity = "n/a (postgres: transactional store)";
  if (o.store === "sqlite") {
    const db = new DatabaseSync(`${dir}/ledger.sqlite3`);
    integrity = String(
      (db.prepare("PRAGMA integrity_check").get() as { integrity_check: string }).integrity_check,
    );
    db.close();
  }
  await Deno.remove(dir, { recursive: true });
  const sorted = latencies.sort((a, b) => a - b);
  const hs = health.sort((a, b) => a - b);
  return {
    requests,
    byStatus,
    cut,
    p50Ms: Math.round(percentile(sorted, 0.5)),
    p99Ms: Math.round(percentile(sorted, 0.99)),
    rssMb: rss,
    acknowledged: acknowledged.length,
    verified,
    listedOnce,
    lost,
    duplicated,
    integrity,
    restarts,
    healthP99Ms: Math.round(percentile(hs, 0.99)),
    healthMaxMs: Math.round(hs[hs.length - 1] ?? 0),
  };
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i === -1 ? undefined : Deno.args[i + 1];
}

if (import.meta.main) {
  const store = (arg("store") ?? "sqlite") as "sqlite" | "postgres";
  if (store !== "sqlite" && store !== "postgres") throw new Error("--store sqlite|postgres");
  const databaseUrl = Deno.env.get("DATABASE_URL") || Deno.env.get("ROLLSAFE_TEST_DATABASE_URL");
  if (store === "postgres" && !databaseUrl) {
    console.error("soak: --store postgres needs DATABASE_URL (source .ci/postgres)");
    Deno.exit(2);
  }
  const o: SoakOptions = {
    seconds: Number(arg("seconds") ?? 120),
    clients: Number(arg("clients") ?? 64),
    store,
    kill: !Deno.args.includes("--no-kill"),
    databaseUrl,
  };
  console.log(
    `soak: ${o.clients} clients, ${o.seconds} s, ${o.store}${o.kill ? ", SIGKILL halfway" : ""}`,
  );
  const f = await runSoak(o);
  const statuses = Object.entries(f.byStatus).map(([s, n]) => `${s}:${n}`).join(" ");
  const fivexx = Object.entries(f.byStatus).filter(([s]) => Number(s) >= 500)
    .reduce((a, [, n]) => a + n, 0);
  console.log(`requests       ${f.requests} (${statuses}); cut by the kill: ${f.cut}`);
  console.log(`5xx            ${fivexx}`);
  console.log(`latency        p50 ${f.p50Ms} ms, p99 ${f.p99Ms} ms`);
  console.log(`/healthz       p99 ${f.healthP99Ms} ms, max ${f.healthMaxMs} ms (during the load)`);
  console.log(
    `server RSS     start ${f.rssMb.start} MB, middle ${f.rssMb.middle} MB, end ${f.rssMb.end} MB, ` +
      `peak ${f.rssMb.peak} MB`,
  );
  console.log(
    `verdicts       ${f.acknowledged} acknowledged, ${f.verified} verified, ${f.listedOnce} listed ` +
      `exactly once, ${f.lost} lost, ${f.duplicated} duplicated`,
  );
  console.log(`ledger         ${o.store} integrity: ${f.integrity}; restarts ${f.restarts}`);
  const ok = fivexx === 0 && !f.byStatus.timeout && f.lost === 0 && f.duplicated === 0 &&
    f.verified === f.acknowledged && (o.store !== "sqlite" || f.integrity === "ok");
  console.log(ok ? "soak: OK" : "soak: FAILED");
  if (!ok) Deno.exit(1);
}
