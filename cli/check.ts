/**
 * `rollsafe check <snapshot> --target <t> [--target <t2> …] [--vmm <flavour>] [--source <t>]
 *  [--profile-file <f>] [--host-file <f>] [--all] [--json] [--out verdict.cose]`
 *
 * Load the snapshot → resolve targets → `validate` (emulator/validate.ts: the restore model, then
 * guest probes on the source and each target for drift and reliance) → render (cli/render.ts;
 * the options are parsed by cli/args.ts). Exit codes: 0 restorable everywhere
 * with nothing above info, 1 restorable with warnings (ignored writes) or drift, 2 not
 * restorable on at least one target, 3 bad input or unknown target.
 */
import { EXIT } from "./exit.ts";
import { type CommandSpec, one, type ParsedArgs, UsageError } from "./args.ts";
import { reportInputError } from "./import.ts";
import { readInput, writeOutput } from "./io.ts";
import { exitFor, renderJson, renderText } from "./render.ts";
import { importSnapshot } from "../snapshots/import/mod.ts";
import {
  addUserHost,
  addUserProfile,
  emptyContext,
  ProfileError,
  resolveTarget,
  type Target,
  type TargetContext,
} from "../emulator/target.ts";
import { FLAVOURS, type VmmFlavour } from "../emulator/kvm/mod.ts";
import { type Assessment, targetRefs, validate, verdictTargets } from "../emulator/validate.ts";
import { decodeBase64 } from "../emulator/probes/base64.ts";
import { PROBE_IMAGE_BASE64 } from "../emulator/probes/bin/probe_image.ts";
import {
  buildVerdict,
  engineIdentity,
  loadSigner,
  signVerdict,
  snapshotRef,
} from "../verdict/mod.ts";

export type { Assessment };
export { exitFor, renderJson, renderText };

/** Builds, signs (ROLLSAFE_SIGNING_KEY[_FILE], else the development key) and writes the verdict. */
async function writeVerdict(path: string, bytes: Uint8Array, source: Target, as: Assessment[]) {
  let wasm: Uint8Array;
  try {
    wasm = await Deno.readFile(new URL("../wasm/pkg/rollsafe_emu.wasm", import.meta.url));
  } catch (e) {
    throw new UsageError(`--out: cannot read the engine's wasm module (${(e as Error).message})`);
  }
  const verdict = buildVerdict({
    snapshot: await snapshotRef(bytes),
    source: targetRefs(source),
    vmm: as[0]?.restore.vmm ?? "generic",
    // The same identity the service binds (functions/engine.ts): the wasm and the probe image.
    engine: await engineIdentity({
      wasm,
      probes: { probe: decodeBase64(PROBE_IMAGE_BASE64) },
      gitRevision: Deno.env.get("ROLLSAFE_GIT_REVISION"),
    }),
    targets: verdictTargets(as),
  }, { now: new Date() });
  const cose = await signVerdict(verdict, await loadSigner());
  await writeOutput(path, cose, "--out");
}

function loadUserData(ctx: TargetContext, p: ParsedArgs): Promise<void> {
  const read = async (arg: string) =>
    arg.trimStart().startsWith("{") ? arg : new TextDecoder().decode(await readInput(arg, "file"));
  return (async () => {
    for (const f of p.values.get("profile-file") ?? []) {
      addUserProfile(
        ctx,
        await read(f),
        f.trimStart().startsWith("{") ? "--profile-file (inline)" : f,
      );
    }
    for (const f of p.values.get("host-file") ?? []) {
      addUserHost(ctx, await read(f), f.trimStart().startsWith("{") ? "--host-file (inline)" : f);
    }
  })();
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
  notes:
    "Exit codes: 0 restorable everywhere with nothing above info, 1 restorable with warnings,\n2 not restorable on at least one target, 3 bad input or unknown target, 4 internal error.",
  run: async (p) => {
    try {
      const [input] = p.positionals;
      const targetSpecs = p.values.get("target") ?? [];
      const vmm = one(p, "vmm");
      const ctx = emptyContext();
      await loadUserData(ctx, p);
      const targets = targetSpecs.map((t) => resolveTarget(t, ctx));
      const bytes = await readInput(input, "snapshot");
      const snapshot = await importSnapshot(bytes);
      const sourceSpec = one(p, "source");
      const v = await validate(snapshot, targets, {
        vmm: vmm as VmmFlavour | undefined,
        source: sourceSpec === undefined ? undefined : resolveTarget(sourceSpec, ctx),
        ctx,
        probes: !p.flags.has("no-probes"),
      });
      const results = v.targets;
      const source = v.source;
      const out = one(p, "out");
      if (out !== undefined) {
        if (!source) {
          throw new UsageError(
            "--out: the signed verdict binds the source target; the snapshot neither names nor matches one, so give --source <profile@host>",
          );
        }
        await writeVerdict(out, bytes, source.target, results);
        if (out !== "-") console.error(`rollsafe: signed verdict written to ${out}`);
      }
      // With the verdict on stdout, the report goes to stderr.
      const print = out === "-" ? console.error : console.log;
      if (p.flags.has("json")) {
        print(JSON.stringify(renderJson(snapshot, results, source), null, 2));
      } else {
        print(renderText(snapshot, results, source, p.flags.has("all"), v.sourceHow));
      }
      return Math.max(EXIT.OK, ...results.map(exitFor));
    } catch (e) {
      if (e instanceof ProfileError) {
        console.error(`rollsafe: ${e.message}`);
        return EXIT.BAD_INPUT;
      }
      return reportInputError(e);
    }
  },
};
