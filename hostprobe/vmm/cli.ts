/**
 * `deno task oracle vmm <case|prefix>… | --all | --list`: run VMM referee cases (matrix.ts) and
 * write their fixtures to tests/fixtures/vmm/. A prefix runs every case under it
 * ("max-gicv3.rollback" = all guests, "max-gicv3" = the whole platform).
 */
import { allCases, runCases, selectCases } from "./matrix.ts";

export async function vmmMain(args: string[]): Promise<number> {
  if (args.includes("--list")) {
    for (const c of allCases()) console.log(c.id);
    return 0;
  }
  const cases = args.includes("--all")
    ? allCases()
    : selectCases(args.filter((a) => !a.startsWith("--")));
  if (!cases.length) {
    console.error("usage: deno task oracle vmm <case|prefix>… | --all | --list");
    return 2;
  }
  const written = await runCases(cases);
  console.log(`wrote ${written.length} of ${cases.length} cases: ${written.join(", ")}`);
  return written.length === cases.length ? 0 : 1;
}
