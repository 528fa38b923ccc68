/**
 * The one judge (verdict/judge.ts): its table against README.md's exit-code table, its rules on
 * each kind of target, and the case issue 14 found judged four ways — a restorable target with
 * one breaking drift finding — judged the same by `rollsafe check`, the signed verdict,
 * `rollsafe verify` (CLI and library) and the service.
 *
 * The breaking case is real data: the Firecracker Neoverse-N1 6.18 register dump restored on
 * linux-6.18 from linux-6.18@neoverse-n1 onto a host with the same CPU facts whose counter runs
 * at 1 GHz (what FEAT_ECV-era hosts fix CNTFRQ_EL0 at, Arm ARM D11.1.2). The restore succeeds
 * (CNTFRQ_EL0 is not a register the VMM restores) and the guest reads a different frequency:
 * one breaking CNTFRQ_EL0 drift finding, from emulator/drift/rules.ts.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import {
  exitCode,
  judge,
  STATUS_RULES,
  STATUS_TABLE,
  trustedKeyOf,
  unverifiedPayload,
  VERIFY_REASONS,
  verifyVerdict,
  worst,
} from "../../verdict/mod.ts";
import { check, judgeAssessment } from "../../app/mod.ts";
import { FINGERPRINTS, testService } from "../http/helpers.ts";

const README = new URL("../../README.md", import.meta.url);

Deno.test("README's exit-code table is the judge's table, row for row", async () => {
  const text = await Deno.readTextFile(README);
  const at = text.indexOf("| exit | status | reason");
  assert(at >= 0, "README.md has no exit-code table");
  const lines = text.slice(at).split("\n");
  const end = lines.findIndex((l) => !l.startsWith("|"));
  const rows = lines.slice(2, end)
    .map((l) => l.split("|").slice(1, -1).map((c) => c.trim().replaceAll("`", "")));
  assertEquals(
    rows,
    STATUS_RULES.map((r) => [String(STATUS_TABLE[r.status].exit), r.status, r.reason, r.meaning]),
  );
  // verify's reasons carry the same codes as check for the same status.
  for (const r of STATUS_RULES) {
    if (r.reason !== "ok") assertEquals(VERIFY_REASONS[r.reason], exitCode(r.status), r.cause);
  }
});

const finding = (severity: "breaking" | "notable" | "info") => ({
  what: "CNTFRQ_EL0",
  source: "0x3b9aca0",
  target: "0x3b9aca00",
  severity,
  explanation: "x",
});

Deno.test("rules: first match wins, in the table's order", () => {
  const ignored = { outcome: "ignored" };
  const cases: [Parameters<typeof judge>[0], string][] = [
    [{ restorable: false, drift: [finding("info")] }, "not-restorable"],
    [{ restorable: false, drift: [finding("breaking")] }, "not-restorable"],
    [{ restorable: true, drift: [finding("breaking")], operations: [ignored] }, "breaking"],
    [{ restorable: true, reliance: [{ ...finding("breaking"), kind: "armed-timer" }] }, "breaking"],
    [{ restorable: true, drift: [finding("notable")], operations: [ignored] }, "notable"],
    [{ restorable: true, operations: [ignored] }, "ignored"],
    [{ restorable: true, drift: [finding("info")] }, "clean"],
  ];
  for (const [t, cause] of cases) assertEquals(judge(t).cause, cause, JSON.stringify(t));
  assertEquals(worst([]), "pass");
  assertEquals(worst(["warn", "pass"]), "warn");
  assertEquals(worst(["warn", "fail", "pass"]), "fail");
});

/** neoverse-n1's facts with CNTFRQ_EL0 at 1 GHz. */
async function fastCounterHost(): Promise<string> {
  const host = JSON.parse(
    await Deno.readTextFile(new URL("../../emulator/hosts/data/neoverse-n1.json", import.meta.url)),
  );
  host.id = "n1-1ghz";
  host.title = "Neoverse-N1 facts, generic counter at 1 GHz";
  host.facts.cntfrq = {
    value: "0x3b9aca00",
    source: { cite: "Arm ARM D11.1.2: 1 GHz from Armv8.6", confidence: "V" },
  };
  return JSON.stringify(host);
}

