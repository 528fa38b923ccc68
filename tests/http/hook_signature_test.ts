/**
 * Webhook signature checks against the published vectors: GitHub's documented example
 * (docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", body
 * "Hello, World!") and the Standard Webhooks specification's vector (whsec_MfKQ9r8G…, msg_p5jX…,
 * 1614265330), plus every way a signature can be wrong.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { signGithub, verifyGithub } from "../../functions/hooks/github.ts";
import { signStandard, verifyStandard } from "../../functions/hooks/standard.ts";
import { standardSecretBytes } from "../../functions/config.ts";
import { Problem } from "../../functions/problem.ts";

const enc = new TextEncoder();

const GH_SECRET = "It's a Secret to Everybody";
const GH_BODY = enc.encode("Hello, World!");
const GH_SIG = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

Deno.test("GitHub: the documented X-Hub-Signature-256 vector", async () => {
  assertEquals(await signGithub(GH_SECRET, GH_BODY), GH_SIG);
  await verifyGithub(GH_SECRET, GH_SIG, GH_BODY);
  await verifyGithub(GH_SECRET, GH_SIG.toUpperCase().replace("SHA256", "sha256"), GH_BODY);
});

async function ghRejects(header: string | null, body: Uint8Array<ArrayBuffer>, msg: string) {
  const e = await assertRejects(() => verifyGithub(GH_SECRET, header, body), Problem);
  assertEquals(e.type, "bad-signature");
  assertEquals(e.status, 401);
  assertEquals(e.detail.includes(msg), true, e.detail);
}

Deno.test("GitHub: wrong, absent and malformed signatures are 401 bad-signature", async () => {
  await ghRejects(GH_SIG, enc.encode("Hello, World?"), "does not match");
  await ghRejects(GH_SIG.replace("757", "758"), GH_BODY, "does not match");
  await ghRejects(null, GH_BODY, "missing");
  await ghRejects("sha1=757107ea0eb2509fc211221cce984b8a37570b6d", GH_BODY, 'not "sha256="');
  await ghRejects(GH_SIG.slice(0, -2), GH_BODY, "64 hex digits");
});

const SW_SECRET = standardSecretBytes("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "test");
const SW_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const SW_TS = 1614265330;
const SW_BODY = enc.encode('{"test": 2432232314}');
const SW_SIG = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

function swHeaders(sig = SW_SIG, ts = String(SW_TS), id = SW_ID): Headers {
  return new Headers({ "webhook-id": id, "webhook-timestamp": ts, "webhook-signature": sig });
}

Deno.test("Standard Webhooks: the specification's vector", async () => {
  assertEquals(await signStandard(SW_SECRET, SW_ID, SW_TS, SW_BODY), SW_SIG);
  assertEquals(await verifyStandard(SW_SECRET, swHeaders(), SW_BODY, SW_TS), SW_ID);
  // Rotation: several entries, unknown versions skipped, one good v1 suffices.
  const many = `v1a,AAAA v1,${btoa("x".repeat(32))} ${SW_SIG}`;
  assertEquals(await verifyStandard(SW_SECRET, swHeaders(many), SW_BODY, SW_TS + 299), SW_ID);
});

Deno.test("Standard Webhooks: tampering, clock skew and missing headers are 401", async () => {
  const cases: [Headers, Uint8Array, number, string][] = [
    [swHeaders(), enc.encode('{"test": 2432232315}'), SW_TS, "no v1 entry"],
    [swHeaders(SW_SIG, String(SW_TS), "msg_other"), SW_BODY, SW_TS, "no v1 entry"],
    [swHeaders(SW_SIG, String(SW_TS + 1)), SW_BODY, SW_TS, "no v1 entry"],
    [swHeaders(), SW_BODY, SW_TS + 301, "301 s old"],
    [swHeaders(), SW_BODY, SW_TS - 301, "301 s in the future"],
    [swHeaders("v1a,abcd"), SW_BODY, SW_TS, 'no "v1,<base64>" entry'],
    [swHeaders("v1,!!notbase64"), SW_BODY, SW_TS, "no v1 entry"],
    [swHeaders(SW_SIG, "16142653.30"), SW_BODY, SW_TS, "not Unix seconds"],
    [new Headers({ "webhook-id": SW_ID }), SW_BODY, SW_TS, "webhook-timestamp header missing"],
  ];
  for (const [h, body, now, msg] of cases) {
    const e = await assertRejects(() => verifyStandard(SW_SECRET, h, body, now), Problem);
    assertEquals(e.status, 401);
    assertEquals(e.detail.includes(msg), true, `${msg}: ${e.detail}`);
  }
});
