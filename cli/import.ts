/**
 * `rollsafe import [qemu|fc-fingerprint|native] <input> -o <out.cbor>`: converts a VMM's saved
 * state into a native snapshot (deterministic CBOR). Without a format the input is recognised
 * as check and inspect do (QEMU streams bare, compressed or in a libvirt save image); it is
 * read as a stream, so a QEMU stream of any size imports without being held in memory.
 */
import { EXIT } from "./exit.ts";
import { type CommandSpec, one, UsageError } from "./args.ts";
import { readInput, writeOutput } from "./io.ts";
import { encodeSnapshot, SnapshotError } from "../snapshots/mod.ts";
import { importPath, INPUT_FORMATS, type InputFormat } from "../snapshots/import/mod.ts";

export { readInput };

export const importCommand: CommandSpec = {
  name: "import",
  summary:
    "convert a QEMU stream (bare, compressed or in a libvirt save image) or Firecracker fingerprint into a native snapshot",
  args: [
    {
      name: "<format-or-input>",
      help: `the input's format (${INPUT_FORMATS.join(", ")}; optional: recognised when ` +
        "left out), or the input itself",
    },
    { name: "[input]", help: "the file to convert (- for stdin) when a format is given" },
  ],
  options: [{
    name: "out",
    short: "o",
    value: "out.cbor",
    required: true,
    help: "where to write the native snapshot (- for stdout)",
  }, {
    name: "no-memory",
    help: "leave guest RAM out (QEMU streams: pages are parsed but not kept, so a guest of any " +
      "size imports in bounded memory; the restore check needs no RAM)",
  }],
  examples: [
    "rollsafe import qemu vm.migration -o vm.cbor",
    "rollsafe import vm.save.zst -o vm.cbor",
    "rollsafe import --no-memory big-guest.qemu -o vm.cbor",
    "zstd -dc vm.qemu.zst | rollsafe import - -o - > vm.cbor",
    "rollsafe import fc-fingerprint tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.1host.json -o n1.cbor",
  ],
  run: async (p) => {
    try {
      const [first, second] = p.positionals;
      const [format, input] = second === undefined ? [undefined, first] : [first, second];
      if (format !== undefined && !INPUT_FORMATS.includes(format as InputFormat)) {
        throw new UsageError(
          `unknown input format '${format}' (known: ${INPUT_FORMATS.join(", ")})`,
        );
      }
      const out = one(p, "out")!;
      const snapshot = await importPath(input, {
        format: format as InputFormat | undefined,
        memory: !p.flags.has("no-memory"),
      })
        .catch((e) => {
          if (e instanceof Deno.errors.NotFound || e instanceof Deno.errors.PermissionDenied) {
            throw new UsageError(`cannot read ${input}: ${e.message}`);
          }
          throw e;
        });
      const encoded = encodeSnapshot(snapshot);
      await writeOutput(out, encoded, "--out");
      const regs = snapshot.vcpus.reduce((n, v) => n + v.registers.size, 0);
      // stdout may carry the snapshot itself
      (out === "-" ? console.error : console.log)(
        `${out}: ${snapshot.vcpus.length} vCPU(s), ${regs} registers, ${encoded.length} bytes`,
      );
      return EXIT.OK;
    } catch (e) {
      return reportInputError(e);
    }
  },
};

/** One line on stderr and exit code 3 for anything the input or the command line got wrong. */
export function reportInputError(e: unknown): number {
  if (e instanceof SnapshotError || e instanceof UsageError) {
    console.error(`rollsafe: ${e.message}`);
    return EXIT.BAD_INPUT;
  }
  throw e;
}
