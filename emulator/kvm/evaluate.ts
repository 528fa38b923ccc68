/**
 * evaluateRestore: replays a VMM's restore sequence (plan.ts) against a target's rules and reports
 * every operation's outcome, never stopping at the first failure, plus what the target holds
 * afterwards (EffectiveState).
 */
import { COPROC, hex, regCoproc } from "../../snapshots/kvm/ids.ts";
import { describeReg } from "../../snapshots/kvm/names.ts";
import { type Snapshot, VCPU_FEATURE } from "../../snapshots/model.ts";
import type { FactSource, OperationResult } from "../findings.ts";
import { hostBool } from "../hosts/loader.ts";
import type { Target } from "../profiles/types.ts";
import type { DefaultValue } from "./defaults.ts";
import { compileTarget } from "./compiled.ts";
import type { EffectiveState } from "./effective.ts";
import { must } from "./facts.ts";
import { defaultFlavour, type Flavour, flavour, type VmmFlavour } from "./flavours.ts";
import { distName, giccName, iccName, itsName, redistName } from "./gicnames.ts";
import { QEMU_CPREG_SOURCE, qemuCpregLoad } from "./qemu_load.ts";
import {
  CAP_WRITABLE_IMP_ID_REGS,
  mpidrAttr,
  type PlannedOp,
  planRestore,
  VGIC_GRP,
} from "./plan.ts";
import { evalOneReg, type Judgement } from "./rules_reg.ts";
import {
  beforeInit,
  evalDist,
  evalIcc,
  evalIts,
  evalRedist,
  kvmIidr,
  type VgicSim,
} from "./rules_vgic.ts";

export interface RestoreOptions {
  /** VMM flavour; default: the snapshot's source VMM if known, else generic. */
  vmm?: VmmFlavour;
  /**
   * planRestore(snapshot, that flavour), when the caller judges one snapshot on several targets:
   * the plan depends on the snapshot and the VMM only, so it is made once (emulator/validate.ts).
   */
  plan?: PlannedOp[];
}

export interface RestoreResult {
  /** "<profile>@<host>" */
  target: string;
  /** The flavour assumed, and why. */
  vmm: VmmFlavour;
  vmmReason: string;
  restorable: boolean;
  operations: OperationResult[];
  /** The planned operations, index for index with `operations` (for toPlan). */
  planned: PlannedOp[];
  effective: EffectiveState;
}

const FEATURE_NAMES = [
  "POWER_OFF",
  "EL1_32BIT",
  "PSCI_0_2",
  "PMU_V3",
  "SVE",
  "PTRAUTH_ADDRESS",
  "PTRAUTH_GENERIC",
  "HAS_EL2",
  "HAS_EL2_E2H0",
];

const INIT_SRC: FactSource = {
  cite:
    "arch/arm64/kvm/arm.c kvm_vcpu_init_check_features: a feature the kernel or host lacks is -EINVAL",
  confidence: "I",
};

/** Host capability each vCPU feature needs. */
const FEATURE_HOST: Record<number, string> = {
  [VCPU_FEATURE.PMU_V3]: "feature.pmu",
  [VCPU_FEATURE.SVE]: "feature.sve",
  [VCPU_FEATURE.PTRAUTH_ADDRESS]: "feature.ptrauth",
  [VCPU_FEATURE.PTRAUTH_GENERIC]: "feature.ptrauth",
  [VCPU_FEATURE.HAS_EL2]: "feature.nv",
  [VCPU_FEATURE.HAS_EL2_E2H0]: "feature.nv",
};

