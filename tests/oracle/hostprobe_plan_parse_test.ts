// hostprobe's own plan parser (hostprobe/src/plan.c), run under qemu-aarch64 user mode: a
// malformed plan is refused before any ioctl, with the line number and the reason, exit 2.
import { assertEquals, assertStringIncludes } from "@std/assert";
import { QEMU_USER } from "../support/oracle.ts";
import { oracleTest } from "../support/oracle.ts";
import { HOSTPROBE_BIN } from "../../hostprobe/oracle.ts";

async function replay(text: string | Uint8Array) {
  const dir = await Deno.makeTempDir({ prefix: "hostprobe-parse-" });
  try {
    const path = `${dir}/p.plan`;
    if (typeof text === "string") await Deno.writeTextFile(path, text);
    else await Deno.writeFile(path, text);
    const out = await new Deno.Command("qemu-aarch64", {
      args: [HOSTPROBE_BIN, "replay", path],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(30_000),
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      stdout: dec.decode(out.stdout),
      stderr: dec.decode(out.stderr).replace(path, "PLAN"),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const MALFORMED: [string, string | Uint8Array, string][] = [
  ["unknown operation", "vm\nreboot 0\n", "PLAN: line 2: unknown operation 'reboot'"],
  ["missing field", "set_one_reg 0 6030000000140000\n", "line 1: wrong number of fields"],
  ["vcpu out of range", "vcpu_init 64 4\n", "line 1: vcpu '64' is not a decimal number below 64"],
  ["not hex", "get_one_reg 0 60300000001400zz\n", "line 1: '60300000001400zz' is not a 64-bit"],
  [
    "value wider than the register",
    "set_one_reg 0 60200000001000d4 100000000\n", // FPSR is 32-bit
    "line 1: value '100000000' is not hex or is wider than the register",
  ],
  ["bad vGIC version", "create_vgic v4\n", "line 1: vGIC version 'v4' is not v3 or v2"],
  [
    "32-bit group value too wide",
    "set_device_attr 1 8 100000000\n",
    "line 1: value '100000000' does not fit this group's 32 bits",
  ],
  [
    "guest write wider than 32 bits",
    "guest_write32 0 8000084 100000000\n",
    "line 1: value '100000000' is not a 32-bit hex number",
  ],
  ["too long a line", `# ok\nvm ${"0".repeat(1200)}\n`, "line 2: line longer than 1100"],
  ["control character", "vm\x01\n", "line 1: control character in line"],
  ["NUL byte", new Uint8Array([0x76, 0x6d, 0, 0x0a]), "contains a NUL byte"],
];

for (const [name, text, message] of MALFORMED) {
  oracleTest({
    name: `hostprobe replay refuses a malformed plan: ${name}`,
    needs: [QEMU_USER],
    fn: async () => {
      const r = await replay(text);
      assertEquals(r.code, 2, r.stderr);
      assertEquals(r.stdout, "", "nothing runs before the whole plan parsed");
      assertStringIncludes(r.stderr, message);
    },
  });
}

oracleTest({
  name: "hostprobe without a mode prints its usage and exits 2",
  needs: [QEMU_USER],
  fn: async () => {
    const out = await new Deno.Command("qemu-aarch64", {
      args: [HOSTPROBE_BIN, "frobnicate"],
      stderr: "piped",
      stdout: "null",
      signal: AbortSignal.timeout(30_000),
    }).output();
    assertEquals(out.code, 2);
    assertStringIncludes(new TextDecoder().decode(out.stderr), "usage: hostprobe capture");
  },
});
