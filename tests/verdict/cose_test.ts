import { assert, assertEquals, assertFalse, assertThrows } from "@std/assert";
import { CborTag, type CborValue, encodeDeterministic } from "../../cbor/mod.ts";
import {
  buildVerdict,
  CoseError,
  fromHex,
  parseSign1,
  type Signer,
  signerFromSeed,
  signVerdict,
  sigStructure,
  toHex,
  trustedKeyOf,
  unverifiedPayload,
  VERDICT_AAD,
  VERDICT_CONTENT_TYPE,
  verifyVerdict,
} from "../../verdict/mod.ts";
import { NOW, RFC8032_SEED_1, sampleInput, SNAPSHOT } from "./fixture.ts";

const te = new TextEncoder();
const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
const keys = [await trustedKeyOf(signer)];
const verdict = buildVerdict(await sampleInput(), { now: NOW });
const cose = await signVerdict(verdict, signer);
const payload = parseSign1(cose).payload;
const opts = { keys, snapshotBytes: SNAPSHOT, target: "linux-6.18" };

/** A COSE_Sign1 with the given headers, signed over the real Sig_structure by `s`. */
async function craft(o: {
  header: [number, CborValue][];
  unprotected?: [number, CborValue][];
  payload?: Uint8Array | null;
  aad?: string;
  tagged?: boolean;
  signWith?: Signer;
}): Promise<Uint8Array> {
  const prot = encodeDeterministic(new Map<CborValue, CborValue>(o.header));
  const body = o.payload === undefined ? payload : o.payload;
  const sig = await (o.signWith ?? signer).sign(
    sigStructure(prot, te.encode(o.aad ?? VERDICT_AAD), body ?? new Uint8Array()),
  );
  const msg: CborValue = [prot, new Map(o.unprotected ?? []), body, sig];
  return encodeDeterministic(o.tagged === false ? msg : new CborTag(18, msg));
}
const kid = te.encode(signer.kid);
const goodHeader: [number, CborValue][] = [[1, -8], [3, VERDICT_CONTENT_TYPE], [4, kid]];

Deno.test("Sig_structure matches the cose-wg eddsa-sig-02 ToBeSign bytes (RFC 9052 §4.4)", () => {
  assertEquals(
    toHex(
      sigStructure(fromHex("a10127", "p"), new Uint8Array(), te.encode("This is the content.")),
    ),
    "846a5369676e61747572653143a101274054546869732069732074686520636f6e74656e742e",
  );
});

Deno.test("Ed25519 signer reproduces RFC 8032 §7.1 TEST 1", async () => {
  assertEquals(
    toHex(signer.publicKey),
    "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
  );
  assertEquals(
    toHex(await signer.sign(new Uint8Array())),
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
  );
});

Deno.test("the signed message is tag 18 with alg -8, content type and kid protected", () => {
  const m = parseSign1(cose);
  assert(m.tagged);
  assertEquals(cose[0], 0xd2);
  assertEquals([...m.protected.keys()], [1, 3, 4]);
  assertEquals(m.alg, -8);
  assertEquals(m.contentType, VERDICT_CONTENT_TYPE);
  assertEquals(new TextDecoder().decode(m.kid), signer.kid);
  assertEquals(m.unprotected.size, 0);
  assertEquals(m.signature.length, 64);
});

Deno.test("determinism: same verdict, key and clock give byte-identical COSE", async () => {
  const again = await signVerdict(buildVerdict(await sampleInput(), { now: NOW }), signer);
  assertEquals(again, cose);
});

Deno.test("alg -19 (Ed25519, RFC 9864) is accepted like -8", async () => {
  const m = await craft({ header: [[1, -19], [3, VERDICT_CONTENT_TYPE], [4, kid]] });
  const r = await verifyVerdict(m, opts);
  assertEquals([r.ok, r.reason], [true, "ok"]);
});

const refusals: [string, () => Promise<Uint8Array> | Uint8Array, string][] = [
  [
    "alg -7 (ES256)",
    () => craft({ header: [[1, -7], [3, VERDICT_CONTENT_TYPE], [4, kid]] }),
    "alg -7 is not EdDSA (-8) or Ed25519 (-19)",
  ],
  ["no alg", () => craft({ header: [[3, VERDICT_CONTENT_TYPE], [4, kid]] }), "has no alg"],
  [
    "crit in the protected header",
    () => craft({ header: [...goodHeader, [2, [99]]] }),
    "critical headers (label 2)",
  ],
  [
    "crit in the unprotected header",
    () => craft({ header: goodHeader, unprotected: [[2, [99]]] }),
    "critical headers (label 2)",
  ],
  [
    "a label in both buckets",
    () => craft({ header: goodHeader, unprotected: [[4, kid]] }),
    "is in both buckets",
  ],
  ["no kid", () => craft({ header: [[1, -8], [3, VERDICT_CONTENT_TYPE]] }), "has no kid"],
  [
    "a text kid",
    () => craft({ header: [[1, -8], [3, VERDICT_CONTENT_TYPE], [4, signer.kid]] }),
    "has no kid byte string",
  ],
  [
    "another content type",
    () => craft({ header: [[1, -8], [3, "application/json"], [4, kid]] }),
    'content type is "application/json"',
  ],
  ["no content type", () => craft({ header: [[1, -8], [4, kid]] }), "content type is null"],
  ["a detached payload", () => craft({ header: goodHeader, payload: null }), "payload is detached"],
  ["no tag 18", () => craft({ header: goodHeader, tagged: false }), "tag 18 is required"],
  [
    "another AAD (domain separation)",
    () => craft({ header: goodHeader, aad: "rollsafe/other/v1" }),
    "signature does not verify",
  ],
  ["a 63-byte signature", () => {
    const m = parseSign1(cose);
    return encodeDeterministic(
      new CborTag(18, [m.protectedBytes, new Map(), m.payload, m.signature.subarray(1)]),
    );
  }, "signature is 63 bytes"],
  ["a 3-item array", () => {
    const m = parseSign1(cose);
    return encodeDeterministic(new CborTag(18, [m.protectedBytes, new Map(), m.payload]));
  }, "array of 4 items"],
  ["tag 98 (COSE_Sign)", () => {
    const m = parseSign1(cose);
    return encodeDeterministic(
      new CborTag(98, [m.protectedBytes, new Map(), m.payload, m.signature]),
    );
  }, "tag 98 is not allowed"],
];