function evalInit(t: Target, features: number[]): Judgement {
  const f = must<number[]>(t.profile, "vcpu.features");
  for (const b of features) {
    const name = FEATURE_NAMES[b] ?? `bit ${b}`;
    if (!f.value.includes(b)) {
      return {
        outcome: "failed",
        errno: "ENOENT",
        reason:
          `${t.profile.id} does not offer vCPU feature ${name} (features outside the supported set are -ENOENT)`,
        source: {
          cite: f.source.cite +
            "; oracle captures debian-6.1.json/debian-6.12.json: HAS_EL2 → ENOENT",
          confidence: f.source.confidence,
        },
      };
    }
    const hk = FEATURE_HOST[b];
    if (hk && t.host.facts[hk] && !hostBool(t.host, hk)) {
      return {
        outcome: "failed",
        errno: "ENOENT",
        reason: `host ${t.host.id} lacks ${hk.slice(8)}, so KVM does not offer ${name}`,
        source: {
          cite: `${
            t.host.facts[hk].source.cite
          }; oracle captures: a feature the system does not support is -ENOENT (HAS_EL2 without NV)`,
          confidence: "I",
        },
      };
    }
  }
  return {
    outcome: "ok",
    reason: `features ${features.map((b) => FEATURE_NAMES[b] ?? b).join(", ") || "none"} supported`,
    source: f.source ?? INIT_SRC,
  };
}

function componentOf(id: bigint): OperationResult["component"] {
  const c = regCoproc(id);
  if (c === COPROC.FW || c === COPROC.FW_FEAT_BMAP) return "firmware";
  return describeReg(id).class === "timer" ? "timer" : "vcpu";
}

