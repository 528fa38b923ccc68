/**
 * Human and machine renderings of a snapshot for `rollsafe inspect`. The JSON form spells every
 * integer as a lower-case "0x…" string so 64-bit ids and values survive any JSON parser.
 */
import { describeReg, type RegClass } from "./kvm/names.ts";
import { hex, leToBig } from "./kvm/ids.ts";
import { memoryBytes, type Snapshot, VCPU_FEATURE } from "./model.ts";

const FEATURE_NAMES = Object.fromEntries(Object.entries(VCPU_FEATURE).map(([k, v]) => [v, k]));

/** GIC distributor registers worth naming in a summary (IHI0069 §12.9, IHI0048 §4.3). */
const DIST_NAMES: [offset: number, name: string][] = [
  [0x0000, "GICD_CTLR"],
  [0x0004, "GICD_TYPER"],
  [0x0008, "GICD_IIDR"],
  [0x000c, "GICD_TYPER2"],
];
const IGROUPR_BASE = 0x0080;

function hexMap<K extends number | bigint, V extends number | bigint | Uint8Array>(
  m: Map<K, V> | undefined,
): Record<string, string> | undefined {
  if (!m) return undefined;
  const out: Record<string, string> = {};
  const keys = [...m.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  for (const k of keys) {
    const v = m.get(k)!;
    out[hex(k)] = hex(v instanceof Uint8Array ? leToBig(v) : v);
  }
  return out;
}

export function snapshotToJson(s: Snapshot): Record<string, unknown> {
  return {
    format: "rollsafe-snapshot",
    version: 1,
    source: s.source && {
      kernel: s.source.kernel,
      profile: s.source.profile,
      host: s.source.host,
      vmm: s.source.vmm,
      vmm_version: s.source.vmmVersion,
      midr: s.source.midr === undefined ? undefined : hex(s.source.midr),
      captured_at: s.source.capturedAt,
      importer: s.source.importer,
    },
    vgic: s.vm.vgic && {
      model: s.vm.vgic.model,
      nr_irqs: s.vm.vgic.nrIrqs,
      dist: hexMap(s.vm.vgic.dist),
      its: hexMap(s.vm.vgic.its),
    },
    counter_offset: s.vm.counterOffset === undefined ? undefined : hex(s.vm.counterOffset),
    caps: s.vm.caps,
    vcpus: s.vcpus.map((v) => ({
      mpidr: hex(v.mpidr),
      features: v.features.map((f) => FEATURE_NAMES[f] ?? f),
      mp_state: v.mpState,
      registers: hexMap(v.registers),
      redist: hexMap(v.redist),
      icc: hexMap(v.icc),
      gicc: hexMap(v.gicc),
      level: hexMap(v.level),
    })),
    memory: {
      regions: (s.memory ?? []).map((r) => ({
        name: r.name,
        base: hex(r.base),
        size: hex(r.size),
        page_size: r.pageSize,
        nonzero_pages: r.pages.size,
      })),
      nonzero_bytes: memoryBytes(s),
    },
  };
}

const CLASS_ORDER: RegClass[] = [
  "core",
  "fpsimd",
  "id",
  "cache",
  "context",
  "pauth",
  "debug",
  "pmu",
  "timer",
  "gic-cpuif",
  "firmware",
  "bitmap",
  "sve",
  "el2",
  "aarch32",
  "other",
];

/** `all`: list every register instead of the first few per class. */
export function snapshotSummary(s: Snapshot, all = false): string {
  const lines: string[] = [];
  const src = s.source;
  if (src) {
    const parts = [
      src.vmm && `vmm ${src.vmm}${src.vmmVersion ? ` ${src.vmmVersion}` : ""}`,
      src.kernel && `kernel ${src.kernel}`,
      src.profile && `profile ${src.profile}`,
      src.host && `host ${src.host}`,
      src.midr !== undefined && `MIDR ${hex(src.midr)}`,
      src.importer && `imported by ${src.importer}`,
    ].filter(Boolean);
    lines.push(`source: ${parts.join(", ") || "(no metadata)"}`);
  }
  lines.push(`vCPUs: ${s.vcpus.length}`);
  s.vcpus.forEach((v, i) => {
    const feats = v.features.map((f) => FEATURE_NAMES[f] ?? `bit${f}`).join(",") || "none";
    lines.push(
      `  vcpu ${i}: MPIDR ${hex(v.mpidr)}, features ${feats}, ${v.registers.size} registers`,
    );
    const byClass = new Map<RegClass, string[]>();
    for (const [id, data] of [...v.registers].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
      const d = describeReg(id);
      const list = byClass.get(d.class) ?? [];
      list.push(`${d.name}=${hex(leToBig(data))}`);
      byClass.set(d.class, list);
    }
    for (const cls of CLASS_ORDER) {
      const list = byClass.get(cls);
      if (!list) continue;
      const keep = all ? list.length : 6;
      const shown = list.slice(0, keep).join(" ");
      lines.push(`    ${cls} (${list.length}): ${shown}${list.length > keep ? " …" : ""}`);
    }
  });
  const g = s.vm.vgic;
  if (g) {
    lines.push(
      `vGIC: ${
        g.model === "v3" ? "GICv3" : "GICv2"
      }, ${g.nrIrqs} IRQs, ${g.dist.size} distributor registers`,
    );
    for (const [off, name] of DIST_NAMES) {
      const v = g.dist.get(off);
      if (v !== undefined) lines.push(`  ${name} = ${hex(v)}`);
    }
    const groups: string[] = [];
    for (let n = 0; n < g.nrIrqs / 32; n++) {
      const v = g.dist.get(IGROUPR_BASE + 4 * n);
      if (v !== undefined) groups.push(`IGROUPR${n}=${hex(v)}`);
    }
    if (groups.length) lines.push(`  ${groups.join(" ")}`);
  } else {
    lines.push("vGIC: none saved");
  }
  if (s.vm.counterOffset !== undefined) lines.push(`counter offset: ${hex(s.vm.counterOffset)}`);
  const regions = s.memory ?? [];
  lines.push(
    regions.length
      ? `memory: ${regions.length} region(s), ${memoryBytes(s)} non-zero bytes of ${
        regions.reduce((n, r) => n + r.size, 0n)
      }`
      : "memory: not included",
  );
  return lines.join("\n");
}
