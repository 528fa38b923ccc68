/**
 * vGIC device attributes on the target: GICD_IIDR revision rules, IGROUPR writability per revision
 * and per IIDR-write history, access before CTRL_INIT, GICD_TYPER2, ICC_* checks against the host's
 * ICH_VTR_EL2, ITS ABI (arch/arm64/kvm/vgic/vgic-mmio-v3.c, vgic-mmio-v2.c, vgic-kvm-device.c,
 * vgic-its.c; each rule cites its commit).
 */
import { hex } from "../../snapshots/kvm/ids.ts";
import type { FactSource } from "../findings.ts";
import { hostBool, hostNum } from "../hosts/loader.ts";
import type { Target } from "../profiles/types.ts";
import { fact, must } from "./facts.ts";
import { iccEnc, iccName } from "./gicnames.ts";
import type { Judgement } from "./rules_reg.ts";
import { GICD_IIDR, GICD_TYPER2, GITS_IIDR } from "./plan.ts";

/** KVM's GICD_IIDR: ProductID 0x4b ('K') | Revision | Implementer 0x43b (vgic-mmio-v3.c). */
export function kvmIidr(rev: number): number {
  return ((0x4b << 24) | (rev << 12) | 0x43b) >>> 0;
}
export const IIDR_REVISION_MASK = 0xf000;

export interface VgicSim {
  model: "v2" | "v3";
  created: boolean;
  initialized: boolean;
  rev: number;
  iidrWritten: boolean;
  dist: Map<number, number>;
  redist: Map<number, number>[];
  icc: Map<number, bigint>[];
}

const REVISION_SRC: FactSource = {
  cite:
    "vgic-mmio-v2.c/-v3.c: KVM_VGIC_IMP_REV_2 makes groups configurable, REV_3 adds GICR_CTLR.{IR,CES} (d53c2c29ae0d, 49a1a2c70a7f)",
  confidence: "V",
};

const ok = (reason: string, source?: FactSource): Judgement => ({ outcome: "ok", reason, source });
const fail = (errno: Judgement["errno"], reason: string, source?: FactSource): Judgement => ({
  outcome: "failed",
  errno,
  reason,
  source,
});

/** Access gate: GICv3 attributes before CTRL_INIT. */
export function beforeInit(
  t: Target,
  g: VgicSim,
  what: "iidr" | "typer2" | "other",
): Judgement | undefined {
  if (g.model !== "v3" || g.initialized) return undefined;
  const f = must<string>(t.profile, "vgic.accessBeforeInit");
  if (f.value === "iidr-allowed" && what !== "other") return undefined;
  return fail(
    "EBUSY",
    `${t.profile.id} refuses vGIC register access before KVM_DEV_ARM_VGIC_CTRL_INIT`,
    f.source,
  );
}

export function evalIidr(t: Target, g: VgicSim, value: number): Judgement {
  const gate = beforeInit(t, g, "iidr");
  if (gate) return gate;
  const acc = must<string | number[]>(t.profile, "vgic.iidr.accepted");
  const current = kvmIidr(g.rev);
  const rev = (value & IIDR_REVISION_MASK) >> 12;
  if (acc.value === "equal-current") {
    if (value !== current) {
      return fail(
        "EINVAL",
        `${t.profile.id} accepts a GICD_IIDR write only if it equals the current ${
          hex(current)
        } (revision ${g.rev}); the snapshot has revision ${rev}`,
        acc.source,
      );
    }
    g.iidrWritten = true;
    return ok(`equals the current GICD_IIDR (revision ${g.rev})`, acc.source);
  }
  if (((value ^ current) & ~IIDR_REVISION_MASK) !== 0) {
    return fail(
      "EINVAL",
      `GICD_IIDR fields other than Revision differ from ${hex(current)}`,
      acc.source,
    );
  }
  const revs = acc.value as number[];
  if (!revs.includes(rev)) {
    return fail(
      "EINVAL",
      `${t.profile.id} accepts GICD_IIDR revisions ${revs.join(", ")}, not ${rev}`,
      acc.source,
    );
  }
  g.iidrWritten = true;
  const hon = must<boolean>(t.profile, "vgic.iidr.honoured");
  if (rev !== g.rev && !hon.value) {
    return {
      outcome: "ignored",
      reason:
        `the write returns 0 but ${t.profile.id} keeps revision ${g.rev} (the accepted revision is taken from the current value; fixed by a0e6ae45af17): the guest keeps revision-${g.rev} behaviour`,
      source: hon.source,
    };
  }
  g.rev = rev;
  return ok(`revision ${rev} set`, hon.source);
}

