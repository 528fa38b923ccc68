/**
 * Extracts KVM/arm64's restore rules from a kernel source tree: the ID-register table and setters
 * of arch/arm64/kvm/sys_regs.c, the field tables of arch/arm64/kernel/cpufeature.c (the safe-value
 * rules set_id_reg applies), the firmware registers of hypercalls.c, the GICD_IIDR write handling
 * of the vGIC, and the ID-register field names of arch/arm64/tools/sysreg. Every fact names the
 * file and line it came from. Patterns that the reader does not recognise are errors: a kernel
 * that reshapes this code must be looked at, not silently half-read.
 */
import { bitsMask, parseSysreg, SourceError, symbols, type Sysreg } from "./sysreg.ts";
import { defines, evalC } from "./cexpr.ts";
import { body, calls, lineOf, matchBracket, splitTop, squash, stripComments } from "./csrc.ts";

export const FILES = {
  makefile: "Makefile",
  sysreg: "arch/arm64/tools/sysreg",
  sysregH: "arch/arm64/include/asm/sysreg.h",
  sysRegs: "arch/arm64/kvm/sys_regs.c",
  cpufeature: "arch/arm64/kernel/cpufeature.c",
  hypercalls: "arch/arm64/kvm/hypercalls.c",
  uapiKvm: "arch/arm64/include/uapi/asm/kvm.h",
  vgicV3: "arch/arm64/kvm/vgic/vgic-mmio-v3.c",
  vgicV2: "arch/arm64/kvm/vgic/vgic-mmio-v2.c",
  armVgic: "include/kvm/arm_vgic.h",
  cputype: "arch/arm64/include/asm/cputype.h",
} as const;

export type SourceFiles = Record<keyof typeof FILES, string>;

const hex = (v: bigint) => `0x${v.toString(16)}`;

export interface At {
  file: string;
  line: number;
}

export interface IdRegEntry extends At {
  reg: string;
  /** The initialiser: ID_SANITISED, ID_WRITABLE, AA32_ID_WRITABLE, ID_HIDDEN, ID_UNALLOCATED, desc, invariant. */
  entry: string;
  setUser?: string;
  visibility?: string;
  /** The writable mask (`.val`) where set_id_reg checks fields against it (6.7+), as hex. */
  writableMask?: string;
}

export interface Term {
  field: string;
  op: "<" | "<=" | ">" | ">=" | "==" | "!=";
  value: number;
}

export interface SetterCheck extends At {
  reg: string;
  setter: string;
  errno: string;
  /** All terms true → errno. `host` is a condition on the host the source states as text. */
  when: Term[];
  host?: string;
  text: string;
}

export interface FtrField extends At {
  field: string;
  shift: number;
  width: number;
  signed: boolean;
  type: string;
  safe: number;
}

function kernelVersion(make: string): string {
  const get = (k: string) => new RegExp(`^${k}[ \\t]*=[ \\t]*(\\S*)`, "m").exec(make)?.[1] ?? "";
  const v = `${get("VERSION")}.${get("PATCHLEVEL")}.${get("SUBLEVEL")}${get("EXTRAVERSION")}`;
  if (!/^\d+\.\d+\.\d+/.test(v)) throw new SourceError(FILES.makefile, "no VERSION/PATCHLEVEL");
  return v;
}

/** Names a shift in `reg`: the sysreg file's field at that bit position. */
function fieldAt(regs: Map<string, Sysreg>, reg: string, shift: number): string | undefined {
  return regs.get(reg)?.fields.find((f) => f.lo === shift)?.name;
}

