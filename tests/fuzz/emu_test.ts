/**
 * The emulator crate's libFuzzer harness (fuzz/emu): built with Debian's rustc and clang-14, then
 * run once over its seed corpus and every crash `deno task fuzz` kept in fuzz/crashes/emu/, each
 * of which must now run clean (no panic, no timeout, no out-of-memory).
 */
import { assert } from "@std/assert";
import { type Oracle, oracleTest } from "../support/oracle.ts";
import { buildEmuFuzzer, libFuzzerAvailable } from "../../fuzz/run.ts";

const LIBFUZZER: Oracle = {
  name: "clang-14 with libFuzzer and Debian rustc/cargo",
  install: "apt-get install clang-14 libclang-rt-14-dev rustc cargo",
  available: libFuzzerAvailable,
};

oracleTest({
  name: "fuzz/emu: the C ABI harness runs its corpus and every kept crash clean",
  needs: [LIBFUZZER],
  fn: async () => {
    const bin = await buildEmuFuzzer();
    const inputs: string[] = [];
    for (const d of ["../../fuzz/emu/corpus/", "../../fuzz/crashes/emu/"]) {
      const dir = new URL(d, import.meta.url);
      try {
        for await (const e of Deno.readDir(dir)) {
          if (e.isFile) inputs.push(new URL(e.name, dir).pathname);
        }
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
      }
    }
    assert(inputs.length >= 3, "the seeds are there");
    const out = await new Deno.Command(bin.pathname, {
      args: ["-timeout=10", "-rss_limit_mb=2048", ...inputs],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(out.stderr);
    assert(out.code === 0, `harness failed on a kept input:\n${log.slice(-2000)}`);
  },
});