function igrouprReset(g: VgicSim): number {
  // Reset groups: GICv2 interrupts are group 0, GICv3 interrupts group 1.
  return g.model === "v2" ? 0 : 0xffffffff;
}

/** Why IGROUPR writes from userspace are dropped on this target now, or undefined if they land. */
function groupsDropped(t: Target, g: VgicSim): { why: string; source: FactSource } | undefined {
  const conf = must<boolean>(t.profile, "vgic.groups.configurable");
  if (!conf.value) {
    return {
      why: `${t.profile.id} does not let interrupt groups be configured (revert of d53c2c29ae0d)`,
      source: conf.source,
    };
  }
  if (g.rev < 2) {
    return {
      why: `at GICD_IIDR revision ${g.rev} IGROUPR is ${g.model === "v2" ? "RAZ/WI" : "RAO/WI"}`,
      source: fact(t.profile, "vgic.iidr.accepted")?.source ?? REVISION_SRC,
    };
  }
  if (g.model === "v2") {
    const uw = must<string>(t.profile, "vgic.groups.v2UserWritable");
    if (uw.value === "after-iidr-write" && !g.iidrWritten) {
      return {
        why:
          "GICv2 IGROUPR writes from userspace are ignored unless userspace wrote GICD_IIDR first (v2_groups_user_writable)",
        source: uw.source,
      };
    }
  }
  return undefined;
}

function isIgroupr(g: VgicSim, off: number, redist: boolean): boolean {
  if (redist) return g.model === "v3" && off === 0x10080;
  return off >= 0x80 && off < 0x100;
}

export function evalDist(t: Target, g: VgicSim, off: number, value: number): Judgement {
  if (off === GICD_IIDR) return evalIidr(t, g, value);
  if (off === GICD_TYPER2 && g.model === "v3") {
    const gate = beforeInit(t, g, "typer2");
    if (gate) return gate;
    const f = must<string>(t.profile, "vgic.typer2");
    const cur = hostBool(t.host, "gic.v4_1") ? 0x100 : 0; // nASSGIcap, bit 8
    if (value === cur) return ok("equals the target's GICD_TYPER2", f.source);
    if (f.value === "exact") {
      return fail(
        "EINVAL",
        `${t.profile.id} requires GICD_TYPER2 to equal ${hex(cur)} (host ${t.host.id})`,
        f.source,
      );
    }
    if (f.value === "nassgicap-before-init") {
      if ((value ^ cur) & ~0x100) {
        return fail("EINVAL", "GICD_TYPER2 bits other than nASSGIcap differ [U errno]", f.source);
      }
      if (value & 0x100 && !cur) {
        return fail("EINVAL", `host ${t.host.id} has no GICv4.1 direct SGIs [U errno]`, f.source);
      }
      if (g.initialized) {
        return fail("EBUSY", "nASSGIcap may change only before CTRL_INIT [U errno]", f.source);
      }
      return ok("nASSGIcap cleared before init", f.source);
    }
    return ok("GICD_TYPER2 reads as zero; the write is ignored", f.source);
  }
  const gate = beforeInit(t, g, "other");
  if (gate) return gate;
  return landing(t, g, off, value, false, g.dist);
}

export function evalRedist(
  t: Target,
  g: VgicSim,
  vcpu: number,
  off: number,
  value: number,
): Judgement {
  const gate = beforeInit(t, g, "other");
  if (gate) return gate;
  g.redist[vcpu] ??= new Map();
  return landing(t, g, off, value, true, g.redist[vcpu]);
}

const RO_SRC: FactSource = {
  cite:
    "Documentation/virt/kvm/devices/arm-vgic-v3.rst: writes to read-only registers are ignored by the kernel",
  confidence: "V",
};

function landing(
  t: Target,
  g: VgicSim,
  off: number,
  value: number,
  redist: boolean,
  held: Map<number, number>,
): Judgement {
  const readOnly = redist
    ? [0x4, 0x8, 0xc].includes(off) || off >= 0xffd0 && off < 0x10000
    : off === 0x4 || off >= 0xffd0;
  if (readOnly) return ok("read-only register: the kernel ignores the write by design", RO_SRC);
  if (isIgroupr(g, off, redist)) {
    const dropped = groupsDropped(t, g);
    if (dropped) {
      const reset = igrouprReset(g);
      held.set(off, reset);
      if ((value >>> 0) === reset) {
        return ok(
          `${dropped.why}; the saved value equals what the target holds (${hex(reset)})`,
          dropped.source,
        );
      }
      return {
        outcome: "ignored",
        reason: `${dropped.why}: the guest's interrupt group configuration (${
          hex(value >>> 0)
        }) is lost, the target holds ${hex(reset)}`,
        source: dropped.source,
      };
    }
  }
  held.set(off, value >>> 0);
  return ok("stored", REVISION_SRC);
}

