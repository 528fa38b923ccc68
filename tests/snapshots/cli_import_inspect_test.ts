import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../../cli.ts";
import { decodeSnapshot, regValue, sysreg } from "../../snapshots/mod.ts";

const FP = new URL(
  "../fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.18host.json",
  import.meta.url,
);

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [], err: string[] = [];
  const log = console.log, error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    return { code: await main(args), out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

Deno.test("import fc-fingerprint writes a native snapshot; inspect --json shows ids and values as hex", async () => {
  const dir = await Deno.makeTempDir();
  const out = `${dir}/n1.cbor`;
  const imp = await run(["import", "fc-fingerprint", FP.pathname, "-o", out]);
  assertEquals(imp.code, 0, imp.err);
  const s = decodeSnapshot(await Deno.readFile(out));
  assertEquals(regValue(s.vcpus[0], sysreg(3, 1, 0, 0, 1)), 0x300_0123n);

  const ins = await run(["inspect", out, "--json"]);
  assertEquals(ins.code, 0);
  const j = JSON.parse(ins.out);
  assertEquals(j.vcpus[0].registers["0x603000000013c801"], "0x3000123");
  assertEquals(j.vcpus[0].registers["0x6030000000140000"], "0x10003");
  assertEquals(Object.keys(j.vcpus[0].registers).length, 254);

  const text = await run(["inspect", out, "--all"]);
  assertStringIncludes(text.out, "CLIDR_EL1=0x3000123");
  assertStringIncludes(text.out, "KVM_REG_ARM_VENDOR_HYP_BMAP_2=0x0");
});

Deno.test("bad input exits 3 with one line naming where and why", async () => {
  const dir = await Deno.makeTempDir();
  const bad = `${dir}/bad.cbor`;
  await Deno.writeFile(bad, new Uint8Array([0xa1, 0x61, 0x61]));
  const r = await run(["inspect", bad]);
  assertEquals(r.code, 3);
  assertEquals(r.err.split("\n").length, 1);
  assertStringIncludes(r.err, "byte 3");
  const missing = await run(["inspect", `${dir}/nope.cbor`]);
  assertEquals(missing.code, 3);
  assertStringIncludes(missing.err, "cannot read");
  const usage = await run(["import", "vmware", "x", "-o", "y"]);
  assertEquals(usage.code, 3);
  assertStringIncludes(usage.err, "unknown input format 'vmware'");
});

Deno.test("import recognises the format when none is given (a gzip QEMU stream here)", async () => {
  const dir = await Deno.makeTempDir();
  const stream = new URL("../fixtures/qemu/virt-gicv3-max-smp2.qemu", import.meta.url).pathname;
  const gz = `${dir}/vm.qemu.gz`;
  const bytes = await Deno.readFile(stream);
  const packed = await new Response(
    new Blob([bytes]).stream().pipeThrough(new CompressionStream("gzip")),
  ).arrayBuffer();
  await Deno.writeFile(gz, new Uint8Array(packed));
  const r = await run(["import", gz, "-o", `${dir}/vm.cbor`]);
  assertEquals(r.code, 0, r.err);
  const plain = await run(["import", stream, "-o", `${dir}/plain.cbor`]);
  assertEquals(plain.code, 0, plain.err);
  assertStringIncludes(r.out, "2 vCPU(s), 548 registers");
  const dropped = await run(["import", "--no-memory", gz, "-o", `${dir}/nm.cbor`]);
  assertEquals(dropped.code, 0, dropped.err);
  assert((await Deno.stat(`${dir}/nm.cbor`)).size < (await Deno.stat(`${dir}/vm.cbor`)).size);
  await Deno.remove(dir, { recursive: true });
});
