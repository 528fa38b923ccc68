/**
 * `rollsafe verify` and `rollsafe keygen` end to end: through `main()` for every exit code, and
 * as a real subprocess for what a runbook sees (exit status, one line on stderr, kid on stdout).
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { main } from "../../cli.ts";
import {
  buildVerdict,
  fromHex,
  loadSigner,
  signerFromSeed,
  signVerdict,
  toJwks,
  toPublicPem,
} from "../../verdict/mod.ts";
import { parseDuration } from "../../cli/verify.ts";
import { toBase64 } from "../../verdict/bytes.ts";
import { OTHER_SNAPSHOT, RFC8032_SEED_1, sampleInput, SNAPSHOT } from "./fixture.ts";

const dir = await Deno.makeTempDir({ prefix: "rollsafe-cli-" });
const f = (n: string) => `${dir}/${n}`;
// The development key of these tests lives in a temporary config dir, never in $HOME.
Deno.env.set("ROLLSAFE_CONFIG_DIR", f("config"));
Deno.env.delete("ROLLSAFE_PUBLIC_KEYS");
Deno.env.delete("ROLLSAFE_PUBLIC_KEYS_FILE");

const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
const stranger = await signerFromSeed(new Uint8Array(32).fill(9));
const now = new Date();
const fresh = buildVerdict(await sampleInput(), { now });
await Deno.writeFile(f("v.cose"), await signVerdict(fresh, signer));
await Deno.writeFile(
  f("old.cose"),
  await signVerdict(
    buildVerdict(await sampleInput(), { now: new Date(now.getTime() - 7200_000) }),
    signer,
  ),
);
await Deno.writeFile(f("stranger.cose"), await signVerdict(fresh, stranger));
const devSigner = await loadSigner({ env: { ROLLSAFE_CONFIG_DIR: f("config") } });
await Deno.writeFile(f("dev.cose"), await signVerdict(fresh, devSigner));
const tampered = await Deno.readFile(f("v.cose"));
tampered[tampered.length - 200] ^= 1;
await Deno.writeFile(f("tampered.cose"), tampered);
await Deno.writeFile(f("snap"), SNAPSHOT);
await Deno.writeFile(f("other"), OTHER_SNAPSHOT);
await Deno.writeTextFile(f("keys.jwks"), JSON.stringify(toJwks([signer])));
await Deno.writeTextFile(f("key.pem"), toPublicPem(signer.publicKey));
await Deno.writeTextFile(f("bad.jwks"), '{"keys":[{"kty":"RSA"}]}');

const std = ["--snapshot", f("snap"), "--target", "linux-6.18", "--key", f("keys.jwks")];

const table: [string, string[], number][] = [
  ["all checks hold", ["verify", f("v.cose"), ...std], 0],
  ["SPKI PEM key file", [
    "verify",
    f("v.cose"),
    "--snapshot",
    f("snap"),
    "--target",
    "linux-6.18",
    "--key",
    f("key.pem"),
  ], 0],
  ["max age and nonce hold", [
    "verify",
    f("v.cose"),
    ...std,
    "--max-age",
    "1h",
    "--nonce",
    "ci-run-4711",
  ], 0],
  ["not restorable on the target", ["verify", f("v.cose"), ...std, "--target", "linux-5.10"], 2],
  [
    "missing --snapshot",
    ["verify", f("v.cose"), "--target", "linux-6.18", "--key", f("keys.jwks")],
    3,
  ],
  [
    "missing --target",
    ["verify", f("v.cose"), "--snapshot", f("snap"), "--key", f("keys.jwks")],
    3,
  ],
  ["unknown flag", ["verify", f("v.cose"), ...std, "--frobnicate"], 3],
  ["two verdict files", ["verify", f("v.cose"), f("v.cose"), ...std], 3],
  ["unreadable verdict", ["verify", f("missing.cose"), ...std], 3],
  ["unreadable snapshot", [
    "verify",
    f("v.cose"),
    "--snapshot",
    f("missing"),
    "--target",
    "x",
    "--key",
    f("keys.jwks"),
  ], 3],
  ["unusable key file", [
    "verify",
    f("v.cose"),
    "--snapshot",
    f("snap"),
    "--target",
    "linux-6.18",
    "--key",
    f("bad.jwks"),
  ], 3],
  ["no keys at all", ["verify", f("v.cose"), "--snapshot", f("snap"), "--target", "linux-6.18"], 3],
  ["bad --max-age", ["verify", f("v.cose"), ...std, "--max-age", "soon"], 3],
  ["tampered verdict", ["verify", f("tampered.cose"), ...std], 10],
  ["not a verdict at all", ["verify", f("keys.jwks"), ...std], 10],
  ["unknown key", ["verify", f("stranger.cose"), ...std], 11],
  ["another snapshot", ["verify", f("v.cose"), ...std, "--snapshot", f("other")], 12],
  ["target not covered", ["verify", f("v.cose"), ...std, "--target", "linux-6.6"], 13],
  ["expired", ["verify", f("old.cose"), ...std, "--max-age", "1h"], 15],
  ["wrong nonce", ["verify", f("v.cose"), ...std, "--nonce", "ci-run-1"], 16],
  ["development key refused", ["verify", f("dev.cose"), ...std], 17],
  ["development key accepted explicitly (local dev key trusted)", [
    "verify",
    f("dev.cose"),
    "--snapshot",
    f("snap"),
    "--target",
    "linux-6.18",
    "--accept-dev-key",
  ], 0],
];

for (const [what, args, code] of table) {
  Deno.test(`rollsafe verify: ${what} → exit ${code}`, async () => {
    assertEquals(await main(args), code);
  });
}

Deno.test("--max-age durations", () => {
  assertEquals([
    parseDuration("90"),
    parseDuration("90s"),
    parseDuration("15m"),
    parseDuration("24h"),
    parseDuration("7d"),
  ], [
    90,
    90,
    900,
    86400,
    604800,
  ]);
});

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, ...args],
    env: { ROLLSAFE_CONFIG_DIR: f("config"), ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("subprocess: a refusal is one line on stderr and a non-zero status", async () => {
  const r = await cli(["verify", f("v.cose"), ...std, "--snapshot", f("other")]);
  assertEquals(r.code, 12);
  assertEquals(r.stdout, "");
  assertEquals(r.stderr.trim().split("\n").length, 1);
  assertMatch(
    r.stderr,
    /^rollsafe verify: snapshot-mismatch: verdict is for snapshot sha256 4b1706b7[0-9a-f]+, not 5e214739/,
  );
  const ok = await cli(["verify", f("v.cose"), ...std]);
  assertEquals(ok.code, 0);
  assertStringIncludes(
    ok.stdout,
    `ok: verdict by ${signer.kid}: restorable on linux-6.18@neoverse-n1`,
  );
});

Deno.test("subprocess: --json prints the result and the decoded payload", async () => {
  const r = await cli(["verify", f("v.cose"), ...std, "--target", "linux-5.10", "--json"]);
  assertEquals(r.code, 2);
  const j = JSON.parse(r.stdout);
  assertEquals([j.ok, j.reason, j.code, j.kid, j.target], [
    false,
    "not-restorable",
    2,
    signer.kid,
    "linux-5.10@neoverse-n1",
  ]);
  assertEquals(
    j.verdict.snapshot.sha256,
    "4b1706b7ed0ef66e4b5d62178454e706811e162c1577248b49b74f8ea6db391d",
  );
  assertEquals(j.verdict.targets[0].operations[0].errno, "ENOENT");
});

Deno.test("keygen: writes the key pair named by kid; the key signs verdicts verify accepts", async () => {
  const r = await cli(["keygen", "--dir", f("keys")]);
  assertEquals(r.code, 0, r.stderr);
  const kid = r.stdout.trim();
  assertMatch(kid, /^[0-9a-f]{32}$/);
  const priv = `${f("keys")}/${kid}.private.pem`;
  assertEquals((await Deno.stat(priv)).mode! & 0o777, 0o600);
  assertStringIncludes(await Deno.readTextFile(priv), "-----BEGIN PRIVATE KEY-----");
  const prod = await loadSigner({
    env: { ROLLSAFE_SIGNING_KEY_FILE: priv, ROLLSAFE_SIGNING_KID: kid },
  });
  assertEquals([prod.kid, prod.dev], [kid, false]);
  await Deno.writeFile(f("prod.cose"), await signVerdict(fresh, prod));
  for (const pub of [`${kid}.public.jwk.json`, `${kid}.public.cose_key`, `${kid}.public.pem`]) {
    const args = ["verify", f("prod.cose"), "--snapshot", f("snap"), "--target", "linux-6.18"];
    assertEquals(await main([...args, "--key", `${f("keys")}/${pub}`]), 0, pub);
  }
  // A second keygen into the same dir makes a new key beside the first.
  const again = await cli(["keygen", "--dir", f("keys")]);
  assertEquals(again.code, 0);
  assert(again.stdout.trim() !== kid);
});

Deno.test("keygen: refuses to write a private key inside the repository", async () => {
  const inside = new URL("../../.keygen-test", import.meta.url).pathname;
  const r = await cli(["keygen", "--dir", inside]);
  assertEquals(r.code, 3);
  assertStringIncludes(r.stderr, "refusing to write a private key inside the repository");
});

Deno.test("keygen --export: JWKS and COSE_KeySet of the signer plus rotated keys", async () => {
  const pkcs8 = fromHex("302e020100300506032b657004220420" + RFC8032_SEED_1, "pkcs8");
  const env = { ROLLSAFE_SIGNING_KEY: toBase64(pkcs8) };
  const rotated = JSON.stringify(toJwks([stranger]));
  const r = await cli(["keygen", "--export", "jwks"], { ...env, ROLLSAFE_PUBLIC_KEYS: rotated });
  assertEquals(r.code, 0, r.stderr);
  assertEquals(JSON.parse(r.stdout).keys.map((k: { kid: string }) => k.kid), [
    signer.kid,
    stranger.kid,
  ]);
  const c = await cli(["keygen", "--export", "cose-keyset", "--out", f("set.cose")], env);
  assertEquals(c.code, 0, c.stderr);
  assertEquals(
    await main([
      "verify",
      f("v.cose"),
      "--snapshot",
      f("snap"),
      "--target",
      "linux-6.18",
      "--key",
      f("set.cose"),
    ]),
    0,
  );
  const bad = await cli(["keygen", "--export", "xml"], env);
  assertEquals(bad.code, 3);
  assertStringIncludes(bad.stderr, "expected jwks or cose-keyset");
});

Deno.test("cleanup", async () => {
  await Deno.remove(dir, { recursive: true });
});
