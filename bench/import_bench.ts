/**
 * `deno task bench:import`: a 4 GiB guest with 1 GiB of non-zero RAM, saved by the installed
 * qemu-system-aarch64 (TCG, virt, -m 4096; the 1 GiB of random bytes is put in guest RAM by
 * QEMU's generic loader device), then, side by side in one run:
 *   - rollsafe importing the stream from the file (guest memory dropped, as check does):
 *     wall time and the importing process's peak RSS (VmHWM);
 *   - `qemu-system-aarch64 -incoming` loading the same stream (the real restore): wall time
 *     from `migrate-incoming exec:cat <file>` to status "completed".
 * Files live in a temporary directory (about 1.1 GB) and are removed at the end.
 */
import { Qmp } from "../tests/fixtures/qemu/make.ts";

const GUEST_MIB = 4096;
const DIRTY_MIB = 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function qemuArgs(blob: string, extra: string[]): string[] {
  return [
    "-M",
    "virt,gic-version=3",
    "-cpu",
    "max",
    "-m",
    String(GUEST_MIB),
    "-display",
    "none",
    "-nodefaults",
    "-S",
    // RAM starts at 0x40000000 on virt; the blob lands 1 MiB in.
    "-device",
    `loader,file=${blob},addr=0x40100000,force-raw=on`,
    "-qmp",
    "stdio",
    ...extra,
  ];
}

async function withQemu<T>(args: string[], f: (q: Qmp) => Promise<T>): Promise<T> {
  const child = new Deno.Command("qemu-system-aarch64", {
    args,
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 300_000);
  const q = new Qmp(child);
  try {
    await q.greeting();
    return await f(q);
  } finally {
    clearTimeout(killer);
    await q.cmd("quit").catch(() => {});
    await q.close();
    try {
      child.kill("SIGKILL");
    } catch { /* gone */ }
    await child.status;
  }
}

async function waitMigration(q: Qmp, what: string): Promise<void> {
  for (;;) {
    const st = await q.cmd("query-migrate") as { status?: string };
    if (st.status === "completed") return;
    if (st.status === "failed") throw new Error(`${what}: migration failed`);
    await sleep(10);
  }
}

const dir = await Deno.makeTempDir({ prefix: "rollsafe-bench-import-" });
try {
  const blob = `${dir}/dirty.bin`, stream = `${dir}/guest.qemu`;
  {
    const f = await Deno.open(blob, { write: true, create: true });
    const chunk = new Uint8Array(1 << 20);
    for (let i = 0; i < DIRTY_MIB; i++) {
      for (let k = 0; k < chunk.length; k += 65536) {
        crypto.getRandomValues(chunk.subarray(k, k + 65536));
      }
      await f.write(chunk);
    }
    f.close();
  }
  await withQemu(qemuArgs(blob, []), async (q) => {
    await q.cmd("migrate", { uri: `exec:cat > ${stream}` });
    await waitMigration(q, "save");
  });
  const size = (await Deno.stat(stream)).size;

  // rollsafe, in its own process so its peak RSS is its own.
  const child = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("./import_child.ts", import.meta.url).pathname, stream],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (child.code !== 0) throw new Error("import failed");
  const ours = JSON.parse(new TextDecoder().decode(child.stdout)) as {
    ms: number;
    peakRssKiB: number;
    vcpus: number;
  };

  // QEMU's own load of the same stream.
  const qemuMs = await withQemu(qemuArgs(blob, ["-incoming", "defer"]), async (q) => {
    const t0 = performance.now();
    await q.cmd("migrate-incoming", { uri: `exec:cat ${stream}` });
    await waitMigration(q, "load");
    return performance.now() - t0;
  });

  const mb = (n: number) => (n / 1e6).toFixed(0);
  console.log(
    `guest: ${GUEST_MIB} MiB RAM, ${DIRTY_MIB} MiB non-zero; stream ${mb(size)} MB (QEMU 7.2 TCG)`,
  );
  console.log("                                   wall time   peak RSS   throughput");
  console.log(
    `rollsafe import (memory dropped)   ${(ours.ms / 1000).toFixed(2).padStart(7)} s ` +
      `${(ours.peakRssKiB / 1024).toFixed(0).padStart(7)} MB ${
        mb(size / (ours.ms / 1000)).padStart(7)
      } MB/s`,
  );
  console.log(
    `qemu-system-aarch64 -incoming      ${(qemuMs / 1000).toFixed(2).padStart(7)} s ` +
      `${"-".padStart(7)}    ${mb(size / (qemuMs / 1000)).padStart(7)} MB/s`,
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
