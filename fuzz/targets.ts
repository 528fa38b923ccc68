/**
 * What `deno task fuzz` feeds: every entry point that reads bytes from outside, one row each,
 * with the real fixtures it is seeded from and the error classes that are its documented way of
 * refusing input. Anything else it throws (TypeError, RangeError, a 500-class error), a run
 * longer than the row's time limit, or a dead worker (heap cap) is a crash.
 *
 * tests/fuzz/ replays the committed corpus and every kept crash through the same rows.
 */
import { importSnapshot, type InputFormat } from "../snapshots/import/mod.ts";
import { decodeSnapshot, encodeSnapshot, SnapshotError } from "../snapshots/mod.ts";
import { parseMultipart } from "../functions/multipart.ts";
import { githubRequest, parseJsonBody, standardRequest } from "../functions/hooks/request.ts";
import { Problem } from "../functions/problem.ts";
import { signerFromSeed, trustedKeyOf, verifyVerdict } from "../verdict/mod.ts";
import { loadConfig } from "../functions/config.ts";
import { SqliteLedger } from "../functions/ledger/sqlite.ts";
import { Services } from "../functions/services.ts";
import { issueVerdict } from "../functions/pipeline.ts";
import { ProfileError } from "../emulator/profiles/types.ts";

const ROOT = new URL("../", import.meta.url);
const file = (p: string) => new URL(p, ROOT);

/** RFC 8032 §7.1 TEST 1 secret key: the fuzz signer (never a real key). */
const SEED = Uint8Array.from(
  "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60".match(/../g)!,
  (b) => parseInt(b, 16),
);

export interface FuzzTarget {
  name: string;
  /** Real inputs the corpus starts from (repository files, read at start). */
  seeds: URL[];
  /** Seeds made at start from the real ones (compressed copies, a signed verdict, …). */
  derived?: () => Promise<Uint8Array[]>;
  /** The entry point; resolves, or throws one of `refusals`. Returns an outcome signature. */
  run(bytes: Uint8Array): Promise<string>;
  /** Error classes that are this entry point's way of saying no. */
  refusals: (abstract new (...a: never[]) => Error)[];
  /** Longest one run may take before it counts as a hang. */
  limitMs: number;
}

/** Where an error points, without the numbers, so the corpus keeps one input per shape. */
function shape(e: unknown): string {
  const o = e as { code?: unknown; where?: unknown; type?: unknown; name?: string };
  const where = typeof o.where === "string" ? o.where.replace(/[0-9]+/g, "N") : "";
  return `${o.name}:${String(o.code ?? o.type ?? "")}:${where}`;
}

function importer(format: InputFormat | undefined) {
  return async (bytes: Uint8Array) => {
    const s = await importSnapshot(bytes, { format });
    return `ok:${s.vcpus.length}:${s.source?.importer ?? ""}`;
  };
}

async function gzip(b: Uint8Array): Promise<Uint8Array> {
  const s = new Blob([new Uint8Array(b)]).stream().pipeThrough(new CompressionStream("gzip"));
  return new Uint8Array(await new Response(s).arrayBuffer());
}

const QEMU = [
  file("tests/fixtures/qemu/virt-gicv2-cortex-a57-smp2.qemu"),
  file("tests/fixtures/qemu/virt-gicv3-max-smp2.qemu"),
];
const NATIVE = [
  file("snapshots/samples/qemu-virt-gicv2-cortex-a57-smp2.cbor"),
  file("snapshots/samples/qemu-virt-gicv3-max-smp2.cbor"),
];
const FINGERPRINTS = ["5.10", "6.1", "6.18"].map((k) =>
  file(`tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_${k}host.json`)
);

let services: Promise<Services> | undefined;
/** An in-process service over an in-memory ledger, for the verdict and check rows. */
function service(): Promise<Services> {
  services ??= (async () => {
    const env: Record<string, string> = { ROLLSAFE_LEDGER_PATH: ":memory:", HOME: "/nonexistent" };
    const config = loadConfig((n) => env[n]);
    return new Services({
      config,
      env: (n) => env[n],
      ledger: new SqliteLedger(":memory:"),
      signer: await signerFromSeed(SEED),
    });
  })();
  return services;
}

const CHECK_TARGETS = ["linux-6.1@qemu-max-nested", "linux-6.1@neoverse-n1"];

