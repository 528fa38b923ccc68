/** `rollsafe inspect <snapshot> [--json]`: a readable summary, or the snapshot as JSON. */
import { type Command, EXIT } from "./exit.ts";
import { parseArgs, UsageError } from "./args.ts";
import { importSnapshot } from "../snapshots/import/mod.ts";
import { snapshotSummary, snapshotToJson } from "../snapshots/inspect.ts";
import { readInput, reportInputError } from "./import.ts";

export const inspectCommand: Command = {
  summary:
    "summarise a snapshot (any supported input format); --all lists every register, --json gives data",
  run: async (args) => {
    try {
      const p = parseArgs(args, { flags: ["json", "all"] });
      const [input] = p.positionals;
      if (!input || p.positionals.length > 1) {
        throw new UsageError("usage: rollsafe inspect <snapshot> [--json] [--all]");
      }
      const snapshot = await importSnapshot(await readInput(input));
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
