/**
 * End to end: every sample snapshot (snapshots/samples/*.cbor), the QEMU migration streams they
 * were imported from (tests/fixtures/qemu/*.qemu) and every real Firecracker fingerprint is
 * uploaded, the signed verdict comes back, verifies with verifyVerdict (the code
 * path of `rollsafe verify`) and with the independent Python verifier against the keys the
 * service publishes, and is found again in the ledger. Once through app.request(), once through
 * a real `deno serve` process on 127.0.0.1.
 */
import { assert, assertEquals } from "@std/assert";
import { oracleTest, PYTHON_CBOR2 } from "../support/oracle.ts";
import { decodeSafe } from "../../cbor/mod.ts";
import { PROBE_IMAGE_SHA256 } from "../../emulator/probes/bin/probe_image.ts";
import { COSE_SIGN1_MEDIA_TYPE } from "../../functions/media.ts";
import {
  generateKeyPair,
  parsePublicKeys,
  pemEncode,
  signerFromPkcs8,
  toHex,
  trustedKeyOf,
  type Verdict,
  verifyVerdict,
} from "../../verdict/mod.ts";
import { FINGERPRINTS, sha256Hex, testService } from "./helpers.ts";
import { startServer } from "./server.ts";

const SAMPLES = new URL("../../snapshots/samples/", import.meta.url);
const QEMU_STREAMS = new URL("../fixtures/qemu/", import.meta.url);

interface Upload {
  name: string;
  bytes: Uint8Array<ArrayBuffer>;
  contentType: string;
  /** Where it was taken, when the snapshot does not say (the fingerprints name their kernel). */
  source?: string;
  targets: string[];
}

/**
 * Source and targets per sample: the QEMU samples were captured under TCG, so their hosts are
 * the QEMU CPU descriptions (GICv3 "max", GICv2 Cortex-A57); the fingerprints are Neoverse N1
 * on Amazon Linux kernels, which the service recognises from kernel_version and MIDR.
 */
const SAMPLE_ROWS: [RegExp, { source?: string; targets: string[] }][] = [
  [/gicv3-max/, {
    source: "linux-6.1@qemu-tcg-max",
    targets: ["linux-6.1+iidr-rev1@qemu-tcg-max", "linux-5.10@qemu-tcg-max"],
  }],
  [/gicv2-cortex-a57/, {
    source: "linux-6.1@qemu-a57-gicv2",
    targets: ["linux-6.1@qemu-a57-gicv2", "linux-5.10@qemu-a57-gicv2"],
  }],
];
const FP_TARGETS = ["amzn2023-6.1@neoverse-n1", "amzn2-5.10@neoverse-n1"];

async function uploads(): Promise<Upload[]> {
  const out: Upload[] = [];
  for (const e of [...Deno.readDirSync(SAMPLES)].sort((a, b) => a.name.localeCompare(b.name))) {
    if (!e.name.endsWith(".cbor")) continue;
    const row = SAMPLE_ROWS.find(([re]) => re.test(e.name));
    if (!row) throw new Error(`${e.name}: add a row to SAMPLE_ROWS naming its source and targets`);
    out.push({
      name: e.name,
      bytes: await Deno.readFile(new URL(e.name, SAMPLES)),
      contentType: "application/cbor",
      ...row[1],
    });
  }
  // The QEMU migration streams the samples were imported from, uploaded as they are.
  for (
    const e of [...Deno.readDirSync(QEMU_STREAMS)].sort((a, b) => a.name.localeCompare(b.name))
  ) {
    if (!e.name.endsWith(".qemu")) continue;
    const row = SAMPLE_ROWS.find(([re]) => re.test(e.name));
    if (!row) throw new Error(`${e.name}: add a row to SAMPLE_ROWS naming its source and targets`);
    out.push({
      name: e.name,
      bytes: await Deno.readFile(new URL(e.name, QEMU_STREAMS)),
      contentType: "application/vnd.qemu.migration",
      ...row[1],
    });
  }
  for (const f of FINGERPRINTS) {
    out.push({
      name: `fingerprint ${f.kernel}`,
      bytes: await Deno.readFile(f.url),
      contentType: "application/json",
      targets: FP_TARGETS,
    });
  }
  return out;
}

function query(u: Upload): string {
  const q = new URLSearchParams();
  for (const t of u.targets) q.append("target", t);
  if (u.source) q.set("source", u.source);
  return q.toString();
}

