/**
 * Reliance analysis: signs in the guest's own saved state that it depends on a behaviour the
 * target changes. Each row of RELIANCE_RULES looks at the snapshot and at what the guest would
 * observe on the target (the drift run's target-side probe results, so the target's behaviour
 * is measured, not assumed) and, where present, at the restore operations' outcomes.
 */
import type { FactSource, OperationResult, RelianceFinding } from "../findings.ts";
import type { Snapshot, VcpuState } from "../../snapshots/model.ts";
import { regValue, VCPU_FEATURE } from "../../snapshots/model.ts";
import { COPROC, hex, regCoproc, SVE_VLS, sysreg } from "../../snapshots/kvm/ids.ts";
import type { Observation, ProbeResults } from "../probes/results.ts";
import { GROUP_PATTERN } from "../probes/layout.ts";
import { groupWritability } from "./rules.ts";
import { COUNTER_TOLERANCE } from "./diff.ts";
import type { DriftRun, RestoredTarget } from "./run.ts";

export interface RelianceInput {
  snapshot: Snapshot;
  /** What the guest observes on the target, per vCPU (drift run, target side). */
  target: ProbeResults[];
  /** What it observed on the source, per vCPU (drift run, source side), when known. */
  source?: ProbeResults[];
  /** The target's restore operations, when known (ignored/failed IGROUPR writes). */
  operations?: OperationResult[];
  /** Citations by topic from the target's profile and host (as DriftSide.facts). */
  facts?: Record<string, FactSource>;
}

interface Rule {
  kind: string;
  topic: string;
  fact: FactSource;
  check: (i: RelianceInput, fact: FactSource) => RelianceFinding[];
}

function obs(r: ProbeResults | undefined, name: string): Observation | undefined {
  return r?.observations.get(name);
}
const okValue = (o: Observation | undefined) => o?.status.kind === "ok" ? o.value : undefined;

// ---- Interrupt groups ------------------------------------------------------------------------

/** GICD_IGROUPR<n> offsets (GICv2 IHI0048 §4.3.4, GICv3 IHI0069 §12.9.14). */
const IGROUPR = 0x80;
/** GICR_IGROUPR0 in the SGI frame (RD base + 0x10000 + 0x80), as the snapshot's redist keys. */
const GICR_IGROUPR0 = 0x1_0080;

function popcount(x: number): number {
  let n = 0;
  for (let v = x >>> 0; v; v &= v - 1) n++;
  return n;
}

function groupFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  const vgic = i.snapshot.vm.vgic;
  if (!vgic) return [];
  // KVM resets every interrupt to group 1 on GICv3 and group 0 on GICv2 (vgic-init.c
  // kvm_vgic_dist_init / vgic_v3 reset).
  const reset = vgic.model === "v3" ? 0xffff_ffff : 0;
  const words = vgic.nrIrqs / 32;
  const moved: string[] = [];
  let irqs = 0;
  for (let n = vgic.model === "v3" ? 1 : 0; n < words; n++) {
    const v = vgic.dist.get(IGROUPR + 4 * n);
    if (v === undefined || (v >>> 0) === reset) continue;
    irqs += popcount(((v >>> 0) ^ reset) >>> 0);
    moved.push(`GICD_IGROUPR${n}=${hex(v >>> 0)}`);
  }
  if (vgic.model === "v3") {
    i.snapshot.vcpus.forEach((c, k) => {
      const v = c.redist?.get(GICR_IGROUPR0);
      if (v === undefined || (v >>> 0) === reset) return;
      irqs += popcount(((v >>> 0) ^ reset) >>> 0);
      moved.push(`vCPU ${k} GICR_IGROUPR0=${hex(v >>> 0)}`);
    });
  }
  if (moved.length === 0) return [];
  // What the target does with them: measured writability, and the restore's own outcomes.
  const t0 = i.target[0];
  const spi = obs(t0, `GICD_IGROUPR[last SPI word] after writing 0x${GROUP_PATTERN.toString(16)}`);
  const writable = spi ? groupWritability(GROUP_PATTERN, spi) : "unknown";
  const ignored = (i.operations ?? []).filter((o) =>
    o.component === "vgic" && /IGROUPR/.test(o.name) && o.outcome !== "ok"
  );
  if (writable === "writable" && ignored.length === 0) return [];
  const why = ignored.length > 0
    ? `the target ${ignored[0].outcome === "ignored" ? "ignores" : "rejects"} the restore of ` +
      `${ignored.map((o) => o.name).slice(0, 4).join(", ")}${ignored.length > 4 ? ", …" : ""} ` +
      `(${ignored[0].reason})`
    : `interrupt groups are ${writable} on the target`;
  return [{
    kind: "interrupt-groups",
    severity: "breaking",
    explanation: `the guest configured ${irqs} interrupt(s) away from the reset group ` +
      `(${moved.slice(0, 4).join(", ")}${moved.length > 4 ? ", …" : ""}) and ${why}: after ` +
      `the restore they are signalled as group ${vgic.model === "v3" ? 1 : 0} again ` +
      `(FIQ/IRQ swapped or masked for the guest)`,
    fact,
  }];
}

