/// <reference lib="dom" />
/**
 * The web page in a real browser (issue 15): Debian's Chromium driven by playwright-core against
 * a real `deno task start` server. Uploads a QEMU GICv2 migration stream and a Firecracker
 * fingerprint and asserts what a person sees: the detected format, the default targets, the
 * target × status matrix, the grouped failed/ignored operations, drift with the changed fields
 * marked, the IGROUPR bitmap of lost interrupt groups, the development-key badge, a .cose
 * download that `rollsafe verify` accepts when run exactly as the page prints it. Screenshots go
 * to tests/browser/artifacts/ (gitignored) for a person to look at.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "@std/assert";
import { Buffer } from "node:buffer";
import { chromium } from "playwright-core";
import { type Oracle, oracleTest } from "../support/oracle.ts";

const CHROMIUM: Oracle = {
  name: "chromium (/usr/bin/chromium)",
  install: "apt-get install chromium",
  available: () => {
    try {
      return Deno.statSync("/usr/bin/chromium").isFile;
    } catch {
      return false;
    }
  },
};

const ROOT = new URL("../../", import.meta.url).pathname;
const ARTIFACTS = new URL("./artifacts/", import.meta.url).pathname;
const GICV2 = `${ROOT}tests/fixtures/qemu/virt-gicv2-cortex-a57-smp2.qemu`;
const FP = `${ROOT}tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.18host.json`;
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** `deno task start` on a free port with its own key and ledger; resolves to its URL. */
async function server(dir: string) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${ROOT}functions/start.ts`, "--port", "0"],
    cwd: ROOT,
    env: {
      ROLLSAFE_CONFIG_DIR: `${dir}/config`,
      ROLLSAFE_DATA_DIR: `${dir}/data`,
      ROLLSAFE_SIGNING_KEY: "",
      ROLLSAFE_SIGNING_KEY_FILE: "",
      NO_COLOR: "1",
    },
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let text = "";
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 60_000;
  while (!/key {4}/.test(text) && Date.now() < deadline) {
    const { done, value } = await reader.read();
    if (done) break;
    text += value;
  }
  const url = /Listening on (http:\/\/[^ \n]+\/)/.exec(text)?.[1];
  if (!url) throw new Error(`server did not start:\n${text}`);
  // Keep draining so the server never blocks on a full pipe.
  (async () => {
    while (!(await reader.read()).done) { /* drain */ }
  })().catch(() => {});
  return {
    url,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

oracleTest({
  name: "web page in Chromium: a QEMU stream and a fingerprint, as a person sees them",
  needs: [CHROMIUM],
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-browser-" });
    await Deno.mkdir(ARTIFACTS, { recursive: true });
    const srv = await server(dir);
    const ctx = await chromium.launchPersistentContext(`${dir}/profile`, {
      executablePath: "/usr/bin/chromium",
      headless: true,
      args: FLAGS,
      acceptDownloads: true,
      viewport: { width: 1280, height: 900 },
    });
    try {
      const page = await ctx.newPage();
      await page.goto(srv.url);
      await page.waitForSelector("body[data-ready='1']");

      // 1. A QEMU GICv2 migration stream: groups lost on restore.
      await page.setInputFiles("#file", GICV2);
      await page.waitForFunction(() =>
        document.getElementById("detected")!.textContent!.includes("detected")
      );
      assertStringIncludes(
        await page.textContent("#detected") ?? "",
        "detected: QEMU migration stream",
      );
      const chosen = await page.$$eval(
        "#targets option:checked",
        (os) => os.map((o) => (o as HTMLOptionElement).value),
      );
      assertEquals(chosen.sort(), ["linux-5.10@qemu-a57-gicv2", "linux-6.1@qemu-a57-gicv2"]);
      assertEquals(await page.inputValue("#vmm"), "qemu");
      await page.selectOption("#source", "linux-6.1@qemu-a57-gicv2");
      await page.click("#check");
      await page.waitForSelector("#status", { timeout: 120_000 });
      assertEquals(await page.textContent("#status"), "fail");
      assert(await page.isVisible("#devkey"), "development-key badge");
      const matrix = await page.$$eval(
        "#matrix tr[data-target]",
        (rs) => rs.map((r) => [...r.querySelectorAll("td")].map((c) => c.textContent)),
      );
      assertEquals(matrix.map((r) => [r[0], r[1], r[2]]), [
        ["linux-5.10@qemu-a57-gicv2", "fail", "NO"],
        ["linux-6.1@qemu-a57-gicv2", "fail", "NO"],
      ]);
      const sec = "section[data-target='linux-6.1@qemu-a57-gicv2']";
      const ignored = await page.$$eval(
        `${sec} tr.op.ignored`,
        (rs) => rs.map((r) => r.textContent),
      );
      assert(
        ignored.some((t) => /ignored ×2/.test(t!) && /GICD_IGROUPR0/.test(t!)),
        ignored.join("\n"),
      );
      // The bitmap: 0x5a5a0000 and 0xa5a55a5a against GICv2's reset group 0 = 8 + 16 lost.
      const lost = await page.$$eval(`${sec} .bitmap .bit.lost`, (bs) => bs.length);
      assertEquals(lost, 24);
      const row0 = await page.$$eval(
        `${sec} .bitmap[data-register^='GICD_IGROUPR0'] .bit`,
        (bs) => bs.map((b) => b.classList.contains("lost") ? 1 : 0).reverse().join(""),
      );
      assertEquals(parseInt(row0, 2), 0x5a5a0000);
      // Drift on 5.10: the GICD_IIDR revision nibble (3 → 2) marked on both sides.
      const iidr = await page.$$eval(
        "section[data-target='linux-5.10@qemu-a57-gicv2'] tr.drift-row",
        (rs) =>
          rs.filter((r) => r.textContent!.includes("GICD_IIDR")).map((r) =>
            [...r.querySelectorAll("mark")].map((m) => m.textContent).join("")
          ),
      );
      assertEquals(iidr, ["32"], "revision 3 → 2 marked");
      await page.screenshot({ path: `${ARTIFACTS}qemu-gicv2.png`, fullPage: true });

      // The .cose download and the verify command, run as printed.
      const [download] = await Promise.all([
        page.waitForEvent("download"),
        page.click("#download"),
      ]);
      const work = `${dir}/work`;
      await Deno.mkdir(work);
      await download.saveAs(`${work}/verdict.cose`);
      await Deno.copyFile(GICV2, `${work}/virt-gicv2-cortex-a57-smp2.qemu`);
      const cmd = await page.textContent("#verify-cmd");
      assertMatch(
        cmd!,
        /^curl -sS -o keys\.cose http:.*\/v1\/keys\nrollsafe verify verdict\.cose --snapshot virt-gicv2-cortex-a57-smp2\.qemu --target linux-5\.10@qemu-a57-gicv2 --key keys\.cose --accept-dev-key$/,
      );
      const run = await new Deno.Command("bash", {
        args: [
          "-c",
          `rollsafe() { "${Deno.execPath()}" run -A "${ROOT}cli.ts" "$@"; }\nset -e\n${cmd}`,
        ],
        cwd: work,
        env: { ROLLSAFE_CONFIG_DIR: `${dir}/config` },
        stdout: "piped",
        stderr: "piped",
      }).output();
      // Signature, key, snapshot and target all hold; the verdict says not restorable: exit 2.
      assertEquals(run.code, 2, new TextDecoder().decode(run.stderr));
      assertStringIncludes(new TextDecoder().decode(run.stderr), "not-restorable");

      // 2. A Firecracker fingerprint: a 6.18 host rolled back to 6.1.
      await page.setInputFiles("#file", FP);
      await page.waitForFunction(() =>
        document.getElementById("detected")!.textContent!.includes("Firecracker")
      );
      const fpTargets = await page.$$eval(
        "#targets option:checked",
        (os) => os.map((o) => (o as HTMLOptionElement).value),
      );
      assertEquals(fpTargets.sort(), ["amzn2-5.10@neoverse-n1", "amzn2023-6.1@neoverse-n1"]);
      await page.selectOption("#source", "");
      await page.click("#check");
      await page.waitForFunction(
        () => document.querySelector("#matrix tr[data-target='amzn2023-6.1@neoverse-n1']"),
        undefined,
        { timeout: 120_000 },
      );
      const fsec = "section[data-target='amzn2023-6.1@neoverse-n1']";
      const ops = await page.$$eval(`${fsec} tr.op`, (rs) => rs.map((r) => r.textContent));
      assert(
        ops.some((t) => t!.includes("KVM_REG_ARM_VENDOR_HYP_BMAP_2") && t!.includes("ENOENT")),
        ops.join("\n"),
      );
      assert(
        ops.some((t) => /failed ×11/.test(t!) && t!.includes("CCSIDR")),
        "11 cache levels in one row",
      );
      const dfr = await page.$$eval(
        `${fsec} tr.drift-row`,
        (rs) =>
          rs.filter((r) => r.querySelector("td")!.textContent === "ID_AA64DFR0_EL1").map((r) =>
            [...r.querySelectorAll("mark")].map((m) => m.textContent).join("")
          ),
      );
      assertEquals(dfr, ["86"], "DebugVer 8 → 6 marked");
      assertEquals(
        await page.textContent(
          "#matrix tr[data-target='amzn2023-6.1@neoverse-n1'] td:nth-child(4)",
        ),
        "18",
      );
      await page.screenshot({ path: `${ARTIFACTS}firecracker-fingerprint.png`, fullPage: true });

      // 3. Not a snapshot: said before and after the upload.
      await page.setInputFiles("#file", {
        name: "notes.txt",
        mimeType: "text/plain",
        buffer: Buffer.from("hello"),
      });
      await page.waitForFunction(() =>
        document.getElementById("detected")!.textContent!.includes("not a format")
      );
      await page.click("#check");
      await page.waitForFunction(() => document.getElementById("error")!.textContent !== "");
      assertStringIncludes(await page.textContent("#error") ?? "", "not a rollsafe snapshot");

      // 4. The docs page lists the routes from openapi.json.
      await page.goto(`${srv.url}docs`);
      await page.waitForSelector("body[data-ready='1']");
      assertStringIncludes(await page.textContent("#ops") ?? "", "POST /v1/verdicts");
    } finally {
      await ctx.close();
      await srv.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
