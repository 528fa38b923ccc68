/**
 * `rollsafe import <qemu|fc-fingerprint|native> <input> -o <out.cbor>`: converts a VMM's saved
 * state into a native snapshot (deterministic CBOR).
 */
import { type Command, EXIT } from "./exit.ts";
import { one, parseArgs, UsageError } from "./args.ts";
import { encodeSnapshot, SnapshotError } from "../snapshots/mod.ts";
import { importSnapshot, INPUT_FORMATS, type InputFormat } from "../snapshots/import/mod.ts";

const USAGE = "usage: rollsafe import <qemu|fc-fingerprint|native> <input> -o <out.cbor>";

export const importCommand: Command = {
  summary: "convert a QEMU stream or Firecracker fingerprint into a native snapshot",
  run: async (args) => {
    try {
      const p = parseArgs(args, { values: ["out"], aliases: { o: "out" } });
      const [format, input] = p.positionals;
      const out = one(p, "out");
      if (!format || !input || !out || p.positionals.length > 2) throw new UsageError(USAGE);
      if (!INPUT_FORMATS.includes(format as InputFormat)) {
        throw new UsageError(
          `unknown input format '${format}' (known: ${INPUT_FORMATS.join(", ")})`,
        );
      }
      const bytes = await readInput(input);
      const snapshot = await importSnapshot(bytes, { format: format as InputFormat });
      const encoded = encodeSnapshot(snapshot);
      await Deno.writeFile(out, encoded);
      const regs = snapshot.vcpus.reduce((n, v) => n + v.registers.size, 0);
      console.log(
        `${out}: ${snapshot.vcpus.length} vCPU(s), ${regs} registers, ${encoded.length} bytes`,
      );
      return EXIT.OK;
    } catch (e) {
      return reportInputError(e);
    }
  },
};

export async function readInput(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    throw new UsageError(`cannot read ${path}: ${(e as Error).message}`);
  }
}

/** One line on stderr and exit code 3 for anything the input or the command line got wrong. */
export function reportInputError(e: unknown): number {
  if (e instanceof SnapshotError || e instanceof UsageError) {
    console.error(`rollsafe: ${e.message}`);
    return EXIT.BAD_INPUT;
  }
  throw e;
}
