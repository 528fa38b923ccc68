/**
 * From the restore model's answer for one target (EffectiveState: what the kernel holds after
 * the restore) to a DriftSide: the emulator machine configured as that kernel on that host, and
 * the state writes that put the held values into it.
 *
 * Division of labour: the restore model has already applied every acceptance rule (rejected and
 * ignored writes keep the target's value, accepted ones take the saved value, the IIDR revision is
 * the effective one), so the writes here are raw and the emulator's own uaccess gate for GICv2
 * IGROUPR is switched off; what the emulator adds is the guest's view (MRS, MMIO, HVC).
 */
import type { FactSource } from "../findings.ts";
import type { GicOptions, MachineConfig } from "../machine.ts";
import type { EffectiveState } from "../kvm/effective.ts";
import { mpidrAttr, VGIC_GRP } from "../kvm/plan.ts";
import { kvmIidr } from "../kvm/rules_vgic.ts";
import { hostBool, hostHex, hostNum } from "../hosts/loader.ts";
import type { Target } from "../profiles/types.ts";
import { regValue, type Snapshot, VCPU_FEATURE } from "../../snapshots/model.ts";
import { COPROC, fwReg, regCoproc, sysreg } from "../../snapshots/kvm/ids.ts";
import type { DriftSide, StateWrite } from "./side.ts";

/** KVM_REG_ARM_PSCI_VERSION (firmware register 0). */
const PSCI_VERSION_REG = fwReg(0);

/** Distributor offsets that are identification, not state (never replayed). */
function isDistId(model: "v2" | "v3", off: number): boolean {
  if (off === 0x4 || off === 0x8 || off === 0xc) return true; // TYPER, IIDR, TYPER2
  return model === "v3" ? off >= 0xffd0 : off >= 0xfd0; // PIDR/CIDR blocks
}

/**
 * Which profile fact cites each rule topic (first present wins). Where the cause depends on the
 * restore, so does the citation: a revision the VMM wrote cites the write rules, a default one
 * the default; a PSCI version the snapshot restored cites what is accepted, else the default.
 */
function topicFactKeys(s: Snapshot, e: EffectiveState): Record<string, string[]> {
  const psciSaved = s.vcpus.some((c) => c.registers.has(PSCI_VERSION_REG));
  return {
    "vgic.iidr": e.vgic?.iidrWritten
      ? ["vgic.iidr.honoured", "vgic.iidr.accepted", "vgic.iidr.defaultRevision"]
      : ["vgic.iidr.defaultRevision"],
    "vgic.groups": ["vgic.groups.configurable", "vgic.groups.v2UserWritable"],
    psci: psciSaved ? ["psci.accepted", "psci.default"] : ["psci.default"],
    cache: ["cache.clidr", "cache.writable"],
    timer: ["timer.counterOffset"],
    bitmap: ["bitmap.0"],
    idregs: ["idwrite.default"],
    impid: ["impid.writableCap"],
  };
}

function topicFacts(t: Target, s: Snapshot, e: EffectiveState): Record<string, FactSource> {
  const out: Record<string, FactSource> = {};
  for (const [topic, keys] of Object.entries(topicFactKeys(s, e))) {
    const k = keys.find((k) => t.profile.facts[k] !== undefined);
    if (k) out[topic] = t.profile.facts[k].source;
  }
  return out;
}

const PSCI = (v: string) => {
  const [a, b] = v.split(".").map(Number);
  return (BigInt(a) << 16n) | BigInt(b);
};

/** What the target kernel's firmware offers (wasm devices.rs FW_FIELD indices). */
function firmwareFields(t: Target, s: Snapshot, e: EffectiveState) {
  const f: { field: number; value: bigint }[] = [];
  const facts = t.profile.facts;
  const accepted = facts["psci.accepted"]?.value as string[] | undefined;
  if (accepted?.length) {
    f.push({
      field: 1,
      value: accepted.map(PSCI).reduce((a, b) => a > b ? a : b),
    });
  }
  const psci02 = s.vcpus[0]?.features.includes(VCPU_FEATURE.PSCI_0_2) ?? true;
  f.push({ field: 2, value: psci02 ? 1n : 0n });
  const wa = ["smccc.wa1", "smccc.wa2", "smccc.wa3"];
  wa.forEach((k, i) => {
    const v = hostNum(t.host, k);
    if (v !== undefined) f.push({ field: 3 + i, value: BigInt(v) });
  });
  // FW registers 0..2 always; WORKAROUND_3 (reg 3, and its ARCH_FEATURES answer) from
  // a5905d6af492, which the profile lists as the fw-wa3 register group.
  f.push({ field: 6, value: facts["regs.fw-wa3"] ? 4n : 3n });
  let bmapRegs = 0;
  for (let n = 0; n < 4; n++) {
    const b = facts[`bitmap.${n}`]?.value as { supported: number } | undefined;
    if (b) {
      bmapRegs = n + 1;
      f.push({ field: 11 + n, value: BigInt(b.supported) });
    }
  }
  f.push({ field: 15, value: BigInt(bmapRegs) });
  for (const [n, v] of e.firmware.bitmaps) f.push({ field: 7 + n, value: v });
  if (e.firmware.psciVersion !== undefined) f.push({ field: 0, value: e.firmware.psciVersion });
  return f;
}