const FP = FINGERPRINTS[2]; // the 6.18 host dump
const SOURCE = "linux-6.18@neoverse-n1";
const TARGET = "linux-6.18@n1-1ghz";

async function cli(args: string[], config: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../../cli.ts", import.meta.url).pathname, ...args],
    env: { ROLLSAFE_CONFIG_DIR: config },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("breaking drift on a restorable target: check, signed status, verify and the service agree", async () => {
  const host = await fastCounterHost();
  const bytes = await Deno.readFile(FP.url);

  // The assessment: restorable, exactly one finding above info, and it is breaking.
  const checked = await check({
    bytes,
    targets: [TARGET],
    source: SOURCE,
    hosts: [{ text: host, where: "host[0]" }],
  });
  const a = checked.validation.targets[0];
  assertEquals(a.restore.restorable, true);
  const above = [...a.drift, ...a.reliance].filter((f) => f.severity !== "info");
  assertEquals(above.map((f) => ["what" in f ? f.what : f.kind, f.severity]), [
    ["CNTFRQ_EL0", "breaking"],
  ]);
  assertEquals(judgeAssessment(a).cause, "breaking");
  const want = STATUS_TABLE.fail.exit;

  const dir = await Deno.makeTempDir({ prefix: "rollsafe-judge-" });
  try {
    // rollsafe check: exit 2, the report says why, and the signed verdict says fail.
    const snap = `${dir}/fp.json`;
    await Deno.writeFile(snap, bytes);
    const out = `${dir}/v.cose`;
    const c = await cli(
      ["check", snap, "-t", TARGET, "--source", SOURCE, "--host-file", host, "--out", out],
      dir,
    );
    assertEquals(c.code, want, c.stderr);
    assertStringIncludes(c.stdout, "BREAKING");
    const signed = unverifiedPayload(await Deno.readFile(out));
    assertEquals(
      [signed.targets[0].restorable, signed.targets[0].status, signed.summary.status],
      [true, "fail", "fail"],
    );

    // rollsafe verify on that verdict: the same code, reason `breaking`.
    const v = await cli(
      ["verify", out, "--snapshot", snap, "--target", TARGET, "--accept-dev-key"],
      dir,
    );
    assertEquals(v.code, want, v.stderr);
    assertStringIncludes(v.stderr, "breaking: ");
    assertStringIncludes(v.stderr, "CNTFRQ_EL0");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }

  // The service (what the web page shows: verdict.summary.status), and verify as a library.
  const t = await testService();
  try {
    const f = new FormData();
    f.append("snapshot", new Blob([bytes], { type: "application/json" }));
    f.append("host", new Blob([host], { type: "application/json" }));
    const req = new Request("http://x/", { method: "POST", body: f });
    const r = await t.app.request(
      `/v1/verdicts?target=${TARGET}&source=${SOURCE}`,
      {
        method: "POST",
        body: new Uint8Array(await req.arrayBuffer()),
        headers: { "content-type": req.headers.get("content-type")! },
      },
    );
    assertEquals(r.status, 200, await r.clone().text());
    const cose = new Uint8Array(await r.arrayBuffer());
    const payload = unverifiedPayload(cose);
    assertEquals([payload.targets[0].status, payload.summary.status], ["fail", "fail"]);
    const res = await verifyVerdict(cose, {
      keys: [await trustedKeyOf(await t.services.signer())],
      snapshotBytes: bytes,
      target: TARGET,
    });
    assertEquals([res.reason, res.code, res.ok], ["breaking", want, false]);
  } finally {
    await t.close();
  }
});