// ---- Pointer authentication and SVE ----------------------------------------------------------

/** APIA/APIB/APDA/APDB/APGA key registers (Arm ARM D24.2, op0=3 op1=0 CRn=2). */
const PAUTH_KEYS: [string, bigint][] = [
  ["APIAKEYLO_EL1", sysreg(3, 0, 2, 1, 0)],
  ["APIAKEYHI_EL1", sysreg(3, 0, 2, 1, 1)],
  ["APIBKEYLO_EL1", sysreg(3, 0, 2, 1, 2)],
  ["APIBKEYHI_EL1", sysreg(3, 0, 2, 1, 3)],
  ["APDAKEYLO_EL1", sysreg(3, 0, 2, 2, 0)],
  ["APDAKEYHI_EL1", sysreg(3, 0, 2, 2, 1)],
  ["APDBKEYLO_EL1", sysreg(3, 0, 2, 2, 2)],
  ["APDBKEYHI_EL1", sysreg(3, 0, 2, 2, 3)],
  ["APGAKEYLO_EL1", sysreg(3, 0, 2, 3, 0)],
  ["APGAKEYHI_EL1", sysreg(3, 0, 2, 3, 1)],
];

/** ID_AA64ISAR1_EL1 APA[7:4] API[11:8] GPA[27:24] GPI[31:28]; ISAR2 GPA3[11:8] APA3[15:12]. */
function targetHasPauth(r: ProbeResults): boolean | undefined {
  const isar1 = okValue(obs(r, "ID_AA64ISAR1_EL1"));
  if (isar1 === undefined) return undefined;
  const isar2 = okValue(obs(r, "ID_AA64ISAR2_EL1")) ?? 0n;
  const f = (v: bigint, sh: bigint) => (v >> sh) & 0xfn;
  return f(isar1, 4n) + f(isar1, 8n) + f(isar1, 24n) + f(isar1, 28n) + f(isar2, 8n) +
      f(isar2, 12n) > 0n;
}

function pauthFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  const out: RelianceFinding[] = [];
  i.snapshot.vcpus.forEach((c, k) => {
    const live = PAUTH_KEYS.filter(([, id]) => (regValue(c, id) ?? 0n) !== 0n).map(([n]) => n);
    const asked = c.features.includes(VCPU_FEATURE.PTRAUTH_ADDRESS) ||
      c.features.includes(VCPU_FEATURE.PTRAUTH_GENERIC);
    if (live.length === 0 && !asked) return;
    const t = i.target[k];
    if (!t || targetHasPauth(t) !== false) return;
    out.push({
      kind: "pauth-keys",
      vcpu: k,
      severity: "breaking",
      explanation: live.length > 0
        ? `pointer-authentication keys are live (${
          live.join(", ")
        }) but the target hides pointer authentication (ID_AA64ISAR1_EL1 ${
          hex(okValue(obs(t, "ID_AA64ISAR1_EL1"))!)
        }): the keys are not restored and signed return addresses fail to authenticate`
        : `the vCPU was created with pointer authentication but the target hides it: PAC ` +
          `instructions the guest uses become NOPs or UNDEF and its keys are lost`,
      fact,
    });
  });
  return out;
}

/**
 * Whether a register holds state only SVE has. The low 128 bits of each Z register are the
 * FP/SIMD V register (QEMU's KVM backend writes an SVE vCPU's V0..V31 as Z0..Z31), so they count
 * only above byte 16; P and FFR count whole; KVM_REG_ARM64_SVE_VLS is configuration, not state.
 */
function sveOnlyState(id: bigint, v: Uint8Array): boolean {
  if (regCoproc(id) !== COPROC.SVE || id === SVE_VLS) return false;
  const isZ = (id & 0x600n) === 0n; // ZREG indices 0x000..0x3ff, PREG 0x400.., FFR 0x600..
  return v.subarray(isZ ? 16 : 0).some((b) => b !== 0);
}

