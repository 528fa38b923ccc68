import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import {
  buildVerdict,
  createSign1,
  encodeVerdict,
  fromHex,
  sha256,
  signerFromSeed,
  signVerdict,
  trustedKeyOf,
  VERDICT_AAD,
  VERDICT_CONTENT_TYPE,
  VERIFY_REASONS,
  type VerifyOptions,
  verifyVerdict,
} from "../../verdict/mod.ts";
import { NOW, OTHER_SNAPSHOT, RFC8032_SEED_1, sampleInput, SNAPSHOT } from "./fixture.ts";

const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
const retired = await signerFromSeed(new Uint8Array(32).fill(1));
const stranger = await signerFromSeed(new Uint8Array(32).fill(9));
const dev = await signerFromSeed(new Uint8Array(32).fill(3), { dev: true });
const keys = [await trustedKeyOf(signer), await trustedKeyOf(retired)];
const verdict = buildVerdict(await sampleInput(), { now: NOW });
const cose = await signVerdict(verdict, signer);
const base: VerifyOptions = {
  keys,
  snapshotBytes: SNAPSHOT,
  target: "linux-6.18@neoverse-n1",
  now: NOW,
};

async function check(
  bytes: Uint8Array,
  over: Partial<VerifyOptions>,
  reason: string,
  text: string,
) {
  const r = await verifyVerdict(bytes, { ...base, ...over });
  assertEquals(r.reason, reason, r.message);
  assertEquals(r.code, reason === "ok" ? 0 : VERIFY_REASONS[reason as keyof typeof VERIFY_REASONS]);
  assertEquals(r.ok, reason === "ok");
  assertStringIncludes(r.message, text);
  return r;
}

Deno.test("exit-code table: each refusal has its own code; the judged ones (not-restorable, breaking, warnings) reuse check's", () => {
  assertEquals(VERIFY_REASONS, {
    "bad-format": 10,
    "dev-key-refused": 17,
    "unknown-key": 11,
    "bad-signature": 10,
    "snapshot-mismatch": 12,
    "target-not-covered": 13,
    "not-restorable": 2,
    "breaking": 2,
    "expired": 15,
    "nonce-mismatch": 16,
    "warnings": 1,
  });
});

Deno.test("a good verdict verifies by target id, by unique profile id, and by digest", async () => {
  const r = await check(cose, {}, "ok", "restorable on linux-6.18@neoverse-n1 (status pass)");
  assertEquals(r.kid, signer.kid);
  assertEquals(r.verdict, verdict);
  await check(cose, { target: "linux-6.18" }, "ok", "restorable on linux-6.18@neoverse-n1");
  await check(
    cose,
    { snapshotBytes: undefined, snapshotDigest: await sha256(SNAPSHOT) },
    "ok",
    "issued 2026-11-21T00:00:00Z",
  );
});

Deno.test("a verdict for another snapshot is refused (12)", async () => {
  await check(
    cose,
    { snapshotBytes: OTHER_SNAPSHOT },
    "snapshot-mismatch",
    "verdict is for snapshot sha256 4b1706b7",
  );
  await check(
    cose,
    { snapshotBytes: undefined, snapshotDigest: await sha256(OTHER_SNAPSHOT) },
    "snapshot-mismatch",
    "not ",
  );
});

Deno.test("a target the verdict does not cover is refused (13), and so is an ambiguous name", async () => {
  await check(
    cose,
    { target: "linux-6.6" },
    "target-not-covered",
    'does not cover target "linux-6.6"; it covers linux-5.10@neoverse-n1, linux-6.18@neoverse-n1',
  );
  const input = await sampleInput();
  const twoHosts = { ...input.targets[1], id: "linux-6.18@neoverse-v2" };
  const v = buildVerdict({ ...input, targets: [input.targets[1], twoHosts] }, { now: NOW });
  await check(
    await signVerdict(v, signer),
    { target: "linux-6.18" },
    "target-not-covered",
    "is ambiguous",
  );
});

Deno.test("a target the verdict says is not restorable is refused (2) with the first failure", async () => {
  await check(
    cose,
    { target: "linux-5.10" },
    "not-restorable",
    "not restorable on linux-5.10@neoverse-n1: 1 failed operation(s), first KVM_SET_ONE_REG OSLSR_EL1: ENOENT",
  );
});

Deno.test("an unknown key is refused (11), before any claim is read", async () => {
  const foreign = await signVerdict(buildVerdict(await sampleInput(), { now: NOW }), stranger);
  await check(foreign, {}, "unknown-key", `kid ${stranger.kid} is not among the 2 trusted key(s)`);
  await check(foreign, { snapshotBytes: OTHER_SNAPSHOT }, "unknown-key", stranger.kid);
});

