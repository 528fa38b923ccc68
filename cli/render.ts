/**
 * How `rollsafe check` prints its assessments: problems only by default (`--all` lists every
 * operation), operations that fail or are ignored for the same rule grouped into one line with a
 * count (the twelve CCSIDR levels a kernel refuses for one reason are one line, not twelve), and a
 * table across the targets at the end. The JSON form is the same data, ungrouped.
 */
import type { Snapshot } from "../snapshots/model.ts";
import type { OperationResult } from "../emulator/findings.ts";
import type { Assessment } from "../emulator/validate.ts";
import { judgeAssessment } from "../app/mod.ts";
import { exitCode } from "../verdict/mod.ts";

const COMPONENT_TITLE: Record<OperationResult["component"], string> = {
  vm: "VM",
  vcpu: "vCPU",
  timer: "timers",
  firmware: "firmware",
  vgic: "vGIC",
  its: "ITS",
};

/** The judge's label for a target (verdict/judge.ts STATUS_RULES). */
const verdictText = (a: Assessment) => judgeAssessment(a).label;

export function tally(ops: readonly OperationResult[]) {
  return {
    ok: ops.filter((o) => o.outcome === "ok").length,
    ignored: ops.filter((o) => o.outcome === "ignored").length,
    failed: ops.filter((o) => o.outcome === "failed").length,
  };
}

/** Exit code of one assessment: the judge's (verdict/judge.ts), as for the signed verdict. */
export function exitFor(a: Assessment): number {
  return exitCode(judgeAssessment(a).status);
}

const OUTCOME = { ok: "ok     ", ignored: "IGNORED", failed: "FAILED " } as const;
const INDENT = " ".repeat(17);

function what(o: OperationResult): string {
  return o.id ? `${o.id} ${o.name}` : o.attr ? `${o.name} [${o.attr}]` : `${o.op} ${o.name}`;
}

function renderOp(o: OperationResult, vcpu = false): string {
  const head = `${OUTCOME[o.outcome]} ${o.errno ? o.errno.padEnd(6) : "      "} ${what(o)}${
    o.value !== undefined ? ` = ${o.value}` : ""
  }${vcpu && o.vcpu !== undefined ? ` (vCPU ${o.vcpu})` : ""}`;
  const src = o.source && o.outcome !== "ok"
    ? `\n${INDENT}[${o.source.cite}; ${o.source.confidence}]`
    : "";
  return `  ${head}\n${INDENT}${o.reason}${src}`;
}

/**
 * The rule an operation met, without what differs per register: numbers (values, CSSELR, vCPU)
 * and the register's own name are masked, so a rule applied to many registers is one key.
 */
function ruleKey(o: OperationResult): string {
  const reason = o.reason.split(o.name).join("<reg>").replace(/\b0x[0-9a-f]+\b|\b\d+\b/gi, "#");
  return [o.outcome, o.errno ?? "", o.component, reason, o.source?.cite ?? ""].join("\u0000");
}

/** "0-3, 5" from [0, 1, 2, 3, 5]. */
export function ranges(ns: readonly number[]): string {
  const s = [...new Set(ns)].sort((a, b) => a - b);
  const out: string[] = [];
  for (let i = 0; i < s.length; i++) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    out.push(j > i ? `${s[i]}-${s[j]}` : `${s[i]}`);
    i = j;
  }
  return out.join(", ");
}

export interface OpGroup {
  /** The first operation; its reason and citation stand for the group. */
  first: OperationResult;
  ops: OperationResult[];
}

/** Problem operations grouped by the rule they met, in the order their first member appears. */
export function groupProblems(ops: readonly OperationResult[]): OpGroup[] {
  const groups = new Map<string, OpGroup>();
  for (const o of ops) {
    if (o.outcome === "ok") continue;
    const k = ruleKey(o);
    const g = groups.get(k);
    if (g) g.ops.push(o);
    else groups.set(k, { first: o, ops: [o] });
  }
  return [...groups.values()];
}

const NAMES_SHOWN = 8;

function renderGroup(g: OpGroup): string {
  if (g.ops.length === 1) {
    const o = g.first;
    return renderOp(o, true);
  }
  const o = g.first;
  const names = [...new Set(g.ops.map((x) => x.name))];
  const vcpus = g.ops.flatMap((x) => x.vcpu === undefined ? [] : [x.vcpu]);
  const shown = names.slice(0, NAMES_SHOWN).join(", ") +
    (names.length > NAMES_SHOWN ? `, … (${names.length - NAMES_SHOWN} more)` : "");
  const on = vcpus.length ? ` on vCPU ${ranges(vcpus)}` : "";
  const src = o.source ? `\n${INDENT}[${o.source.cite}; ${o.source.confidence}]` : "";
  return `  ${OUTCOME[o.outcome]} ${
    o.errno ? o.errno.padEnd(6) : "      "
  } ×${g.ops.length}${on}: ${shown}\n${INDENT}e.g. ${what(o)}${
    o.value !== undefined ? ` = ${o.value}` : ""
  }: ${o.reason}${src}`;
}

/**
 * A stream QEMU saved under TCG holds the state of QEMU's emulated CPU (its own register list and
 * ID values), not of a KVM vCPU: restoring it under KVM is a different question from restoring a
 * KVM guest, and its failures say little about a rollback. The importer records the accelerator
 * (snapshots/import/qemu/mod.ts, `qemu_accel`).
 */
