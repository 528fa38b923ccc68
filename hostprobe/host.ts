/**
 * The host a capture ran on, as KVM shows it to a guest: MIDR and the ID registers, cache
 * geometry, the GIC CPU interface's ICH_VTR-derived limits (through ICC_CTLR_EL1), the SMCCC
 * workaround levels, PMU counters and SVE vector lengths. For the oracle this is QEMU's `max` CPU
 * under nested virtualization ("qemu-max-nested"); on a real fleet host, that host.
 *
 * Values are as the captured kernel exposes them: kernels before 6.3 pass the physical CLIDR and
 * CCSIDR through, 6.3+ fabricate them (7af0c2534f4c), so the kernel is part of the provenance.
 */
import type { Doc, Json } from "./capture.ts";
import type { Fixture } from "./fixtures.ts";
import { getField, ID_FIELDS, idField, setField } from "../emulator/profiles/idfields.ts";

/** KVM ONE_REG id of a system register (KVM_REG_ARM64 | U64 | SYSREG | encoding). */
export function sysregId(op0: number, op1: number, crn: number, crm: number, op2: number): string {
  const enc = (op0 << 14) | (op1 << 11) | (crn << 7) | (crm << 3) | op2;
  return "0x60300000001" + (0x30000 + enc).toString(16).padStart(5, "0");
}

/** ID register names in the op0=3, op1=0, CRn=0 space (Arm ARM D23.2), by (CRm, op2). */
const ID_NAMES: Record<string, string> = {
  "1,0": "ID_PFR0_EL1",
  "1,1": "ID_PFR1_EL1",
  "1,2": "ID_DFR0_EL1",
  "1,3": "ID_AFR0_EL1",
  "1,4": "ID_MMFR0_EL1",
  "1,5": "ID_MMFR1_EL1",
  "1,6": "ID_MMFR2_EL1",
  "1,7": "ID_MMFR3_EL1",
  "2,0": "ID_ISAR0_EL1",
  "2,1": "ID_ISAR1_EL1",
  "2,2": "ID_ISAR2_EL1",
  "2,3": "ID_ISAR3_EL1",
  "2,4": "ID_ISAR4_EL1",
  "2,5": "ID_ISAR5_EL1",
  "2,6": "ID_MMFR4_EL1",
  "2,7": "ID_ISAR6_EL1",
  "3,0": "MVFR0_EL1",
  "3,1": "MVFR1_EL1",
  "3,2": "MVFR2_EL1",
  "3,4": "ID_PFR2_EL1",
  "3,5": "ID_DFR1_EL1",
  "3,6": "ID_MMFR5_EL1",
  "4,0": "ID_AA64PFR0_EL1",
  "4,1": "ID_AA64PFR1_EL1",
  "4,2": "ID_AA64PFR2_EL1",
  "4,4": "ID_AA64ZFR0_EL1",
  "4,5": "ID_AA64SMFR0_EL1",
  "4,7": "ID_AA64FPFR0_EL1",
  "5,0": "ID_AA64DFR0_EL1",
  "5,1": "ID_AA64DFR1_EL1",
  "5,4": "ID_AA64AFR0_EL1",
  "5,5": "ID_AA64AFR1_EL1",
  "6,0": "ID_AA64ISAR0_EL1",
  "6,1": "ID_AA64ISAR1_EL1",
  "6,2": "ID_AA64ISAR2_EL1",
  "6,3": "ID_AA64ISAR3_EL1",
  "7,0": "ID_AA64MMFR0_EL1",
  "7,1": "ID_AA64MMFR1_EL1",
  "7,2": "ID_AA64MMFR2_EL1",
  "7,3": "ID_AA64MMFR3_EL1",
  "7,4": "ID_AA64MMFR4_EL1",
};

/** Other registers a host description carries: (op0, op1, CRn, CRm, op2). */
const HOST_REGS: [string, number, number, number, number, number][] = [
  ["MIDR_EL1", 3, 0, 0, 0, 0],
  ["MPIDR_EL1", 3, 0, 0, 0, 5],
  ["REVIDR_EL1", 3, 0, 0, 0, 6],
  ["CLIDR_EL1", 3, 1, 0, 0, 1],
  ["AIDR_EL1", 3, 1, 0, 0, 7],
  ["CTR_EL0", 3, 3, 0, 0, 1],
];

const PMCR_EL0 = sysregId(3, 3, 9, 12, 0);

function obj(v: Json | undefined): Doc {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? v : {};
}

function bits(hex: Json | undefined, lo: number, width: number): number | null {
  if (typeof hex !== "string" || !hex.startsWith("0x")) return null;
  return Number((BigInt(hex) >> BigInt(lo)) & ((1n << BigInt(width)) - 1n));
}

