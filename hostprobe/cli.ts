/**
 * `deno task oracle <command>`: the real-kernel oracle from the command line.
 *
 *   fixtures [<kernel>…] [--gicv2|--gicv3]
 *                                   capture each kernel twice, write tests/fixtures/oracle/
 *   capture <kernel> [--out FILE]   one capture, as a keyed document (JSON)
 *   replay <kernel> <plan-file>…    replay restore plans (hostprobe/PLAN.md), print each result
 *   predict <kernel> <snapshot>… [--vmm F] [--gicv2]
 *                                   rollsafe's predicted restore vs the real kernel, operation by
 *                                   operation; prints every disagreement, exit 1 if any
 *   profile <capture> --id <id> --base <profile> [--host-id <id>] [--out-dir <dir>]
 *                                   a fleet host's custom profile and host file from its
 *                                   `hostprobe capture` output (or a fixture), see fleet.ts
 *   vmm <case|prefix>… | --all | --list
 *                                   real QEMU/KVM saves and restores across the kernels
 *                                   (hostprobe/vmm/), results in tests/fixtures/vmm/
 *
 * Kernels: debian-6.1, debian-6.12 (resolved through Debian's metapackages, cached in
 * .oracle-cache/).
 */
import { captureToDocument } from "./capture.ts";
import { writeFixtures } from "./fixtures.ts";
import { bootAndRun, type KernelName, KERNELS, OracleError } from "./oracle.ts";
import { checkPredictions } from "./predict.ts";
import { captureToTarget } from "./fleet.ts";
import { type Doc } from "./capture.ts";
import { parseCaptureOutput } from "./oracle.ts";
import { flavour, FLAVOURS, type VmmFlavour } from "../emulator/kvm/flavours.ts";
import { importSnapshot } from "../snapshots/import/mod.ts";
import { vmmMain } from "./vmm/cli.ts";

/** A capture: hostprobe's JSON lines, or a fixture / `oracle capture` document. */
async function readCaptureFile(path: string): Promise<Doc> {
  const text = await Deno.readTextFile(path);
  const first = text.trimStart();
  if (first.startsWith('{"kind"')) return captureToDocument(parseCaptureOutput(text));
  const doc = JSON.parse(text) as { capture?: Doc };
  if (!doc.capture) {
    throw new OracleError(`${path}: neither capture JSON lines nor a document with "capture"`);
  }
  return doc.capture;
}

function kernelArg(k: string | undefined): KernelName {
  if (k === undefined || !(k in KERNELS)) {
    throw new OracleError(`kernel must be one of ${Object.keys(KERNELS).join(", ")} (got ${k})`);
  }
  return k as KernelName;
}

const USAGE = `usage: deno task oracle fixtures [<kernel>…] [--gicv2|--gicv3]
       deno task oracle capture <kernel> [--out FILE]
       deno task oracle replay <kernel> <plan-file>…
       deno task oracle predict <kernel> <snapshot-file>… [--vmm <flavour>] [--gicv2]
       deno task oracle profile <capture> --id <id> --base <profile> [--host-id <id>] [--out-dir D]
       deno task oracle vmm <case|prefix>… | --all | --list
kernels: ${Object.keys(KERNELS).join(", ")}`;