function gicOptions(t: Target, s: Snapshot, e: EffectiveState): GicOptions | undefined {
  const v = e.vgic;
  if (!v) return undefined;
  const o: GicOptions = {
    model: v.model === "v3" ? 3 : 2,
    nrIrqs: s.vm.vgic?.nrIrqs,
    iidr: kvmIidr(v.iidrRevision),
    groupMode: v.guestGroupsWritable ? "writable" : v.model === "v3" ? "rao-wi" : "raz-wi",
    v2GroupsUserWritableNeedsIidr: false,
  };
  const pri = hostNum(t.host, "gic.priBits");
  const id = hostNum(t.host, "gic.idBits");
  if (pri !== undefined) o.priBits = pri;
  if (id !== undefined) o.idBits = id;
  if (t.host.facts["gic.seis"]) o.seis = hostBool(t.host, "gic.seis");
  if (t.host.facts["gic.a3v"]) o.a3v = hostBool(t.host, "gic.a3v");
  return o;
}

const MPIDR_EL1 = sysreg(3, 0, 0, 0, 5);
/** KVM_REG_ARM_TIMER_CNT (KVM's name; CNTV_CVAL_EL0's encoding, api.rst). */
const TIMER_CNT = sysreg(3, 3, 14, 3, 2);
/** KVM_MP_STATE_STOPPED (uapi kvm.h). */
const MP_STATE_STOPPED = 1;

/** The DriftSide for `target`, holding `effective` (the restore model's answer for it). */
export function driftSide(
  target: Target,
  snapshot: Snapshot,
  effective: EffectiveState,
): DriftSide {
  const n = snapshot.vcpus.length;
  const mpidrs = snapshot.vcpus.map((c, k) => effective.vcpus[k]?.get(MPIDR_EL1) ?? c.mpidr);
  const config: MachineConfig = {
    vcpus: n,
    ram: [],
    mpidrs,
    gic: gicOptions(target, snapshot, effective),
    firmwareFields: firmwareFields(target, snapshot, effective),
  };
  const cntfrq = hostHex(target.host, "cntfrq");
  if (cntfrq !== undefined) config.cntfrq = Number(cntfrq);
  const pmu = snapshot.vcpus[0]?.features.includes(VCPU_FEATURE.PMU_V3);
  const counters = hostNum(target.host, "pmu.counters");
  if (pmu && counters !== undefined) config.pmcrN = counters;

  const writes: StateWrite[] = [];
  effective.vcpus.forEach((regs, k) => {
    for (const [id, value] of regs) {
      const c = regCoproc(id);
      // Firmware registers are VM-wide and configured as firmware fields above.
      if (c === COPROC.FW || c === COPROC.FW_FEAT_BMAP) continue;
      writes.push({ kind: "one-reg", vcpu: k, id, value });
    }
  });
  const v = effective.vgic;
  if (v) {
    for (const [off, value] of v.dist) {
      if (isDistId(v.model, off)) continue;
      writes.push({
        kind: "device-attr",
        group: VGIC_GRP.DIST_REGS,
        attr: BigInt(off),
        value: BigInt(value),
      });
    }
    v.redist.forEach((m, k) => {
      const aff = mpidrAttr(mpidrs[k]) << 32n;
      for (const [off, value] of m) {
        writes.push({
          kind: "device-attr",
          group: VGIC_GRP.REDIST_REGS,
          attr: aff | BigInt(off),
          value: BigInt(value),
        });
      }
    });
    v.icc.forEach((m, k) => {
      const aff = mpidrAttr(mpidrs[k]) << 32n;
      for (const [enc, value] of m) {
        writes.push({
          kind: "device-attr",
          group: VGIC_GRP.CPU_SYSREGS,
          attr: aff | BigInt(enc),
          value,
        });
      }
    });
  }
  // KVM_ARM_SET_COUNTER_OFFSET (6.4+): counters read host counter - offset, and later CNT writes
  // are ignored. The host counter at restore time is not knowable here, so the offset is taken
  // to continue the saved counter (what a VMM computes it for); without a saved counter the
  // machine's own counter (0 at creation) stands for the host's.
  const t = effective.timer;
  if (t.counterOffsetApplied && t.counterOffset !== undefined) {
    snapshot.vcpus.forEach((c, k) => {
      const saved = regValue(c, TIMER_CNT);
      const value = saved ?? BigInt.asUintN(64, -t.counterOffset!);
      writes.push({ kind: "one-reg", vcpu: k, id: TIMER_CNT, value });
    });
  }
  snapshot.vcpus.forEach((c, k) => {
    if (c.mpState === MP_STATE_STOPPED) {
      writes.push({ kind: "mp-state", vcpu: k, state: "stopped" });
    }
  });
  return { id: target.id, config, writes, facts: topicFacts(target, snapshot, effective) };
}