/** Host description from a fixture (or any capture document with its kernel). */
export function captureToHost(f: Pick<Fixture, "kernel" | "capture" | "capturedAt">): Doc {
  const c = f.capture;
  const regs = obj(obj(c.regs)["psci-0.2"]);
  const named: Doc = {};
  for (const [name, ...enc] of HOST_REGS) {
    const id = sysregId(...(enc as [number, number, number, number, number]));
    if (id in regs) named[name] = { id, value: regs[id] };
  }
  const idRegs: Doc = {};
  for (let crm = 1; crm <= 7; crm++) {
    for (let op2 = 0; op2 <= 7; op2++) {
      const id = sysregId(3, 0, 0, crm, op2);
      if (!(id in regs)) continue;
      idRegs[ID_NAMES[`${crm},${op2}`] ?? `S3_0_C0_C${crm}_${op2}`] = { id, value: regs[id] };
    }
  }
  const ccsidr: Doc = {};
  for (const [id, v] of Object.entries(regs)) {
    if (id.startsWith("0x6020000000110")) ccsidr[`csselr ${Number(BigInt(id) & 0xffn)}`] = v;
  }
  const icc = obj(obj(obj(c.gic).v3).after_init).ICC_CTLR_EL1;
  const fw = obj(obj(obj(c.firmware).defaults)["psci-0.2"]);
  const pmcr = obj(obj(c.regs)["pmu-v3"])[PMCR_EL0];
  const vls = obj(c.sve).vls;
  const vqs: number[] = [];
  if (typeof vls === "string" && vls.startsWith("0x")) {
    const v = BigInt(vls);
    for (let i = 0; i < 512; i++) if ((v >> BigInt(i)) & 1n) vqs.push(i + 1);
  }
  const caps = obj(c.caps);
  const cap = (n: string) => obj(caps[n]).value ?? null;
  return {
    id: "qemu-max-nested",
    description: "QEMU 'max' CPU (TCG) with -M virt,virtualization=on,gic-version=3, as seen " +
      `through nested KVM on ${f.kernel.package} ${f.kernel.version}`,
    source: {
      capture: `tests/fixtures/oracle/${f.kernel.name}.json`,
      capturedAt: f.capturedAt,
      kernel: `${f.kernel.package} ${f.kernel.version} (${f.kernel.release})`,
    },
    registers: named,
    idRegisters: idRegs,
    cache: {
      CLIDR_EL1: named.CLIDR_EL1 ?? null,
      CTR_EL0: named.CTR_EL0 ?? null,
      CCSIDR: ccsidr,
      note: "kernels before 6.3 show the physical values; 6.3+ fabricate them (7af0c2534f4c)",
    },
    gicCpuInterface: {
      ICC_CTLR_EL1: icc ?? null,
      // ICC_CTLR_EL1 fields (IHI 0069 12.2.6): PRIbits [10:8] = bits-1, IDbits [13:11], SEIS [14], A3V [15]
      priorityBits: bits(icc, 8, 3) === null ? null : bits(icc, 8, 3)! + 1,
      idBits: bits(icc, 11, 3) === 0 ? 16 : bits(icc, 11, 3) === 1 ? 24 : null,
      seis: bits(icc, 14, 1),
      a3v: bits(icc, 15, 1),
    },
    workarounds: {
      SMCCC_ARCH_WORKAROUND_1: fw.KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1 ?? null,
      SMCCC_ARCH_WORKAROUND_2: fw.KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2 ?? null,
      SMCCC_ARCH_WORKAROUND_3: fw.KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3 ?? null,
    },
    pmu: {
      PMCR_EL0: pmcr ?? null,
      // PMCR_EL0.N [15:11]: event counters besides the cycle counter
      counters: bits(pmcr, 11, 5),
    },
    sve: { vls: vls ?? null, vectorLengthsBits: vqs.map((q) => q * 128) },
    kvm: {
      ipaBits: cap("KVM_CAP_ARM_VM_IPA_SIZE"),
      hwBreakpoints: cap("KVM_CAP_GUEST_DEBUG_HW_BPS"),
      hwWatchpoints: cap("KVM_CAP_GUEST_DEBUG_HW_WPS"),
      pmuV3: cap("KVM_CAP_ARM_PMU_V3"),
      sve: cap("KVM_CAP_ARM_SVE"),
      ptrauth: cap("KVM_CAP_ARM_PTRAUTH_GENERIC"),
      mte: cap("KVM_CAP_ARM_MTE"),
      el1_32bit: cap("KVM_CAP_ARM_EL1_32BIT"),
      gicv2Emulation: obj(obj(c.gic).v2).create ?? null,
    },
  };
}