export const TARGETS: FuzzTarget[] = [
  {
    name: "native",
    seeds: NATIVE,
    run: importer("native"),
    refusals: [SnapshotError],
    limitMs: 2000,
  },
  {
    name: "qemu",
    seeds: QEMU,
    run: importer("qemu"),
    refusals: [SnapshotError],
    limitMs: 3000,
  },
  {
    // Recognition from the bytes: compressed streams and libvirt save images go this way.
    name: "sniffed",
    seeds: [...QEMU, ...NATIVE, FINGERPRINTS[0]],
    derived: async () => [await gzip(await Deno.readFile(QEMU[0]))],
    run: importer(undefined),
    refusals: [SnapshotError],
    limitMs: 3000,
  },
  {
    name: "fingerprint",
    seeds: FINGERPRINTS,
    run: importer("fc-fingerprint"),
    refusals: [SnapshotError],
    limitMs: 2000,
  },
  {
    name: "multipart",
    seeds: [],
    derived: async () => {
      const b = "fuzzB";
      const fp = await Deno.readFile(FINGERPRINTS[1]);
      const parts = [
        `--${b}\r\nContent-Disposition: form-data; name="snapshot"; filename="s"\r\n\r\n`,
        fp,
        `\r\n--${b}\r\nContent-Disposition: form-data; name="host"\r\n` +
        `Content-Type: application/json\r\n\r\n{"id":"x"}\r\n--${b}--\r\n`,
      ];
      return [new Uint8Array(await new Blob(parts).arrayBuffer())];
    },
    run: async (bytes) => {
      const u = await parseMultipart(bytes, "multipart/form-data; boundary=fuzzB");
      return `ok:${u.contentType ?? "-"}:${u.profiles.length}:${u.hosts.length}`;
    },
    refusals: [Problem],
    limitMs: 1000,
  },
  {
    name: "webhook",
    seeds: [],
    derived: () =>
      Promise.resolve([
        new TextEncoder().encode(JSON.stringify({
          type: "rollsafe.check",
          data: { snapshots: ["0".repeat(64)], targets: ["linux-6.1@neoverse-n1"], vmm: "qemu" },
          client_payload: { snapshots: ["1".repeat(64)], targets: ["linux-5.10@neoverse-n1"] },
        })),
      ]),
    run: (bytes) => {
      const doc = parseJsonBody(bytes);
      let out = "ok";
      for (
        const f of [() => standardRequest(doc), () => githubRequest("repository_dispatch", doc)]
      ) {
        try {
          out += `:${f()?.targets.length}`;
        } catch (e) {
          if (!(e instanceof Problem)) throw e;
          out += `:${shape(e)}`;
        }
      }
      return Promise.resolve(out);
    },
    refusals: [Problem],
    limitMs: 1000,
  },
  {
    // A signed verdict, then its bytes mutated: verification answers, it never throws.
    name: "cose",
    seeds: [],
    derived: async () => {
      const s = await service();
      const issued = await issueVerdict(s, {
        bytes: await Deno.readFile(FINGERPRINTS[1]),
        contentType: "application/json",
        targets: ["linux-6.1@neoverse-n1"],
      });
      return [issued.cose];
    },
    run: async (bytes) => {
      const key = await trustedKeyOf(await signerFromSeed(SEED));
      const r = await verifyVerdict(bytes, {
        keys: [key],
        snapshotDigest: new Uint8Array(32),
        target: "linux-6.1",
        acceptDevKey: true,
      });
      return `${r.ok}:${r.reason}`;
    },
    refusals: [],
    limitMs: 1000,
  },
  {
    // Random guest state through the whole check: the real QEMU sample with its registers,
    // features and vGIC state replaced by mutated bytes (the mutator works on the CBOR), run
    // through import, restore replay, probes, verdict building and signing.
    name: "check",
    seeds: NATIVE,
    run: async (bytes) => {
      const s = await service();
      // Re-encode what decodes, so the check sees a structurally valid snapshot more often.
      let input = bytes;
      try {
        input = encodeSnapshot(decodeSnapshot(bytes));
      } catch (e) {
        if (!(e instanceof SnapshotError)) throw e;
      }
      const issued = await issueVerdict(s, {
        bytes: input,
        contentType: "application/vnd.rollsafe.snapshot+cbor",
        targets: CHECK_TARGETS,
        source: CHECK_TARGETS[0],
      });
      return `ok:${issued.verdict.summary.status}`;
    },
    // A 5xx Problem (not-configured, ledger) is not a refusal of the input.
    refusals: [Problem, ProfileError],
    limitMs: 20000,
  },
];

/** Whether `e` is a documented refusal by `t` (a Problem must also be a 4xx). */
export function isRefusal(t: FuzzTarget, e: unknown): boolean {
  if (e instanceof Problem) return t.refusals.includes(Problem) && e.status < 500;
  return t.refusals.some((c) => e instanceof c);
}

/** Runs one input: its outcome signature, or the crash description. */
export async function runOne(
  t: FuzzTarget,
  bytes: Uint8Array,
): Promise<{ sig: string; crash?: string }> {
  try {
    return { sig: await t.run(bytes) };
  } catch (e) {
    if (isRefusal(t, e)) return { sig: shape(e) };
    const err = e instanceof Error ? e : new Error(String(e));
    return { sig: "crash", crash: `${err.name}: ${err.message}\n${err.stack ?? ""}` };
  }
}
