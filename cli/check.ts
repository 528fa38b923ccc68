/**
 * `rollsafe check <snapshot> --target <t> [--target <t2> …] [--vmm <flavour>] [--source <t>]
 *  [--profile-file <f>] [--host-file <f>] [--json] [--problems] [--out verdict.cose]`
 *
 * Parse arguments → load the snapshot → resolve targets → `validate` (emulator/validate.ts: the
 * restore model, then guest probes on the source and each target for drift and reliance) → render. Exit codes: 0 restorable everywhere
 * with nothing above info, 1 restorable with warnings (ignored writes) or drift, 2 not
 * restorable on at least one target, 3 bad input or unknown target.
 */
import { type Command, EXIT } from "./exit.ts";
import { one, parseArgs, UsageError } from "./args.ts";
import { readInput, reportInputError } from "./import.ts";
import { importSnapshot } from "../snapshots/import/mod.ts";
import type { Snapshot } from "../snapshots/model.ts";
import type { OperationResult } from "../emulator/findings.ts";
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

const COMPONENT_TITLE: Record<OperationResult["component"], string> = {
  vm: "VM",
  vcpu: "vCPU",
  timer: "timers",
  firmware: "firmware",
  vgic: "vGIC",
  its: "ITS",
};

function tally(ops: OperationResult[]) {
  return {
    ok: ops.filter((o) => o.outcome === "ok").length,
    ignored: ops.filter((o) => o.outcome === "ignored").length,
    failed: ops.filter((o) => o.outcome === "failed").length,
  };
}

/** Exit code of one assessment. */
export function exitFor(a: Assessment): number {
  if (!a.restore.restorable) return EXIT.NOT_RESTORABLE;
  const warn = a.restore.operations.some((o) => o.outcome === "ignored") ||
    a.drift.some((d) => d.severity !== "info") || a.reliance.some((r) => r.severity !== "info");
  return warn ? EXIT.WARN : EXIT.OK;
}

function renderOp(o: OperationResult): string {
  const what = o.id ? `${o.id} ${o.name}` : o.attr ? `${o.name} [${o.attr}]` : `${o.op} ${o.name}`;
  const head = `${
    o.outcome === "ok" ? "ok     " : o.outcome === "ignored" ? "IGNORED" : "FAILED "
  } ${o.errno ? o.errno.padEnd(6) : "      "} ${what}${
    o.value !== undefined ? ` = ${o.value}` : ""
  }`;
  const src = o.source ? `\n                 [${o.source.cite}; ${o.source.confidence}]` : "";
  return `  ${head}\n                 ${o.reason}${o.outcome === "ok" ? "" : src}`;
}

export function renderText(
  s: Snapshot,
  as: Assessment[],
  source: Assessment | undefined,
  problemsOnly: boolean,
  sourceHow?: string,
): string {
  const lines: string[] = [];
  const src = s.source;
  lines.push(
    `snapshot: ${s.vcpus.length} vCPU(s)${
      s.vm.vgic ? `, vGIC ${s.vm.vgic.model}` : ", no vGIC state"
    }${src?.kernel ? `, captured on kernel ${src.kernel}` : ""}${src?.vmm ? ` by ${src.vmm}` : ""}`,
  );
  if (source) {
    const t = tally(source.restore.operations);
    lines.push(
      `source ${source.target.id}: ${
        source.restore.restorable ? "restorable" : "NOT restorable"
      } on its own target (${t.failed} failed, ${t.ignored} ignored)${
        sourceHow ? `; ${sourceHow}` : ""
      }`,
    );
  }
  for (const a of as) {
    const r = a.restore;
    const t = tally(r.operations);
    lines.push("");
    lines.push(`target ${a.target.id}`);
    lines.push(
      `  profile ${a.target.profile.id}: ${a.target.profile.title} [sha256 ${
        a.target.profile.digest.slice(0, 16)
      }…]`,
    );
    lines.push(
      `  host    ${a.target.host.id}: ${a.target.host.title} [sha256 ${
        a.target.host.digest.slice(0, 16)
      }…]`,
    );
    lines.push(`  VMM     ${r.vmm} (${r.vmmReason})`);
    const code = exitFor(a);
    lines.push(
      `  verdict ${
        code === EXIT.NOT_RESTORABLE
          ? "NOT RESTORABLE"
          : code === EXIT.WARN
          ? "restorable with warnings"
          : "restorable"
      }: ${t.failed} failed, ${t.ignored} ignored, ${t.ok} ok`,
    );
    const groups = new Map<string, OperationResult[]>();
    for (const o of r.operations) {
      const key = o.vcpu !== undefined &&
          (o.component === "vcpu" || o.component === "timer" || o.component === "firmware")
        ? `vCPU ${o.vcpu} ${o.component === "vcpu" ? "registers" : COMPONENT_TITLE[o.component]}`
        : COMPONENT_TITLE[o.component];
      groups.set(key, [...(groups.get(key) ?? []), o]);
    }
    for (const [g, ops] of groups) {
      const shown = problemsOnly ? ops.filter((o) => o.outcome !== "ok") : ops;
      const tt = tally(ops);
      lines.push(`\n  ${g} (${tt.failed} failed, ${tt.ignored} ignored, ${tt.ok} ok)`);
      for (const o of shown) lines.push(renderOp(o));
    }
    for (const d of a.drift) {
      lines.push(`  drift ${d.severity}: ${d.what}: ${d.source} → ${d.target}: ${d.explanation}`);
    }
    for (const x of a.reliance) lines.push(`  reliance ${x.severity}: ${x.kind}: ${x.explanation}`);
    for (const n of a.notes) lines.push(`  note: ${n}`);
  }
  return lines.join("\n");
}