const ICC_SRC: FactSource = {
  cite:
    "arch/arm64/kvm/vgic-sys-reg-v3.c set_gic_ctlr/set_apr/set_gic_sre (KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS)",
  confidence: "V",
};

export function evalIcc(
  t: Target,
  g: VgicSim,
  vcpu: number,
  enc: number,
  value: bigint,
): Judgement {
  const gate = beforeInit(t, g, "other");
  if (gate) return gate;
  const name = iccName(enc);
  if (!name) {
    return fail("ENXIO", `no GICv3 CPU-interface register with encoding ${hex(enc)}`, ICC_SRC);
  }
  g.icc[vcpu] ??= new Map();
  const pri = hostNum(t.host, "gic.priBits");
  const idb = hostNum(t.host, "gic.idBits");
  const hostSrc = t.host.facts["gic.priBits"]?.source;
  if (enc === iccEnc("ICC_CTLR_EL1")) {
    const sPri = Number((value >> 8n) & 7n) + 1;
    const sId = (value >> 11n) & 7n ? 24 : 16;
    const seis = Boolean((value >> 14n) & 1n);
    const a3v = Boolean((value >> 15n) & 1n);
    if (pri !== undefined && sPri > pri) {
      return fail(
        "EINVAL",
        `saved PRIbits ${sPri} exceed host ${t.host.id}'s ${pri} (ICH_VTR_EL2)`,
        hostSrc,
      );
    }
    if (idb !== undefined && sId > idb) {
      return fail(
        "EINVAL",
        `saved IDbits ${sId} exceed host ${t.host.id}'s ${idb}`,
        t.host.facts["gic.idBits"]?.source,
      );
    }
    const hs = t.host.facts["gic.seis"];
    if (hs && (hs.value as boolean) !== seis) {
      return fail(
        "EINVAL",
        `saved SEIS ${+seis} differs from host ${t.host.id}'s ${+(hs.value as boolean)}`,
        hs.source,
      );
    }
    const ha = t.host.facts["gic.a3v"];
    if (ha && (ha.value as boolean) !== a3v) {
      return fail(
        "EINVAL",
        `saved A3V ${+a3v} differs from host ${t.host.id}'s ${+(ha.value as boolean)}`,
        ha.source,
      );
    }
    g.icc[vcpu].set(enc, value);
    return ok("PRIbits, IDbits, SEIS and A3V compatible with the host", ICC_SRC);
  }
  if (enc === iccEnc("ICC_SRE_EL1") && !(value & 1n)) {
    return fail(
      "EINVAL",
      "ICC_SRE_EL1.SRE is 0; KVM's GICv3 emulation requires system-register access",
      ICC_SRC,
    );
  }
  const ap = /^ICC_AP[01]R([0-3])_EL1$/.exec(name);
  if (ap && pri !== undefined) {
    const max = pri >= 7 ? 3 : pri === 6 ? 1 : 0;
    if (Number(ap[1]) > max) {
      return fail(
        "EINVAL",
        `${name} does not exist with host ${t.host.id}'s ${pri} priority bits (highest APR index ${max})`,
        hostSrc,
      );
    }
  }
  g.icc[vcpu].set(enc, value);
  return ok("stored", ICC_SRC);
}

const ITS_SRC: FactSource = {
  cite:
    "Documentation/virt/kvm/devices/arm-vgic-its.rst (ABI REV0; GITS_IIDR before RESTORE_TABLES); ab01c6bdacc4",
  confidence: "V",
};

export function evalIts(t: Target, off: number, value: bigint): Judgement {
  if (off === GITS_IIDR) {
    const f = must<number[]>(t.profile, "its.abiRevisions");
    const rev = Number((value >> 12n) & 0xfn);
    if (rev > Math.max(...f.value)) {
      return fail(
        "EINVAL",
        `ITS table ABI revision ${rev} is above ${t.profile.id}'s highest (${
          Math.max(...f.value)
        })`,
        f.source,
      );
    }
    return ok(`ITS ABI revision ${rev} supported`, f.source);
  }
  return ok("stored", ITS_SRC);
}
