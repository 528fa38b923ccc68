/** Snapshot format v1: model, codec, errors, limits and the KVM register naming table. */
export * from "./model.ts";
export { decodeSnapshot, encodeSnapshot } from "./codec.ts";
export { SnapshotError } from "./errors.ts";
export { MAX_VCPUS, SNAPSHOT_LIMITS } from "./limits.ts";
export { validateSnapshot } from "./validate.ts";
export * from "./kvm/ids.ts";
export { describeReg, namedRegisters, type RegClass, regId, regName } from "./kvm/names.ts";