function idTable(src: SourceFiles, sym: (n: string) => bigint | undefined): IdRegEntry[] {
  const file = FILES.sysRegs;
  const text = stripComments(src.sysRegs);
  const out: IdRegEntry[] = [];
  const tables = [/sys_reg_descs\[\][^=]*=\s*$/m, /invariant_sys_regs\[\][^=]*=\s*$/m];
  for (const [ti, head] of tables.entries()) {
    const b = body(text, new RegExp(head.source.replace("\\s*$", "\\s*"), "m"), file);
    if (!b) {
      if (ti === 0) throw new SourceError(file, "no sys_reg_descs[] table");
      continue;
    }
    for (const item of splitTop(b.text)) {
      const line = lineOf(text, b.start + item.at);
      const m =
        /^(ID_SANITISED|ID_WRITABLE|AA32_ID_WRITABLE|AA32_ID_SANITISED|ID_HIDDEN|ID_UNALLOCATED)\s*\(/
          .exec(item.text);
      if (m) {
        const [c] = calls(item.text, new RegExp(m[1]));
        if (m[1] === "ID_UNALLOCATED") continue; // RAZ, no name: the sysreg encoding space covers it
        const reg = c.args[0];
        const e: IdRegEntry = { reg, entry: m[1], file, line };
        if (m[1] === "ID_WRITABLE") e.writableMask = hex(evalC(c.args[1], sym, `${file}:${line}`));
        if (m[1] === "AA32_ID_WRITABLE") e.writableMask = hex(bitsMask(31, 0));
        if (m[1] === "ID_SANITISED" || m[1] === "ID_HIDDEN") e.writableMask = "0x0";
        out.push(e);
        continue;
      }
      const d = /^\{\s*SYS_DESC\s*\(\s*SYS_(\w+)\s*\)([\s\S]*)\}$/.exec(item.text);
      if (!d) continue;
      const reg = d[1];
      const rest = d[2];
      const setUser = /\.set_user\s*=\s*(\w+)/.exec(rest)?.[1];
      if (ti === 1) {
        out.push({ reg, entry: "invariant", file, line });
        continue;
      }
      if (!setUser || !/^set_(id_|clidr|ctr)/.test(setUser)) continue;
      const e: IdRegEntry = { reg, entry: "desc", setUser, file, line };
      const vis = /\.visibility\s*=\s*(\w+)/.exec(rest)?.[1];
      if (vis) e.visibility = vis;
      const val = /\.val\s*=\s*([^,]*(?:\([^]*?\))?[^,]*),?\s*$/.exec(rest)?.[1];
      const valExpr = /\.val\s*=\s*([\s\S]*?)\s*,?\s*$/.exec(rest.slice(rest.indexOf(".val")))?.[1];
      if (val !== undefined && valExpr) {
        e.writableMask = hex(evalC(valExpr, sym, `${file}:${line}`));
      }
      out.push(e);
    }
  }
  return out;
}

const OPS = ["<=", ">=", "==", "!=", "<", ">"] as const;

/** The `if (…) return -E…;` checks of the ID-register setters, parsed where the terms are fields. */
function setterChecks(
  src: SourceFiles,
  entries: IdRegEntry[],
  regs: Map<string, Sysreg>,
  sym: (n: string) => bigint | undefined,
): SetterCheck[] {
  const file = FILES.sysRegs;
  const text = stripComments(src.sysRegs);
  const out: SetterCheck[] = [];
  for (const e of entries) {
    if (!e.setUser || e.setUser === "set_id_reg") continue;
    const b = body(text, new RegExp(`static int ${e.setUser}\\s*\\([^)]*\\)\\s*`), file);
    if (!b) throw new SourceError(file, `setter ${e.setUser} of ${e.reg} not found`);
    const vars = new Map<string, string>();
    for (const m of b.text.matchAll(/(\w+)\s*=\s*SYS_FIELD_GET\(\s*(\w+)\s*,\s*(\w+)\s*,/g)) {
      vars.set(m[1], m[3]);
    }
    for (
      const m of b.text.matchAll(
        /(\w+)\s*=\s*cpuid_feature_extract_unsigned_field\(\s*\w+\s*,\s*(\w+)_SHIFT\s*\)/g,
      )
    ) {
      const shift = sym(`${m[2]}_SHIFT`);
      const f = shift === undefined ? undefined : fieldAt(regs, e.reg, Number(shift));
      if (f) vars.set(m[1], f);
    }
    for (const m of ifReturns(b.text)) {
      const cond = squash(m.cond);
      const line = lineOf(text, b.start + m.at);
      for (const disj of splitOr(cond)) {
        const when: Term[] = [];
        const host: string[] = [];
        for (const t of disj.split("&&").map((x) => x.trim().replace(/^\((.*)\)$/, "$1"))) {
          const term = parseTerm(t, vars, sym, e.reg);
          if (term) when.push(term);
          else host.push(t);
        }
        const c: SetterCheck = {
          reg: e.reg,
          setter: e.setUser,
          errno: m.errno,
          when,
          text: `if (${cond}) return -${m.errno};`,
          file,
          line,
        };
        if (host.length) c.host = host.join(" && ");
        out.push(c);
      }
    }
  }
  return out;
}

/** `if (cond) return -EXXX;` statements (conditions with balanced parentheses). */
function ifReturns(s: string): { cond: string; errno: string; at: number }[] {
  const out: { cond: string; errno: string; at: number }[] = [];
  for (const m of s.matchAll(/\bif\s*\(/g)) {
    const open = m.index! + m[0].length - 1;
    const end = matchBracket(s, open);
    const r = /^\s*return\s+-(E[A-Z0-9]+)\s*;/.exec(s.slice(end));
    if (r) out.push({ cond: s.slice(open + 1, end - 1), errno: r[1], at: m.index! });
  }
  return out;
}

function splitOr(cond: string): string[] {
  const out: string[] = [];
  let d = 0;
  let from = 0;
  for (let i = 0; i < cond.length; i++) {
    if (cond[i] === "(") d++;
    else if (cond[i] === ")") d--;
    else if (d === 0 && cond.startsWith("||", i)) {
      out.push(cond.slice(from, i).trim());
      from = i + 2;
    }
  }
  out.push(cond.slice(from).trim());
  return out.map((s) => (s.startsWith("(") && s.endsWith(")") ? s.slice(1, -1).trim() : s));
}

function parseTerm(
  t: string,
  vars: Map<string, string>,
  sym: (n: string) => bigint | undefined,
  reg: string,
): Term | undefined {
  if (vars.has(t)) return { field: vars.get(t)!, op: "!=", value: 0 };
  for (const op of OPS) {
    const i = t.indexOf(op);
    if (i < 0) continue;
    const l = t.slice(0, i).trim();
    const r = t.slice(i + op.length).trim();
    if (!vars.has(l)) return undefined;
    try {
      const v = evalC(r, sym, reg);
      return { field: vars.get(l)!, op, value: Number(v) };
    } catch {
      return undefined;
    }
  }
  return undefined;
}

/** cpufeature.c: each ID register's field table (type, sign, safe value), by field name. */
function ftrTables(
  src: SourceFiles,
  regs: Map<string, Sysreg>,
  sym: (n: string) => bigint | undefined,
): Record<string, FtrField[]> {
  const file = FILES.cpufeature;
  const text = stripComments(src.cpufeature);
  const tables = new Map<string, FtrField[]>();
  for (const m of text.matchAll(/struct arm64_ftr_bits (\w+)\[\]\s*=\s*\{/g)) {
    const b = body(text.slice(m.index!), /=\s*/, file)!;
    const start = m.index! + b.start;
    const rows: FtrField[] = [];
    for (const c of calls(b.text, /S_ARM64_FTR_BITS|ARM64_FTR_BITS/)) {
      const [, , type, shiftName, width, safe] = c.args;
      const at = `${file}:${lineOf(text, start + c.at)}`;
      rows.push({
        field: shiftName,
        shift: Number(evalC(shiftName, sym, at)),
        width: Number(evalC(width, sym, at)),
        signed: c.name.startsWith("S_"),
        type,
        safe: Number(evalC(safe, sym, at)),
        file,
        line: lineOf(text, start + c.at),
      });
    }
    tables.set(m[1], rows);
  }
  const out: Record<string, FtrField[]> = {};
  const regs2tables: [string, string][] = calls(text, /ARM64_FTR_REG_OVERRIDE|ARM64_FTR_REG/).map(
    (c) => [c.args[0], c.args[1]],
  );
  // registers defined as a struct of their own (CTR_EL0: arm64_ftr_reg_ctrel0)
  for (
    const m of text.matchAll(
      /struct arm64_ftr_reg \w+\s*=\s*\{[^}]*?\.name\s*=\s*"(SYS_\w+)"[^}]*?\.ftr_bits\s*=\s*(\w+)/g,
    )
  ) regs2tables.push([m[1], m[2]]);
  for (const [sysName, table] of regs2tables) {
    const reg = /^SYS_(\w+)$/.exec(sysName)?.[1];
    const rows = tables.get(table);
    if (!reg || !rows) continue;
    out[reg] = rows.map((r) => ({
      ...r,
      // the architectural name of the field at that position (6.1 still used macros such as
      // ID_DFR0_PERFMON_SHIFT for some registers)
      field: fieldAt(regs, reg, r.shift) ?? r.field.replace(/_SHIFT$/, ""),
    }));
  }
  return out;
}

/** kvm_arm64_ftr_safe_value: fields whose safe-value type KVM changes from the host's. */
function kvmSafeOverrides(
  src: SourceFiles,
  regs: Map<string, Sysreg>,
  sym: (n: string) => bigint | undefined,
): { reg: string; field: string; type: string; file: string; line: number }[] {
  const file = FILES.sysRegs;
  const text = stripComments(src.sysRegs);
  const b = body(text, /kvm_arm64_ftr_safe_value\s*\([^)]*\)\s*/, file);
  if (!b) return [];
  const out: { reg: string; field: string; type: string; file: string; line: number }[] = [];
  let reg = "";
  let shift: number | undefined;
  const re =
    /case SYS_(\w+)\s*:|case (\w+_SHIFT)\s*:|kvm_ftr\.shift\s*==\s*(\w+_SHIFT)|kvm_ftr\.type\s*=\s*(FTR_\w+)/g;
  for (const m of b.text.matchAll(re)) {
    if (m[1]) reg = m[1];
    else if (m[2] || m[3]) shift = Number(sym(m[2] ?? m[3]));
    else if (m[4] && reg && shift !== undefined) {
      out.push({
        reg,
        field: fieldAt(regs, reg, shift) ?? `shift ${shift}`,
        type: m[4],
        file,
        line: lineOf(text, b.start + m.index!),
      });
    }
  }
  return out;
}

function setIdReg(src: SourceFiles) {
  const file = FILES.sysRegs;
  const text = stripComments(src.sysRegs);
  const b = body(text, /static int set_id_reg\s*\([^)]*\)\s*(?=\{)/, file);
  if (!b) throw new SourceError(file, "no set_id_reg()");
  const line = lineOf(text, b.start);
  return {
    /** "exact": any difference from the current value is EINVAL; "ftr-safe": arm64_check_features. */
    mode: /arm64_check_features\s*\(/.test(b.text) ? "ftr-safe" : "exact",
    ebusyAfterRun: /-EBUSY/.test(b.text),
    file,
    line,
  };
}

function firmware(src: SourceFiles) {
  const file = FILES.hypercalls;
  const text = stripComments(src.hypercalls);
  const ids = body(text, /kvm_arm_fw_reg_ids\[\]\s*=\s*/, file);
  if (!ids) throw new SourceError(file, "no kvm_arm_fw_reg_ids[]");
  const regs = splitTop(ids.text).map((p) => p.text);
  const set = body(text, /int kvm_arm_set_fw_reg\s*\([^)]*\)\s*/, file);
  if (!set) throw new SourceError(file, "no kvm_arm_set_fw_reg()");
  // PSCI: the versions a PSCI_0_2 vCPU accepts are the case labels guarded by `!wants_02`.
  const psci: string[] = [];
  const sw = /case KVM_REG_ARM_PSCI_VERSION:[\s\S]*?switch \(val\) \{([\s\S]*?)\n\t\t\}/.exec(
    set.text,
  );
  if (!sw) throw new SourceError(file, "no PSCI version switch in kvm_arm_set_fw_reg()");
  for (const grp of sw[1].split(/return 0;/)) {
    const labels = [...grp.matchAll(/case KVM_ARM_PSCI_(\d+)_(\d+):/g)].map((m) =>
      `${m[1]}.${m[2]}`
    );
    if (/if \(!wants_02\)/.test(grp)) psci.push(...labels);
  }
  // Hypercall bitmaps: supported bits are the uapi enum's bits below *_BMAP_BIT_COUNT.
  const uapi = stripComments(src.uapiKvm);
  const bitmaps: { reg: string; index: number; supported: number; bits: Record<string, number> }[] =
    [];
  for (
    const m of uapi.matchAll(
      /#define (KVM_REG_ARM_\w+_BMAP(?:_2)?)\s+KVM_REG_ARM_FW_FEAT_BMAP_REG\((\d+)\)\s*\n\s*enum \{([\s\S]*?)\};/g,
    )
  ) {
    const bits: Record<string, number> = {};
    let next = 0;
    let supported = 0;
    for (const e of m[3].split(",")) {
      const em = /(KVM_REG_ARM_\w+)\s*(?:=\s*(\d+))?/.exec(e);
      if (!em) continue;
      const v = em[2] !== undefined ? Number(em[2]) : next;
      next = v + 1;
      if (em[1].endsWith("_BIT_COUNT")) {
        supported = (1 << v) - 1;
        continue;
      }
      bits[em[1]] = v;
    }
    if (regs.includes(m[1])) {
      bitmaps.push({ reg: m[1], index: Number(m[2]), supported, bits });
    }
  }
  const bm = body(text, /kvm_arm_set_fw_reg_bmap\s*\([^)]*\)\s*(?=\{)/, file);
  return {
    regs,
    regsLine: lineOf(text, ids.start),
    psciAccepted: psci,
    psciLine: lineOf(set.text, sw.index) + lineOf(text, set.start) - 1,
    bitmaps,
    bitmapEbusyAfterRun: bm ? /-EBUSY/.test(bm.text) : false,
    file,
  };
}

function vgicIidr(src: SourceFiles) {
  const one = (key: "vgicV3" | "vgicV2") => {
    const file = FILES[key];
    const text = stripComments(src[key]);
    const m = /case (GICD_IIDR|GIC_DIST_IIDR):\s*\n\s*reg = [\s\S]*?switch \(reg\) \{([\s\S]*?)\}/
      .exec(text);
    if (!m) throw new SourceError(file, "no userspace GICD_IIDR write handling");
    const from = /reg = FIELD_GET\(GICD_IIDR_REVISION_MASK, (\w+)\)/.exec(m[0])?.[1];
    if (!from) throw new SourceError(file, "no FIELD_GET of the IIDR revision");
    return {
      acceptedRevisions: [...m[2].matchAll(/case KVM_VGIC_IMP_REV_(\d+):/g)].map((x) =>
        Number(x[1])
      ),
      /** "val": the written value's revision is used (fixed, a0e6ae45af17); "reg": the current one. */
      revisionFrom: from,
      file,
      line: lineOf(text, m.index),
    };
  };
  const h = stripComments(src.armVgic);
  const latest = /#define KVM_VGIC_IMP_REV_LATEST\s+KVM_VGIC_IMP_REV_(\d+)/.exec(h);
  if (!latest) throw new SourceError(FILES.armVgic, "no KVM_VGIC_IMP_REV_LATEST");
  return {
    v3: one("vgicV3"),
    v2: one("vgicV2"),
    defaultRevision: Number(latest[1]),
    defaultFile: FILES.armVgic,
    defaultLine: lineOf(h, latest.index),
  };
}

/** The ID-register space of the sysreg file (op0 3, CRn 0): names, positions, signedness. */
function idFieldNames(regs: Map<string, Sysreg>) {
  const out: Record<
    string,
    { encoding: number[]; line: number; fields: [string, number, number, boolean?][] }
  > = {};
  for (const r of regs.values()) {
    if (!r.encoding || r.encoding[0] !== 3 || r.encoding[2] !== 0) continue;
    out[r.name] = {
      encoding: r.encoding,
      line: r.line,
      fields: r.fields.map((f) => {
        const row: [string, number, number, boolean?] = [f.name, f.hi, f.lo];
        if (f.kind === "SignedEnum") row.push(true);
        return row;
      }),
    };
  }
  return out;
}

/**
 * MIDR_EL1's fields, which the sysreg file does not describe: cputype.h's MIDR_<X>_MASK macros,
 * named as the Arm ARM names them (the macros spell them in capitals, IMPLEMENTOR for Implementer).
 */
const MIDR_NAMES: Record<string, string> = {
  REVISION: "Revision",
  PARTNUM: "PartNum",
  ARCHITECTURE: "Architecture",
  VARIANT: "Variant",
  IMPLEMENTOR: "Implementer",
};

function midrFields(src: SourceFiles) {
  const file = FILES.cputype;
  const text = stripComments(src.cputype);
  const consts = defines(text, () => undefined);
  const fields: [string, number, number][] = [];
  for (const [macro, name] of Object.entries(MIDR_NAMES)) {
    const mask = consts.get(`MIDR_${macro}_MASK`);
    if (mask === undefined || mask === 0n) throw new SourceError(file, `no MIDR_${macro}_MASK`);
    const lo = mask.toString(2).length - mask.toString(2).lastIndexOf("1") - 1;
    const hi = mask.toString(2).length - 1;
    fields.push([name, hi, lo]);
  }
  const line = lineOf(text, text.indexOf("MIDR_REVISION_MASK"));
  return { file, line, fields: fields.sort((a, b) => b[1] - a[1]) };
}

export function extract(src: SourceFiles) {
  const regs = parseSysreg(src.sysreg, FILES.sysreg);
  const base = symbols(regs);
  const fromH = defines(stripComments(src.sysregH), (n) => base.get(n));
  const sym = (n: string) => base.get(n) ?? fromH.get(n);
  const entries = idTable(src, sym);
  return {
    kernel: kernelVersion(src.makefile),
    idRegisters: entries,
    setIdReg: setIdReg(src),
    setterChecks: setterChecks(src, entries, regs, sym),
    ftrBits: ftrTables(src, regs, sym),
    kvmSafeOverrides: kvmSafeOverrides(src, regs, sym),
    firmware: firmware(src),
    vgicIidr: vgicIidr(src),
    sysregFields: { file: FILES.sysreg, regs: idFieldNames(regs) },
    midrFields: midrFields(src),
  };
}

export type Extraction = ReturnType<typeof extract>;
