/** The pinned COSE bytes (vectors.ts): the producer must keep giving exactly these. */
import { assertEquals } from "@std/assert";
import {
  buildVerdict,
  fromHex,
  signerFromSeed,
  signVerdict,
  toHex,
  verifyVerdict,
} from "../../verdict/mod.ts";
import { minimalInput, NOW, RFC8032_SEED_1, SNAPSHOT } from "./fixture.ts";
import { trustedKeyOf } from "../../verdict/keys.ts";
import { PINNED_COSE_HEX } from "./vectors.ts";

Deno.test("pinned bytes: RFC 8032 test-1 key + minimal verdict + fixed clock", async () => {
  const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
  const cose = await signVerdict(buildVerdict(await minimalInput(), { now: NOW }), signer);
  assertEquals(cose.length, 1039);
  assertEquals(toHex(cose), PINNED_COSE_HEX);
  // The parts a reader can check by eye: tag 18, 4-array, protected {1: -8, 3: ct, 4: kid}.
  assertEquals(PINNED_COSE_HEX.slice(0, 14), "d284584ea30127");
  assertEquals(
    PINNED_COSE_HEX.slice(-128),
    "43fe6876f2c401b70cd1d392f946cbaeda29602e1c2970dbf576c8d11e2c01b8743210d49441487b3917eb047146aec06f5e92615499dd0e0932d5fb2cdcaa0a",
  );
});

Deno.test("pinned bytes verify, and are refused for the target they say is not restorable", async () => {
  const signer = await signerFromSeed(fromHex(RFC8032_SEED_1, "seed"));
  const keys = [await trustedKeyOf(signer)];
  const r = await verifyVerdict(fromHex(PINNED_COSE_HEX, "pinned"), {
    keys,
    snapshotBytes: SNAPSHOT,
    target: "linux-5.10",
  });
  assertEquals([r.reason, r.code, r.kid], [
    "not-restorable",
    2,
    "21fe31dfa154a261626bf854046fd227",
  ]);
});
