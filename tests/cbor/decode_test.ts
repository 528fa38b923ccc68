import { assertEquals } from "@std/assert";
import { decodeSafe, encodeDeterministic } from "../../cbor/mod.ts";

const LIMITS = { maxBytes: 1024, maxDepth: 8, maxItems: 64, allowedTags: [] };

Deno.test("decodeSafe leaves the caller's bytes as they were (cbor-x caches a DataView on them)", () => {
  const bytes = encodeDeterministic(new Map([[1, [2, 3]]]));
  const before = Object.getOwnPropertyNames(bytes);
  decodeSafe(bytes, LIMITS);
  assertEquals(Object.getOwnPropertyNames(bytes), before);
  assertEquals(Object.hasOwn(bytes, "dataView"), false);
});

Deno.test("decodeSafe refuses an input over the byte cap before scanning it", () => {
  let err: unknown;
  try {
    decodeSafe(new Uint8Array(2000), LIMITS);
  } catch (e) {
    err = e;
  }
  assertEquals((err as { code?: string }).code, "size");
});