export function renderJson(s: Snapshot, as: Assessment[], source: Assessment | undefined) {
  const one = (a: Assessment) => ({
    target: a.target.id,
    profile: {
      id: a.target.profile.id,
      digest: a.target.profile.digest,
      lineage: a.target.profile.lineage,
    },
    host: { id: a.target.host.id, digest: a.target.host.digest },
    vmm: a.restore.vmm,
    vmmReason: a.restore.vmmReason,
    restorable: a.restore.restorable,
    exit: exitFor(a),
    summary: tally(a.restore.operations),
    operations: a.restore.operations,
    drift: a.drift,
    reliance: a.reliance,
    notes: a.notes,
  });
  return {
    snapshot: {
      vcpus: s.vcpus.length,
      vgic: s.vm.vgic?.model ?? null,
      kernel: s.source?.kernel ?? null,
      vmm: s.source?.vmm ?? null,
    },
    source: source ? one(source) : null,
    targets: as.map(one),
  };
}

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
  await Deno.writeFile(path, cose);
}

function loadUserData(ctx: TargetContext, p: ReturnType<typeof parseArgs>): Promise<void> {
  const read = async (arg: string) =>
    arg.trimStart().startsWith("{") ? arg : new TextDecoder().decode(await readInput(arg));
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

export const checkCommand: Command = {
  summary:
    "predict whether a snapshot restores on target kernels: check <snapshot> --target <profile@host> … [--vmm v] [--source t] [--json]",
  run: async (args) => {
    try {
      const p = parseArgs(args, {
        values: ["target", "vmm", "source", "profile-file", "host-file", "out"],
        flags: ["json", "problems", "no-probes"],
        aliases: { t: "target" },
      });
      const [input] = p.positionals;
      const targetSpecs = p.values.get("target") ?? [];
      if (!input || p.positionals.length > 1 || targetSpecs.length === 0) {
        throw new UsageError(
          "usage: rollsafe check <snapshot> --target <profile@host> [--target …] [--vmm generic|qemu|firecracker|cloud-hypervisor] [--source <profile@host>] [--profile-file f] [--host-file f] [--json] [--problems] [--no-probes] [--out verdict.cose]",
        );
      }
      const vmm = one(p, "vmm");
      if (vmm !== undefined && !FLAVOURS.some((f) => f.id === vmm)) {
        throw new UsageError(
          `unknown VMM flavour "${vmm}" (known: ${FLAVOURS.map((f) => f.id).join(", ")})`,
        );
      }
      const ctx = emptyContext();
      await loadUserData(ctx, p);
      const targets = targetSpecs.map((t) => resolveTarget(t, ctx));
      const bytes = await readInput(input);
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
        console.error(`rollsafe: signed verdict written to ${out}`);
      }
      if (p.flags.has("json")) {
        console.log(JSON.stringify(renderJson(snapshot, results, source), null, 2));
      } else {console.log(
          renderText(snapshot, results, source, p.flags.has("problems"), v.sourceHow),
        );}
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
