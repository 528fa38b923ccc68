/**
 * The predicted restore sequence as hostprobe restore-plan operations (plan.ts), so the
 * oracle can replay exactly what rollsafe evaluated on a real kernel and compare outcomes index
 * for index (`planIndex[i]` is the plan op of `operations[i]`, or -1 for a VMM-side check that
 * has no ioctl).
 */
// Here and not in emulator/kvm: the referee translates the model, the model knows no referee.
import type { PlanOp } from "./plan.ts";
import { DEFAULT_VGIC_ADDRS, KVM_DEV_ARM_VGIC_GRP, KVM_VGIC_ADDR_TYPE } from "./plan.ts";
import { mpidrAttr, type RestoreResult } from "../emulator/kvm/mod.ts";

export interface ReplayPlan {
  ops: PlanOp[];
  /** For each evaluated operation, the index of its plan op (-1 when it has none). */
  planIndex: number[];
}

export function toPlan(r: RestoreResult): ReplayPlan {
  const ops: PlanOp[] = [{ op: "vm" }];
  const planIndex: number[] = [];
  for (const p of r.planned) {
    let op: PlanOp | PlanOp[] | undefined;
    switch (p.kind) {
      case "enable-cap":
        op = { op: "enable_cap", cap: p.cap };
        break;
      case "counter-offset":
        op = { op: "set_counter_offset", offset: p.offset };
        break;
      case "vcpu-init":
        op = { op: "vcpu_init", vcpu: p.vcpu, features: p.features };
        break;
      case "finalize":
        op = { op: "finalize", vcpu: p.vcpu, feature: 4 };
        break;
      case "one-reg":
        op = { op: "set_one_reg", vcpu: p.vcpu, id: p.id, value: p.bytes };
        break;
      case "vgic-create": {
        const a = DEFAULT_VGIC_ADDRS;
        op = p.model === "v3"
          ? [
            { op: "create_vgic", version: "v3" },
            {
              op: "set_device_attr",
              group: KVM_DEV_ARM_VGIC_GRP.ADDR,
              attr: BigInt(KVM_VGIC_ADDR_TYPE.V3_DIST),
              value: a.v3.dist,
            },
            {
              op: "set_device_attr",
              group: KVM_DEV_ARM_VGIC_GRP.ADDR,
              attr: BigInt(KVM_VGIC_ADDR_TYPE.V3_REDIST),
              value: a.v3.redist,
            },
          ]
          : [
            { op: "create_vgic", version: "v2" },
            {
              op: "set_device_attr",
              group: KVM_DEV_ARM_VGIC_GRP.ADDR,
              attr: BigInt(KVM_VGIC_ADDR_TYPE.V2_DIST),
              value: a.v2.dist,
            },
            {
              op: "set_device_attr",
              group: KVM_DEV_ARM_VGIC_GRP.ADDR,
              attr: BigInt(KVM_VGIC_ADDR_TYPE.V2_CPU),
              value: a.v2.cpu,
            },
          ];
        break;
      }
      case "vgic-nr-irqs":
        op = {
          op: "set_device_attr",
          group: KVM_DEV_ARM_VGIC_GRP.NR_IRQS,
          attr: 0n,
          value: BigInt(p.value),
        };
        break;
      case "vgic-init":
        op = { op: "vgic_init" };
        break;
      case "vgic-dist":
        op = {
          op: "set_device_attr",
          group: KVM_DEV_ARM_VGIC_GRP.DIST_REGS,
          attr: BigInt(p.offset),
          value: BigInt(p.value >>> 0),
        };
        break;
      case "vgic-redist":
        op = {
          op: "set_device_attr",
          group: KVM_DEV_ARM_VGIC_GRP.REDIST_REGS,
          attr: (mpidrAttr(p.mpidr) << 32n) | BigInt(p.offset),
          value: BigInt(p.value >>> 0),
        };
        break;
      case "vgic-cpu-v2":
        op = {
          op: "set_device_attr",
          group: KVM_DEV_ARM_VGIC_GRP.CPU_REGS,
          attr: (BigInt(p.vcpu) << 32n) | BigInt(p.offset),
          value: BigInt(p.value >>> 0),
        };
        break;
      case "vgic-cpu-sysreg":
        op = {
          op: "set_device_attr",
          group: KVM_DEV_ARM_VGIC_GRP.CPU_SYSREGS,
          attr: (mpidrAttr(p.mpidr) << 32n) | BigInt(p.enc),
          value: p.value,
        };
        break;
      case "vgic-level":
        op = {
          op: "set_device_attr",
          group: KVM_DEV_ARM_VGIC_GRP.LEVEL_INFO,
          attr: (mpidrAttr(p.mpidr) << 32n) | BigInt(p.vintid),
          value: BigInt(p.value >>> 0),
        };
        break;
      // The ITS device, the SMCCC filter, mp_state and VMM-side checks have no plan op yet.
      default:
        op = undefined;
    }
    if (op === undefined) {
      planIndex.push(-1);
      continue;
    }
    const list = Array.isArray(op) ? op : [op];
    ops.push(...list);
    planIndex.push(ops.length - 1);
  }
  return { ops, planIndex };
}
