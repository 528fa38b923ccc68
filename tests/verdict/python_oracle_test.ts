/**
 * Cross-language verification: tests/python/verify_verdict.py (Debian python3 + cbor2 +
 * cryptography, no rollsafe code) verifies what rollsafe signs, and refuses what it must refuse,
 * with the same reasons and exit codes as `rollsafe verify`.
 */
import { assertEquals } from "@std/assert";
import { oracleTest, PYTHON_CBOR2 } from "../support/oracle.ts";
import {
  buildVerdict,
  fromHex,
  signerFromSeed,
  signVerdict,
  toCoseKeySet,
  toDsse,
  toJwks,
} from "../../verdict/mod.ts";
import {
  minimalInput,
  NOW,
  OTHER_SNAPSHOT,
  RFC8032_SEED_1,
  sampleInput,
  SNAPSHOT,
} from "./fixture.ts";
import { PINNED_COSE_HEX } from "./vectors.ts";

const SCRIPT = new URL("../python/verify_verdict.py", import.meta.url).pathname;

async function python(args: string[]): Promise<{ code: number; out: Record<string, unknown> }> {
  const r = await new Deno.Command("/usr/bin/python3", {
    args: [SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(r.stdout);
  if (text.trim() === "") {
    throw new Error(`python printed nothing: ${new TextDecoder().decode(r.stderr)}`);
  }
  return { code: r.code, out: JSON.parse(text) };
}

oracleTest({
  name: "Python cbor2 + cryptography verifies rollsafe verdicts and refuses tampered ones",
  needs: [PYTHON_CBOR2],
  fn: async () => {
    const dir = await Deno.makeTempDir();
    const f = (n: string) => `${dir}/${n}`;
    const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
    const retired = await signerFromSeed(new Uint8Array(32).fill(1));
    const stranger = await signerFromSeed(new Uint8Array(32).fill(9));
    const dev = await signerFromSeed(new Uint8Array(32).fill(3), { dev: true });
    const verdict = buildVerdict(await sampleInput(), { now: NOW });
    const cose = await signVerdict(verdict, signer);
    await Deno.writeFile(f("v.cose"), cose);
    await Deno.writeFile(f("snap"), SNAPSHOT);
    await Deno.writeFile(f("other"), OTHER_SNAPSHOT);
    await Deno.writeTextFile(f("keys.jwks"), JSON.stringify(toJwks([retired, signer])));
    await Deno.writeFile(f("keys.cks"), toCoseKeySet([signer, dev]));
    await Deno.writeTextFile(f("stranger.jwks"), JSON.stringify(toJwks([stranger])));
    const std = ["--snapshot", f("snap"), "--target", "linux-6.18@neoverse-n1"];

    // Good, with either key file format; the kid is recomputed from x by Python.
    for (const keys of ["keys.jwks", "keys.cks"]) {
      const r = await python([f("v.cose"), "--key", f(keys), ...std]);
      assertEquals(r.code, 0, JSON.stringify(r.out));
      assertEquals(r.out.kid, signer.kid);
      assertEquals(r.out.target, "linux-6.18@neoverse-n1");
      assertEquals(r.out.issued_at, verdict.issued_at);
      assertEquals(r.out.nonce, "ci-run-4711");
    }
    // The claims: other snapshot, other target, not restorable, unknown key.
    const claims: [string[], string, number][] = [
      [
        [f("v.cose"), "--key", f("keys.jwks"), "--snapshot", f("other"), "--target", "linux-6.18"],
        "snapshot-mismatch",
        12,
      ],
      [
        [f("v.cose"), "--key", f("keys.jwks"), "--snapshot", f("snap"), "--target", "linux-6.6"],
        "target-not-covered",
        13,
      ],
      [
        [f("v.cose"), "--key", f("keys.jwks"), "--snapshot", f("snap"), "--target", "linux-5.10"],
        "not-restorable",
        2,
      ],
      [[f("v.cose"), "--key", f("stranger.jwks"), ...std], "unknown-key", 11],
    ];
    for (const [args, reason, code] of claims) {
      const r = await python(args);
      assertEquals([r.out.reason, r.code], [reason, code], JSON.stringify(r.out));
    }
    // Tampered: one flipped bit in each signed region, at several places.
    const m = cose;
    const positions = [6, 20, 60, 84, 90, 400, 1200, m.length - 70, m.length - 30, m.length - 1];
    for (const i of positions) {
      const t = new Uint8Array(m);
      t[i] ^= 0x04;
      await Deno.writeFile(f("t.cose"), t);
      const r = await python([f("t.cose"), "--key", f("keys.jwks"), ...std]);
      assertEquals(r.code !== 0, true, `byte ${i}: ${JSON.stringify(r.out)}`);
      assertEquals(
        ["bad-format", "bad-signature", "unknown-key"].includes(r.out.reason as string),
        true,
      );
    }
    // A missing key file is a usage error (3), not a crash.
    const usage = await python([f("v.cose"), "--key", f("absent.jwks"), ...std]);
    assertEquals([usage.out.reason, usage.code], ["usage", 3]);
    // Development key: refused unless accepted.
    await Deno.writeFile(f("dev.cose"), await signVerdict(verdict, dev));
    const refused = await python([f("dev.cose"), "--key", f("keys.cks"), ...std]);
    assertEquals([refused.out.reason, refused.code], ["dev-key-refused", 17]);
    const accepted = await python([
      f("dev.cose"),
      "--key",
      f("keys.cks"),
      ...std,
      "--accept-dev-key",
    ]);
    assertEquals([accepted.code, accepted.out.dev_key], [0, true]);
    // The pinned vector (pinned_test.ts) verifies in Python: signature, kid, snapshot.
    await Deno.writeFile(f("pinned.cose"), fromHex(PINNED_COSE_HEX, "pinned"));
    const pinned = await python([
      f("pinned.cose"),
      "--key",
      f("keys.jwks"),
      "--snapshot",
      f("snap"),
      "--target",
      "linux-5.10",
    ]);
    assertEquals([pinned.out.reason, pinned.code], ["not-restorable", 2]);
    const minimal = await signVerdict(buildVerdict(await minimalInput(), { now: NOW }), signer);
    assertEquals(minimal, fromHex(PINNED_COSE_HEX, "pinned"));
    // The DSSE export verifies too.
    await Deno.writeTextFile(f("v.dsse"), JSON.stringify(await toDsse(verdict, signer)));
    const dsse = await python([f("v.dsse"), "--dsse", "--key", f("keys.jwks"), ...std]);
    assertEquals([dsse.code, dsse.out.result], [0, "FAILED"]);
    const dsseOther = await python([
      f("v.dsse"),
      "--dsse",
      "--key",
      f("keys.jwks"),
      "--snapshot",
      f("other"),
      "--target",
      "linux-6.18",
    ]);
    assertEquals(dsseOther.out.reason, "snapshot-mismatch");
    await Deno.remove(dir, { recursive: true });
  },
});
