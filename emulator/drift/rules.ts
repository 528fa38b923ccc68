/**
 * How a difference in one probe observation is judged: a row per observation (or family), with
 * the severity rule, the explanation and the kernel fact behind it. The diff (diff.ts) is
 * generic over these rows; adding an observation to the probe means adding a row here (rows
 * are matched in order; the last row catches everything else as "notable").
 *
 * Severity (emulator/findings.ts): breaking = the guest will misbehave (it relies on what it
 * discovered at boot and that is gone), notable = the guest can tell, info = harmless.
 *
 * `topic` names the profile fact family a target's own citation comes from (the drift side may
 * carry facts per topic); `fact` is the fallback citation (a kernel commit or file).
 */
import type { FactSource, Severity } from "../findings.ts";
import { fieldsIn, getField } from "../profiles/idfields.ts";
import type { Observation } from "../probes/results.ts";
import { showObservation } from "../probes/results.ts";
import { GROUP_PATTERN } from "../probes/layout.ts";

export interface Verdict {
  severity: Severity;
  explanation: string;
}

export interface DriftRule {
  /** Observation names this row covers. */
  match: RegExp;
  /** Fact family a side's citation is looked up by (see DriftSide.facts). */
  topic: string;
  fact: FactSource;
  /** Bits that legitimately differ between two runs (not drift), e.g. timer ISTATUS. */
  ignoreBits?: bigint;
  /** Judges a difference; undefined means "not a difference after all". */
  judge: (src: Observation, tgt: Observation) => Verdict | undefined;
}

const ok = (o: Observation) => o.status.kind === "ok";
const show = showObservation;

/** Presence first: a register or frame that stops answering is worse than a changed value. */
function presence(what: string, src: Observation, tgt: Observation): Verdict | undefined {
  if (ok(src) && !ok(tgt)) {
    return {
      severity: "breaking",
      explanation: `${what} answered on the source (${show(src)}) but gives ${
        show(tgt)
      } on the target: a guest that uses it after the restore takes an exception or reads nothing`,
    };
  }
  if (!ok(src) && ok(tgt)) {
    return {
      severity: "info",
      explanation: `${what} gives ${show(src)} on the source but answers on the target (${
        show(tgt)
      }); the running guest does not expect it`,
    };
  }
  if (!ok(src) && !ok(tgt)) {
    return {
      severity: "notable",
      explanation: `${what}: ${show(src)} on the source, ${show(tgt)} on the target`,
    };
  }
  return undefined;
}

/** ID-register field comparison: a field that goes down is a feature the guest saw vanish. */
function idFields(reg: string, src: bigint, tgt: bigint): Verdict {
  const changed = fieldsIn(reg, src ^ tgt);
  const lower: string[] = [];
  const other: string[] = [];
  for (const f of changed) {
    const a = getField(src, f);
    const b = getField(tgt, f);
    const text = `${f.field} ${a} → ${b}`;
    (b < a ? lower : other).push(text);
  }
  if (lower.length > 0) {
    return {
      severity: "breaking",
      explanation:
        `${reg} reports less on the target (${
          [...lower, ...other].join(", ")
        }): the guest chose its features at boot from the source's value and may use what the target ` +
        `no longer offers`,
    };
  }
  return {
    severity: "notable",
    explanation: `${reg} differs (${
      other.join(", ")
    }): the guest can tell, and does not use the extra features until it reboots`,
  };
}

const GICR_CTLR_IR = 1n << 2n;
const GICR_CTLR_CES = 1n << 1n;

function hexv(v: bigint): string {
  return `0x${v.toString(16)}`;
}

/** Interpretation of a group-register write test: what the readback says about writability. */
export function groupWritability(pattern: number, readback: Observation): string {
  if (!ok(readback)) return show(readback);
  const v = Number(readback.value & 0xffff_ffffn);
  if (v === pattern) return "writable";
  if (v === 0) return "RAZ/WI";
  if (v === 0xffff_ffff) return "RAO/WI";
  return `partly writable (read ${hexv(readback.value)} after writing ${hexv(BigInt(pattern))})`;
}

const IIDR_FACT: FactSource = {
  cite:
    "linux d53c2c29ae0d (IIDR revision 2: guest-configurable groups), 49a1a2c70a7f (revision 3: GICR_CTLR.{IR,CES})",
  confidence: "V",
};

