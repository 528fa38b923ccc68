/**
 * Debian's arm64 kernels boot in the emulator as under QEMU: the same board (QEMU's `virt`
 * device tree minus unmodelled devices, tests/fixtures/virt/), the same Image, and the console
 * compared line by line with QEMU's (`-cpu cortex-a57`, TCG), timestamps removed.
 *
 * The default run boots Debian 6.1 for 200 million instructions (about a quarter of the boot)
 * and compares the lines both printed by then. `ROLLSAFE_KERNEL_BOOT=full` (task
 * `test:kernel-boot`) boots 6.1 and 6.12 to `VFS: Unable to mount root fs` and compares the
 * whole console.
 *
 * The lines that differ are listed in KNOWN with the reason; each is a fact about what the
 * emulator plays (KVM's firmware and vGIC rather than QEMU's own) or a feature it does not
 * execute yet (FP/SIMD, AArch32). A line outside the list fails the test, and so does a
 * listed line that no longer differs (then the list must shrink).
 */
import { assert, assertEquals } from "@std/assert";
import { bootVirt } from "../../emulator/virt.ts";
import { fetchKernel, type KernelName } from "../../hostprobe/oracle.ts";
import { DEBIAN_ARM64_KERNELS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";

const FULL = Deno.env.get("ROLLSAFE_KERNEL_BOOT") === "full";
const PANIC = "VFS: Unable to mount root fs";
const DTB = new URL("../fixtures/virt/board.dtb", import.meta.url);

/** Lines that differ, as [QEMU's line or null, the emulator's line or null, why]. */
const KNOWN: [string | null, string | null, string][] = [
  [
    "psci: SMC Calling Convention v1.0",
    "psci: SMC Calling Convention v1.1",
    "the emulator answers SMCCC as KVM does (1.1)",
  ],
  [
    "GICv3: GICv3 features: 16 PPIs",
    "GICv3: GICv3 features: 16 PPIs, DirectLPI",
    "KVM's vGICv3 redistributor, not QEMU's TCG GICv3",
  ],
  [
    "ITS: No ITS available, not enabling LPIs",
    null,
    "KVM's vGICv3 without an ITS has GICD_TYPER.LPIS = 0",
  ],
  ["CPU features: detected: 32-bit EL0 Support", null, "no AArch32"],
  ["CPU features: detected: 32-bit EL1 Support", null, "no AArch32"],
  [null, "Floating-point is not implemented", "no FP/SIMD yet"],
  [null, "Advanced SIMD is not implemented", "no FP/SIMD yet"],
  [
    "Registered setend emulation handler",
    "setend instruction emulation is not supported on this system",
    "no AArch32",
  ],
];

/** Timestamps and durations, which depend on the speed of each. */
function normalise(console: string): string[] {
  return console.replaceAll("\r", "").split("\n")
    .map((l) => l.replace(/^\[ *\d+\.\d+\] /, ""))
    .map((l) => l.replace(/initialised in \d+ms/, "initialised in Nms"))
    .map((l) => l.replace(/audit\(\d+\.\d+:/, "audit(T:"))
    // The cpufeature bitmap and reserved-memory totals carry the feature and DTB differences.
    .filter((l) =>
      !l.startsWith("CPU features: 0x") && !l.startsWith("Memory: ") && !l.startsWith("qemu-system")
    )
    .filter((l) => l.length > 0);
}

async function qemuConsole(image: string): Promise<string> {
  const p = new Deno.Command("timeout", {
    args: [
      "300",
      "qemu-system-aarch64",
      ...["-M", "virt,gic-version=3,dtb-randomness=off", "-cpu", "cortex-a57", "-m", "512M"],
      ...["-nographic", "-no-reboot", "-kernel", image, "-dtb", DTB.pathname],
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const reader = p.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("end Kernel panic")) {
    const { value, done } = await reader.read();
    if (done) break;
    out += value;
  }
  try {
    p.kill("SIGKILL");
  } catch { /* already gone */ }
  await reader.cancel();
  await p.stderr.cancel();
  await p.status;
  assert(out.includes(PANIC), `QEMU did not reach '${PANIC}' within 300 s: ${out.slice(-300)}`);
  return out;
}

function compare(kernel: string, qemu: string[], emu: string[]) {
  const known = new Set(KNOWN.flatMap(([q, e]) => [q, e]).filter((x): x is string => x !== null));
  const qSet = new Set(qemu);
  const eSet = new Set(emu);
  const onlyQemu = qemu.filter((l) => !eSet.has(l));
  const onlyEmu = emu.filter((l) => !qSet.has(l));
  assertEquals(onlyQemu.filter((l) => !known.has(l)), [], `${kernel}: lines only QEMU printed`);
  assertEquals(
    onlyEmu.filter((l) => !known.has(l)),
    [],
    `${kernel}: lines only the emulator printed`,
  );
  // Same order for the lines both printed.
  const common = qemu.filter((l) => eSet.has(l));
  assertEquals(emu.filter((l) => qSet.has(l)), common, `${kernel}: common lines in the same order`);
  return { common: common.length, onlyQemu: onlyQemu.length, onlyEmu: onlyEmu.length };
}

for (const kernel of (FULL ? ["debian-6.1", "debian-6.12"] : ["debian-6.1"]) as KernelName[]) {
  oracleTest({
    name: `kernel boot ${kernel}: the emulator's console matches QEMU's${
      FULL ? " up to the VFS panic" : " (first 200 M instructions)"
    }`,
    needs: [QEMU_SYSTEM, DEBIAN_ARM64_KERNELS],
    fn: async () => {
      const pkg = await fetchKernel(kernel);
      const qemu = normalise(await qemuConsole(pkg.image));
      const t0 = performance.now();
      const r = await bootVirt({
        kernel: await Deno.readFile(pkg.image),
        dtb: await Deno.readFile(DTB),
        ramBytes: 512n << 20n,
        maxInstructions: FULL ? 3_000_000_000n : 200_000_000n,
        until: "end Kernel panic",
        chunk: 10_000_000n,
      });
      const secs = (performance.now() - t0) / 1000;
      let emu = normalise(r.console);
      if (FULL) {
        assert(
          r.console.includes(PANIC),
          `${kernel}: no '${PANIC}' after ${r.instructions} instructions`,
        );
      } else {
        // Compare what both printed: QEMU's console up to the emulator's last line.
        const last = emu.findLast((l) => qemu.includes(l))!;
        qemu.splice(qemu.lastIndexOf(last) + 1);
        emu = emu.slice(0, emu.lastIndexOf(last) + 1);
      }
      const c = compare(kernel, qemu, emu);
      console.log(
        `${kernel}: ${r.instructions} instructions in ${secs.toFixed(1)} s ` +
          `(${(Number(r.instructions) / secs / 1e6).toFixed(1)} MIPS), ${c.common} lines equal, ` +
          `${c.onlyQemu} only in QEMU and ${c.onlyEmu} only in the emulator (all explained); ` +
          `last line: ${emu.at(-1)}`,
      );
    },
  });
}
