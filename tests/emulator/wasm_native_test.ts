/**
 * Runs the Rust crate's own tests (`wasm/tests/*.rs` and unit tests: decode table, execution,
 * GIC, timer, firmware) natively with Debian's cargo, so `deno task test` covers them in CI.
 * Debug profile: fast to build and with arithmetic overflow checks on, which the random-word
 * tests then exercise.
 */
import { assert } from "@std/assert";
import { DEBIAN_RUST, oracleTest } from "../support/oracle.ts";

oracleTest({
  name: "cargo test (wasm crate, native, Debian rustc 1.63) passes",
  needs: [DEBIAN_RUST],
  fn: async () => {
    const out = await new Deno.Command("/usr/bin/cargo", {
      args: ["test", "--locked", "--quiet"],
      cwd: new URL("../../wasm/", import.meta.url),
      // rustup's rustc/rustdoc shadow Debian's on PATH; the doctests need the matching rustdoc.
      env: { RUSTC: "/usr/bin/rustc", RUSTDOC: "/usr/bin/rustdoc" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    const passed = [...text.matchAll(/test result: ok\. (\d+) passed/g)].reduce(
      (s, m) => s + Number(m[1]),
      0,
    );
    assert(out.code === 0, `cargo test failed:\n${text.slice(-4000)}`);
    assert(passed > 0, `no Rust tests ran:\n${text.slice(-2000)}`);
    console.log(`cargo test: ${passed} Rust tests passed`);
  },
});
