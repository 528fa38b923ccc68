/**
 * `rollsafe emulate --kernel Image --dtb virt.dtb [--initrd file] [--max-insns N] [--ram-mib M]`:
 * boots an arm64 Linux Image on the emulator's `virt` board (emulator/virt.ts) and streams the
 * PL011 console to stdout; a last line on stderr says why it stopped and after how many
 * instructions.
 */
import { type CommandSpec, one, type ParsedArgs, UsageError } from "./args.ts";
import { EXIT } from "./exit.ts";
import { bootVirt } from "../emulator/virt.ts";

function count(p: ParsedArgs, name: string, fallback: bigint): bigint {
  const v = one(p, name);
  if (v === undefined) return fallback;
  if (!/^[0-9]+$/.test(v) || BigInt(v) === 0n) {
    throw new UsageError(`--${name} ${v}: expected a positive whole number`);
  }
  return BigInt(v);
}

async function read(what: string, path: string): Promise<Uint8Array | string> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    return `rollsafe emulate: cannot read ${what} ${path}: ${(e as Error).message}`;
  }
}

async function run(p: ParsedArgs): Promise<number> {
  const maxInsns = count(p, "max-insns", 2_000_000_000n);
  const ramMib = count(p, "ram-mib", 512n);
  const files: Record<string, Uint8Array> = {};
  for (const [name, required] of [["kernel", true], ["dtb", true], ["initrd", false]] as const) {
    const path = one(p, name);
    if (path === undefined) {
      if (required) throw new UsageError(`--${name} is required`);
      continue;
    }
    const r = await read(name, path);
    if (typeof r === "string") {
      console.error(r);
      return EXIT.BAD_INPUT;
    }
    files[name] = r;
  }
  let result;
  try {
    result = await bootVirt({
      kernel: files.kernel,
      dtb: files.dtb,
      initrd: files.initrd,
      ramBytes: ramMib << 20n,
      maxInstructions: maxInsns,
      onConsole: (b) => Deno.stdout.writeSync(b),
    });
  } catch (e) {
    if (e instanceof RangeError) {
      console.error(`rollsafe emulate: ${e.message}`);
      return EXIT.BAD_INPUT;
    }
    throw e;
  }
  console.error(
    `rollsafe emulate: ${result.reason} after ${result.instructions} instructions, ` +
      `pc 0x${result.pc.toString(16)}`,
  );
  return EXIT.OK;
}

export const emulateCommand: CommandSpec = {
  name: "emulate",
  summary: "boot an arm64 Linux Image on the emulator's virt board and print its console",
  options: [
    { name: "kernel", value: "Image", help: "the uncompressed arm64 kernel Image", required: true },
    {
      name: "dtb",
      value: "file",
      help: "device tree (QEMU's -M virt,dumpdtb= minus unmodelled devices)",
      required: true,
    },
    { name: "initrd", value: "file", help: "initial ramdisk, loaded after the kernel" },
    { name: "max-insns", value: "N", help: "instruction budget (default 2000000000)" },
    {
      name: "ram-mib",
      value: "M",
      help: "RAM size in MiB; must match the DTB's memory node (default 512)",
    },
  ],
  examples: [
    "rollsafe emulate --kernel Image --dtb virt.dtb",
    "rollsafe emulate --kernel Image --dtb virt.dtb --max-insns 100000000",
  ],
  run,
};
