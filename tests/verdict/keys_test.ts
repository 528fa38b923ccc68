import {
  assert,
  assertEquals,
  assertNotEquals,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import {
  configDir,
  deriveKid,
  DEV_KEY_FILE,
  devPublicKey,
  envTrustedKeys,
  fromHex,
  generateKeyPair,
  KeyError,
  loadSigner,
  parsePublicKeys,
  pemEncode,
  publishedKeys,
  signerFromSeed,
  signerFromText,
  toCoseKey,
  toCoseKeySet,
  toHex,
  toJwk,
  toJwks,
  toPublicPem,
} from "../../verdict/mod.ts";
import { toBase64, toBase64Url } from "../../verdict/bytes.ts";
import { RFC8032_SEED_1 } from "./fixture.ts";

const seed = fromHex(RFC8032_SEED_1, "seed");
const pkcs8 = fromHex("302e020100300506032b657004220420" + RFC8032_SEED_1, "pkcs8");
const PEM = pemEncode("PRIVATE KEY", pkcs8);
const KID_1 = "21fe31dfa154a261626bf854046fd227";

Deno.test("kid is hex of the first 16 bytes of SHA-256 of the raw public key", async () => {
  const s = await signerFromSeed(seed);
  // sha256(d75a98…511a) computed independently: see the Python oracle test.
  assertEquals(s.kid, KID_1);
  assertEquals(await deriveKid(s.publicKey), KID_1);
  assertEquals(await deriveKid(s.publicKey, true), `dev-${KID_1}`);
  assertEquals(s.dev, false);
});

Deno.test("production key from env as PEM, bare base64 PKCS#8, or private JWK: same kid", async () => {
  const jwk = JSON.stringify({
    kty: "OKP",
    crv: "Ed25519",
    d: toBase64Url(seed),
    x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
  });
  for (const value of [PEM, toBase64(pkcs8), jwk, `\n  ${PEM}`]) {
    const s = await loadSigner({ env: { ROLLSAFE_SIGNING_KEY: value } });
    assertEquals([s.kid, s.dev], [KID_1, false]);
  }
});

Deno.test("production key from a file, and ROLLSAFE_SIGNING_KID must match it", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/k.pem`;
  await Deno.writeTextFile(path, PEM);
  const s = await loadSigner({
    env: { ROLLSAFE_SIGNING_KEY_FILE: path, ROLLSAFE_SIGNING_KID: KID_1 },
  });
  assertEquals(s.kid, KID_1);
  await assertRejects(
    () =>
      loadSigner({ env: { ROLLSAFE_SIGNING_KEY_FILE: path, ROLLSAFE_SIGNING_KID: "prod-2026" } }),
    KeyError,
    `ROLLSAFE_SIGNING_KID is "prod-2026" but the key's kid is ${KID_1}`,
  );
  await assertRejects(
    () => loadSigner({ env: { ROLLSAFE_SIGNING_KEY_FILE: `${dir}/missing.pem` } }),
    KeyError,
    `ROLLSAFE_SIGNING_KEY_FILE ${dir}/missing.pem`,
  );
  await assertRejects(
    () => loadSigner({ env: { ROLLSAFE_SIGNING_KEY_FILE: path, ROLLSAFE_SIGNING_KEY: PEM } }),
    KeyError,
    "not both",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("bad production keys are refused with the variable named", async () => {
  const cases: [string, string][] = [
    ["not a key!", "ROLLSAFE_SIGNING_KEY: key: not valid base64"],
    [
      pemEncode("PUBLIC KEY", new Uint8Array(44)),
      'ROLLSAFE_SIGNING_KEY: PEM block is "PUBLIC KEY", expected "PRIVATE KEY"',
    ],
    [
      '{"kty":"EC","crv":"P-256"}',
      "ROLLSAFE_SIGNING_KEY: JWK is kty EC crv P-256; expected OKP Ed25519",
    ],
    [
      '{"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}',
      "needs both 'd' and 'x'",
    ],
    ["{oops", "ROLLSAFE_SIGNING_KEY: not valid JSON"],
    [toBase64(new Uint8Array(48)), "ROLLSAFE_SIGNING_KEY: not an Ed25519 PKCS#8 private key"],
  ];
  for (const [value, message] of cases) {
    await assertRejects(
      () => loadSigner({ env: { ROLLSAFE_SIGNING_KEY: value } }),
      KeyError,
      message,
    );
  }
});

Deno.test("a private JWK whose x is not d's public key is refused", async () => {
  const other = await generateKeyPair();
  await assertRejects(
    () =>
      signerFromText(
        JSON.stringify({
          kty: "OKP",
          crv: "Ed25519",
          d: toBase64Url(seed),
          x: toBase64Url(other.publicKey),
        }),
        "jwk",
      ),
    KeyError,
    "JWK x is not the public key of d",
  );
});

Deno.test("dev key: created on first use in the config dir, 0600, reused, dev- kid", async () => {
  const dir = await Deno.makeTempDir();
  const cfg = `${dir}/cfg/rollsafe`;
  const a = await loadSigner({ env: { ROLLSAFE_CONFIG_DIR: cfg } });
  assert(a.dev);
  assert(a.kid.startsWith("dev-"));
  assertEquals(a.kid, await deriveKid(a.publicKey, true));
  const st = await Deno.stat(`${cfg}/${DEV_KEY_FILE}`);
  assertEquals(st.mode! & 0o777, 0o600);
  assertEquals((await Deno.stat(cfg)).mode! & 0o777, 0o700);
  assertStringIncludes(
    await Deno.readTextFile(`${cfg}/${DEV_KEY_FILE}`),
    "development signing key",
  );
  const b = await loadSigner({ env: { ROLLSAFE_CONFIG_DIR: cfg } });
  assertEquals(b.kid, a.kid);
  const pub = await devPublicKey(cfg);
  assertEquals(pub?.kid, a.kid);
  assertEquals(pub?.dev, true);
  assertEquals(await devPublicKey(`${dir}/empty`), undefined);
  await assertRejects(
    () => loadSigner({ env: { ROLLSAFE_CONFIG_DIR: cfg }, allowDevKey: false }),
    KeyError,
    "no production signing key",
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("dev key: concurrent first use yields one key", async () => {
  const dir = await Deno.makeTempDir();
  const signers = await Promise.all(
    Array.from({ length: 8 }, () => loadSigner({ configDir: dir })),
  );
  assertEquals(new Set(signers.map((s) => s.kid)).size, 1);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("config dir: ROLLSAFE_CONFIG_DIR, then absolute XDG_CONFIG_HOME, then HOME/.config", () => {
  assertEquals(
    configDir({ ROLLSAFE_CONFIG_DIR: "/a/b", XDG_CONFIG_HOME: "/x", HOME: "/h" }),
    "/a/b",
  );
  assertEquals(configDir({ XDG_CONFIG_HOME: "/x", HOME: "/h" }), "/x/rollsafe");
  assertEquals(configDir({ XDG_CONFIG_HOME: "relative", HOME: "/h" }), "/h/.config/rollsafe");
  assertEquals(configDir({ HOME: "/h" }), "/h/.config/rollsafe");
});

Deno.test("dev key is never kept inside the repository", async () => {
  const inside = new URL("../../.rollsafe-test-config", import.meta.url).pathname;
  await assertRejects(
    () => loadSigner({ env: { ROLLSAFE_CONFIG_DIR: inside } }),
    KeyError,
    "refusing to keep a signing key inside the rollsafe repository",
  );
  await assertRejects(() => Deno.stat(inside), Deno.errors.NotFound);
});

Deno.test("public keys round-trip through JWK, JWKS, COSE_Key, COSE_KeySet and SPKI PEM", async () => {
  const a = await signerFromSeed(seed);
  const b = await signerFromSeed(new Uint8Array(32).fill(7), { dev: true });
  const enc = new TextEncoder();
  const forms: [string, Uint8Array, string[]][] = [
    ["jwk", enc.encode(JSON.stringify(toJwk(a))), [a.kid]],
    ["jwks", enc.encode(JSON.stringify(toJwks([a, b]))), [a.kid, b.kid]],
    ["cose_key", toCoseKey(a), [a.kid]],
    ["cose_keyset", toCoseKeySet([a, b]), [a.kid, b.kid]],
    ["pem", enc.encode(toPublicPem(a.publicKey)), [a.kid]],
  ];
  for (const [name, bytes, kids] of forms) {
    const keys = await parsePublicKeys(bytes, name);
    assertEquals(keys.map((k) => k.kid), kids, name);
    assertEquals(toHex(keys[0].publicKey), toHex(a.publicKey), name);
  }
  // RFC 8037 Appendix A.2: the public JWK of the RFC 8032 test 1 key.
  assertEquals(toJwk(a).x, "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo");
  // COSE_Key: {1: 1 (OKP), 2: kid, -1: 6 (Ed25519), -2: x} in deterministic order.
  assertEquals(
    toHex(toCoseKey(a)),
    "a4010102582032316665333164666131353461323631363236626638353430343666643232372006215820" +
      toHex(a.publicKey),
  );
});

Deno.test("keysets with a wrong kid, a private part or another curve are refused", async () => {
  const a = await signerFromSeed(seed);
  const enc = (x: unknown) => new TextEncoder().encode(JSON.stringify(x));
  await assertRejects(
    () => parsePublicKeys(enc({ keys: [{ ...toJwk(a), kid: "feedface" }] }), "k.json"),
    KeyError,
    `k.json: key 0: kid "feedface" does not belong to this key (its kid is ${KID_1})`,
  );
  await assertRejects(
    () => parsePublicKeys(enc({ ...toJwk(a), d: "AAAA" }), "k.json"),
    KeyError,
    "contains a private key",
  );
  await assertRejects(
    () => parsePublicKeys(enc({ kty: "OKP", crv: "X25519", x: toJwk(a).x }), "k.json"),
    KeyError,
    "expected an OKP Ed25519 JWK",
  );
  await assertRejects(
    () => parsePublicKeys(enc({ keys: [] }), "k.json"),
    KeyError,
    "JWKS has no keys",
  );
  await assertRejects(
    () => parsePublicKeys(new Uint8Array([0xa1, 0x01, 0x02]), "k.cbor"),
    KeyError,
    "k.cbor: COSE_Key 0: expected kty 1 (OKP) and crv 6 (Ed25519)",
  );
  await assertRejects(
    () => parsePublicKeys(new Uint8Array([0xff]), "k.bin"),
    KeyError,
    "k.bin: CBOR at byte 0",
  );
});

Deno.test("rotation: env keysets add retired keys; the published set starts with the signer", async () => {
  const current = await signerFromSeed(seed);
  const old = await signerFromSeed(new Uint8Array(32).fill(1));
  const older = await signerFromSeed(new Uint8Array(32).fill(2));
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/older.cose`, toCoseKeySet([older]));
  const env = {
    ROLLSAFE_PUBLIC_KEYS: JSON.stringify(toJwks([old, current])),
    ROLLSAFE_PUBLIC_KEYS_FILE: `${dir}/older.cose`,
  };
  assertEquals((await envTrustedKeys(env)).map((k) => k.kid), [old.kid, current.kid, older.kid]);
  assertEquals((await publishedKeys(current, env)).map((k) => k.kid), [
    current.kid,
    old.kid,
    older.kid,
  ]);
  assertEquals(await envTrustedKeys({}), []);
  assertNotEquals(old.kid, current.kid);
  await Deno.remove(dir, { recursive: true });
});
