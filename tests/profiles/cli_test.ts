/** `rollsafe check` and `rollsafe profiles` end to end: output, JSON shape and exit codes. */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { main } from "../../cli.ts";
import { FINGERPRINT_DIR } from "../restore/helpers.ts";

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (...a: unknown[]) => out.push(a.join(" "));
  console.error = (...a: unknown[]) => err.push(a.join(" "));
  try {
    const code = await main(args);
    return { code, out: out.join("\n"), err: err.join("\n") };
  } finally {
    console.log = log;
    console.error = error;
  }
}

const fp = (k: string) => new URL(`ARM_NEOVERSE_N1_${k}host.json`, FINGERPRINT_DIR).pathname;

Deno.test("check: a dump onto its own target exits 0, a rollback exits 2 naming each register", async () => {
  const own = await run(["check", fp("6.1"), "--target", "amzn2023-6.1@neoverse-n1"]);
  assertEquals(own.code, 0, own.err);
  assertStringIncludes(
    own.out,
    "target amzn2023-6.1@neoverse-n1: restorable (0 failed, 0 ignored, 243 ok)",
  );
  const back = await run([
    "check",
    "--all",
    fp("6.1"),
    "--target",
    "amzn2-5.10@neoverse-n1",
    "--target",
    "amzn2023-6.1@neoverse-n1",
  ]);
  assertEquals(back.code, 2);
  assertStringIncludes(back.out, "FAILED  ENOENT 0x603000000013808c OSLSR_EL1 = 0x8");
  assertStringIncludes(back.out, "target amzn2023-6.1@neoverse-n1");
});

Deno.test("check --json: targets[i].restorable and operations with op, id, outcome, errno, reason, source", async () => {
  const r = await run(["check", fp("6.18"), "--target", "amzn2023-6.1@neoverse-n1", "--json"]);
  assertEquals(r.code, 2);
  const j = JSON.parse(r.out);
  assertEquals(j.targets[0].restorable, false);
  assertEquals(j.targets[0].vmm, "firecracker");
  const bmap2 = j.targets[0].operations.find((o: { id?: string }) => o.id === "0x6030000000160003");
  assertEquals([bmap2.op, bmap2.outcome, bmap2.errno, bmap2.component], [
    "KVM_SET_ONE_REG",
    "failed",
    "ENOENT",
    "firmware",
  ]);
  assert(bmap2.source.cite.length > 0);
  assertEquals(j.targets[0].summary.failed, 18);
});

Deno.test("check exit codes: warnings 1 (ignored writes), unknown target 3, bad input 3", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // A snapshot whose GICD_IIDR revision-2 write 6.1 ignores: restorable with a warning.
    const { encodeSnapshot } = await import("../../snapshots/codec.ts");
    const { vgicSnapshot } = await import("../restore/helpers.ts");
    const f = `${dir}/vgic.cbor`;
    const s = vgicSnapshot({ model: "v3", dist: [[0x8, 0x4b00243b]] });
    // A vCPU with no register state is refused as empty (snapshot/empty): give it its PC
    // (KVM_REG_ARM_CORE regs.pc, 0x6030000000100040), as every real snapshot has.
    s.vcpus[0].registers.set(0x6030000000100040n, new Uint8Array(8));
    await Deno.writeFile(f, encodeSnapshot(s));
    assertEquals(
      (await run(["check", f, "--target", "linux-6.1@neoverse-n1", "--vmm", "generic"])).code,
      1,
    );
    const unknown = await run(["check", fp("6.1"), "--target", "linux-4.4@neoverse-n1"]);
    assertEquals(unknown.code, 3);
    assertStringIncludes(unknown.err, "known targets are <profile>@<host>");
    await Deno.writeTextFile(`${dir}/junk.bin`, "\x00\x01garbage");
    assertEquals(
      (await run(["check", `${dir}/junk.bin`, "--target", "linux-6.1@neoverse-n1"])).code,
      3,
    );
    assertEquals(
      (await run(["check", fp("6.1"), "--target", "linux-6.1@neoverse-n1", "--vmm", "xen"])).code,
      3,
    );
    assertEquals((await run(["check", fp("6.1")])).code, 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("profiles list, show and diff", async () => {
  const list = await run(["profiles", "list"]);
  assertEquals(list.code, 0);
  for (
    const id of [
      "linux-5.10",
      "linux-7.0",
      "amzn2023-6.18",
      "debian-6.12",
      "+iidr-fix",
      "neoverse-n1",
    ]
  ) {
    assertStringIncludes(list.out, id);
  }
  const show = await run(["profiles", "show", "amzn2023-6.1"]);
  assertStringIncludes(show.out, "differences from upstream 6.1 (1):");
  assertStringIncludes(show.out, "regs.ptimer");
  const diff = await run([
    "profiles",
    "diff",
    "amzn2-5.10@neoverse-n1",
    "amzn2023-6.1@neoverse-n1",
  ]);
  assertEquals(diff.code, 0);
  assert(diff.out.endsWith("unexplained: 0"));
  assertEquals((await run(["profiles", "show", "linux-2.6"])).code, 3);
});

Deno.test("check --out writes a signed verdict that rollsafe verify accepts; without a source it is a usage error", async () => {
  const dir = await Deno.makeTempDir();
  const old = Deno.env.get("XDG_CONFIG_HOME");
  Deno.env.set("XDG_CONFIG_HOME", dir); // the development signing key lives here, not in $HOME
  try {
    const out = `${dir}/v.cose`;
    const r = await run([
      "check",
      fp("6.1"),
      "--target",
      "amzn2023-6.1@neoverse-n1",
      "--source",
      "amzn2023-6.1@neoverse-n1",
      "--out",
      out,
    ]);
    assertEquals(r.code, 0, r.err);
    const v = await run([
      "verify",
      out,
      "--snapshot",
      fp("6.1"),
      "--target",
      "amzn2023-6.1@neoverse-n1",
      "--accept-dev-key",
    ]);
    assertEquals(v.code, 0, v.err + v.out);
    // The source is recognised from the dump's kernel release and MIDR when not given.
    const recognised = await run([
      "check",
      fp("6.1"),
      "--target",
      "amzn2023-6.1@neoverse-n1",
      "--out",
      out,
    ]);
    assertEquals(recognised.code, 0, recognised.err);
    // A kernel release no profile describes leaves the source unknown: --out needs --source.
    const unknown = `${dir}/unknown-kernel.json`;
    const doc = JSON.parse(await Deno.readTextFile(fp("6.1")));
    doc.kernel_version = "6.1.999-custom";
    await Deno.writeTextFile(unknown, JSON.stringify(doc));
    const noSource = await run([
      "check",
      unknown,
      "--target",
      "amzn2023-6.1@neoverse-n1",
      "--out",
      out,
    ]);
    assertEquals(noSource.code, 3);
    assertStringIncludes(noSource.err, "give --source");
  } finally {
    if (old === undefined) Deno.env.delete("XDG_CONFIG_HOME");
    else Deno.env.set("XDG_CONFIG_HOME", old);
    await Deno.remove(dir, { recursive: true });
  }
});
