/**
 * Second oracle: @auth0/cose (test dependency only). Importing it registers cbor-x extensions for
 * tags 16–18 and 96–98 process-wide (its src/cbor.ts calls cbor-x addExtension), after which every cbor-x
 * decoder in this process turns tag 18 into a library object. So this file:
 * - is its own test module: `deno test` (with or without --parallel) runs each test file in
 *   its own isolate with its own module instances, so other files never see the mutation
 *   (checked: a tag-18 decode in a sibling file still yields a plain Tag);
 * - only *produces* with rollsafe code here (signing uses cbor/encode.ts, never cbor-x), and
 *   checks auth0-produced messages with rollsafe's reader in a child process.
 */
import { assert, assertEquals, assertRejects } from "@std/assert";
import { Algorithms, Headers, Sign1 } from "@auth0/cose";
import { buildVerdict } from "../../verdict/build.ts";
import { fromHex, toHex } from "../../verdict/bytes.ts";
import { createSign1 } from "../../verdict/cose.ts";
import { signerFromSeed } from "../../verdict/keys.ts";
import { VERDICT_AAD, VERDICT_CONTENT_TYPE } from "../../verdict/model.ts";
import { signVerdict } from "../../verdict/sign.ts";
import { encodeVerdict } from "../../verdict/codec.ts";
import { NOW, RFC8032_SEED_1, sampleInput } from "./fixture.ts";

const seed = fromHex(RFC8032_SEED_1, "seed");
const signer = await signerFromSeed(seed);
const publicKey = await crypto.subtle.importKey(
  "raw",
  new Uint8Array(signer.publicKey),
  "Ed25519",
  true,
  [
    "verify",
  ],
);
const privateKey = await crypto.subtle.importKey(
  "pkcs8",
  fromHex("302e020100300506032b657004220420" + RFC8032_SEED_1, "pkcs8"),
  "Ed25519",
  false,
  ["sign"],
);
const verdict = buildVerdict(await sampleInput(), { now: NOW });
const aad = new TextEncoder().encode(VERDICT_AAD);

Deno.test("@auth0/cose verifies rollsafe's COSE_Sign1 with the verdict AAD", async () => {
  const cose = await signVerdict(verdict, signer);
  const msg = Sign1.decode(cose);
  await msg.verify(publicKey, { externalAAD: aad, algorithms: [Algorithms.EdDSA] });
  assertEquals(msg.protectedHeaders.get(Headers.KeyID), new TextEncoder().encode(signer.kid));
  assertEquals(toHex(msg.payload), toHex(encodeVerdict({ ...verdict, dev_key: false })));
  await assertRejects(() => msg.verify(publicKey, { externalAAD: new Uint8Array() }));
  const t = new Uint8Array(cose);
  t[t.length - 100] ^= 1;
  await assertRejects(() => Sign1.decode(t).verify(publicKey, { externalAAD: aad }));
});

Deno.test("@auth0/cose and rollsafe produce byte-identical COSE_Sign1 (empty AAD)", async () => {
  const payload = encodeVerdict(verdict);
  const kid = new TextEncoder().encode(signer.kid);
  const theirs = await Sign1.sign(
    new Map<number, unknown>([
      [Headers.Algorithm, Algorithms.EdDSA],
      [Headers.ContentType, VERDICT_CONTENT_TYPE],
      [Headers.KeyID, kid],
    ]) as never,
    undefined,
    payload,
    privateKey,
  );
  const ours = await createSign1({
    payload,
    kid,
    contentType: VERDICT_CONTENT_TYPE,
    externalAad: "",
    sign: (tbs) => signer.sign(tbs),
  });
  const theirBytes = theirs.encode();
  assertEquals(toHex(theirBytes), toHex(ours));

  // rollsafe's reader accepts auth0's message, in a child process free of auth0's cbor-x hooks.
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/m.cose`, theirBytes);
  const cose = new URL("../../verdict/cose.ts", import.meta.url).href;
  const code = `
    import { parseSign1, checkSign1 } from "${cose}";
    const m = parseSign1(await Deno.readFile("${dir}/m.cose"));
    const k = await crypto.subtle.importKey("raw", new Uint8Array(${
    JSON.stringify([...signer.publicKey])
  }), "Ed25519", true, ["verify"]);
    console.log(JSON.stringify({ alg: m.alg, ok: await checkSign1(m, k, ""), bad: await checkSign1(m, k, "x") }));`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--config", new URL("../../deno.json", import.meta.url).pathname, code],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert(out.success, new TextDecoder().decode(out.stderr));
  assertEquals(JSON.parse(new TextDecoder().decode(out.stdout)), { alg: -8, ok: true, bad: false });
  await Deno.remove(dir, { recursive: true });
});
