/** What a target kernel holds after a restore: the input of the drift stage. */

export interface EffectiveVgic {
  model: "v2" | "v3";
  /** GICD_IIDR.Revision the guest sees after the restore. */
  iidrRevision: number;
  /** Whether userspace wrote GICD_IIDR (and the kernel accepted it). */
  iidrWritten: boolean;
  /** IGROUPR writable by the guest (revision ≥ 2 and groups not reverted). */
  guestGroupsWritable: boolean;
  /** GICR_CTLR.{IR,CES} shown to the guest (GICv3, revision ≥ 3). */
  gicrCtlrIrCes: boolean;
  /** Distributor registers as held (offset → value): accepted writes, else the reset value. */
  dist: Map<number, number>;
  /** Per vCPU redistributor registers as held. */
  redist: Map<number, number>[];
  /** Per vCPU ICC_* registers as held (16-bit encoding → value). */
  icc: Map<number, bigint>[];
}

export interface EffectiveTimer {
  /** KVM_ARM_SET_COUNTER_OFFSET was applied (later CNT writes were ignored). */
  counterOffsetApplied: boolean;
  counterOffset?: bigint;
  /** The saved virtual counter was restored (TIMER_CNT write accepted and effective). */
  virtualCounterRestored: boolean;
  /** The physical timer registers were restored. */
  physicalTimerRestored: boolean;
}

export interface EffectiveState {
  /** Per vCPU: ONE_REG id → value as held (accepted writes take the saved value, rejected or
   * ignored writes keep the target's value). Registers with no known value are absent. */
  vcpus: Map<bigint, bigint>[];
  vgic?: EffectiveVgic;
  firmware: {
    /** KVM_REG_ARM_PSCI_VERSION as held (VM-wide). */
    psciVersion?: bigint;
    /** Bitmap register number → value as held. */
    bitmaps: Map<number, bigint>;
  };
  timer: EffectiveTimer;
}
