// The initramfs writer (hostprobe/cpio.ts): pinned header bytes, and GNU cpio as the referee.
import { assertEquals, assertThrows } from "@std/assert";
import { commandRuns, type Oracle, oracleTest } from "../support/oracle.ts";
import { cpioNewc } from "../../hostprobe/cpio.ts";
import { buildInitramfs } from "../../hostprobe/oracle.ts";

const GNU_CPIO: Oracle = {
  name: "GNU cpio",
  install: "apt-get install cpio",
  available: () => commandRuns("cpio"),
};

Deno.test("cpio newc: a file record is the 110-byte header, NUL-terminated name, padding, data", () => {
  const a = cpioNewc([{ type: "file", path: "jobs", data: new TextEncoder().encode("capture\n") }]);
  const text = new TextDecoder().decode(a);
  // magic, ino 1, mode 0100644, uid, gid, nlink 1, mtime 0, size 8, dev 0:0, rdev 0:0, namesize 5
  assertEquals(
    text.slice(0, 110),
    "070701" + "00000001" + "000081a4" + "00000000" + "00000000" + "00000001" + "00000000" +
      "00000008" + "00000000" + "00000000" + "00000000" + "00000000" + "00000005" + "00000000",
  );
  assertEquals(text.slice(110, 115), "jobs\0");
  assertEquals(text.slice(115, 116), "\0"); // 110 + 5 = 115, padded to 116
  assertEquals(text.slice(116, 124), "capture\n");
  assertEquals(text.slice(124 + 110, 124 + 110 + 11), "TRAILER!!!\0");
  assertEquals(a.length % 4, 0);
});

Deno.test("cpio newc: absolute paths and NULs in names are refused", () => {
  assertThrows(() => cpioNewc([{ type: "dir", path: "/dev" }]), Error, 'bad path "/dev"');
  assertThrows(() => cpioNewc([{ type: "dir", path: "a\0b" }]), Error, "bad path");
});

oracleTest({
  name: "GNU cpio lists the oracle initramfs with the modes and sizes we wrote",
  needs: [GNU_CPIO],
  fn: async () => {
    const init = new Uint8Array(1001).fill(7);
    const img = buildInitramfs(init, 1, [{ name: "n1-6_1", text: "vm\n" }]);
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/i.cpio`, img);
      const out = await new Deno.Command("bash", {
        args: ["-c", `cpio -itv --quiet < "${dir}/i.cpio"`],
        stdout: "piped",
        stderr: "piped",
        signal: AbortSignal.timeout(30_000),
      }).output();
      assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
      const rows = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) => {
        const f = l.split(/\s+/);
        return `${f[0]} ${f[4]} ${f[f.length - 1]}`;
      });
      assertEquals(rows, [
        "drwxr-xr-x 0 dev",
        "crw------- 5, dev/console",
        "drwxr-xr-x 0 plans",
        "-rw-r--r-- 3 plans/n1-6_1.plan",
        "-rw-r--r-- 34 jobs", // "capture\n" + "replay /plans/n1-6_1.plan\n"
        "-rwxr-xr-x 1001 init",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
