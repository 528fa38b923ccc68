/**
 * Memory bounded by what is kept, not by the stream: a 4 GiB guest whose first 512 MiB are
 * non-zero (tests/snapshots/big_stream.ts: real QEMU device sections around a rewritten RAM
 * section) imports with guest memory dropped in a process whose peak RSS stays under 256 MB.
 * Run in a child process so the figure is the import's own.
 */
import { assert, assertEquals } from "@std/assert";

Deno.test("qemu stream size: 4 GiB guest, 512 MiB non-zero, imports within 256 MB RSS", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./big_stream.ts", import.meta.url).pathname, "4096", "512"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertEquals(out.code, 0, new TextDecoder().decode(out.stderr));
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  assertEquals(r.vcpus, 2);
  assert(r.bytes > 512 * 1024 * 1024, `${r.bytes} bytes streamed`);
  assert(r.peakRssKiB < 256 * 1024, `peak RSS ${r.peakRssKiB} KiB`);
});