export const DRIFT_RULES: readonly DriftRule[] = [
  {
    match: /^(CNTVCT_EL0|CNTPCT_EL0)$/,
    topic: "timer",
    fact: {
      cite:
        "Documentation/virt/kvm/api.rst KVM_REG_ARM_TIMER_CNT, KVM_ARM_SET_COUNTER_OFFSET (6.4)",
      confidence: "V",
    },
    // Raw counter values move with every instruction; continuity is judged separately
    // (diff.ts, counter rule) against the saved counter.
    judge: () => undefined,
  },
  {
    match: /^(CNTV_CTL_EL0|CNTP_CTL_EL0)$/,
    topic: "timer",
    fact: { cite: "Arm ARM D11.2.4 (CNTV_CTL_EL0.ISTATUS follows the counter)", confidence: "V" },
    ignoreBits: 1n << 2n, // ISTATUS: depends on where the counter is when the probe reads it
    judge: (s, t) =>
      presence("the timer", s, t) ?? {
        severity: "breaking",
        explanation:
          `timer control ${show(s)} on the source, ${show(t)} on the target: an armed timer the ` +
          `guest set is not armed the same way (its interrupt will not come when expected)`,
      },
  },
  {
    match: /^(CNTV_CVAL_EL0|CNTP_CVAL_EL0)$/,
    topic: "timer",
    fact: {
      cite: "Documentation/virt/kvm/api.rst KVM_REG_ARM_TIMER_CVAL (swapped id)",
      confidence: "V",
    },
    judge: (s, t) =>
      presence("the timer compare value", s, t) ?? {
        severity: "breaking",
        explanation: `the timer deadline the guest programmed is ${show(s)} on the source but ${
          show(t)
        } on the target`,
      },
  },
  {
    match: /^CNTFRQ_EL0$/,
    topic: "timer",
    fact: {
      cite: "Arm ARM D11.1.2 (CNTFRQ_EL0 is the frequency software assumes)",
      confidence: "V",
    },
    judge: (s, t) =>
      presence("CNTFRQ_EL0", s, t) ?? {
        severity: "breaking",
        explanation: `the counter frequency changes (${show(s)} → ${
          show(t)
        }): the guest's clocksource was calibrated at boot, its time runs at the wrong rate`,
      },
  },
  {
    match: /^GICD_IIDR$/,
    topic: "vgic.iidr",
    fact: IIDR_FACT,
    judge: (s, t) =>
      presence("GICD_IIDR", s, t) ?? {
        severity: "notable",
        explanation:
          `GICD_IIDR ${show(s)} → ${show(t)} (Revision ${(s.value >> 12n) & 0xfn} → ${
            (t.value >> 12n) & 0xfn
          }): the distributor implementation revision the guest sees changes, and with it the ` +
          `interrupt-group and GICR_CTLR behaviour`,
      },
  },
  {
    match: /^GICR_CTLR$/,
    topic: "vgic.iidr",
    fact: {
      cite: "linux 49a1a2c70a7f (GICR_CTLR.{IR,CES} advertised from IIDR revision 3)",
      confidence: "V",
    },
    judge: (s, t) => {
      const p = presence("GICR_CTLR", s, t);
      if (p) return p;
      const gone: string[] = [];
      if ((s.value & GICR_CTLR_IR) !== 0n && (t.value & GICR_CTLR_IR) === 0n) gone.push("IR");
      if ((s.value & GICR_CTLR_CES) !== 0n && (t.value & GICR_CTLR_CES) === 0n) gone.push("CES");
      if (gone.length > 0) {
        return {
          severity: "notable",
          explanation:
            `GICR_CTLR.{${gone.join(",")}} disappear (${show(s)} → ${
              show(t)
            }): a guest that saw IR at boot uses the GICR_INVLPIR/INVALLR/SYNCR invalidation ` +
            `registers for LPIs, which this revision does not advertise`,
        };
      }
      return {
        severity: "notable",
        explanation: `GICR_CTLR ${show(s)} → ${show(t)}`,
      };
    },
  },
  {
    match: /after writing 0x/,
    topic: "vgic.groups",
    fact: {
      cite:
        "linux d53c2c29ae0d (IGROUPR guest-configurable from revision 2); 'KVM: arm64: vgic: Allow userspace to set IIDR revision 1' (Woodhouse 2026, RAO/WI on GICv3, RAZ/WI on GICv2)",
      confidence: "V",
    },
    judge: (s, t) => {
      const pattern = Number(/after writing (0x[0-9a-f]+)/.exec(s.slot.name)![1]);
      const a = groupWritability(pattern, s);
      const b = groupWritability(pattern, t);
      // The complement pattern's row confirms the first; it reports only a partial difference
      // the first pattern could not show.
      if (
        a === b || (pattern !== GROUP_PATTERN && !a.startsWith("partly") && !b.startsWith("partly"))
      ) {
        return undefined;
      }
      return {
        severity: "notable",
        explanation:
          `interrupt groups are ${a} on the source and ${b} on the target: a guest that ` +
          `configures interrupt groups (group 0 / FIQ users, secure-world style partitioning) ` +
          `loses that configuration`,
      };
    },
  },
  {
    match: /^(GICD_IGROUPR\d+|GICR_IGROUPR0)$/,
    topic: "vgic.groups",
    fact: {
      cite:
        "Documentation/virt/kvm/devices/arm-vgic.rst (IGROUPR writes ignored unless GICD_IIDR was written first, GICv2); linux d53c2c29ae0d",
      confidence: "V",
    },
    judge: (s, t) =>
      presence(s.slot.name, s, t) ?? {
        severity: "breaking",
        explanation:
          `${s.slot.name} is ${show(s)} after the restore on the source but ${
            show(t)
          } on the target: the interrupt groups the guest configured are not what it finds, so ` +
          `those interrupts are signalled in the other group (as FIQ instead of IRQ, or not at all)`,
      },
  },
  {
    match: /^GICD_TYPER$/,
    topic: "vgic",
    fact: { cite: "GICv3 IHI0069 §12.9.38 GICD_TYPER (ITLinesNumber)", confidence: "V" },
    judge: (s, t) => {
      const p = presence("GICD_TYPER", s, t);
      if (p) return p;
      const lines = (v: bigint) => Number(v & 0x1fn);
      if (lines(t.value) < lines(s.value)) {
        return {
          severity: "breaking",
          explanation: `GICD_TYPER ${show(s)} → ${show(t)}: fewer interrupt lines (${
            (lines(s.value) + 1) * 32
          } → ${(lines(t.value) + 1) * 32}); SPIs the guest uses above that do not exist`,
        };
      }
      return { severity: "notable", explanation: `GICD_TYPER ${show(s)} → ${show(t)}` };
    },
  },
  {
    match: /^PSCI_VERSION$/,
    topic: "psci",
    fact: {
      cite:
        "linux 85bd0ba1ff98 (KVM_REG_ARM_PSCI_VERSION), 512865d83fd9 (PSCI 1.1 from 5.18), PSCI 1.2/1.3 from 6.13",
      confidence: "V",
    },
    judge: (s, t) => {
      const p = presence("PSCI_VERSION", s, t);
      if (p) return p;
      const v = (x: bigint) => `${x >> 16n}.${x & 0xffffn}`;
      return {
        severity: t.value < s.value ? "notable" : "info",
        explanation: `the PSCI version the guest sees goes from ${v(s.value)} to ${
          v(t.value)
        }; the guest read it at boot`,
      };
    },
  },
  {
    match: /^PSCI_FEATURES\(/,
    topic: "psci",
    fact: {
      cite: "PSCI DEN0022 §5.1.14 PSCI_FEATURES; KVM psci.c per PSCI version",
      confidence: "V",
    },
    judge: (s, t) => {
      const fn = /\((.*)\)/.exec(s.slot.name)![1];
      const sup = (o: Observation) => ok(o) && BigInt.asIntN(64, o.value) >= 0n;
      if (sup(s) && !sup(t)) {
        return {
          severity: "breaking",
          explanation: `${fn} was offered on the source (${show(s)}) and is not on the target (${
            show(t)
          }): a guest that discovered it at boot calls it and gets NOT_SUPPORTED`,
        };
      }
      if (!sup(s) && sup(t)) {
        return {
          severity: "info",
          explanation: `${fn} becomes available on the target (${
            show(t)
          }); the guest does not know`,
        };
      }
      return {
        severity: "notable",
        explanation: `PSCI_FEATURES(${fn}) ${show(s)} → ${show(t)}`,
      };
    },
  },
  {
    match: /^SMCCC_ARCH_FEATURES\(/,
    topic: "smccc",
    fact: {
      cite:
        "SMCCC DEN0028 §7.3 (ARCH_WORKAROUND discovery); Documentation/virt/kvm/arm/fw-pseudo-registers.rst",
      confidence: "V",
    },
    judge: (s, t) => ({
      severity: "notable",
      explanation: `${/\((.*)\)/.exec(s.slot.name)![1]} discovery ${show(s)} → ${
        show(t)
      }: the Spectre mitigation the guest selected at boot does not match what the target reports`,
    }),
  },
  {
    match: /^(VENDOR_HYP_|TRNG_|HV_PV_TIME|SMCCC_VERSION|MIGRATE_INFO_TYPE)/,
    topic: "bitmap",
    fact: {
      cite:
        "Documentation/virt/kvm/arm/fw-pseudo-registers.rst (hypercall bitmaps, 5.19 0586e28aaa32)",
      confidence: "V",
    },
    judge: (s, t) =>
      presence(s.slot.name, s, t) ?? {
        severity: "notable",
        explanation:
          `a hypervisor service the guest discovered at boot (PTP, TRNG, stolen time) changes`,
      },
  },
  {
    match: /^CLIDR_EL1$|^CCSIDR_EL1\./,
    topic: "cache",
    fact: {
      cite:
        "linux 7af0c2534f4c 'KVM: arm64: Normalize cache configuration' (6.3: CLIDR/CCSIDR fabricated and writable)",
      confidence: "V",
    },
    judge: (s, t) =>
      presence(s.slot.name, s, t) ?? {
        severity: "notable",
        explanation: `the cache geometry the guest sees changes (cacheinfo, set/way maintenance)`,
      },
  },
  {
    match: /^CTR_EL0$/,
    topic: "cache",
    fact: {
      cite: "Arm ARM D24.2.36 CTR_EL0; linux 2843cae26644 (6.11: CTR_EL0 writable)",
      confidence: "V",
    },
    judge: (s, t) => {
      const p = presence("CTR_EL0", s, t);
      if (p) return p;
      const bit = (v: bigint, n: bigint) => (v >> n) & 1n;
      const line = (v: bigint, sh: bigint) => (v >> sh) & 0xfn;
      const lost = [
        ...(bit(s.value, 28n) > bit(t.value, 28n) ? ["IDC"] : []),
        ...(bit(s.value, 29n) > bit(t.value, 29n) ? ["DIC"] : []),
        ...(line(t.value, 0n) < line(s.value, 0n) ? ["IminLine smaller"] : []),
        ...(line(t.value, 16n) < line(s.value, 16n) ? ["DminLine smaller"] : []),
      ];
      if (lost.length > 0) {
        return {
          severity: "breaking",
          explanation:
            `CTR_EL0 ${show(s)} → ${show(t)} (${
              lost.join(", ")
            }): the guest skips or strides cache maintenance by what it read at boot, which is ` +
            `not enough on the target`,
        };
      }
      return idFields("CTR_EL0", s.value, t.value);
    },
  },
  {
    match: /^(MIDR_EL1|REVIDR_EL1|AIDR_EL1)$/,
    topic: "impid",
    fact: {
      cite:
        "KVM invariant_sys_regs (MIDR/REVIDR/AIDR host values); 6.15 KVM_CAP_ARM_WRITABLE_IMP_ID_REGS",
      confidence: "V",
    },
    judge: (s, t) =>
      presence(s.slot.name, s, t) ?? {
        severity: "notable",
        explanation:
          `the CPU the guest identified at boot (and chose errata workarounds for) changes`,
      },
  },
  {
    match: /^MPIDR_EL1$/,
    topic: "vcpu",
    fact: { cite: "Arm ARM D24.2.111 MPIDR_EL1 (affinity routing identity)", confidence: "V" },
    judge: (s, t) =>
      presence("MPIDR_EL1", s, t) ?? {
        severity: "breaking",
        explanation: `the vCPU's affinity changes (${show(s)} → ${
          show(t)
        }): interrupt routing and PSCI CPU_ON targets the guest computed no longer match`,
      },
  },
  {
    match: /^(ZCR_EL1|APIAKEYLO_EL1|APGAKEYLO_EL1)$/,
    topic: "feature",
    fact: {
      cite:
        "KVM hides SVE / pointer authentication unless the vCPU has KVM_ARM_VCPU_SVE / PTRAUTH_* (api.rst KVM_ARM_VCPU_INIT)",
      confidence: "V",
    },
    judge: (s, t) =>
      presence(s.slot.name, s, t) ?? {
        severity: "breaking",
        explanation: "feature state the guest set is lost",
      },
  },
  {
    match: /^PMCR_EL0$/,
    topic: "pmu",
    fact: {
      cite: "KVM PMCR_EL0.N from the host (selectable from 6.7, 3f9cd0ca8484)",
      confidence: "V",
    },
    judge: (s, t) => {
      const p = presence("PMCR_EL0", s, t);
      if (p) return p;
      const n = (v: bigint) => (v >> 11n) & 0x1fn;
      return {
        severity: n(t.value) < n(s.value) ? "breaking" : "notable",
        explanation: `PMCR_EL0 ${show(s)} → ${show(t)} (N ${n(s.value)} → ${
          n(t.value)
        } event counters): a guest profiling with the counters it found at boot loses some`,
      };
    },
  },
  {
    match: /^OSLSR_EL1$/,
    topic: "debug",
    fact: {
      cite: "linux d134998838ac (5.18: OS Lock emulated, OSLSR_EL1 visible state)",
      confidence: "V",
    },
    judge: (s, t) =>
      presence("OSLSR_EL1", s, t) ?? {
        severity: "notable",
        explanation: `OSLSR_EL1 ${show(s)} → ${show(t)}: the OS Lock state the guest sees changes`,
      },
  },
  {
    match: /^ICC_CTLR_EL1$/,
    topic: "vgic.cpuif",
    fact: {
      cite: "arch/arm64/kvm/vgic-sys-reg-v3.c (PRIbits/IDbits/SEIS/A3V from ICH_VTR_EL2)",
      confidence: "V",
    },
    judge: (s, t) => {
      const p = presence("ICC_CTLR_EL1", s, t);
      if (p) return p;
      const pri = (v: bigint) => ((v >> 8n) & 7n) + 1n;
      // EOImode (bit 1) is the guest's own choice of how it completes interrupts.
      if (((s.value ^ t.value) & 2n) !== 0n) {
        return {
          severity: "breaking",
          explanation:
            `ICC_CTLR_EL1 ${show(s)} → ${show(t)}: the EOImode the guest set (${
              (s.value >> 1n) & 1n
            }) is not what it gets (${(t.value >> 1n) & 1n}); its EOIR/DIR sequence no longer ` +
            `deactivates interrupts the way it expects`,
        };
      }
      return {
        severity: pri(t.value) < pri(s.value) ? "breaking" : "notable",
        explanation: `ICC_CTLR_EL1 ${show(s)} → ${show(t)} (priority bits ${pri(s.value)} → ${
          pri(t.value)
        }): the priority scheme the guest set up at boot does not fit`,
      };
    },
  },
  {
    match: /^ID_|^MVFR|^S3_0_C0_/,
    topic: "idregs",
    fact: {
      cite:
        "Documentation/virt/arm64/kvm/vcpu-features.rst (writable ID registers, 6.7 3f9cd0ca8484); set_id_reg exact-match rule before",
      confidence: "V",
    },
    judge: (s, t) => presence(s.slot.name, s, t) ?? idFields(s.slot.name, s.value, t.value),
  },
  {
    match: /.*/,
    topic: "other",
    fact: {
      cite: "observed by the rollsafe guest probe in both emulated machines",
      confidence: "V",
    },
    judge: (s, t) =>
      presence(s.slot.name, s, t) ?? {
        severity: "notable",
        explanation:
          "the guest reads a different value here; no rule names what this register means to it",
      },
  },
];

/** The first rule covering an observation name. */
export function ruleFor(name: string): DriftRule {
  return DRIFT_RULES.find((r) => r.match.test(name))!;
}