const TCG_NOTE =
  "note: this QEMU stream was saved under TCG (emulation), not KVM: it holds the state " +
  "of QEMU's emulated CPU, so what fails here says little about restoring a KVM guest; check a " +
  "stream saved on a KVM host before a rollback decision";

function header(s: Snapshot): string[] {
  const src = s.source;
  const tcg = src?.extra.get("qemu_accel") === "tcg" ? [TCG_NOTE] : [];
  return [
    `snapshot: ${s.vcpus.length} vCPU(s)${
      s.vm.vgic ? `, vGIC ${s.vm.vgic.model}` : ", no vGIC state"
    }${src?.kernel ? `, captured on kernel ${src.kernel}` : ""}${src?.vmm ? ` by ${src.vmm}` : ""}`,
    ...tcg,
  ];
}

function targetHead(a: Assessment): string[] {
  const t = tally(a.restore.operations);
  return [
    "",
    `target ${a.target.id}: ${
      verdictText(a)
    } (${t.failed} failed, ${t.ignored} ignored, ${t.ok} ok)`,
    `  profile ${a.target.profile.id}: ${a.target.profile.title} [sha256 ${
      a.target.profile.digest.slice(0, 16)
    }…]`,
    `  host    ${a.target.host.id}: ${a.target.host.title} [sha256 ${
      a.target.host.digest.slice(0, 16)
    }…]`,
    `  VMM     ${a.restore.vmm} (${a.restore.vmmReason})`,
  ];
}

/** Every operation, in restore order, under its component (the `--all` view). */
function allOperations(a: Assessment): string[] {
  const lines: string[] = [];
  const groups = new Map<string, OperationResult[]>();
  for (const o of a.restore.operations) {
    const key = o.vcpu !== undefined &&
        (o.component === "vcpu" || o.component === "timer" || o.component === "firmware")
      ? `vCPU ${o.vcpu} ${o.component === "vcpu" ? "registers" : COMPONENT_TITLE[o.component]}`
      : COMPONENT_TITLE[o.component];
    groups.set(key, [...(groups.get(key) ?? []), o]);
  }
  for (const [g, ops] of groups) {
    const tt = tally(ops);
    lines.push(`\n  ${g} (${tt.failed} failed, ${tt.ignored} ignored, ${tt.ok} ok)`);
    for (const o of ops) lines.push(renderOp(o));
  }
  return lines;
}

function findings(a: Assessment, all: boolean): string[] {
  const lines: string[] = [];
  const drift = all ? a.drift : a.drift.filter((d) => d.severity !== "info");
  if (drift.length) lines.push("", "  what the guest would see change (source → target):");
  // Findings with the same severity and explanation (every cache level's CCSIDR) share a line.
  const same = new Map<string, typeof drift>();
  for (const d of drift) {
    const k = `${d.severity}\u0000${d.explanation}`;
    same.set(k, [...(same.get(k) ?? []), d]);
  }
  for (const ds of same.values()) {
    const changes = ds.map((d) =>
      `${d.what}${d.vcpu !== undefined ? ` (vCPU ${d.vcpu})` : ""}: ${d.source} → ${d.target}`
    );
    lines.push(
      `  ${ds[0].severity.padEnd(8)} ${changes.join("; ")}\n${INDENT}${ds[0].explanation}`,
    );
  }
  const hidden = a.drift.length - drift.length;
  if (hidden) lines.push(`  (${hidden} info-level drift finding(s) not shown; --all lists them)`);
  const rel = all ? a.reliance : a.reliance.filter((r) => r.severity !== "info");
  if (rel.length) lines.push("", "  guest state that relies on what changes:");
  for (const x of rel) lines.push(`  ${x.severity.padEnd(8)} ${x.kind}: ${x.explanation}`);
  for (const n of a.notes) lines.push(`  note: ${n}`);
  return lines;
}

/** The table at the end: one row per target. */
export function summaryTable(as: readonly Assessment[]): string[] {
  const rows = as.map((a) => {
    const t = tally(a.restore.operations);
    const count = (sev: string) =>
      a.drift.filter((d) => d.severity === sev).length +
      a.reliance.filter((r) => r.severity === sev).length;
    return [
      a.target.id,
      verdictText(a),
      String(t.failed),
      String(t.ignored),
      String(count("breaking")),
      String(count("notable")),
    ];
  });
  const head = ["target", "verdict", "failed", "ignored", "breaking", "notable"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) =>
    r.map((c, i) => i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i])).join("  ").trimEnd();
  return ["", "summary", fmt(head), fmt(widths.map((w) => "-".repeat(w))), ...rows.map(fmt)];
}

export function renderText(
  s: Snapshot,
  as: Assessment[],
  source: Assessment | undefined,
  all: boolean,
  sourceHow?: string,
): string {
  const lines = header(s);
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
    lines.push(...targetHead(a));
    if (all) {
      lines.push(...allOperations(a));
    } else {
      const groups = groupProblems(a.restore.operations);
      if (groups.length) {
        const n = groups.reduce((k, g) => k + g.ops.length, 0);
        lines.push(
          "",
          `  operations that fail or are ignored (${n}, grouped by rule into ${groups.length}; --all lists every operation):`,
        );
        for (const g of groups) lines.push(renderGroup(g));
      }
    }
    lines.push(...findings(a, all));
  }
  lines.push(...summaryTable(as));
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
