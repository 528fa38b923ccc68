/**
 * `hostprobe capture` JSON lines → one keyed document (what the fixtures in tests/fixtures/oracle/
 * hold), and the comparison of two documents leaf by leaf.
 *
 * Each line kind is one row of RULES: where its fact goes in the document and what the fact is.
 * A kind without a row is an error, so hostprobe and this table cannot drift apart silently.
 */
import type { CaptureLine } from "./oracle.ts";

export type Doc = { [key: string]: Json };
export type Json = string | number | boolean | null | Json[] | Doc;

type Rule = (l: CaptureLine) => [path: string[], value: Json];

const s = (v: unknown): string => String(v);
/** A value when the ioctl worked, else its errno name. */
const valueOr = (l: CaptureLine, key = "value"): Json =>
  l.result === "ok" ? (l[key] as Json) : s(l.result);
/** Every field except the bookkeeping ones. */
const rest = (l: CaptureLine, ...drop: string[]): Doc => {
  const out: Doc = {};
  for (const [k, v] of Object.entries(l)) {
    if (k === "kind" || k === "errno" || drop.includes(k)) continue;
    out[k] = v as Json;
  }
  return out;
};

const RULES: Record<string, Rule> = {
  header: (l) => [["header"], rest(l)],
  cap: (l) => [["caps", s(l.name)], { number: l.number as number, value: l.value as number }],
  vcpu_init: (l) => [["vcpuInit", s(l.set)], s(l.result)],
  reglist: (l) => [["regLists", s(l.set)], { result: s(l.result), count: l.count as number }],
  reg: (l) => [["regs", s(l.set), s(l.id)], valueOr(l)],
  sve_vls: (l) => [["sve", "vls"], valueOr(l)],
  sve_finalize: (l) => [["sve", "finalize"], rest(l)],
  sve_vls_set: (l) => [["sve", "restrictToVq1"], rest(l)],
  writable_masks: (l) => [["writableMasks", "result"], s(l.result)],
  writable_mask: (l) => [["writableMasks", "masks", s(l.id)], s(l.mask)],
  idreg_fields: (l) => [["idregFields", s(l.set), s(l.id)], rest(l, "set", "id")],
  gic_create: (l) => [["gic", `v${l.version}`, "create"], s(l.result)],
  gic_init: (l) => [["gic", `v${l.version}`, "init"], s(l.result)],
  gic_reg: (l) => [["gic", `v${l.version}`, s(l.when), s(l.name)], valueOr(l)],
  iidr_write: (
    l,
  ) => [
    ["iidr", `v${l.version} rev${l.revision} ${l.beforeInit ? "before" : "after"} init`],
    rest(l, "version", "revision", "beforeInit"),
  ],
  igroupr_v2: (l) => [["igrouprV2", `iidrFirst=${l.iidrFirst} rev=${l.revision ?? "-"}`], rest(l)],
  igroupr_v2_lazy: (l) => [["igrouprV2", "iidrFirst=1 rev=2 without CTRL_INIT"], rest(l)],
  fw_default: (l) => [["firmware", "defaults", s(l.set), s(l.name)], valueOr(l)],
  psci_set: (l) => [["firmware", "psciSet", s(l.set), s(l.version)], s(l.result)],
  bmap_set: (l) => [["firmware", "bitmapSet", s(l.id), s(l.value ?? "-")], s(l.result)],
  fw_wa_set: (l) => [["firmware", "workaroundSet", s(l.id), s(l.value)], s(l.result)],
  timer_reg: (l) => [["timers", "regs", s(l.name)], { get: s(l.get), set: s(l.set) }],
  counter_write: (l) => [["timers", "counterWrite", `${l.setup} ${l.id}`], rest(l, "setup", "id")],
  counter_offset: (l) => [["timers", "counterOffset"], rest(l)],
  unlisted_reg: (l) => [["unlisted", s(l.what)], rest(l, "what")],
  changed_reg: (l) => [["changed", s(l.what)], rest(l, "what")],
  ccsidr_set: (l) => [["ccsidrSet", s(l.id)], rest(l, "id")],
  guest_call: (
    l,
  ) => [
    ["guestCalls", s(l.set), s(l.name ?? "setup")],
    l.result === "ok" ? (l.x0 as Json ?? `exit ${l.exitReason}`) : s(l.result ?? l.setup),
  ],
  guest_gic: (
    l,
  ) => [
    ["guestGic", `v${l.version} iidr ${l.iidr}`, s(l.name)],
    rest(l, "version", "iidr", "name"),
  ],
  after_run: (l) => [["afterRun", "run"], rest(l)],
  after_run_set: (l) => [["afterRun", "set", s(l.what)], s(l.result)],
  done: () => [["complete"], true],
};

function put(doc: Doc, path: string[], value: Json, where: string): void {
  let d = doc;
  for (const k of path.slice(0, -1)) {
    const next = d[k];
    if (next === undefined) d = d[k] = {};
    else if (typeof next === "object" && next !== null && !Array.isArray(next)) d = next;
    else throw new Error(`${where}: ${path.join(" / ")} collides with a value`);
  }
  const last = path[path.length - 1];
  if (last in d) throw new Error(`${where}: ${path.join(" / ")} reported twice`);
  d[last] = value;
}

/** The capture as one document; throws on an unknown kind, a duplicate fact, or no "done". */
export function captureToDocument(lines: CaptureLine[]): Doc {
  const doc: Doc = {};
  lines.forEach((l, i) => {
    const rule = RULES[l.kind];
    if (!rule) throw new Error(`capture line ${i + 1}: unknown kind "${l.kind}"`);
    const [path, value] = rule(l);
    put(doc, path, value, `capture line ${i + 1}`);
  });
  if (doc.complete !== true) throw new Error('capture incomplete: no "done" line');
  return doc;
}

/** Every leaf as "a / b / c" → value. */
export function leaves(doc: Json, prefix: string[] = [], out = new Map<string, Json>()) {
  if (typeof doc === "object" && doc !== null && !Array.isArray(doc)) {
    for (const [k, v] of Object.entries(doc)) leaves(v, [...prefix, k], out);
  } else {
    out.set(prefix.join(" / "), doc);
  }
  return out;
}

export interface Difference {
  path: string;
  expected: Json | undefined;
  actual: Json | undefined;
}

/** Leaves that differ (missing on either side counts), skipping paths `ignore` matches. */
export function diffDocuments(
  expected: Doc,
  actual: Doc,
  ignore: (path: string) => boolean = () => false,
): Difference[] {
  const a = leaves(expected);
  const b = leaves(actual);
  const out: Difference[] = [];
  for (const path of new Set([...a.keys(), ...b.keys()])) {
    if (ignore(path)) continue;
    const x = a.get(path);
    const y = b.get(path);
    if (JSON.stringify(x) !== JSON.stringify(y)) out.push({ path, expected: x, actual: y });
  }
  return out.sort((p, q) => p.path < q.path ? -1 : 1);
}