for (const [what, make, message] of refusals) {
  Deno.test(`verify refuses ${what} with a precise reason`, async () => {
    const r = await verifyVerdict(await make(), opts);
    assertFalse(r.ok);
    assertEquals(r.code, 10, r.message);
    assert(r.message.includes(message), `${r.message}\n  should include: ${message}`);
  });
}

Deno.test("untagged COSE_Sign1 verifies only when the caller opts in", async () => {
  const m = await craft({ header: goodHeader, tagged: false });
  assertEquals((await verifyVerdict(m, opts)).reason, "bad-format");
  assertEquals((await verifyVerdict(m, { ...opts, acceptUntagged: true })).reason, "ok");
});

Deno.test("parseSign1 throws CoseError for non-CBOR input", () => {
  assertThrows(() => parseSign1(new Uint8Array([0xff])), CoseError, "not a COSE_Sign1 message");
  assertThrows(() => parseSign1(new Uint8Array()), CoseError, "not a COSE_Sign1 message");
});

/** Byte ranges of the three signed regions inside the message. */
function regions(bytes: Uint8Array): Record<string, [number, number]> {
  const m = parseSign1(bytes);
  const find = (part: Uint8Array, from = 0) => {
    for (let i = from; i + part.length <= bytes.length; i++) {
      if (part.every((b, j) => bytes[i + j] === b)) return i;
    }
    throw new Error("region not found");
  };
  const p = find(m.protectedBytes);
  const pl = find(m.payload, p + m.protectedBytes.length);
  const s = find(m.signature, pl + m.payload.length);
  return {
    "protected header": [p, p + m.protectedBytes.length],
    payload: [pl, pl + m.payload.length],
    signature: [s, s + 64],
  };
}

for (const [name, [from, to]] of Object.entries(regions(cose))) {
  Deno.test(`tamper: flipping any single byte of the ${name} makes verify fail`, async () => {
    assertEquals((await verifyVerdict(cose, opts)).ok, true);
    const reasons = new Map<string, number>();
    for (let i = from; i < to; i++) {
      for (const mask of [0x01, 0xff]) {
        const t = new Uint8Array(cose);
        t[i] ^= mask;
        const r = await verifyVerdict(t, opts);
        if (r.ok) throw new Error(`byte ${i} ^ 0x${mask.toString(16)} still verifies`);
        assert(
          ["bad-format", "bad-signature", "unknown-key", "dev-key-refused"].includes(r.reason),
          `byte ${i}: reason ${r.reason} (${r.message})`,
        );
        reasons.set(r.reason, (reasons.get(r.reason) ?? 0) + 1);
      }
    }
    assertEquals([...reasons.values()].reduce((a, b) => a + b), 2 * (to - from));
  });
}

Deno.test("tamper: flipping any byte of the whole message (framing included) makes verify fail", async () => {
  for (let i = 0; i < cose.length; i++) {
    const t = new Uint8Array(cose);
    t[i] ^= 0x80;
    const r = await verifyVerdict(t, opts);
    if (r.ok) throw new Error(`byte ${i} ^ 0x80 still verifies`);
  }
});

Deno.test("hostile input: every truncation, junk, and oversize give a result, never a throw", async () => {
  for (let n = 0; n < cose.length; n++) {
    const r = await verifyVerdict(cose.subarray(0, n), opts);
    if (r.ok || r.code !== 10) throw new Error(`prefix of ${n} bytes: ${r.reason}`);
  }
  const huge = new Uint8Array(9 * 1024 * 1024);
  huge.set(cose);
  const big = await verifyVerdict(huge, opts);
  assertEquals(big.reason, "bad-format");
  assert(big.message.includes("above the limit"), big.message);
  // Deep nesting and a forbidden tag inside the unprotected header.
  const deep = new Uint8Array(2000).fill(0x81);
  assertEquals((await verifyVerdict(deep, opts)).reason, "bad-format");
  const tagged = await craft({ header: goodHeader, unprotected: [[99, new CborTag(28, 1)]] });
  const t = await verifyVerdict(tagged, opts);
  assertEquals(t.reason, "bad-format");
  assert(t.message.includes("tag 28 is not allowed"), t.message);
});

Deno.test("unverifiedPayload shows the payload exactly as signed, dev_key stamped", async () => {
  const dev = await signerFromSeed(new Uint8Array(32).fill(3), { dev: true });
  const shown = unverifiedPayload(await signVerdict(verdict, dev));
  assertEquals(shown, { ...verdict, dev_key: true });
});
