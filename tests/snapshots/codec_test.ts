import { assertEquals, assertThrows } from "@std/assert";
import {
  decodeSnapshot,
  encodeSnapshot,
  newVcpu,
  regValue,
  setRegValue,
  type Snapshot,
  SnapshotError,
  sysreg,
} from "../../snapshots/mod.ts";
import { encodeDeterministic } from "../../cbor/mod.ts";

const TPIDR_EL1 = sysreg(3, 0, 13, 0, 4);

function tiny(): Snapshot {
  const v = newVcpu(0x8000_0000n);
  v.features = [2];
  setRegValue(v, TPIDR_EL1, 0xfedc_ba98_7654_3210n);
  return {
    vm: { caps: [], smcccFilter: [], extra: new Map() },
    vcpus: [v],
    extra: new Map(),
  };
}

const toHex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("encoding is deterministic and pinned", () => {
  const bytes = encodeSnapshot(tiny());
  // RFC 8949 §4.2.1: map keys sorted bytewise by their encodings ("vm" < "vcpus" < "format" <
  // "version" because shorter text heads sort first), shortest-form integers, the 64-bit id as
  // a 0x1b head, the value as 8 little-endian bytes.
  assertEquals(
    toHex(bytes),
    "a462766da065766370757381a3656d70696472" + "1a80000000" +
      "6866656174757265738102" + "69726567697374657273a1" + "1b603000000013c684" +
      "481032547698badcfe" + "66666f726d6174" + "7172" + "6f6c6c736166652d736e617073686f74" +
      "6776657273696f6e01",
  );
});

Deno.test("unknown keys survive decode and re-encode at every level", () => {
  const s = tiny();
  s.extra.set("future_section", new Map([[1, "x"]]));
  s.vcpus[0].extra.set("sve_extra", new Uint8Array([1, 2, 3]));
  s.vm.extra.set(7, "integer-keyed");
  const bytes = encodeSnapshot(s);
  const back = decodeSnapshot(bytes);
  assertEquals(back.extra.get("future_section"), new Map([[1, "x"]]));
  assertEquals(back.vcpus[0].extra.get("sve_extra"), new Uint8Array([1, 2, 3]));
  assertEquals(back.vm.extra.get(7), "integer-keyed");
  assertEquals(encodeSnapshot(back), bytes);
});

Deno.test("ids above 2^53 and full 64-bit values keep every bit", () => {
  const s = tiny();
  setRegValue(s.vcpus[0], TPIDR_EL1, 0xffff_ffff_ffff_ffffn);
  const back = decodeSnapshot(encodeSnapshot(s));
  assertEquals(regValue(back.vcpus[0], TPIDR_EL1), 0xffff_ffff_ffff_ffffn);
  assertEquals([...back.vcpus[0].registers.keys()], [0x6030_0000_0013_c684n]);
});

Deno.test("a newer format version is refused with its number", () => {
  const doc = new Map<unknown, unknown>([
    ["format", "rollsafe-snapshot"],
    ["version", 2],
    ["vm", new Map()],
    ["vcpus", []],
  ]);
  const e = assertThrows(
    () => decodeSnapshot(encodeDeterministic(doc as never)),
    SnapshotError,
    "version 2 is not supported",
  );
  assertEquals(e.code, "snapshot/version");
});