Deno.test("rotation: a verdict by a retired key still in the keyset verifies", async () => {
  const old = await signVerdict(verdict, retired);
  const r = await check(old, {}, "ok", `verdict by ${retired.kid}`);
  assertEquals(r.kid, retired.kid);
});

Deno.test("a key swapped in under a trusted kid fails the signature (10)", async () => {
  const forged = await createSign1({
    payload: encodeVerdict(verdict),
    kid: new TextEncoder().encode(signer.kid),
    contentType: VERDICT_CONTENT_TYPE,
    externalAad: VERDICT_AAD,
    sign: (tbs) => stranger.sign(tbs),
  });
  await check(forged, {}, "bad-signature", `signature does not verify under key ${signer.kid}`);
});

Deno.test("max age: fresh passes, old is refused (15), and so is a verdict from the future", async () => {
  const at = (s: number) => new Date(NOW.getTime() + s * 1000);
  await check(cose, { maxAgeSeconds: 3600, now: at(3600) }, "ok", "restorable");
  await check(
    cose,
    { maxAgeSeconds: 3600, now: at(3601) },
    "expired",
    "verdict issued 3601 s ago (2026-11-21T00:00:00Z), above the maximum age of 3600 s",
  );
  await check(cose, { maxAgeSeconds: 3600, now: at(-301) }, "expired", "301 s in the future");
  await check(cose, { maxAgeSeconds: 3600, now: at(-300) }, "ok", "restorable");
});

Deno.test("nonce: a match passes, a different or missing nonce is refused (16)", async () => {
  await check(cose, { nonce: "ci-run-4711" }, "ok", "restorable");
  await check(
    cose,
    { nonce: "ci-run-4712" },
    "nonce-mismatch",
    'verdict nonce "ci-run-4711" is not "ci-run-4712"',
  );
  const noNonce = await signVerdict(
    buildVerdict(await sampleInput({ nonce: undefined }), { now: NOW }),
    signer,
  );
  await check(noNonce, { nonce: "x" }, "nonce-mismatch", 'verdict has no nonce; expected "x"');
});

Deno.test("development key: marked in kid and payload, refused (17) unless accepted", async () => {
  const devCose = await signVerdict(verdict, dev);
  const devKeys = [...keys, await trustedKeyOf(dev)];
  const r = await check(
    devCose,
    { keys: devKeys },
    "dev-key-refused",
    `signed with development key ${dev.kid}`,
  );
  assertEquals(r.kid?.startsWith("dev-"), true);
  const ok = await check(devCose, { keys: devKeys, acceptDevKey: true }, "ok", "(DEVELOPMENT key)");
  assertEquals(ok.verdict?.dev_key, true);
  // Accepting dev keys does not mean trusting every dev key.
  await check(devCose, { acceptDevKey: true }, "unknown-key", dev.kid);
});

Deno.test("a payload claiming dev_key under a production kid (or the reverse) is refused", async () => {
  const lying = await createSign1({
    payload: encodeVerdict({ ...verdict, dev_key: true }),
    kid: new TextEncoder().encode(signer.kid),
    contentType: VERDICT_CONTENT_TYPE,
    externalAad: VERDICT_AAD,
    sign: (tbs) => signer.sign(tbs),
  });
  await check(
    lying,
    {},
    "bad-format",
    `payload dev_key is true but kid ${signer.kid} says not development`,
  );
});

Deno.test("a signed payload that is not a valid verdict is refused (10) with where and why", async () => {
  const cases: [Uint8Array, string][] = [
    [new Uint8Array([0xff]), "signed payload: CBOR at byte 0: a 'break' byte"],
    [
      new TextEncoder().encode("not cbor at all"),
      'signed payload: verdict $: expected a map; got the text "ot cbor at all"',
    ],
  ];
  for (const [payload, message] of cases) {
    const bad = await createSign1({
      payload,
      kid: new TextEncoder().encode(signer.kid),
      contentType: VERDICT_CONTENT_TYPE,
      externalAad: VERDICT_AAD,
      sign: (tbs) => signer.sign(tbs),
    });
    await check(bad, {}, "bad-format", message);
  }
});

Deno.test("verifyVerdict requires the snapshot bytes or digest", async () => {
  await assertRejects(
    () => verifyVerdict(cose, { keys, target: "linux-6.18" }),
    TypeError,
    "snapshotBytes or snapshotDigest",
  );
});
