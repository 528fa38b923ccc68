// The restore-plan text hostprobe reads (hostprobe/PLAN.md) and the output it prints back.
import { assertEquals, assertThrows } from "@std/assert";
import {
  encodeOp,
  encodePlan,
  KVM_ARM_VCPU,
  parseReplayOutput,
  PlanError,
  regSize,
} from "../../hostprobe/plan.ts";

Deno.test("encodePlan: one line per operation, hex without 0x, exact bytes", () => {
  const text = encodePlan([
    { op: "vcpu_init", vcpu: 0, features: [KVM_ARM_VCPU.PSCI_0_2, KVM_ARM_VCPU.PMU_V3] },
    { op: "set_one_reg", vcpu: 0, id: 0x6030000000140000n, value: 0x10001n },
    // FPSR is a U32 register: the value fits 4 bytes
    { op: "set_one_reg", vcpu: 0, id: "0x60200000001000d4", value: "0x8000000" },
    // raw little-endian bytes as KVM_GET_ONE_REG returns them
    {
      op: "set_one_reg",
      vcpu: 1,
      id: 0x6030000000100040n,
      value: new Uint8Array([0, 0, 0, 0x40, 0, 0, 0, 0]),
    },
    { op: "create_vgic", version: "v3" },
    { op: "set_device_attr", group: 0, attr: 2n, value: 0x8000000n },
    { op: "vgic_init" },
    { op: "set_device_attr", group: 4, attr: 0n },
    { op: "get_device_attr", group: 1, attr: 8n },
    { op: "set_counter_offset", offset: 0x1000n },
    { op: "enable_cap", cap: 239 },
    { op: "finalize", vcpu: 0, feature: KVM_ARM_VCPU.SVE },
    { op: "run", vcpu: 0, fn: 0x84000000n },
    { op: "writable_masks" },
    { op: "guest_read32", vcpu: 0, addr: 0x080a0000n },
    { op: "guest_write32", vcpu: 0, addr: "0x8000084", value: 0xffffffffn },
    { op: "vm" },
  ], "t");
  assertEquals(
    text,
    [
      "# t",
      "# format: hostprobe/PLAN.md",
      "vcpu_init 0 c",
      "set_one_reg 0 6030000000140000 10001",
      "set_one_reg 0 60200000001000d4 8000000",
      "set_one_reg 1 6030000000100040 40000000",
      "create_vgic v3",
      "set_device_attr 0 2 8000000",
      "vgic_init",
      "set_device_attr 4 0",
      "get_device_attr 1 8",
      "set_counter_offset 1000 0",
      "enable_cap 239",
      "finalize 0 4",
      "run 0 84000000 0",
      "writable_masks",
      "guest_read32 0 80a0000",
      "guest_write32 0 8000084 ffffffff",
      "vm",
      "",
    ].join("\n"),
  );
});

Deno.test("regSize follows KVM_REG_SIZE (bits 52-55 of the id)", () => {
  assertEquals(regSize(0x60200000001000d4n), 4); // FPSR, U32
  assertEquals(regSize(0x6030000000140000n), 8); // PSCI version, U64
  assertEquals(regSize(0x6040000000100054n), 16); // V0, U128
  assertEquals(regSize(0x606000000015ffffn), 64); // SVE VLS, U512
  assertEquals(regSize(0x6080000000150000n), 256); // Z0, U2048
});

Deno.test("encodeOp: bad input names the operation, the field and why", () => {
  const cases: [Parameters<typeof encodeOp>[0], RegExp][] = [
    [{ op: "set_one_reg", vcpu: 0, id: 0x60200000001000d4n, value: 1n << 32n }, /fit 4 bytes/],
    [{ op: "set_one_reg", vcpu: 0, id: "6030", value: 0n }, /id: "6030" is not a 0x-prefixed/],
    [
      { op: "set_one_reg", vcpu: 0, id: 0x6030000000140000n, value: new Uint8Array(4) },
      /4 value bytes for a 8-byte register/,
    ],
    [{ op: "vcpu_init", vcpu: 64, features: [] }, /vcpu: 64 is not an integer in 0..63/],
    [{ op: "vcpu_init", vcpu: 0, features: [32] }, /feature: 32/],
    [{ op: "set_device_attr", group: -1, attr: 0n }, /group: -1/],
    [{ op: "get_one_reg", vcpu: 0, id: 1n << 64n }, /outside 0..2\^64-1/],
    [{ op: "create_vgic", version: "v4" as "v3" }, /"v3" or "v2"/],
    [{ op: "enable_cap", cap: 1, args: [1n, 2n, 3n, 4n, 5n] }, /at most 4 args/],
    [{ op: "guest_write32", vcpu: 0, addr: 0n, value: 1n << 32n }, /does not fit 32 bits/],
  ];
  for (const [op, re] of cases) {
    const e = assertThrows(() => encodeOp(op, "op 7"), PlanError);
    if (!re.test(e.message) || !e.message.startsWith("op 7")) {
      throw new Error(`"${e.message}" does not match ${re}`);
    }
  }
});

Deno.test("parseReplayOutput: op lines in order, console noise skipped, bad lines rejected", () => {
  const out = [
    "[    3.1] random kernel line",
    '{"kind":"header","tool":"hostprobe","format":1,"mode":"replay","release":"6.1.0-56-arm64"}',
    '{"kind":"op","index":0,"line":3,"op":"vcpu_init","ioctl":"KVM_ARM_VCPU_INIT","vcpu":0,' +
    '"value":"0x4","result":"ok","errno":0}\r',
    '{"kind":"op","index":1,"line":4,"op":"set_one_reg","ioctl":"KVM_SET_ONE_REG","vcpu":0,' +
    '"id":"0x603000000013df11","value":"0x0","result":"ENOENT","errno":2}',
    '{"kind":"done","ops":2}',
  ].join("\n");
  const r = parseReplayOutput(out);
  assertEquals(r.length, 2);
  assertEquals(r[1], {
    index: 1,
    line: 4,
    op: "set_one_reg",
    ioctl: "KVM_SET_ONE_REG",
    vcpu: 0,
    id: "0x603000000013df11",
    value: "0x0",
    result: "ENOENT",
    errno: 2,
  });
  assertThrows(() => parseReplayOutput('{"kind":"op",'), PlanError, "line 1: not JSON");
  assertThrows(
    () =>
      parseReplayOutput(
        '{"kind":"op","index":1,"line":1,"op":"vm","ioctl":"x","result":"ok","errno":0}',
      ),
    PlanError,
    "result index 1, expected 0",
  );
  assertThrows(
    () => parseReplayOutput('{"kind":"op","index":0,"line":1,"op":"reboot","result":"ok"}'),
    PlanError,
    'unknown op "reboot"',
  );
});
