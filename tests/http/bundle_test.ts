/**
 * `deno task bundle` output runs on its own: the Deno Deploy file, copied into an empty
 * temporary directory (no node_modules, no deno.json), starts with a production key from the
 * environment and answers real requests. The Supabase and Netlify files load and expose their
 * platform's shape.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { bundle } from "../../functions/bundle.ts";
import {
  generateKeyPair,
  parsePublicKeys,
  pemEncode,
  toHex,
  verifyVerdict,
} from "../../verdict/mod.ts";
import { startServer } from "./server.ts";
import { oracleTest, POSTGRES } from "../support/oracle.ts";
import { FINGERPRINTS, sha256Hex } from "./helpers.ts";

const out = await Deno.makeTempDir({ prefix: "rollsafe-bundle-" });
let built: Promise<Awaited<ReturnType<typeof bundle>>> | undefined;
const build = () => (built ??= bundle(out));

Deno.test({
  name: "bundle: the Deno Deploy file serves verdicts from an empty directory",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const files = await build();
    assertEquals(files.map((f) => f.platform), ["deno-deploy", "supabase", "netlify"]);
    const text = await Deno.readTextFile(`${out}/deno-deploy.js`);
    const imports = [...text.matchAll(/^import .* from "([^"]+)";$/gm)].map((m) => m[1]);
    assert(imports.length > 0);
    assertEquals(imports.filter((s) => !s.startsWith("node:")), [], "only node: built-ins stay");
    const empty = await Deno.makeTempDir({ prefix: "rollsafe-deploy-" });
    await Deno.copyFile(`${out}/deno-deploy.js`, `${empty}/deno-deploy.js`);
    const { pkcs8 } = await generateKeyPair();
    const server = await startServer(["run", "-A", "--no-config", "deno-deploy.js"], {
      cwd: empty,
      env: {
        PORT: "0",
        HOST: "127.0.0.1",
        ROLLSAFE_DATA_DIR: empty,
        ROLLSAFE_SIGNING_KEY: pemEncode("PRIVATE KEY", pkcs8),
      },
    });
    try {
      const h = await (await fetch(`${server.url}/healthz`)).json();
      assertEquals(h.status, "ok", JSON.stringify(h));
      assertEquals(h.signing.dev_key, false);
      assertStringIncludes(server.log(), "WARNING: no ROLLSAFE_API_TOKEN_SHA256");
      const fp = await Deno.readFile(FINGERPRINTS[2].url);
      const up = await fetch(`${server.url}/v1/snapshots`, {
        method: "POST",
        body: fp,
        headers: { "content-type": "application/json" },
      });
      assertEquals(up.status, 201);
      assertEquals((await up.json()).sha256, await sha256Hex(fp));
      // A verdict from the bundle: the emulator wasm and the probe image came from inside it.
      const r = await fetch(
        `${server.url}/v1/verdicts?target=amzn2023-6.1@neoverse-n1&target=amzn2-5.10@neoverse-n1`,
        { method: "POST", body: fp, headers: { "content-type": "application/json" } },
      );
      assertEquals(r.status, 200, await r.clone().text());
      const cose = new Uint8Array(await r.arrayBuffer());
      const keys = await parsePublicKeys(
        new Uint8Array(await (await fetch(`${server.url}/v1/keys`)).arrayBuffer()),
        "GET /v1/keys",
      );
      for (const target of ["amzn2023-6.1@neoverse-n1", "amzn2-5.10@neoverse-n1"]) {
        const v = await verifyVerdict(cose, { keys, snapshotBytes: fp, target });
        assert(v.reason === "ok" || v.reason === "not-restorable", v.message);
        // The engine identity names the wasm that is in the repository, inlined in the bundle.
        assertEquals(
          toHex(v.verdict!.engine.wasm_sha256),
          await sha256Hex(
            await Deno.readFile(new URL("../../wasm/pkg/rollsafe_emu.wasm", import.meta.url)),
          ),
        );
      }
      const entries = [...Deno.readDirSync(empty)].map((e) => e.name).sort();
      assertEquals(entries.includes("node_modules"), false);
      assert(entries.includes("ledger.sqlite3"));
    } finally {
      await server.stop();
      await Deno.remove(empty, { recursive: true });
    }
  },
});

Deno.test({
  name: "bundle: the Netlify file exports a handler and its path config",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await build();
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-netlify-" });
    try {
      await Deno.copyFile(`${out}/netlify/rollsafe.js`, `${dir}/rollsafe.js`);
      // Netlify imports the module and calls its default export per request.
      const probe = `const m = await import("./rollsafe.js");
        const r = await m.default(new Request("https://x.netlify.app/rollsafe/v1/version"));
        console.log(JSON.stringify({ path: m.config.path, status: r.status, body: await r.json() }));`;
      await Deno.writeTextFile(`${dir}/probe.mjs`, probe);
      const o = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-config", "probe.mjs"],
        cwd: dir,
        env: { ROLLSAFE_LEDGER_PATH: ":memory:", NO_COLOR: "1" },
      }).output();
      const got = JSON.parse(new TextDecoder().decode(o.stdout).trim().split("\n").pop()!);
      assertEquals(got.path, "/rollsafe/*");
      assertEquals(got.status, 200);
      assertEquals(got.body.name, "rollsafe");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

oracleTest({
  name: "bundle: the Supabase file mounts under /rollsafe and keeps its ledger in PostgreSQL",
  needs: [POSTGRES],
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    await build();
    const empty = await Deno.makeTempDir({ prefix: "rollsafe-supabase-" });
    await Deno.copyFile(`${out}/supabase/index.js`, `${empty}/index.js`);
    const { pkcs8 } = await generateKeyPair();
    const server = await startServer(["run", "-A", "--no-config", "index.js"], {
      cwd: empty,
      env: {
        PORT: "0",
        HOST: "127.0.0.1",
        // What Supabase sets for every function; the entry maps it to DATABASE_URL.
        SUPABASE_DB_URL: Deno.env.get("ROLLSAFE_TEST_DATABASE_URL")!,
        ROLLSAFE_SIGNING_KEY: pemEncode("PRIVATE KEY", pkcs8),
      },
    });
    try {
      const h = await (await fetch(`${server.url}/rollsafe/healthz`)).json();
      assertEquals(h.status, "ok", JSON.stringify(h));
      assertStringIncludes(h.ledger, "postgres 127.0.0.1:");
      const fp = await Deno.readFile(FINGERPRINTS[0].url);
      const up = await fetch(`${server.url}/rollsafe/v1/snapshots`, {
        method: "POST",
        body: fp,
        headers: { "content-type": "application/json" },
      });
      assert(up.status === 201 || up.status === 200, `${up.status}`);
      const digest = await sha256Hex(fp);
      assertEquals((await up.json()).sha256, digest);
      const back = await (await fetch(`${server.url}/rollsafe/v1/verdicts/${digest}`)).json();
      assertEquals(back.stored, true);
      assertEquals((await fetch(`${server.url}/healthz`)).status, 404, "only under /rollsafe");
    } finally {
      await server.stop();
      await Deno.remove(empty, { recursive: true });
    }
  },
});

globalThis.addEventListener("unload", () => {
  try {
    Deno.removeSync(out, { recursive: true });
  } catch { /* already gone */ }
});
