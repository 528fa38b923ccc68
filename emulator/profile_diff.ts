/**
 * The guest-visible and restore-relevant differences between two targets, each explained by the
 * profile or host facts that differ (with their citations):
 *
 * - facts: every profile fact whose value differs (restore rules, vGIC, firmware, timers …);
 * - registers: for a vCPU configuration (default: what Firecracker gives, PSCI 0.2 only), the
 *   predicted KVM_GET_REG_LIST entries present on one side only, and default values that differ.
 *
 * A register difference is explained when at least one fact it is derived from differs; the
 * rest are counted as unexplained and listed, never hidden.
 */
import { hex } from "../snapshots/kvm/ids.ts";
import { regName } from "../snapshots/kvm/names.ts";
import { VCPU_FEATURE } from "../snapshots/model.ts";
import type { FactSource } from "./findings.ts";
import { canonicalJson } from "./profiles/digest.ts";
import type { Fact, Json, Target } from "./profiles/types.ts";
import { type DefaultValue, targetDefaultsDetailed } from "./kvm/defaults.ts";
import { type Listed, regInventory } from "./kvm/inventory.ts";

export interface Cause {
  /** Fact key; host facts are "host:<key>". */
  fact: string;
  a: string;
  b: string;
  /** The citation of the side that changes the behaviour (b's when both exist). */
  source: FactSource;
  note?: string;
}

export interface DiffRow {
  kind: "fact" | "only-in-a" | "only-in-b" | "value";
  /** Fact key, or register name. */
  what: string;
  /** KVM ONE_REG id for register rows. */
  id?: string;
  a?: string;
  b?: string;
  causes: Cause[];
  explained: boolean;
}

export interface TargetDiff {
  a: string;
  b: string;
  features: number[];
  rows: DiffRow[];
  unexplained: number;
}

const show = (
  v: Json | undefined,
) => (v === undefined ? "(absent)" : typeof v === "string" ? v : canonicalJson(v));

function factOf(t: Target, key: string): Fact | undefined {
  return key.startsWith("host:") ? t.host.facts[key.slice(5)] : t.profile.facts[key];
}

function cause(a: Target, b: Target, key: string): Cause | undefined {
  const fa = factOf(a, key);
  const fb = factOf(b, key);
  const va = fa ? canonicalJson(fa.value) : undefined;
  const vb = fb ? canonicalJson(fb.value) : undefined;
  if (va === vb) return undefined;
  const f = fb ?? fa!;
  return { fact: key, a: show(fa?.value), b: show(fb?.value), source: f.source, note: f.note };
}

/** Facts a register's default depends on, widened to every idshow row of an ID register. */
function factsBehind(a: Target, b: Target, d: DefaultValue | undefined, reg: string): string[] {
  const keys = new Set(d?.facts ?? []);
  if ([...keys].some((k) => k === `host:idreg.${reg}`)) {
    for (const t of [a, b]) {
      for (const k of Object.keys(t.profile.facts)) if (k.startsWith(`idshow.${reg}.`)) keys.add(k);
    }
  }
  return [...keys];
}

function listingFacts(l: Listed | undefined): string[] {
  if (!l) return [];
  return l.group === "demux-ccsidr" ? ["cache.demux", "host:cache.clidr"] : [`regs.${l.group}`];
}

export function diffTargets(
  a: Target,
  b: Target,
  features: number[] = [VCPU_FEATURE.PSCI_0_2],
): TargetDiff {
  const rows: DiffRow[] = [];
  const keys = [...new Set([...Object.keys(a.profile.facts), ...Object.keys(b.profile.facts)])]
    .sort();
  for (const k of keys) {
    const c = cause(a, b, k);
    if (c) rows.push({ kind: "fact", what: k, a: c.a, b: c.b, causes: [c], explained: true });
  }
  const hostKeys = [...new Set([...Object.keys(a.host.facts), ...Object.keys(b.host.facts)])]
    .sort();
  for (const k of hostKeys) {
    const c = cause(a, b, `host:${k}`);
    if (c) {
      rows.push({ kind: "fact", what: `host:${k}`, a: c.a, b: c.b, causes: [c], explained: true });
    }
  }
  const ia = regInventory(a, features);
  const ib = regInventory(b, features);
  const da = targetDefaultsDetailed(a, features);
  const db = targetDefaultsDetailed(b, features);
  const ids = [...new Set([...ia.keys(), ...ib.keys()])].sort((
    x,
    y,
  ) => (x < y ? -1 : x > y ? 1 : 0));
  for (const id of ids) {
    const name = regName(id);
    const inA = ia.has(id);
    const inB = ib.has(id);
    if (inA !== inB) {
      const ks = [...new Set([...listingFacts(ia.get(id)), ...listingFacts(ib.get(id))])];
      const causes = ks.map((k) => cause(a, b, k)).filter((c): c is Cause => c !== undefined);
      rows.push({
        kind: inA ? "only-in-a" : "only-in-b",
        what: name,
        id: hex(id),
        causes,
        explained: causes.length > 0,
      });
      continue;
    }
    const va = da.get(id);
    const vb = db.get(id);
    if (va?.value === vb?.value) continue;
    const ks = [...new Set([...factsBehind(a, b, va, name), ...factsBehind(a, b, vb, name)])];
    const causes = ks.map((k) => cause(a, b, k)).filter((c): c is Cause => c !== undefined);
    rows.push({
      kind: "value",
      what: name,
      id: hex(id),
      a: va?.value === undefined ? `unknown (${va?.how})` : hex(va.value),
      b: vb?.value === undefined ? `unknown (${vb?.how})` : hex(vb.value),
      causes,
      explained: causes.length > 0,
    });
  }
  return {
    a: a.id,
    b: b.id,
    features,
    rows,
    unexplained: rows.filter((r) => !r.explained).length,
  };
}

export function renderDiff(d: TargetDiff): string {
  const out: string[] = [`diff ${d.a} → ${d.b} (vCPU features [${d.features.join(",")}])`];
  const section = (title: string, rows: DiffRow[]) => {
    if (!rows.length) return;
    out.push(`\n${title} (${rows.length})`);
    for (const r of rows) {
      const head = r.kind === "fact"
        ? `  ${r.what}: ${r.a} → ${r.b}`
        : r.kind === "value"
        ? `  ${r.id} ${r.what}: ${r.a} → ${r.b}`
        : `  ${r.id} ${r.what}: listed only on ${r.kind === "only-in-a" ? d.a : d.b}`;
      out.push(head);
      if (r.kind !== "fact") {
        for (const c of r.causes) out.push(`      because ${c.fact}: ${c.a} → ${c.b}`);
      }
      for (const c of r.causes) {
        out.push(`      [${c.source.cite}; ${c.source.confidence}]${c.note ? ` ${c.note}` : ""}`);
      }
      if (!r.explained) out.push("      UNEXPLAINED: no differing fact accounts for it");
    }
  };
  section("facts", d.rows.filter((r) => r.kind === "fact"));
  section(
    "registers listed on one side",
    d.rows.filter((r) => r.kind === "only-in-a" || r.kind === "only-in-b"),
  );
  section("default values", d.rows.filter((r) => r.kind === "value"));
  out.push(`\nunexplained: ${d.unexplained}`);
  return out.join("\n");
}