type HostFact = { value: Json; source: { cite: string; confidence: "V" | "I" | "U" } };

/**
 * An emulator host description (emulator/hosts/data/qemu-<cpu>-nested.json, or -gicv2-nested)
 * from the oracle captures of one QEMU -cpu model: ID registers as 6.12 shows them (each field's
 * largest value over the captured vCPU configurations, since KVM hides fields a vCPU lacks), cache
 * geometry as 6.1 passes it through, the GIC CPU interface, SMCCC levels and PMU from 6.1.
 */
export function emulatorHost(
  cpu: string,
  gic: 2 | 3,
  f61: Fixture,
  f612: Fixture,
  names: { slug: string; file61: string; file612: string },
): { id: string; title: string; facts: Record<string, HostFact> } {
  const at = (f: Fixture, file: string) =>
    `oracle capture tests/fixtures/oracle/${file} (Debian ${f.kernel.version} under QEMU 7.2 -cpu ${cpu}, virt,virtualization=on,gic-version=3, nested)`;
  const c61 = at(f61, names.file61);
  const c612 = at(f612, names.file612);
  const facts: Record<string, HostFact> = {};
  const V = (value: Json, cite: string): HostFact => ({ value, source: { cite, confidence: "V" } });
  const regs612 = obj(f612.capture.regs);
  const configs = Object.keys(regs612);
  const base = obj(regs612["psci-0.2"]);
  for (let crm = 1; crm <= 7; crm++) {
    for (let op2 = 0; op2 <= 7; op2++) {
      const id = sysregId(3, 0, 0, crm, op2);
      const name = ID_NAMES[`${crm},${op2}`];
      if (!name || typeof base[id] !== "string") continue;
      let v = BigInt(base[id] as string);
      const from: string[] = [];
      for (const k of configs) {
        const o = obj(regs612[k])[id];
        if (typeof o !== "string") continue;
        for (const f of ID_FIELDS.filter((x) => x.reg === name)) {
          if (getField(BigInt(o), f) > getField(v, f)) {
            v = setField(v, f, getField(BigInt(o), f));
            from.push(`${f.field} from the '${k}' vCPU`);
          }
        }
      }
      facts[`idreg.${name}`] = V(
        `0x${v.toString(16)}`,
        `${c612}: ${name}${from.length ? ` (${[...new Set(from)].join(", ")})` : ""}`,
      );
    }
  }
  const reg = (f: Fixture, enc: [number, number, number, number, number]) =>
    obj(obj(f.capture.regs)["psci-0.2"])[sysregId(...enc)];
  for (
    const [k, n, enc] of [
      ["midr", "MIDR_EL1", [3, 0, 0, 0, 0]],
      ["revidr", "REVIDR_EL1", [3, 0, 0, 0, 6]],
      ["aidr", "AIDR_EL1", [3, 1, 0, 0, 7]],
      ["ctr", "CTR_EL0", [3, 3, 0, 0, 1]],
    ] as [string, string, [number, number, number, number, number]][]
  ) {
    const v = reg(f612, enc);
    if (typeof v === "string") facts[k] = V(v, `${c612}: ${n}`);
  }
  const clidr = reg(f61, [3, 1, 0, 0, 1]);
  if (typeof clidr === "string") {
    facts["cache.clidr"] = V(clidr, `${c61}: physical CLIDR_EL1 (6.1 passes it through)`);
  }
  for (const [id, v] of Object.entries(obj(obj(f61.capture.regs)["psci-0.2"]))) {
    if (id.startsWith("0x6020000000110") && typeof v === "string") {
      const n = Number(BigInt(id) & 0xffn);
      facts[`cache.ccsidr.${n}`] = V(v, `${c61}: physical CCSIDR for csselr ${n}`);
    }
  }
  const v2 = obj(obj(f61.capture.gic).v2).create;
  facts["gic.version"] = V(gic === 3 ? "v3" : "v2", `QEMU -M virt,gic-version=${gic}`);
  facts["gic.v2compat"] = gic === 3
    ? V(v2 === "ok", `${c61}: KVM_CREATE_DEVICE(VGIC_V2) → ${String(v2)}`)
    : V(true, "QEMU -M virt,gic-version=2: the host GIC is a GICv2, which KVM emulates as vGICv2");
  const icc = obj(obj(obj(f61.capture.gic).v3).after_init).ICC_CTLR_EL1;
  if (typeof icc === "string") {
    const b = (lo: number, w: number) =>
      Number((BigInt(icc) >> BigInt(lo)) & ((1n << BigInt(w)) - 1n));
    const conf = gic === 3 ? "V" : "U";
    const why = gic === 3
      ? ""
      : "not capturable on the GICv2 machine (no ICC_* sysregs); the GICv3 capture's value — ";
    const F = (value: Json, what: string): HostFact => ({
      value,
      source: { cite: `${why}${c61}: ICC_CTLR_EL1 ${icc} ${what}`, confidence: conf },
    });
    facts["gic.priBits"] = F(b(8, 3) + 1, "PRIbits");
    facts["gic.idBits"] = F(b(11, 3) === 1 ? 24 : 16, "IDbits");
    facts["gic.seis"] = F(b(14, 1) === 1, "SEIS");
    facts["gic.a3v"] = F(b(15, 1) === 1, "A3V");
  }
  facts["gic.v4_1"] = V(false, "QEMU 7.2 hw/intc/arm_gicv3*: GICv3 emulation without GICv4");
  const fw = obj(obj(obj(f61.capture.firmware).defaults)["psci-0.2"]);
  for (const n of [1, 2, 3]) {
    const v = fw[`KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_${n}`];
    if (typeof v === "string") {
      facts[`smccc.wa${n}`] = V(Number(BigInt(v)), `${c61}: SMCCC_ARCH_WORKAROUND_${n}`);
    }
  }
  const pmcr = obj(obj(f61.capture.regs)["pmu-v3"])[PMCR_EL0];
  if (typeof pmcr === "string") {
    facts["pmu.pmcr"] = V(pmcr, `${c61}: PMCR_EL0 of a PMUv3 vCPU`);
    facts["pmu.counters"] = V(Number((BigInt(pmcr) >> 11n) & 0x1fn), `${c61}: PMCR_EL0.N`);
  }
  const caps = obj(f612.capture.caps);
  const cap = (n: string) => Number(obj(caps[n]).value ?? 0);
  const feat = (k: string, on: boolean, what: string) => {
    facts[`feature.${k}`] = V(on, `${c612}: ${what}`);
  };
  feat("pmu", cap("KVM_CAP_ARM_PMU_V3") > 0, `KVM_CAP_ARM_PMU_V3 = ${cap("KVM_CAP_ARM_PMU_V3")}`);
  feat("sve", cap("KVM_CAP_ARM_SVE") > 0, `KVM_CAP_ARM_SVE = ${cap("KVM_CAP_ARM_SVE")}`);
  feat(
    "ptrauth",
    cap("KVM_CAP_ARM_PTRAUTH_GENERIC") > 0,
    `KVM_CAP_ARM_PTRAUTH_GENERIC = ${cap("KVM_CAP_ARM_PTRAUTH_GENERIC")}`,
  );
  feat("mte", cap("KVM_CAP_ARM_MTE") > 0, `KVM_CAP_ARM_MTE = ${cap("KVM_CAP_ARM_MTE")}`);
  feat("nv", cap("KVM_CAP_ARM_EL2") > 0, `KVM_CAP_ARM_EL2 = ${cap("KVM_CAP_ARM_EL2")}`);
  const mmfr3 = BigInt((facts["idreg.ID_AA64MMFR3_EL1"]?.value as string) ?? "0x0");
  for (
    const [k, f] of [["tcr2", "TCRX"], ["s1pie", "S1PIE"], ["s1poe", "S1POE"], ["sctlrx", "SCTLRX"]]
  ) {
    const fd = idField("ID_AA64MMFR3_EL1", f);
    feat(k, fd ? getField(mmfr3, fd) > 0 : false, `ID_AA64MMFR3_EL1.${f}`);
  }
  const vls = obj(f61.capture.sve).vls;
  if (cap("KVM_CAP_ARM_SVE") > 0 && typeof vls === "string") {
    const v = BigInt(vls);
    const vqs: number[] = [];
    for (let i = 0; i < 16; i++) if ((v >> BigInt(i)) & 1n) vqs.push(i + 1);
    facts["sve.vqs"] = V(vqs, `${c61}: KVM_REG_ARM64_SVE_VLS ${vls}`);
  }
  facts.cntfrq = V(
    "0x3b9aca0",
    "QEMU 7.2 target/arm/cpu.h GTIMER_SCALE 16: the virt board's system counter runs at 62.5 MHz under TCG",
  );
  const id = gic === 3 ? `qemu-${names.slug}-nested` : `qemu-${names.slug}-gicv2-nested`;
  return {
    id,
    title: `QEMU 7.2 TCG -cpu ${cpu} with virtualization=on${
      gic === 2 ? ", gic-version=2" : ""
    }, as nested KVM sees it (from the oracle captures)`,
    facts,
  };
}
