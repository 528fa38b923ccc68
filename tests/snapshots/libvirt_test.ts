/**
 * `virsh save` images made by real libvirt (Debian's libvirt 9.0, system daemon, a transient
 * TCG aarch64 domain whose kernel is tests/fixtures/qemu/guest.S): the image imports, the
 * guest's observations are where guest.S left them, the domain XML's machine type and CPU
 * model are kept, and the snapshot equals the one from the QEMU stream inside the image (so
 * the verdicts are the same). libvirtd and virtlogd are started here when none is running and
 * stopped again by their pids.
 */
import { assertEquals } from "@std/assert";
import { importPath, importSnapshot } from "../../snapshots/import/mod.ts";
import { encodeSnapshot } from "../../snapshots/mod.ts";
import { buildGuest, startedVcpus, type StreamSpec } from "../fixtures/qemu/make.ts";
import {
  AARCH64_BINUTILS,
  commandRuns,
  type Oracle,
  oracleTest,
  QEMU_SYSTEM,
} from "../support/oracle.ts";
import { checkGuest } from "./qemu_guest_checks.ts";

const LIBVIRT: Oracle = {
  name: "libvirt 9 (libvirtd, virtlogd, virsh)",
  install: "apt-get install libvirt-daemon-system libvirt-clients",
  available: () =>
    commandRuns("virsh", ["--version"]) && commandRuns("libvirtd", ["--version"]) &&
    commandRuns("virtlogd", ["--version"]),
};

const URI = "qemu:///system";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function virsh(...args: string[]): Promise<string> {
  const out = await new Deno.Command("timeout", {
    args: ["60", "virsh", "-c", URI, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(`virsh ${args.join(" ")}: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
  return text;
}

async function daemonsUp(): Promise<boolean> {
  try {
    await virsh("uri");
    return true;
  } catch {
    return false;
  }
}

/** Starts virtlogd and libvirtd unless a libvirtd answers; returns the pids started. */
async function startDaemons(dir: string): Promise<number[]> {
  if (await daemonsUp()) return [];
  const pids: number[] = [];
  for (const d of ["virtlogd", "libvirtd"]) {
    const pidFile = `${dir}/${d}.pid`;
    new Deno.Command(d, { args: [`--pid-file=${pidFile}`], stdout: "null", stderr: "null" })
      .spawn();
    for (let i = 0; i < 100; i++) {
      try {
        pids.push(Number(Deno.readTextFileSync(pidFile).trim()));
        break;
      } catch {
        await sleep(50);
      }
    }
  }
  for (let i = 0; i < 100 && !(await daemonsUp()); i++) await sleep(100);
  return pids;
}

const SPEC: StreamSpec = { gic: 3, cpu: "cortex-a57", smp: 2 };
const READY = 0x40c00000;

oracleTest({
  name: "libvirt: a real `virsh save` image imports like the QEMU stream inside it",
  needs: [LIBVIRT, QEMU_SYSTEM, AARCH64_BINUTILS],
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "rollsafe-libvirt-" });
    await Deno.chmod(dir, 0o755); // QEMU runs as libvirt-qemu and reads the kernel here
    const pids = await startDaemons(dir);
    const name = `rollsafe-test-${Deno.pid}`;
    try {
      const elf = await buildGuest(dir, 3);
      await Deno.chmod(elf, 0o644);
      const xml = `<domain type='qemu'><name>${name}</name><memory unit='MiB'>64</memory>
<vcpu>${SPEC.smp}</vcpu><os><type arch='aarch64' machine='virt'>hvm</type>
<kernel>${elf}</kernel></os><features><gic version='${SPEC.gic}'/></features>
<cpu mode='custom' match='exact'><model fallback='forbid'>${SPEC.cpu}</model></cpu>
<devices><emulator>/usr/bin/qemu-system-aarch64</emulator>
<controller type='usb' model='none'/><memballoon model='none'/></devices></domain>`;
      await Deno.writeTextFile(`${dir}/dom.xml`, xml);
      await virsh("create", `${dir}/dom.xml`);
      // Wait for guest.S's ready flags, as make.ts does, through libvirt's monitor passthrough.
      const want = startedVcpus(SPEC.smp);
      for (let i = 0;; i++) {
        const text = await virsh("qemu-monitor-command", name, "--hmp", `xp /${want}gx ${READY}`);
        const flags = [...text.matchAll(/0x([0-9a-f]{16})/g)].map((m) => BigInt(`0x${m[1]}`));
        if (flags.length === want && flags.every((f) => f === 1n)) break;
        if (i > 200) throw new Error(`guest not ready: ${text}`);
        await sleep(50);
      }
      const image = `${dir}/dom.save`;
      await virsh("save", name, image);

      const s = await importPath(image);
      checkGuest(s, SPEC);
      const meta = s.source!.extra.get("libvirt_save") as Map<string, unknown>;
      assertEquals(meta.get("cpu_model"), SPEC.cpu);
      assertEquals(meta.get("machine"), "virt-7.2");
      assertEquals(meta.get("domain"), name);
      assertEquals(meta.get("format"), "raw");

      // The QEMU stream inside: after the 92-byte header and data_len bytes.
      const bytes = await Deno.readFile(image);
      const dataLen = new DataView(bytes.buffer).getUint32(20, true);
      const inner = await importSnapshot(bytes.subarray(92 + dataLen));
      s.source!.extra.delete("libvirt_save");
      s.source!.extra.delete("container");
      assertEquals(encodeSnapshot(s), encodeSnapshot(inner));
    } finally {
      await virsh("destroy", name).catch(() => {});
      for (const pid of pids.reverse()) {
        try {
          Deno.kill(pid, "SIGTERM");
        } catch { /* gone */ }
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
