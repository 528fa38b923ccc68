// The QEMU harness's pure parts: framing of job output on the serial console, capture lines,
// initramfs job list, QEMU arguments.
import { assertEquals, assertThrows } from "@std/assert";
import {
  buildInitramfs,
  OracleError,
  parseCaptureOutput,
  qemuArgs,
  splitJobs,
} from "../../hostprobe/oracle.ts";

Deno.test("splitJobs: framed outputs with their exit status; kernel noise outside frames dropped", () => {
  const console = [
    "[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x000f0510]",
    "@@rollsafe init jobs 0",
    "@@rollsafe begin capture 0",
    '{"kind":"header"}\r',
    "@@rollsafe end exit 0",
    "@@rollsafe begin replay /plans/a.plan 1",
    '{"kind":"op"}',
    "@@rollsafe end timeout -2",
    "@@rollsafe begin replay /plans/b.plan 2",
    "@@rollsafe end exit 139",
    "@@rollsafe poweroff jobs 3",
    "[    9.9] reboot: Power down",
  ].join("\n");
  assertEquals(splitJobs(console), [
    { job: "capture", status: "exit", code: 0, text: '{"kind":"header"}' },
    { job: "replay /plans/a.plan", status: "timeout", code: -2, text: '{"kind":"op"}' },
    { job: "replay /plans/b.plan", status: "exit", code: 139, text: "" },
  ]);
});

Deno.test("parseCaptureOutput: hostprobe lines only; a broken one names its line", () => {
  assertEquals(parseCaptureOutput('noise\n{"kind":"done"}\r\n'), [{ kind: "done" }]);
  assertThrows(() => parseCaptureOutput('\n{"kind":"reg",'), OracleError, "line 2: not JSON");
});

Deno.test("buildInitramfs: plan names are checked before anything boots", () => {
  const bin = new Uint8Array(4);
  assertThrows(() => buildInitramfs(bin, 1, [{ name: "../x", text: "" }]), OracleError, "../x");
  assertThrows(
    () => buildInitramfs(bin, 0, [{ name: "a", text: "" }, { name: "a", text: "" }]),
    OracleError,
    "must be unique",
  );
  const img = new TextDecoder().decode(buildInitramfs(bin, 2, [{ name: "p1", text: "vm\n" }]));
  // the /jobs file: two captures, then the replay
  assertEquals(img.includes("capture\ncapture\nreplay /plans/p1.plan\n"), true);
});

Deno.test("qemuArgs: nested virtualization, the requested GIC, no NIC, poweroff ends QEMU", () => {
  const a = qemuArgs("/k/Image", "/t/initrd", 2);
  assertEquals(a.slice(0, 4), ["-M", "virt,virtualization=on,gic-version=2", "-cpu", "max"]);
  for (const flag of ["-no-reboot", "-nographic"]) assertEquals(a.includes(flag), true, flag);
  assertEquals(a[a.indexOf("-nic") + 1], "none");
  assertEquals(a[a.indexOf("-append") + 1].startsWith("console=ttyAMA0"), true);
});
