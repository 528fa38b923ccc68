/**
 * Every rejection of an input snapshot is a SnapshotError naming what (a stable code), where (a
 * path such as `vcpus[2].registers[0x6030000000100040]`, or a byte offset for CBOR-level faults)
 * and why (the message).
 */
export class SnapshotError extends Error {
  override name = "SnapshotError";
  constructor(
    /** Stable reason, e.g. "cbor/truncated", "schema/type", "reg/size", "vgic/nr-irqs". */
    readonly code: string,
    /** Where: a path into the snapshot ("$" is the root) or "byte N". */
    readonly where: string,
    readonly detail: string,
  ) {
    super(`${where}: ${detail} [${code}]`);
  }
}
