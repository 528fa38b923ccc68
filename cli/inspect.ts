/** `rollsafe inspect <snapshot> [--all] [--json]`: a readable summary, or the snapshot as JSON. */
import { EXIT } from "./exit.ts";
import type { CommandSpec } from "./args.ts";
import { importSnapshot } from "../snapshots/import/mod.ts";
import { snapshotSummary, snapshotToJson } from "../snapshots/inspect.ts";
import { reportInputError } from "./import.ts";
import { readInput } from "./io.ts";

export const inspectCommand: CommandSpec = {
  name: "inspect",
  summary: "summarise a snapshot in any supported input format",
  args: [{ name: "<snapshot>", help: "the snapshot file (- for stdin)" }],
  options: [
    { name: "all", help: "list every register" },
    { name: "json", help: "print the whole snapshot as JSON" },
  ],
  examples: [
    "rollsafe inspect snapshots/samples/qemu-virt-gicv3-max-smp2.cbor",
    "rollsafe inspect tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.1host.json --all",
  ],
  run: async (p) => {
    try {
      const snapshot = await importSnapshot(await readInput(p.positionals[0], "snapshot"));
      console.log(
        p.flags.has("json")
          ? JSON.stringify(snapshotToJson(snapshot), null, 2)
          : snapshotSummary(snapshot, p.flags.has("all")),
      );
      return EXIT.OK;
    } catch (e) {
      return reportInputError(e);
    }
  },
};
