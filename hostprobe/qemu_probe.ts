/**
 * Runs the committed probe binary on real QEMU (`qemu-system-aarch64 -M virt -cpu max`, TCG, EL1,
 * no firmware) and returns its result buffer, read back from the hex dump the probe prints over
 * the PL011 before PSCI SYSTEM_OFF (which makes QEMU exit).
 *
 * QEMU virt memory map (hw/arm/virt.c, base_memmap): RAM at 0x40000000, GICD 0x08000000, GICC
 * (v2) 0x08010000, GICR (v3) 0x080a0000, UART0 0x09000000. The image is placed with the generic
 * loader and the CPU's reset PC pointed at it (docs/system/generic-loader.rst).
 */
import { RESULT_SIZE, withParams } from "../emulator/probes/image.ts";
import { outputWithin } from "./process.ts";

/** Whether qemu-system-aarch64 runs here (tests skip, benches leave out the QEMU column). */
export function qemuSystemAvailable(): boolean {
  try {
    return new Deno.Command("qemu-system-aarch64", {
      args: ["--version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync().success;
  } catch {
    return false;
  }
}

export const QEMU_VIRT = {
  RAM: 0x4000_0000n,
  GICD: 0x0800_0000n,
  GICC: 0x0801_0000n,
  GICR: 0x080a_0000n,
  UART: 0x0900_0000n,
} as const;

const IMAGE_AT = 0x4010_0000n;
const RESULTS_AT = 0x4020_0000n;

export interface QemuRun {
  buffer: Uint8Array;
  /** QEMU's command line, for messages. */
  command: string;
  ms: number;
}

export async function runProbeOnQemu(gic: "v2" | "v3", timeoutMs = 30_000): Promise<QemuRun> {
  const image = withParams({
    results: RESULTS_AT,
    gic,
    gicd: QEMU_VIRT.GICD,
    gicr: QEMU_VIRT.GICR,
    gicc: QEMU_VIRT.GICC,
    uart: QEMU_VIRT.UART,
  });
  const dir = await Deno.makeTempDir({ prefix: "rollsafe-qemu-probe-" });
  try {
    const path = `${dir}/probe-${gic}.bin`;
    await Deno.writeFile(path, image);
    const args = [
      "-M",
      `virt,gic-version=${gic === "v3" ? 3 : 2}`,
      "-cpu",
      "max",
      "-m",
      "128",
      "-smp",
      "1",
      "-nodefaults",
      "-display",
      "none",
      "-serial",
      "stdio",
      "-device",
      `loader,file=${path},addr=0x${IMAGE_AT.toString(16)},force-raw=on`,
      "-device",
      `loader,addr=0x${IMAGE_AT.toString(16)},cpu-num=0`,
    ];
    const command = `qemu-system-aarch64 ${args.join(" ")}`;
    const t0 = performance.now();
    const out = await outputWithin("qemu-system-aarch64", args, timeoutMs);
    const ms = performance.now() - t0;
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    const begin = stdout.indexOf("RSPROBE-BEGIN\n");
    const end = stdout.indexOf("\nRSPROBE-END");
    if (begin < 0 || end < 0 || end < begin) {
      throw new Error(
        `${command}: no complete result dump (${
          out.timedOut
            ? `killed after ${timeoutMs} ms: the probe never powered off`
            : `exit ${out.code}, signal ${out.signal}`
        }); ` +
          `stdout ${JSON.stringify(stdout.slice(0, 400))}, stderr ${
            JSON.stringify(stderr.slice(0, 400))
          }`,
      );
    }
    const hex = stdout.slice(begin + "RSPROBE-BEGIN\n".length, end).replace(/\s+/g, "");
    if (!/^([0-9a-f]{2})*$/.test(hex)) throw new Error(`${command}: malformed hex dump`);
    const buffer = new Uint8Array(hex.length / 2);
    for (let i = 0; i < buffer.length; i++) buffer[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
    if (buffer.length !== RESULT_SIZE) {
      throw new Error(`${command}: dump has ${buffer.length} bytes, layout has ${RESULT_SIZE}`);
    }
    if (out.code !== 0) throw new Error(`${command}: exit ${out.code} after the dump: ${stderr}`);
    return { buffer, command, ms };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
