/**
 * The KVM UAPI restore model.
 *
 * - `evaluateRestore(snapshot, target, {vmm})` → `{target, vmm, restorable, operations,
 *   effective}`: the ordered operations a VMM performs to restore the snapshot, each evaluated
 *   against the target (ok / ignored / failed with errno, the rule and its cited fact), and the
 *   state the target kernel holds afterwards (`EffectiveState`: per-vCPU registers as held, vGIC
 *   revision and group behaviour, firmware values, timer state).
 * - `targetDefaults(target, features, vcpuIndex?)` → `Map<id, value>`: a fresh vCPU's registers
 *   on the target (what KVM_GET_ONE_REG returns after KVM_ARM_VCPU_INIT); time-dependent counters
 *   and registers the host file does not describe are left out (`targetDefaultsDetailed` says
 *   how each value was derived).
 * - `regInventory(target, features)`: the predicted KVM_GET_REG_LIST.
 * (The translation of an evaluated sequence into a hostprobe replay plan is hostprobe/toplan.ts.)
 */
export { evaluateRestore, type RestoreOptions, type RestoreResult } from "./evaluate.ts";
export type { EffectiveState, EffectiveTimer, EffectiveVgic } from "./effective.ts";
export {
  type DefaultValue,
  fabricatedCcsidr,
  fabricatedClidr,
  registerDefault,
  targetDefaults,
  targetDefaultsDetailed,
} from "./defaults.ts";
export { conditionHolds, regInventory } from "./inventory.ts";
export { defaultFlavour, type Flavour, flavour, FLAVOURS, type VmmFlavour } from "./flavours.ts";
export { mpidrAttr, type PlannedOp, planRestore } from "./plan.ts";