Deno.test("every sample and fingerprint: signed verdict, verified, recorded in the ledger", async () => {
  const t = await testService();
  try {
    const keys = [await trustedKeyOf(await t.services.signer())];
    const all = await uploads();
    assert(all.length >= 3, "the fingerprints at least");
    const verdicts = new Map<string, Verdict>();
    for (const u of all) {
      const r = await t.app.request(`/v1/verdicts?${query(u)}&nonce=e2e-${u.name.length}`, {
        method: "POST",
        body: u.bytes,
        headers: { "content-type": u.contentType },
      });
      assertEquals(
        r.status,
        200,
        `${u.name}: ${r.status} ${r.status === 200 ? "" : await r.text()}`,
      );
      assertEquals(r.headers.get("content-type"), COSE_SIGN1_MEDIA_TYPE);
      const cose = new Uint8Array(await r.arrayBuffer());
      for (const target of u.targets) {
        const v = await verifyVerdict(cose, {
          keys,
          snapshotBytes: u.bytes,
          target,
          nonce: `e2e-${u.name.length}`,
        });
        // "not-restorable" is reached only after signature, snapshot and target all checked.
        assert(v.reason === "ok" || v.reason === "not-restorable", `${u.name}: ${v.message}`);
        assertEquals(v.target?.restorable, v.reason === "ok");
        assertEquals(r.headers.get("x-rollsafe-status"), v.verdict!.summary.status);
      }
      verdicts.set(
        u.name,
        (await verifyVerdict(cose, {
          keys,
          snapshotBytes: u.bytes,
          target: u.targets[0],
          nonce: `e2e-${u.name.length}`,
        })).verdict!,
      );
      const digest = await sha256Hex(u.bytes);
      const back = await (await t.app.request(`/v1/verdicts/${digest}`)).json();
      assertEquals(back.stored, true);
      const coses = back.verdicts.map((x: { cose: string }) => x.cose);
      assert(coses.includes(btoa(String.fromCharCode(...cose))), `${u.name}: in the ledger`);
      assertEquals(back.verdicts.at(-1).targets, u.targets);
    }
    // A QEMU stream and the sample imported from it are the same guest state: same findings,
    // different snapshot digests.
    let pairs = 0;
    for (const [name, v] of verdicts) {
      const sample = verdicts.get(`qemu-${name.replace(/\.qemu$/, ".cbor")}`);
      if (!name.endsWith(".qemu") || !sample) continue;
      pairs++;
      assertEquals(v.targets, sample.targets, name);
      assert(toHex(v.snapshot.sha256) !== toHex(sample.snapshot.sha256));
    }
    assert(pairs >= 1, "at least one stream and its sample");
  } finally {
    await t.close();
  }
});

Deno.test("Accept: application/json gives the decoded verdict beside the same COSE bytes", async () => {
  const t = await testService();
  try {
    const fp = await Deno.readFile(FINGERPRINTS[1].url);
    const r = await t.app.request(`/v1/verdicts?target=${FP_TARGETS[0]}&target=${FP_TARGETS[1]}`, {
      method: "POST",
      body: fp,
      headers: { "content-type": "application/json", accept: "application/json" },
    });
    assertEquals(r.status, 200);
    const j = await r.json();
    assertEquals(j.verdict.snapshot.sha256, await sha256Hex(fp));
    assertEquals(j.verdict.targets.map((x: { id: string }) => x.id), FP_TARGETS);
    // Recognised from the fingerprint's kernel_version and MIDR, not given.
    assertEquals(j.verdict.source.profile.id, "amzn2023-6.1");
    const cose = Uint8Array.from(atob(j.cose), (c) => c.charCodeAt(0));
    assertEquals(j.cose_sha256, await sha256Hex(cose));
    assertEquals(j.snapshot_sha256, await sha256Hex(fp));
    const v = await verifyVerdict(cose, {
      keys: [await trustedKeyOf(await t.services.signer())],
      snapshotBytes: fp,
      target: FP_TARGETS[0],
    });
    assertEquals(v.verdict?.issued_at, j.verdict.issued_at);
    // The ledger listing as CBOR: an array of the COSE_Sign1 messages, byte for byte.
    const listed = await t.app.request(`/v1/verdicts/${j.verdict.snapshot.sha256}`, {
      headers: { accept: "application/cbor" },
    });
    assertEquals(listed.headers.get("content-type"), "application/cbor");
    const arr = decodeSafe(new Uint8Array(await listed.arrayBuffer()), {
      maxBytes: 1 << 20,
      maxDepth: 4,
      maxItems: 100,
      allowedTags: [],
    }).value;
    assertEquals(arr, [cose]);
  } finally {
    await t.close();
  }
});

/**
 * Uploads everything to a real `deno serve` process on a free port and hands each verdict to
 * `check`; the verdict must also be in the service's ledger afterwards.
 */
