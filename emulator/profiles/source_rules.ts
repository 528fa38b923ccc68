/**
 * What a kernel's own source says about the facts a profile states, and where the two disagree.
 * The input is an extraction (emulator/profiles/extracted/*.json, written by
 * `deno task kernel:extract`); the output is the profile-level facts the source implies, each with
 * the file:line it rests on, and a comparison that quotes both sides of every contradiction.
 */
import type { Extraction } from "./extract/kvm.ts";
import type { Json, Profile } from "./types.ts";
import { fieldMask, ID_FIELDS } from "./idfields.ts";

export interface SourceFact {
  fact: string;
  value: Json;
  /** "<kernel> <file>:<line> <what it says>". */
  cite: string;
}

/** The kernel's safe-value types, as the profile's per-field write rules. */
const FTR_TYPE: Record<string, string> = {
  FTR_LOWER_SAFE: "lower-safe",
  FTR_HIGHER_SAFE: "higher-safe",
  FTR_HIGHER_OR_ZERO_SAFE: "higher-safe",
  FTR_EXACT: "exact",
};

const PSCI = (v: string) => v;

/** The profile facts `x` implies. */
export function sourceFacts(x: Extraction): SourceFact[] {
  const k = `linux ${x.kernel}`;
  const out: SourceFact[] = [];
  const at = (o: { file: string; line: number }) => `${k} ${o.file}:${o.line}`;
  const overrides = new Map(x.kvmSafeOverrides.map((o) => [`${o.reg}.${o.field}`, o]));

  // ID registers: which fields userspace may change, and how.
  for (const e of x.idRegisters) {
    if (e.entry === "invariant" || e.reg === "CLIDR_EL1") continue;
    const writable = x.setIdReg.mode === "ftr-safe" ? BigInt(e.writableMask ?? "0x0") : 0n;
    for (const f of x.ftrBits[e.reg] ?? []) {
      const mask = ((1n << BigInt(f.width)) - 1n) << BigInt(f.shift);
      if (writable && (mask & writable) === mask) {
        const o = overrides.get(`${e.reg}.${f.field}`);
        const type = o?.type ?? f.type;
        out.push({
          fact: `idwrite.${e.reg}.${f.field}`,
          value: FTR_TYPE[type] ?? type,
          cite:
            `${at(e)} ${e.entry}(${e.reg}) mask ${e.writableMask}; ${f.file}:${f.line} ${type}` +
            (o ? ` (KVM's own type, ${o.file}:${o.line})` : ""),
        });
      }
    }
  }
  // Setters that let fields differ in the old, exact set_id_reg world (6.1: CSV2/CSV3).
  if (x.setIdReg.mode === "exact") {
    for (const c of x.setterChecks) {
      for (const t of c.when) {
        const key = `idwrite.${c.reg}.${t.field}`;
        if (!out.some((o) => o.fact === key)) {
          out.push({
            fact: key,
            value: "lower-safe",
            cite: `${at(c)} ${c.setter}: ${t.field} may differ from the current value (${c.text})`,
          });
        }
      }
    }
  }
  // Setter checks on a field's minimum: `if (f < N) return -EINVAL`, possibly "unless 0".
  for (const c of x.setterChecks) {
    const lt = c.when.find((t) => t.op === "<");
    if (!lt || c.host || c.when.some((t) => t.field !== lt.field)) continue;
    const zeroOk = c.when.some((t) => t.op === "!=" && t.value === 0);
    out.push({
      fact: `idcheck.${c.reg}.${lt.field}`,
      value: zeroOk ? { min: lt.value, zeroOk: true } : { min: lt.value },
      cite: `${at(c)} ${c.setter}: ${c.text}`,
    });
  }
  const fw = x.firmware;
  out.push({
    fact: "psci.accepted",
    value: fw.psciAccepted.map(PSCI),
    cite: `${k} ${fw.file}:${fw.psciLine} kvm_arm_set_fw_reg: a PSCI_0_2 vCPU accepts ${
      fw.psciAccepted.join(", ")
    }`,
  });
  for (const b of fw.bitmaps) {
    out.push({
      fact: `bitmap.${b.index}.supported`,
      value: b.supported,
      cite: `${k} ${fw.file}:${fw.regsLine} kvm_arm_fw_reg_ids lists ${b.reg}; ` +
        `arch/arm64/include/uapi/asm/kvm.h: bits ${Object.keys(b.bits).join(", ")}`,
    });
  }
  const v = x.vgicIidr;
  out.push({
    fact: "vgic.iidr.accepted",
    value: v.v3.acceptedRevisions,
    cite: `${at(v.v3)} userspace GICD_IIDR write accepts revisions ${
      v.v3.acceptedRevisions.join(", ")
    }`,
  });
  out.push({
    fact: "vgic.iidr.honoured",
    value: v.v3.revisionFrom === "val",
    cite: `${at(v.v3)} reg = FIELD_GET(GICD_IIDR_REVISION_MASK, ${v.v3.revisionFrom})` +
      (v.v3.revisionFrom === "val"
        ? " (the written revision: a0e6ae45af17)"
        : " (the current revision, not the written one)"),
  });
  out.push({
    fact: "vgic.iidr.defaultRevision",
    value: v.defaultRevision,
    cite: `${k} ${v.defaultFile}:${v.defaultLine} KVM_VGIC_IMP_REV_LATEST`,
  });
  return out;
}