/** ID_AA64PFR0_EL1.SVE is bits [35:32]. */
function sveFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  const out: RelianceFinding[] = [];
  const ZCR_EL1 = sysreg(3, 0, 1, 2, 0);
  i.snapshot.vcpus.forEach((c, k) => {
    const sveRegs = [...c.registers].filter(([id, v]) => sveOnlyState(id, v)).length;
    const zcr = regValue(c, ZCR_EL1) ?? 0n;
    if (!c.features.includes(VCPU_FEATURE.SVE) && sveRegs === 0 && zcr === 0n) return;
    const t = i.target[k];
    const pfr0 = okValue(obs(t, "ID_AA64PFR0_EL1"));
    if (pfr0 === undefined || ((pfr0 >> 32n) & 0xfn) !== 0n) return;
    out.push({
      kind: "sve-state",
      vcpu: k,
      severity: "breaking",
      explanation: `${
        sveRegs > 0 || zcr !== 0n
          ? `SVE state is live (${sveRegs} non-zero SVE register(s), ZCR_EL1 ${hex(zcr)})`
          : "the vCPU was created with SVE (KVM_ARM_VCPU_SVE)"
      } but the target hides SVE (ID_AA64PFR0_EL1 ${
        hex(pfr0)
      }): the vector state is lost and SVE instructions the guest uses UNDEF`,
      fact,
    });
  });
  return out;
}

// ---- Timers ----------------------------------------------------------------------------------

/** KVM ids (swapped names are KVM's: TIMER_CVAL has CNTV_CVAL's... see names.ts). */
const TIMER_CTL = sysreg(3, 3, 14, 3, 1);
const TIMER_CVAL = sysreg(3, 3, 14, 0, 2);
const TIMER_CNT = sysreg(3, 3, 14, 3, 2);

function timerFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  const out: RelianceFinding[] = [];
  i.snapshot.vcpus.forEach((c: VcpuState, k) => {
    const ctl = regValue(c, TIMER_CTL);
    const cval = regValue(c, TIMER_CVAL);
    const cnt = regValue(c, TIMER_CNT);
    // CNTV_CTL_EL0: ENABLE bit 0, IMASK bit 1 (Arm ARM D24.11).
    if (ctl === undefined || cval === undefined || cnt === undefined) return;
    if ((ctl & 1n) === 0n || (ctl & 2n) !== 0n) return;
    // The deadline is relative to the saved counter: compare what the guest reads on the target
    // with it (a restoring target reads it plus the probe's own few thousand ticks).
    const t = i.target[k];
    const now = okValue(obs(t, "CNTVCT_EL0"));
    if (now === undefined) return;
    const shift = BigInt.asIntN(64, now - cnt);
    if ((shift < 0n ? -shift : shift) <= COUNTER_TOLERANCE) return;
    const freq = okValue(obs(t, "CNTFRQ_EL0")) ?? 0n;
    const secs = freq > 0n ? ` (${(Number(shift) / Number(freq)).toFixed(3)} s)` : "";
    const remaining = BigInt.asIntN(64, cval - cnt);
    out.push({
      kind: "armed-timer",
      vcpu: k,
      severity: shift < 0n ? "breaking" : "notable",
      explanation:
        `the virtual timer is armed (CNTV_CTL ${hex(ctl)}, deadline ${
          hex(cval)
        }, ${remaining} ticks after the saved counter ${hex(cnt)}) and the counter the guest ` +
        `reads on the target is ${shift > 0n ? "ahead" : "behind"} by ${shift} ticks${secs}: ` +
        (shift < 0n
          ? "the timer fires that much later, stalling whatever waits on it"
          : "the timer fires early and the guest's clock jumps forward"),
      fact,
    });
  });
  return out;
}

// ---- The EL1 physical timer ------------------------------------------------------------------

/** KVM_REG_ARM_PTIMER_CTL (CNTP_CTL_EL0's ONE_REG; KVM lists the ptimer registers from 6.4). */
const PTIMER_CTL = sysreg(3, 3, 14, 2, 1);
/** The EL1 physical timer's PPI on QEMU's virt board (ARCH_TIMER_NS_EL1_IRQ, INTID 30). */
const PTIMER_PPI = 30;
/** ISENABLER0 / ISPENDR0: GICv2 distributor (banked per vCPU), GICv3 SGI frame (RD + 0x10000). */
const PPI_WORDS = { v2: { enable: 0x100, pend: 0x200 }, v3: { enable: 0x1_0100, pend: 0x1_0200 } };

function ptimerFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  const vgic = i.snapshot.vm.vgic;
  if (!vgic) return [];
  const w = PPI_WORDS[vgic.model];
  const reg = vgic.model === "v3" ? "GICR" : "GICD";
  const out: RelianceFinding[] = [];
  i.snapshot.vcpus.forEach((c, k) => {
    if (regValue(c, PTIMER_CTL) !== undefined) return;
    const words = vgic.model === "v3"
      ? c.redist
      : (c.extra.get("gicv2_dist_banked") as unknown as Map<number, number> | undefined) ??
        (k === 0 ? vgic.dist : undefined);
    const bit = (off: number) => (((words?.get(off) ?? 0) >>> PTIMER_PPI) & 1) === 1;
    const uses = [
      bit(w.enable) && `enabled (${reg}_ISENABLER0)`,
      bit(w.pend) &&
      `pending (${reg}_ISPENDR0)`,
    ].filter((x): x is string => !!x);
    if (!uses.length) return;
    out.push({
      kind: "physical-timer",
      vcpu: k,
      severity: "breaking",
      explanation:
        `the guest uses the EL1 physical timer (PPI ${PTIMER_PPI} ${
          uses.join(" and ")
        }) but the snapshot carries no physical timer state (no KVM_REG_ARM_PTIMER_CTL, _CVAL, ` +
        `_CNT: the source kernel lists them only from 6.4): after the restore CNTP_CTL_EL0 is 0, ` +
        `the timer is off and its interrupt no longer pending, so whatever waits on it stalls`,
      fact,
    });
  });
  return out;
}

// ---- Redistributors --------------------------------------------------------------------------

/** GICR_CTLR (RD +0x0): EnableLPIs bit 0, CES bit 1, IR bit 2 (IHI0069 §12.11.2). */
const GICR_CTLR = 0x0;
/** GICR_PENDBASER (RD +0x78, two 32-bit halves in the snapshot). */
const GICR_PENDBASER = 0x78;

function redistFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  const cpus = i.snapshot.vcpus;
  if (cpus.length < 2 || cpus.some((c) => !c.redist || c.redist.size === 0)) return [];
  const text = (c: VcpuState) => JSON.stringify([...c.redist!].sort((a, b) => a[0] - b[0]));
  const pend = (c: VcpuState) =>
    (BigInt(c.redist!.get(GICR_PENDBASER + 4) ?? 0) << 32n) |
    BigInt(c.redist!.get(GICR_PENDBASER) ?? 0);
  const allSame = cpus.every((c) => text(c) === text(cpus[0]));
  const p0 = pend(cpus[0]);
  const lpis = cpus.some((c) => ((c.redist!.get(GICR_CTLR) ?? 0) & 1) !== 0);
  const sharedPend = p0 !== 0n && cpus.every((c) => pend(c) === p0);
  if (sharedPend && lpis) {
    return [{
      kind: "redistributor-copies",
      severity: "breaking",
      explanation:
        `all ${cpus.length} vCPUs carry the same GICR_PENDBASER (${
          hex(p0)
        }) with LPIs enabled: each redistributor needs its own pending table, so this is one ` +
        `vCPU's state saved for all (the Cloud Hypervisor PR #8638 save bug) and LPIs of the ` +
        `other vCPUs are lost`,
      fact,
    }];
  }
  if (allSame) {
    return [{
      kind: "redistributor-copies",
      severity: "notable",
      explanation: `the redistributor state of all ${cpus.length} vCPUs is byte-for-byte ` +
        `identical: a VMM that saved vCPU 0's redistributor for every vCPU (Cloud Hypervisor ` +
        `PR #8638) produces exactly this; the per-vCPU interrupt state may be lost`,
      fact,
    }];
  }
  return [];
}