async function throughRealServer(
  check: (cose: Uint8Array, u: Upload, keysFile: string, dir: string) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-e2e-" });
  const { pkcs8 } = await generateKeyPair();
  const server = await startServer(
    ["serve", "-A", "--host", "127.0.0.1", "--port", "0", "main.ts"],
    {
      cwd: new URL("../..", import.meta.url).pathname,
      env: { ROLLSAFE_DATA_DIR: dir, ROLLSAFE_SIGNING_KEY: pemEncode("PRIVATE KEY", pkcs8) },
    },
  );
  try {
    const jwks = new Uint8Array(
      await (await fetch(`${server.url}/v1/keys`, { headers: { accept: "application/json" } }))
        .arrayBuffer(),
    );
    await Deno.writeFile(`${dir}/keys.jwks.json`, jwks);
    const signer = await signerFromPkcs8(pkcs8);
    assertEquals((await parsePublicKeys(jwks, "GET /v1/keys"))[0].kid, signer.kid);
    for (const u of await uploads()) {
      const r = await fetch(`${server.url}/v1/verdicts?${query(u)}`, {
        method: "POST",
        body: u.bytes,
        headers: { "content-type": u.contentType },
      });
      assertEquals(r.status, 200, u.name);
      const cose = new Uint8Array(await r.arrayBuffer());
      await check(cose, u, `${dir}/keys.jwks.json`, dir);
      const back = await (await fetch(`${server.url}/v1/verdicts/${await sha256Hex(u.bytes)}`))
        .json();
      assert(
        back.verdicts.some((v: { cose: string }) => v.cose === btoa(String.fromCharCode(...cose))),
        `${u.name}: in the ledger`,
      );
    }
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test({
  name: "a real server on 127.0.0.1: every upload's verdict verifies against GET /v1/keys",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    throughRealServer(async (cose, u, keysFile) => {
      const keys = await parsePublicKeys(await Deno.readFile(keysFile), keysFile);
      for (const target of u.targets) {
        const v = await verifyVerdict(cose, { keys, snapshotBytes: u.bytes, target });
        assert(v.reason === "ok" || v.reason === "not-restorable", `${u.name}: ${v.message}`);
      }
    }),
});

oracleTest({
  name: "a real server on 127.0.0.1: verdicts verify in Python against the published keys",
  needs: [PYTHON_CBOR2],
  sanitizeResources: false,
  sanitizeOps: false,
  fn: () =>
    throughRealServer(async (cose, u, keysFile, dir) => {
      await Deno.writeFile(`${dir}/verdict.cose`, cose);
      await Deno.writeFile(`${dir}/snapshot`, u.bytes);
      for (const target of u.targets) {
        const o = await new Deno.Command("/usr/bin/python3", {
          args: [
            new URL("../python/verify_verdict.py", import.meta.url).pathname,
            `${dir}/verdict.cose`,
            "--key",
            keysFile,
            "--snapshot",
            `${dir}/snapshot`,
            "--target",
            target,
          ],
        }).output();
        const out = new TextDecoder().decode(o.stdout);
        // 0 = verified and restorable, 2 = verified and not restorable; anything else failed.
        assert(o.code === 0 || o.code === 2, `${u.name} ${target}: ${out}`);
        const j = JSON.parse(out);
        if (o.code === 0) assertEquals(j.target, target);
        else assertEquals(j.reason, "not-restorable");
      }
    }),
});

Deno.test("the engine identity names the wasm and probe bytes that ran and the git revision", async () => {
  const t = await testService({ ROLLSAFE_GIT_REVISION: "0123abcd-dirty" });
  const fp = await Deno.readFile(FINGERPRINTS[2].url);
  try {
    const r = await t.app.request(`/v1/verdicts?target=${FP_TARGETS[0]}`, {
      method: "POST",
      body: fp,
      headers: { "content-type": "application/json", accept: "application/json" },
    });
    const e = (await r.json()).verdict.engine;
    assertEquals(e.git_revision, "0123abcd-dirty");
    assertEquals(
      e.wasm_sha256,
      await sha256Hex(
        await Deno.readFile(new URL("../../wasm/pkg/rollsafe_emu.wasm", import.meta.url)),
      ),
    );
    assertEquals(e.probes, { probe: PROBE_IMAGE_SHA256 });
  } finally {
    await t.close();
  }
  const bad = await testService({ ROLLSAFE_GIT_REVISION: "main" });
  try {
    const r = await bad.app.request(`/v1/verdicts?target=${FP_TARGETS[0]}`, {
      method: "POST",
      body: fp,
      headers: { "content-type": "application/json" },
    });
    assertEquals(r.status, 503);
    assertEquals((await r.json()).type, "/problems/not-configured");
  } finally {
    await bad.close();
  }
});
