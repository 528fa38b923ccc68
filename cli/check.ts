/**
 * `rollsafe check <snapshot> --target <t> [--target <t2> …] [--vmm <flavour>] [--source <t>]
 *  [--profile-file <f>] [--host-file <f>] [--all] [--json] [--out verdict.cose]`
 *
 * Read the files → app/ `check` (the same pipeline the service runs: import, resolve targets and
 * source, the restore model, guest probes for drift and reliance) → with --out, app/ `sign` →
 * render (cli/render.ts; the options are parsed by cli/args.ts). The exit code is the judge's
 * (verdict/judge.ts) for the worst target; 3 for anything the input got wrong (an AppError).
 */
import { EXIT } from "./exit.ts";
import type { CommandSpec, ParsedArgs } from "./args.ts";
import { one } from "./args.ts";
import { reportInputError } from "./import.ts";
import { readInput, writeOutput } from "./io.ts";
import { exitFor, renderJson, renderText } from "./render.ts";
import { FLAVOURS } from "../emulator/kvm/mod.ts";
import { AppError, type Assessment, check, sign, type UserFile } from "../app/mod.ts";
import { loadSigner, STATUS_RULES, STATUS_TABLE } from "../verdict/mod.ts";

export type { Assessment };
export { exitFor, renderJson, renderText };

/** --profile-file / --host-file: a path, or the JSON itself when it starts with "{". */
async function userFiles(p: ParsedArgs, option: string): Promise<UserFile[]> {
  const out: UserFile[] = [];
  for (const f of p.values.get(option) ?? []) {
    const inline = f.trimStart().startsWith("{");
    out.push({
      text: inline ? f : new TextDecoder().decode(await readInput(f, "file")),
      where: inline ? `--${option} (inline)` : f,
    });
  }
  return out;
}

export const checkCommand: CommandSpec = {
  name: "check",
  summary: "predict whether a snapshot restores on target kernels, and what its guest would see",
  args: [{
    name: "<snapshot>",
    help: "native CBOR snapshot, QEMU migration stream or Firecracker fingerprint (- for stdin)",
  }],
  options: [
    {
      name: "target",
      short: "t",
      value: "profile@host",
      repeat: true,
      required: true,
      help: "a kernel profile (with +variants) and a host CPU, e.g. amzn2023-6.1@neoverse-n1",
    },
    {
      name: "vmm",
      value: "flavour",
      choices: FLAVOURS.map((f) => f.id),
      help: "the VMM that restores (default: the snapshot's, else generic)",
    },
    {
      name: "source",
      value: "profile@host",
      help: "where the snapshot was taken (default: named in or recognised from the snapshot)",
    },
    {
      name: "profile-file",
      value: "file",
      repeat: true,
      help: "a kernel profile of your own (JSON)",
    },
    { name: "host-file", value: "file", repeat: true, help: "a host of your own (JSON)" },
    { name: "all", help: "list every operation and info-level finding, not only the problems" },
    { name: "json", help: "print the assessment as JSON (every operation)" },
    { name: "no-probes", help: "skip the guest probes (no drift or reliance findings)" },
    {
      name: "out",
      short: "o",
      value: "verdict.cose",
      help: "write the signed verdict (COSE_Sign1) there; - for stdout (the report goes to stderr)",
    },
  ],
  examples: [
    "rollsafe check tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_6.18host.json -t amzn2023-6.1@neoverse-n1",
    "rollsafe check vm.snap -t linux-6.1@neoverse-n1 -t linux-6.6@neoverse-n1 --vmm qemu --out verdict.cose",
    "cat vm.snap | rollsafe check - -t debian-6.12@qemu-max-nested --json",
  ],
  notes: "Exit codes (the worst target's, from verdict/judge.ts):\n" +
    STATUS_RULES.map((r) => `${STATUS_TABLE[r.status].exit} ${r.status}: ${r.meaning}`).join("\n") +
    "\n3 bad input or unknown target, 4 internal error.",
  run: async (p) => {
    try {
      const [input] = p.positionals;
      const out = one(p, "out");
      const checked = await check({
        bytes: await readInput(input, "snapshot"),
        targets: p.values.get("target") ?? [],
        source: one(p, "source"),
        vmm: one(p, "vmm"),
        profiles: await userFiles(p, "profile-file"),
        hosts: await userFiles(p, "host-file"),
        probes: !p.flags.has("no-probes"),
      });
      if (out !== undefined) {
        // Signed with ROLLSAFE_SIGNING_KEY[_FILE], else the development key.
        const signed = await sign(checked, {
          signer: await loadSigner(),
          now: new Date(),
          gitRevision: Deno.env.get("ROLLSAFE_GIT_REVISION"),
        });
        await writeOutput(out, signed.cose, "--out");
        if (out !== "-") console.error(`rollsafe: signed verdict written to ${out}`);
      }
      const { snapshot, validation: v } = checked;
      // With the verdict on stdout, the report goes to stderr.
      const print = out === "-" ? console.error : console.log;
      if (p.flags.has("json")) {
        print(JSON.stringify(renderJson(snapshot, v.targets, v.source), null, 2));
      } else {
        print(renderText(snapshot, v.targets, v.source, p.flags.has("all"), v.sourceHow));
      }
      return Math.max(EXIT.OK, ...v.targets.map(exitFor));
    } catch (e) {
      if (e instanceof AppError) {
        // The CLI's own wording for the one option the service spells differently (source=).
        const detail = e.type === "source-required"
          ? `--out: ${e.detail.replace("name the source", "give --source")}`
          : e.detail;
        console.error(`rollsafe: ${detail}`);
        return EXIT.BAD_INPUT;
      }
      return reportInputError(e);
    }
  },
};