/** GICR_CTLR bits the guest saw on the source (IR, CES) that the target does not show. */
function gicrCtlrFindings(i: RelianceInput, fact: FactSource): RelianceFinding[] {
  if (!i.source) return [];
  const out: RelianceFinding[] = [];
  i.snapshot.vcpus.forEach((c, k) => {
    const s = okValue(obs(i.source![k], "GICR_CTLR"));
    const t = okValue(obs(i.target[k], "GICR_CTLR"));
    if (s === undefined || t === undefined) return;
    const gone = [[2n, "IR"], [1n, "CES"]].filter(([bit]) =>
      ((s >> (bit as bigint)) & 1n) === 1n && ((t >> (bit as bigint)) & 1n) === 0n
    ).map(([, n]) => n as string);
    if (gone.length === 0) return;
    const enabled = ((c.redist?.get(GICR_CTLR) ?? 0) & 1) !== 0;
    out.push({
      kind: "gicr-ctlr",
      vcpu: k,
      severity: enabled ? "notable" : "info",
      explanation: `the guest saw GICR_CTLR.{${gone.join(",")}} on the source and the target ` +
        `does not show ${gone.length > 1 ? "them" : "it"}; ` +
        (enabled
          ? "LPIs are enabled on this vCPU, so a guest that chose register-based LPI " +
            "invalidation (GICR_INVLPIR, advertised by IR) or relies on clearing EnableLPIs " +
            "(CES) keeps doing so against a redistributor that does not advertise it"
          : "LPIs are not enabled, so nothing the guest set depends on it yet"),
      fact,
    });
  });
  return out;
}

export const RELIANCE_RULES: readonly Rule[] = [
  {
    kind: "physical-timer",
    topic: "timer",
    fact: {
      cite:
        "linux 'KVM: arm64: timers: Allow save/restoring of the physical timer' (6.4 pull); measured by the VMM referee: tests/fixtures/vmm/max-gicv3.identity-6.1.pending.json (CNTP_CTL_EL0 5 -> 0, PPI 30 no longer pending after QEMU restores on the same Debian 6.1 kernel)",
      confidence: "V",
    },
    check: ptimerFindings,
  },
  {
    kind: "interrupt-groups",
    topic: "vgic.groups",
    fact: {
      cite:
        "linux d53c2c29ae0d (IGROUPR configurable from IIDR revision 2); Documentation/virt/kvm/devices/arm-vgic.rst (GICv2 IGROUPR writes ignored unless GICD_IIDR written first)",
      confidence: "V",
    },
    check: groupFindings,
  },
  {
    kind: "pauth-keys",
    topic: "feature",
    fact: {
      cite:
        "Documentation/virt/kvm/api.rst KVM_ARM_VCPU_PTRAUTH_ADDRESS/GENERIC (keys only with the feature)",
      confidence: "V",
    },
    check: pauthFindings,
  },
  {
    kind: "sve-state",
    topic: "feature",
    fact: {
      cite: "Documentation/virt/kvm/api.rst KVM_ARM_VCPU_SVE, KVM_REG_ARM64_SVE_*",
      confidence: "V",
    },
    check: sveFindings,
  },
  {
    kind: "armed-timer",
    topic: "timer",
    fact: {
      cite:
        "Documentation/virt/kvm/api.rst KVM_REG_ARM_TIMER_CNT (sets the VM's virtual offset), KVM_ARM_SET_COUNTER_OFFSET (6.4)",
      confidence: "V",
    },
    check: timerFindings,
  },
  {
    kind: "redistributor-copies",
    topic: "vgic",
    fact: {
      cite:
        "Cloud Hypervisor PR #8638 (2026-07: gicr_typers left zero, every vCPU saved with vCPU 0's redistributor state)",
      confidence: "V",
    },
    check: redistFindings,
  },
  {
    kind: "gicr-ctlr",
    topic: "vgic.iidr",
    fact: {
      cite:
        "linux 49a1a2c70a7f (GICR_CTLR.{IR,CES} from IIDR revision 3, with MMIO LPI invalidation)",
      confidence: "I",
    },
    check: gicrCtlrFindings,
  },
];

/**
 * Reliance findings from explicit inputs, in rule order. `target` must hold one probe result per
 * vCPU of the snapshot.
 */
export function relianceFindings(input: RelianceInput): RelianceFinding[] {
  if (input.target.length !== input.snapshot.vcpus.length) {
    throw new Error(
      `reliance: ${input.target.length} target probe run(s) for ${input.snapshot.vcpus.length} vCPU(s)`,
    );
  }
  return RELIANCE_RULES.flatMap((r) => r.check(input, input.facts?.[r.topic] ?? r.fact));
}

/**
 * Reliance findings for the target of a drift run: the snapshot's own state against what the
 * guest observes on that target (run.target) and the target's restore outcomes.
 */
export function analyseReliance(
  snapshot: Snapshot,
  run: DriftRun,
  target: RestoredTarget,
): RelianceFinding[] {
  return relianceFindings({
    snapshot,
    target: run.target.runs,
    source: run.source.runs,
    operations: target.restore.operations,
    facts: run.target.side.facts,
  });
}
