/**
 * functions/README-deploy.md's GitHub Actions recipe: the job-summary step (the jq program
 * between its `# --- step summary ---` markers) run by bash and jq on a real JSON answer of the
 * service, as the runner would; what lands in $GITHUB_STEP_SUMMARY must name the failing
 * operations and the drift.
 */
import { assert, assertStringIncludes } from "@std/assert";
import { type Oracle, oracleTest } from "../support/oracle.ts";
import { FINGERPRINTS, testService } from "./helpers.ts";

const JQ: Oracle = {
  name: "jq",
  install: "apt-get install jq",
  available: () => {
    try {
      return new Deno.Command("jq", { args: ["--version"] }).outputSync().success;
    } catch {
      return false;
    }
  },
};

const DOC = new URL("../../functions/README-deploy.md", import.meta.url);

/** The step's shell text between the markers, de-indented as YAML's block scalar would. */
async function summaryStep(): Promise<string> {
  const text = await Deno.readTextFile(DOC);
  const a = text.indexOf("# --- step summary ---");
  const b = text.indexOf("# --- end step summary ---");
  assert(a > 0 && b > a, "README-deploy.md has no step summary markers");
  const lines = text.slice(a, b).split("\n").slice(1);
  const indent = Math.min(
    ...lines.filter((l) => l.trim()).map((l) => l.length - l.trimStart().length),
  );
  return lines.map((l) => l.slice(indent)).join("\n");
}

oracleTest({
  name: "CI recipe: the job summary names the failing operations and the drift",
  needs: [JQ],
  fn: async () => {
    const t = await testService();
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-ci-" });
    try {
      const r = await t.app.request(
        "/v1/verdicts?target=amzn2023-6.1@neoverse-n1&target=amzn2-5.10@neoverse-n1&nonce=42",
        {
          method: "POST",
          body: await Deno.readFile(FINGERPRINTS[2].url),
          headers: { accept: "application/json" },
        },
      );
      await Deno.writeFile(`${dir}/verdict.json`, new Uint8Array(await r.arrayBuffer()));
      const out = await new Deno.Command("bash", {
        args: ["-euo", "pipefail", "-c", await summaryStep()],
        cwd: dir,
        env: { GITHUB_STEP_SUMMARY: `${dir}/summary.md` },
        stderr: "piped",
      }).output();
      assert(out.success, new TextDecoder().decode(out.stderr));
      const md = await Deno.readTextFile(`${dir}/summary.md`);
      assertStringIncludes(md, "## rollsafe: fail (0 of 2 targets restorable)");
      assertStringIncludes(md, "### amzn2023-6.1@neoverse-n1: fail");
      assertStringIncludes(md, "| failed | ENOENT | KVM_REG_ARM_VENDOR_HYP_BMAP_2 |");
      assertStringIncludes(md, "| ID_AA64DFR0_EL1 | 0x10305008 | 0x10305006 | breaking |");
    } finally {
      await t.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