const show = (v: unknown) => JSON.stringify(v);

/** The profile's value of a source fact (undefined: the profile says nothing). */
function profileValue(p: Profile, fact: string): { value: Json; cite: string } | undefined {
  const m = /^bitmap\.(\d)\.supported$/.exec(fact);
  if (m) {
    const f = p.facts[`bitmap.${m[1]}`];
    const o = f?.value as { supported?: number } | undefined;
    return f && o ? { value: o.supported ?? null, cite: f.source.cite } : undefined;
  }
  const f = p.facts[fact];
  return f ? { value: f.value, cite: f.source.cite } : undefined;
}

/**
 * Every profile fact the source contradicts, and every writable field or check the source has
 * that the profile lacks (the profile would predict EINVAL where the kernel accepts, or the
 * reverse), each quoting the profile's fact and the source's.
 */
export function contradictions(p: Profile, x: Extraction): string[] {
  const out: string[] = [];
  const src = sourceFacts(x);
  const known = new Set(src.map((s) => s.fact));
  for (const s of src) {
    const pv = profileValue(p, s.fact);
    const profileSays = pv ? `${show(pv.value)} (${pv.cite})` : "nothing";
    const exactOk = s.value === "exact" && (!pv || pv.value === "exact");
    if (exactOk) continue;
    if (!pv || show(pv.value) !== show(s.value)) {
      out.push(
        `${s.fact}: profile ${p.id} says ${profileSays}; source says ${show(s.value)} (${s.cite})`,
      );
    }
  }
  // Per-field write rules the profile states that the source does not grant.
  for (const [key, f] of Object.entries(p.facts)) {
    const m = /^idwrite\.([A-Z0-9_]+)\.([A-Za-z0-9_]+)$/.exec(key);
    if (!m || known.has(key) || f.value === "exact") continue;
    if (m[1] === "CLIDR_EL1") continue; // set_clidr validates the register as a whole
    const reg = x.idRegisters.find((e) => e.reg === m[1]);
    const mask = reg?.writableMask ?? "none";
    const named = ID_FIELDS.find((d) => d.reg === m[1] && d.field === m[2]);
    const inMask = named && reg?.writableMask
      ? (BigInt(reg.writableMask) & fieldMask(named)) === fieldMask(named)
      : false;
    out.push(
      `${key}: profile ${p.id} says ${show(f.value)} (${f.source.cite}); source says the field ` +
        `must equal the current value (${
          reg
            ? `${reg.entry}(${reg.reg}) at ${reg.file}:${reg.line}, writable mask ${mask}`
            : "no set_user"
        }${
          inMask ? ", in the mask but not in cpufeature.c's field table" : ""
        }; set_id_reg ${x.setIdReg.mode})`,
    );
  }
  for (const [key, f] of Object.entries(p.facts)) {
    if (key.startsWith("idcheck.") && !known.has(key)) {
      out.push(
        `${key}: profile ${p.id} says ${
          show(f.value)
        } (${f.source.cite}); source has no such check`,
      );
    }
  }
  return out;
}
