/**
 * The OpenAPI document passes Redocly's linter (`@redocly/cli lint`, its recommended rules):
 * errors fail the test, warnings are printed. Runs the linter from npm through npx, offline from
 * npx's cache (.ci/run fills it), so the suite itself needs no network.
 */
import { assert } from "@std/assert";
import { type Oracle, oracleTest } from "../support/oracle.ts";
import { openapiDocument } from "../../functions/openapi.ts";
import { ROUTES } from "../../functions/app.ts";

const REDOCLY = ["--offline", "-y", "@redocly/cli@2.77.0"];

const REDOCLY_CLI: Oracle = {
  name: "@redocly/cli 2.77.0 in npx's cache",
  install: "npx -y @redocly/cli@2.77.0 --version",
  available: () => {
    try {
      return new Deno.Command("npx", {
        args: [...REDOCLY, "--version"],
        stdout: "null",
        stderr: "null",
      })
        .outputSync().success;
    } catch {
      return false;
    }
  },
};

oracleTest({
  name: "openapi.json passes @redocly/cli lint (no errors)",
  needs: [REDOCLY_CLI],
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-redocly-" });
    try {
      await Deno.writeTextFile(`${dir}/openapi.json`, JSON.stringify(openapiDocument(ROUTES)));
      const out = await new Deno.Command("npx", {
        args: [...REDOCLY, "lint", "--format=summary", "openapi.json"],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      console.log(text.split("\n").filter((l) => /^(warning|error) /.test(l)).join("\n"));
      assert(out.success, `redocly lint failed:\n${text}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
