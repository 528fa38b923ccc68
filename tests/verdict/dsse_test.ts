import { assert, assertEquals, assertRejects } from "@std/assert";
import {
  buildVerdict,
  DSSE_PAYLOAD_TYPE,
  DsseError,
  fromHex,
  pae,
  sha256,
  signerFromSeed,
  STATEMENT_TYPE,
  statementCovers,
  TEST_RESULT_PREDICATE,
  toDsse,
  trustedKeyOf,
  verifyDsse,
} from "../../verdict/mod.ts";
import { fromBase64, toBase64 } from "../../verdict/bytes.ts";
import { NOW, OTHER_SNAPSHOT, RFC8032_SEED_1, sampleInput, SNAPSHOT } from "./fixture.ts";

const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
const dev = await signerFromSeed(new Uint8Array(32).fill(3), { dev: true });
const keys = [await trustedKeyOf(signer), await trustedKeyOf(dev)];
const verdict = buildVerdict(await sampleInput(), { now: NOW });

Deno.test("PAE matches the DSSE protocol.md example and counts bytes, not characters", () => {
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  assertEquals(
    text(pae("http://example.com/HelloWorld", new TextEncoder().encode("hello world"))),
    "DSSEv1 29 http://example.com/HelloWorld 11 hello world",
  );
  assertEquals(text(pae("t", new TextEncoder().encode("é"))), "DSSEv1 1 t 2 é");
});

Deno.test("the envelope carries an in-toto Statement v1 with the test-result predicate", async () => {
  const env = await toDsse(verdict, signer);
  assertEquals(env.payloadType, DSSE_PAYLOAD_TYPE);
  assertEquals(env.signatures[0].keyid, signer.kid);
  const { statement, kid } = await verifyDsse(env, { keys });
  assertEquals(kid, signer.kid);
  assertEquals(statement._type, STATEMENT_TYPE);
  assertEquals(statement.predicateType, TEST_RESULT_PREDICATE);
  assertEquals(statement.subject[0].digest, {
    sha256: "4b1706b7ed0ef66e4b5d62178454e706811e162c1577248b49b74f8ea6db391d",
  });
  assert(statementCovers(statement, await sha256(SNAPSHOT)));
  assert(!statementCovers(statement, await sha256(OTHER_SNAPSHOT)));
  assertEquals(statement.predicate.result, "FAILED");
  assertEquals(statement.predicate.failedTests, ["linux-5.10@neoverse-n1"]);
  assertEquals(statement.predicate.passedTests, ["linux-6.18@neoverse-n1"]);
  assertEquals(statement.predicate.warnedTests, []);
  assertEquals(statement.predicate.configuration.map((c) => c.name), [
    "profile:linux-5.10",
    "host:neoverse-n1",
    "profile:linux-6.18",
    "host:neoverse-n1",
  ]);
  assertEquals(statement.predicate.configuration[0].annotations, {
    target: "linux-5.10@neoverse-n1",
    restorable: false,
    status: "fail",
  });
  assertEquals(statement.subject[0].annotations?.dev_key, false);
  assertEquals(statement.subject[0].annotations?.nonce, "ci-run-4711");
});

Deno.test("PASSED and WARNED map from the overall status", async () => {
  const input = await sampleInput();
  const pass = buildVerdict({ ...input, targets: [input.targets[1]] }, { now: NOW });
  assertEquals(
    (await verifyDsse(await toDsse(pass, signer), { keys })).statement.predicate.result,
    "PASSED",
  );
  const warnTarget = {
    ...input.targets[1],
    drift: [{
      what: "PSCI_VERSION",
      source: "0x10001",
      target: "0x10000",
      severity: "notable" as const,
      explanation: "PSCI 1.1 becomes 1.0",
    }],
  };
  const warn = buildVerdict({ ...input, targets: [warnTarget] }, { now: NOW });
  assertEquals(
    (await verifyDsse(await toDsse(warn, signer), { keys })).statement.predicate.result,
    "WARNED",
  );
});

Deno.test("deterministic: same verdict and key give the same envelope", async () => {
  assertEquals(await toDsse(verdict, signer), await toDsse(verdict, signer));
});

Deno.test("a changed payload, type or signature fails; unknown and dev keys are refused", async () => {
  const env = await toDsse(verdict, signer);
  const body = fromBase64(env.payload, "p");
  for (let i = 0; i < body.length; i += 7) {
    const t = new Uint8Array(body);
    t[i] ^= 1;
    await assertRejects(
      () => verifyDsse({ ...env, payload: toBase64(t) }, { keys }),
      DsseError,
      "does not verify",
    );
  }
  await assertRejects(
    () => verifyDsse({ ...env, payloadType: "application/json" }, { keys }),
    DsseError,
    'payloadType is "application/json"',
  );
  const sig = fromBase64(env.signatures[0].sig, "s");
  sig[10] ^= 1;
  await assertRejects(
    () => verifyDsse({ ...env, signatures: [{ keyid: signer.kid, sig: toBase64(sig) }] }, { keys }),
    DsseError,
    "does not verify",
  );
  const e = await assertRejects(
    async () => verifyDsse(env, { keys: [await trustedKeyOf(dev)] }),
    DsseError,
  );
  assertEquals(e.reason, "unknown-key");
  const devEnv = await toDsse(verdict, dev);
  const d = await assertRejects(() => verifyDsse(devEnv, { keys }), DsseError, "development key");
  assertEquals(d.reason, "dev-key-refused");
  const ok = await verifyDsse(devEnv, { keys, acceptDevKey: true });
  assertEquals(ok.statement.subject[0].annotations?.dev_key, true);
  await assertRejects(() => verifyDsse("nope", { keys }), DsseError, "not a JSON object");
  await assertRejects(
    () => verifyDsse({ ...env, signatures: [] }, { keys }),
    DsseError,
    "no signatures",
  );
});