export function evaluateRestore(s: Snapshot, t: Target, opts: RestoreOptions = {}): RestoreResult {
  const fl: Flavour = opts.vmm ? flavour(opts.vmm)! : defaultFlavour(s.source?.vmm);
  if (!fl) throw new Error(`unknown VMM flavour ${opts.vmm}`);
  const vmmReason = opts.vmm
    ? "given"
    : s.source?.vmm
    ? `the snapshot's source VMM (${s.source.vmm})`
    : "the snapshot does not name its VMM";
  const planned = opts.plan ?? planRestore(s, fl);
  const ops: OperationResult[] = [];
  const p = t.profile;

  // The target's tables, compiled once per target (compiled.ts), looked up here.
  const compiled = compileTarget(t);
  const defaults: ReadonlyMap<bigint, DefaultValue>[] = s.vcpus.map((v, i) =>
    compiled.defaults(v.features, i)
  );
  const inventories = s.vcpus.map((v) => compiled.inventory(v.features));
  // Identical registers across vCPUs are judged once: a judgement depends on the register, its
  // value, the vCPU's features, the restore state so far and the target's default for that vCPU
  // (MPIDR differs per vCPU), never on the vCPU's index.
  const judged = new Map<string, ReturnType<typeof evalOneReg>>();
  const held: Map<bigint, bigint>[] = defaults.map((d) => {
    const m = new Map<bigint, bigint>();
    for (const [id, dv] of d) if (dv.value !== undefined) m.set(id, dv.value);
    return m;
  });
  const finalized = new Set<number>();
  let counterOffsetApplied = false;
  let counterOffset: bigint | undefined;
  let impIdCap = false;
  let vcnt = false;
  let ptimer = false;
  const g: VgicSim | undefined = s.vm.vgic
    ? {
      model: s.vm.vgic.model,
      created: false,
      initialized: false,
      rev: must<number>(p, "vgic.iidr.defaultRevision").value,
      iidrWritten: false,
      dist: new Map(),
      redist: [],
      icc: [],
    }
    : undefined;

  const push = (
    base: Omit<OperationResult, "outcome" | "reason" | "errno" | "source">,
    j: Judgement,
  ) => {
    const r: OperationResult = { ...base, outcome: j.outcome, reason: j.reason };
    if (j.errno) r.errno = j.errno;
    if (j.source) r.source = j.source;
    ops.push(r);
  };

  for (const op of planned) {
    switch (op.kind) {
      case "enable-cap": {
        const f = must<boolean>(p, "impid.writableCap");
        if (f.value) impIdCap = true;
        push(
          {
            op: "KVM_ENABLE_CAP",
            name: "KVM_CAP_ARM_WRITABLE_IMP_ID_REGS",
            value: hex(op.cap),
            component: "vm",
          },
          f.value
            ? {
              outcome: "ok",
              reason: "MIDR_EL1, REVIDR_EL1, AIDR_EL1 become writable until the first KVM_RUN",
              source: f.source,
            }
            : {
              outcome: "failed",
              errno: "EINVAL",
              reason: `${p.id} does not have cap ${CAP_WRITABLE_IMP_ID_REGS} (6.15+) [U errno]`,
              source: f.source,
            },
        );
        break;
      }
      case "smccc-filter": {
        const f = must<boolean>(p, "smccc.filter");
        push(
          {
            op: "KVM_SET_DEVICE_ATTR",
            attr: "KVM_ARM_VM_SMCCC_CTRL:KVM_ARM_VM_SMCCC_FILTER",
            name: `SMCCC filter ${hex(op.base)}+${op.count}`,
            value: hex(op.action),
            component: "vm",
          },
          f.value
            ? {
              outcome: "ok",
              reason: "the filter range is installed before the first KVM_RUN",
              source: f.source,
            }
            : {
              outcome: "failed",
              errno: "ENXIO",
              reason:
                `${p.id} has no SMCCC filter (6.4+); the guest's hypercall routing is lost [U errno]`,
              source: f.source,
            },
        );
        break;
      }
      case "counter-offset": {
        const f = must<boolean>(p, "timer.counterOffset");
        if (f.value) {
          counterOffsetApplied = true;
          counterOffset = op.offset;
        }
        push(
          {
            op: "KVM_ARM_SET_COUNTER_OFFSET",
            name: "counter_offset",
            value: hex(op.offset),
            component: "timer",
          },
          f.value
            ? {
              outcome: "ok",
              reason:
                "one VM-wide offset for the virtual and physical counters; later CNT writes are ignored",
              source: f.source,
            }
            : {
              outcome: "failed",
              errno: "EINVAL",
              reason:
                `${p.id} has no KVM_ARM_SET_COUNTER_OFFSET (6.4+): arm64's VM ioctl handler rejects it [U errno]`,
              source: f.source,
            },
        );
        break;
      }
      case "vmm-refuses":
        push({ op: "VMM", vcpu: op.vcpu, name: "kvm_vcpu_init.features", component: "vcpu" }, {
          outcome: "failed",
          reason: op.reason,
          source: fl.source,
        });
        break;
      case "vmm-cpreg-list": {
        const l = qemuCpregLoad(op.ids, inventories[op.vcpu].keys(), (id) => describeReg(id).name);
        push(
          { op: "VMM", vcpu: op.vcpu, name: l.field ?? "cpreg list", component: "vcpu" },
          { outcome: l.field ? "failed" : "ok", reason: l.reason, source: QEMU_CPREG_SOURCE },
        );
        break;
      }
      case "vcpu-init":
        push(
          {
            op: "KVM_ARM_VCPU_INIT",
            vcpu: op.vcpu,
            name: "features",
            // BigInt: features[] spans 7 × 32 bits, and `1 << b` wraps at 32 (bit 31 turns
            // negative, bit 36 becomes bit 4).
            value: hex(op.features.reduce((a, b) => a | (1n << BigInt(b)), 0n)),
            component: "vcpu",
          },
          evalInit(t, op.features),
        );
        break;
      case "finalize":
        finalized.add(op.vcpu);
        push({
          op: "KVM_ARM_VCPU_FINALIZE",
          vcpu: op.vcpu,
          name: "KVM_ARM_VCPU_SVE",
          component: "vcpu",
        }, {
          outcome: "ok",
          reason: "SVE configuration finalized",
          source: { cite: "api.rst KVM_ARM_VCPU_FINALIZE", confidence: "V" },
        });
        break;
      case "one-reg": {
        const features = s.vcpus[op.vcpu].features;
        const key = `${op.id}=${op.value}/${features}/${finalized.has(op.vcpu)}/` +
          `${counterOffsetApplied}/${impIdCap}/${defaults[op.vcpu].get(op.id)?.value}`;
        let j = judged.get(key);
        if (!j) {
          j = evalOneReg(
            {
              t,
              vcpu: op.vcpu,
              features,
              inventory: inventories[op.vcpu],
              defaults: defaults[op.vcpu],
              finalized: finalized.has(op.vcpu),
              counterOffsetApplied,
              impIdCap,
            },
            op.id,
            op.value,
          );
          judged.set(key, j);
        }
        if (j.outcome === "ok") {
          held[op.vcpu].set(op.id, j.held ?? op.value);
          if (op.id === 0x603000000013df1an) vcnt = true;
          if (op.id === 0x603000000013df11n || op.id === 0x603000000013df12n) ptimer = true;
        }
        push({
          op: "KVM_SET_ONE_REG",
          vcpu: op.vcpu,
          id: hex(op.id),
          name: describeReg(op.id).name,
          value: hex(op.value),
          component: componentOf(op.id),
        }, j);
        break;
      }
      case "vgic-create": {
        const hv = t.host.facts["gic.version"];
        const okCreate = op.model === "v3"
          ? hv?.value === "v3"
          : hv?.value === "v2" || hostBool(t.host, "gic.v2compat");
        if (okCreate && g) g.created = true;
        push(
          {
            op: "KVM_CREATE_DEVICE",
            name: `KVM_DEV_TYPE_ARM_VGIC_${op.model.toUpperCase()}`,
            component: "vgic",
          },
          okCreate
            ? {
              outcome: "ok",
              reason: `host ${t.host.id} supports a ${op.model} vGIC`,
              source: hv?.source,
            }
            : {
              outcome: "failed",
              errno: "ENODEV",
              reason:
                `host ${t.host.id} cannot provide a GIC${op.model} (no GICv2 compatibility in its CPU interface): KVM_CREATE_DEVICE returns ENODEV`,
              source: t.host.facts["gic.v2compat"]?.source ?? hv?.source,
            },
        );
        break;
      }
      case "vgic-nr-irqs": {
        const good = op.value >= 64 && op.value <= 1024 && op.value % 32 === 0;
        push(
          {
            op: "KVM_SET_DEVICE_ATTR",
            attr: `${VGIC_GRP.NR_IRQS}:0x0`,
            name: "KVM_DEV_ARM_VGIC_GRP_NR_IRQS",
            value: hex(op.value),
            component: "vgic",
          },
          good
            ? {
              outcome: "ok",
              reason: "64–1024 in steps of 32",
              source: { cite: "arm-vgic-v3.rst GRP_NR_IRQS", confidence: "V" },
            }
            : {
              outcome: "failed",
              errno: "EINVAL",
              reason: `${op.value} interrupts: must be 64–1024 in steps of 32`,
              source: { cite: "arm-vgic-v3.rst GRP_NR_IRQS", confidence: "V" },
            },
        );
        break;
      }
      case "vgic-init":
        if (g) g.initialized = true;
        push({
          op: "KVM_SET_DEVICE_ATTR",
          attr: `${VGIC_GRP.CTRL}:0x0`,
          name: "KVM_DEV_ARM_VGIC_CTRL_INIT",
          component: "vgic",
        }, {
          outcome: "ok",
          reason: "after every vCPU was created",
          source: { cite: "arm-vgic-v3.rst GRP_CTRL", confidence: "V" },
        });
        break;
      case "vgic-dist": {
        const grp = VGIC_GRP.DIST_REGS;
        push({
          op: "KVM_SET_DEVICE_ATTR",
          attr: `${grp}:${hex(op.offset)}`,
          name: distName(op.offset),
          value: hex(op.value >>> 0),
          component: "vgic",
        }, evalDist(t, g!, op.offset, op.value));
        break;
      }
      case "vgic-redist":
        push({
          op: "KVM_SET_DEVICE_ATTR",
          vcpu: op.vcpu,
          attr: `${VGIC_GRP.REDIST_REGS}:${hex((mpidrAttr(op.mpidr) << 32n) | BigInt(op.offset))}`,
          name: redistName(op.offset),
          value: hex(op.value >>> 0),
          component: "vgic",
        }, evalRedist(t, g!, op.vcpu, op.offset, op.value));
        break;
      case "vgic-cpu-v2":
        push({
          op: "KVM_SET_DEVICE_ATTR",
          vcpu: op.vcpu,
          attr: `${VGIC_GRP.CPU_REGS}:${hex((BigInt(op.vcpu) << 32n) | BigInt(op.offset))}`,
          name: giccName(op.offset),
          value: hex(op.value >>> 0),
          component: "vgic",
        }, {
          outcome: "ok",
          reason: "stored",
          source: { cite: "arm-vgic.rst KVM_DEV_ARM_VGIC_GRP_CPU_REGS", confidence: "V" },
        });
        break;
      case "vgic-cpu-sysreg":
        push({
          op: "KVM_SET_DEVICE_ATTR",
          vcpu: op.vcpu,
          attr: `${VGIC_GRP.CPU_SYSREGS}:${hex((mpidrAttr(op.mpidr) << 32n) | BigInt(op.enc))}`,
          name: iccName(op.enc) ?? `ICC(${hex(op.enc)})`,
          value: hex(op.value),
          component: "vgic",
        }, evalIcc(t, g!, op.vcpu, op.enc, op.value));
        break;
      case "vgic-level": {
        const gate = beforeInit(t, g!, "other");
        const j: Judgement = gate ??
          (op.vintid % 32 === 0
            ? {
              outcome: "ok",
              reason: "line levels restored",
              source: { cite: "arm-vgic-v3.rst GRP_LEVEL_INFO", confidence: "V" },
            }
            : {
              outcome: "failed",
              errno: "EINVAL",
              reason: `vINTID ${op.vintid} is not a multiple of 32`,
              source: { cite: "arm-vgic-v3.rst GRP_LEVEL_INFO", confidence: "V" },
            });
        push({
          op: "KVM_SET_DEVICE_ATTR",
          vcpu: op.vcpu,
          attr: `${VGIC_GRP.LEVEL_INFO}:${hex((mpidrAttr(op.mpidr) << 32n) | BigInt(op.vintid))}`,
          name: `LEVEL_INFO(${op.vintid})`,
          value: hex(op.value >>> 0),
          component: "vgic",
        }, j);
        break;
      }
      case "its-reg":
        push({
          op: "KVM_SET_DEVICE_ATTR",
          attr: `${VGIC_GRP.ITS_REGS}:${hex(op.offset)}`,
          name: itsName(op.offset),
          value: hex(op.value),
          component: "its",
        }, evalIts(t, op.offset, op.value));
        break;
      case "its-restore-tables":
        push({
          op: "KVM_SET_DEVICE_ATTR",
          attr: `${VGIC_GRP.CTRL}:0x2`,
          name: "KVM_DEV_ARM_ITS_RESTORE_TABLES",
          component: "its",
        }, {
          outcome: "ok",
          reason: s.memory?.length
            ? "tables are read from guest memory"
            : "tables are read from guest memory, which this snapshot does not carry (not checked)",
          source: { cite: "arm-vgic-its.rst restore order", confidence: "V" },
        });
        break;
      case "mp-state": {
        const f = must<number[]>(p, "mpstate.accepted");
        push(
          {
            op: "KVM_SET_MP_STATE",
            vcpu: op.vcpu,
            name: "mp_state",
            value: hex(op.value),
            component: "vcpu",
          },
          f.value.includes(op.value)
            ? { outcome: "ok", reason: "state accepted", source: f.source }
            : {
              outcome: "failed",
              errno: "EINVAL",
              reason: `${p.id} accepts mp_state ${f.value.join(", ")}, not ${op.value}`,
              source: f.source,
            },
        );
        break;
      }
    }
  }

  const psci = held.map((h) => h.get(0x6030000000140000n)).find((v) => v !== undefined);
  const bitmaps = new Map<number, bigint>();
  for (let n = 0; n < 4; n++) {
    const v = held[0]?.get(0x6030000000160000n | BigInt(n));
    if (v !== undefined) bitmaps.set(n, v);
  }
  const effective: EffectiveState = {
    vcpus: held,
    firmware: { psciVersion: psci, bitmaps },
    timer: {
      counterOffsetApplied,
      counterOffset,
      virtualCounterRestored: vcnt,
      physicalTimerRestored: ptimer,
    },
  };
  if (g) {
    effective.vgic = {
      model: g.model,
      iidrRevision: g.rev,
      iidrWritten: g.iidrWritten,
      guestGroupsWritable: g.rev >= 2 && must<boolean>(p, "vgic.groups.configurable").value,
      gicrCtlrIrCes: g.model === "v3" && g.rev >= 3,
      dist: new Map([...g.dist, [0x8, kvmIidr(g.rev)]]),
      redist: g.redist,
      icc: g.icc,
    };
  }
  return {
    target: t.id,
    vmm: fl.id,
    vmmReason,
    restorable: ops.every((o) => o.outcome !== "failed"),
    operations: ops,
    planned,
    effective,
  };
}