export async function main(args: string[]): Promise<number> {
  const [cmd, ...rest] = args;
  switch (cmd) {
    case "fixtures": {
      // all known kernels by default (the pinned older builds included), on the GICv3 host and,
      // for the metapackage kernels, on the GICv2 host too; --gicv2 / --gicv3 picks one
      const gics = rest.includes("--gicv2") ? [2] : rest.includes("--gicv3") ? [3] : [3, 2];
      const names = rest.filter((a) => !a.startsWith("--"));
      const kernels = names.length ? names.map(kernelArg) : (Object.keys(KERNELS) as KernelName[]);
      for (const k of kernels) {
        for (const gic of gics as (2 | 3)[]) {
          if (gic === 2 && KERNELS[k].version && !names.length) continue;
          const written = await writeFixtures(k, gic);
          console.log(`${k} (GICv${gic} host): wrote ${written.join(", ")}`);
        }
      }
      return 0;
    }
    case "capture": {
      const kernel = kernelArg(rest[0]);
      const out = rest[1] === "--out" ? rest[2] : undefined;
      const r = await bootAndRun({ kernel, captures: 1 });
      const doc = {
        kernel: { ...r.kernel, image: undefined, release: r.release },
        seconds: r.seconds,
        capture: captureToDocument(r.captures[0]),
      };
      const text = JSON.stringify(doc, null, 2) + "\n";
      if (out) await Deno.writeTextFile(out, text);
      else console.log(text);
      return 0;
    }
    case "replay": {
      const kernel = kernelArg(rest[0]);
      if (rest.length < 2) throw new OracleError("replay needs at least one plan file");
      const plans = await Promise.all(
        rest.slice(1).map(async (path, i) => ({
          name: `plan${i}`,
          path,
          text: await Deno.readTextFile(path),
        })),
      );
      const r = await bootAndRun({ kernel, captures: 0, plans });
      console.error(`${r.kernel.package} ${r.kernel.version} (${r.release}): ${r.seconds} s`);
      for (const p of plans) {
        for (const res of r.replays[p.name]) console.log(JSON.stringify({ plan: p.path, ...res }));
      }
      return 0;
    }
    case "predict": {
      // predict <kernel> <snapshot-file>… [--vmm <flavour>] [--gicv2]
      const kernel = kernelArg(rest[0]);
      const vmmAt = rest.indexOf("--vmm");
      const vmm = vmmAt >= 0 ? rest[vmmAt + 1] : undefined;
      if (vmmAt >= 0 && !flavour(vmm ?? "")) {
        throw new OracleError(`--vmm ${vmm}: one of ${FLAVOURS.map((f) => f.id).join(", ")}`);
      }
      const files = rest.slice(1).filter((a, i) =>
        !a.startsWith("--") && !(vmmAt >= 0 && i + 1 === vmmAt + 1)
      );
      if (!files.length) throw new OracleError("predict needs at least one snapshot file");
      const cases = await Promise.all(files.map(async (path, i) => ({
        name: `snapshot${i}`,
        snapshot: await importSnapshot(await Deno.readFile(path)),
        vmm: vmm as VmmFlavour | undefined,
      })));
      const { run, checks } = await checkPredictions({
        kernel,
        gic: rest.includes("--gicv2") ? 2 : 3,
        cases,
      });
      console.error(
        `${run.kernel.package} ${run.kernel.version} (${run.release}): ${run.seconds} s`,
      );
      let bad = 0;
      checks.forEach((c, i) => {
        console.log(
          `${files[i]} on ${c.target}: ${c.compared} operations compared, ` +
            `${c.disagreements.length} disagree`,
        );
        for (const d of c.disagreements) console.log(`  ${d}`);
        bad += c.disagreements.length;
      });
      return bad ? 1 : 0;
    }
    case "profile": {
      // profile <capture> --id <profile-id> --base <profile> [--host-id <id>] [--out-dir <dir>]
      const file = rest[0];
      const opt = (name: string) => {
        const i = rest.indexOf(name);
        return i >= 0 ? rest[i + 1] : undefined;
      };
      const id = opt("--id");
      const base = opt("--base");
      if (!file || !id || !base) {
        throw new OracleError("profile needs <capture> --id <id> --base <profile>");
      }
      const doc = await readCaptureFile(file);
      const t = captureToTarget(doc, {
        profileId: id,
        hostId: opt("--host-id") ?? `${id}-host`,
        base,
        evidence: file.split("/").pop()!,
      });
      const dir = opt("--out-dir");
      const outputs: [string, unknown][] = [
        [`${t.profileFile.id}.profile.json`, t.profileFile],
        [`${t.hostFile.id}.host.json`, t.hostFile],
      ];
      for (const [name, value] of outputs) {
        const text = JSON.stringify(value, null, 2) + "\n";
        if (dir) await Deno.writeTextFile(`${dir}/${name}`, text);
        else console.log(text);
      }
      console.error(
        `${t.profile.id} (base ${base}): ${t.profileFile.differences?.length ?? 0} differences; ` +
          `host ${t.host.id}: ${Object.keys(t.host.facts).length} facts`,
      );
      return 0;
    }
    case "vmm":
      return await vmmMain(rest);
    default:
      console.error(USAGE);
      return 2;
  }
}

if (import.meta.main) {
  try {
    Deno.exit(await main(Deno.args));
  } catch (e) {
    if (e instanceof OracleError) {
      console.error(`oracle: ${e.message}`);
      Deno.exit(1);
    }
    throw e;
  }
}
