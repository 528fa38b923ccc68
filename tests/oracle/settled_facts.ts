/**
 * Kernel facts once marked [U]/[I] that the real kernels settled (tests/fixtures/oracle/
 * FINDINGS.md explains each). One row per fact: where it sits in a capture document
 * (hostprobe/capture.ts), and what each kernel answered; "absent" means the capture has no such
 * leaf (e.g. the register is not in KVM_GET_REG_LIST).
 */
export interface SettledFact {
  fact: string;
  /** The emulated host's GIC (QEMU virt gic-version): 3 unless stated. */
  hostGic?: 2 | 3;
  /** Leaf path in the capture document. */
  path: string;
  /** Research section the fact settles. */
  research: string;
  "debian-6.1": string | number | boolean;
  "debian-6.12": string | number | boolean;
}

const both = (v: string | number | boolean) => ({ "debian-6.1": v, "debian-6.12": v });

export const SETTLED_FACTS: SettledFact[] = [
  {
    fact: "default GICD_IIDR (ProductID 0x4b, Revision 3, Implementer 0x43b)",
    path: "gic / v3 / after_init / GICD_IIDR",
    research: "§1.1",
    ...both("0x4b00343b"),
  },
  {
    fact: "GICR_CTLR shows IR|CES at the default revision 3",
    path: "gic / v3 / after_init / GICR_CTLR",
    research: "§1.1, §6",
    ...both("0x6"),
  },
  {
    fact: "IIDR revision-2 write accepted",
    path: "iidr / v3 rev2 after init / result",
    research: "§1.2",
    ...both("ok"),
  },
  {
    fact: "IIDR revision-2 write takes effect (a0e6ae45af17 is in both builds)",
    path: "iidr / v3 rev2 after init / readback",
    research: "§1.2 [U] backports",
    ...both("0x4b00243b"),
  },
  {
    fact: "after an effective revision-2 write GICR_CTLR loses IR|CES",
    path: "iidr / v3 rev2 after init / gicrCtlr",
    research: "§1.2 bug consequence",
    ...both("0x0"),
  },
  {
    fact: "IIDR revision 0 rejected",
    path: "iidr / v3 rev0 after init / result",
    research: "§1.2",
    ...both("EINVAL"),
  },
  {
    fact: "IIDR revision 1 rejected",
    path: "iidr / v3 rev1 after init / result",
    research: "§1.2",
    ...both("EINVAL"),
  },
  {
    fact: "IIDR write before CTRL_INIT refused (pre-6.17)",
    path: "iidr / v3 rev2 before init / result",
    research: "§1.2, §7.3",
    ...both("EBUSY"),
  },
  {
    fact: "GICv3 userspace IGROUPR write sticks at revision 2",
    path: "iidr / v3 rev2 after init / igroupr1",
    research: "§1.3",
    ...both("0x0"),
  },
  {
    fact: "GICv2: userspace IGROUPR write without a GICD_IIDR write first is ignored (returns 0)",
    hostGic: 2,
    path: "igrouprV2 / iidrFirst=0 rev=- / readback",
    research: "§1.3 (32f8777ed92d v2_groups_user_writable)",
    ...both("0x0"),
  },
  {
    fact: "GICv2: the ignored IGROUPR write still returns 0",
    hostGic: 2,
    path: "igrouprV2 / iidrFirst=0 rev=- / result",
    research: "§1.3",
    ...both("ok"),
  },
  {
    fact: "GICv2: after an IIDR revision-2 write, IGROUPR writes stick",
    hostGic: 2,
    path: "igrouprV2 / iidrFirst=1 rev=2 / readback",
    research: "§1.3",
    ...both("0xffffffff"),
  },
  {
    fact: "GICv2: after an IIDR revision-3 write, IGROUPR writes stick",
    hostGic: 2,
    path: "igrouprV2 / iidrFirst=1 rev=3 / readback",
    research: "§1.3",
    ...both("0xffffffff"),
  },
  {
    fact: "GICv2: IIDR revision 1 rejected, and IGROUPR stays ignored",
    hostGic: 2,
    path: "igrouprV2 / iidrFirst=1 rev=1 / iidrWrite",
    research: "§1.2 proposal (rev 1 not accepted)",
    ...both("EINVAL"),
  },
  {
    fact: "GICv2: revision-2 IIDR write takes effect (reads back revision 2)",
    hostGic: 2,
    path: "igrouprV2 / iidrFirst=1 rev=2 / iidrReadback",
    research: "§1.2",
    ...both("0x4b00243b"),
  },
  {
    fact: "GICv2: DIST/CPU registers are accessible before CTRL_INIT (lazy init)",
    hostGic: 2,
    path: "gic / v2 / before_init / GICD_IIDR",
    research: "§7.3 item 5 [U]",
    ...both("0x4b00343b"),
  },
  {
    fact: "GICv2 default GICD_IGROUPR1 (group 0)",
    hostGic: 2,
    path: "gic / v2 / after_init / GICD_IGROUPR1",
    research: "§1.3 reset values",
    ...both("0x0"),
  },
  {
    fact: "GICv2 host: no vGICv3",
    hostGic: 2,
    path: "gic / v3 / create",
    research: "brief",
    ...both("ENODEV"),
  },
  {
    fact: "the guest reads GICR_CTLR with IR|CES at the default revision",
    path: "guestGic / v3 iidr default / GICR_CTLR / value",
    research: "§6 GICR_CTLR.{IR,CES}",
    ...both("0x6"),
  },
  {
    fact: "after a userspace IIDR revision-2 write the guest reads GICR_CTLR without IR|CES",
    path: "guestGic / v3 iidr rev2 written / GICR_CTLR / value",
    research: "§1.2, §6",
    ...both("0x0"),
  },
  {
    fact: "the guest reads the IIDR revision userspace restored",
    path: "guestGic / v3 iidr rev2 written / GICD_IIDR / value",
    research: "§1.2",
    ...both("0x4b00243b"),
  },
  {
    fact: "GICv3 guest IGROUPR writes stick (interrupt groups guest-configurable)",
    path: "guestGic / v3 iidr default / GICD_IGROUPR1 write 0 / value",
    research: "§1.3",
    ...both("0x0"),
  },
  {
    fact: "GICv2 guest IGROUPR writes stick at the default revision (3)",
    hostGic: 2,
    path: "guestGic / v2 iidr default / GICD_IGROUPR1 write 1s / value",
    research: "§1.3",
    ...both("0xffffffff"),
  },
  {
    fact: "GICv2 guest IGROUPR writes stick after a revision-2 restore",
    hostGic: 2,
    path: "guestGic / v2 iidr rev2 written / GICD_IGROUPR1 write 1s / value",
    research: "§1.3",
    ...both("0xffffffff"),
  },
  {
    fact: "vGICv2 cannot be created on QEMU's GICv3 (no GICv2 compatibility)",
    path: "gic / v2 / create",
    research: "brief",
    ...both("ENODEV"),
  },
  {
    fact: "ICC_CTLR_EL1 default (PRIbits 5, IDbits 24, A3V)",
    path: "gic / v3 / after_init / ICC_CTLR_EL1",
    research: "§6 ICC_CTLR_EL1",
    ...both("0x8c00"),
  },
  {
    fact: "KVM_REG_ARM_PTIMER_CTL (0x603000000013df11) SET_ONE_REG",
    path: "timers / regs / KVM_REG_ARM_PTIMER_CTL / set",
    research: "§4",
    "debian-6.1": "ENOENT",
    "debian-6.12": "ok",
  },
  {
    fact: "KVM_REG_ARM_PTIMER_CVAL (0x603000000013df12) SET_ONE_REG",
    path: "timers / regs / KVM_REG_ARM_PTIMER_CVAL / set",
    research: "§4",
    "debian-6.1": "ENOENT",
    "debian-6.12": "ok",
  },
  {
    fact: "KVM_ARM_SET_COUNTER_OFFSET",
    path: "timers / counterOffset / result",
    research: "§4",
    "debian-6.1": "EINVAL",
    "debian-6.12": "ok",
  },
  {
    fact: "TIMER_CNT write after KVM_ARM_SET_COUNTER_OFFSET is ignored (no error)",
    path: "timers / counterWrite / after-offset 0x603000000013df1a / effective",
    research: "§4",
    "debian-6.1": "absent",
    "debian-6.12": 0,
  },
  {
    fact: "SET_ONE_REG of an unlisted system register",
    path: "unlisted / sysreg S3_2_C15_C15_7 (unallocated) / result",
    research: "§5 [U] errno, §9",
    ...both("ENOENT"),
  },
  {
    fact: "SET_ONE_REG of an unknown firmware register",
    path: "unlisted / KVM_REG_ARM_FW_REG(7) / result",
    research: "§3.2",
    ...both("ENOENT"),
  },
  {
    fact: "changed MIDR_EL1",
    path: "changed / MIDR_EL1 Revision+1 / result",
    research: "§2.1",
    ...both("EINVAL"),
  },
  {
    fact: "ID register raised above the host (PARange+1)",
    path: "changed / ID_AA64MMFR0_EL1 PARange bit0 / result",
    research: "§2.1, §2.3",
    ...both("EINVAL"),
  },
  {
    fact: "ID register lowered (ID_AA64ISAR0_EL1.AES 2 → 0)",
    path: "changed / ID_AA64ISAR0_EL1 AES bit1 / result",
    research: "§2.2 (6.7 generalised writable ID registers)",
    "debian-6.1": "EINVAL",
    "debian-6.12": "ok",
  },
  {
    fact: "CLIDR_EL1 changed (LoC)",
    path: "changed / CLIDR_EL1 LoC bit0 / result",
    research: "§2.2 (6.3 cache normalisation)",
    "debian-6.1": "EINVAL",
    "debian-6.12": "ok",
  },
  {
    fact: "CCSIDR demux (csselr 0) changed",
    path: "ccsidrSet / 0x6020000000110000 / result",
    research: "§2.2",
    "debian-6.1": "EINVAL",
    "debian-6.12": "ok",
  },
  {
    fact: "KVM_ARM_GET_REG_WRITABLE_MASKS",
    path: "writableMasks / result",
    research: "§2.2, §8",
    "debian-6.1": "EINVAL",
    "debian-6.12": "ok",
  },
  {
    fact: "PSCI 0.1 with KVM_ARM_VCPU_PSCI_0_2",
    path: "firmware / psciSet / psci-0.2 / 0.1",
    research: "§3.1",
    ...both("EINVAL"),
  },
  {
    fact: "PSCI 0.2 with KVM_ARM_VCPU_PSCI_0_2",
    path: "firmware / psciSet / psci-0.2 / 0.2",
    research: "§3.1",
    ...both("ok"),
  },
  {
    fact: "PSCI 1.0",
    path: "firmware / psciSet / psci-0.2 / 1.0",
    research: "§3.1",
    ...both("ok"),
  },
  {
    fact: "PSCI 1.1",
    path: "firmware / psciSet / psci-0.2 / 1.1",
    research: "§3.1",
    ...both("ok"),
  },
  {
    fact: "PSCI 1.2",
    path: "firmware / psciSet / psci-0.2 / 1.2",
    research: "§3.1",
    ...both("EINVAL"),
  },
  {
    fact: "PSCI 1.3",
    path: "firmware / psciSet / psci-0.2 / 1.3",
    research: "§3.1",
    ...both("EINVAL"),
  },
  {
    fact: "PSCI 0.1 without KVM_ARM_VCPU_PSCI_0_2",
    path: "firmware / psciSet / plain / 0.1",
    research: "§3.1",
    ...both("ok"),
  },
  {
    fact: "default KVM_REG_ARM_PSCI_VERSION",
    path: "firmware / defaults / psci-0.2 / KVM_REG_ARM_PSCI_VERSION",
    research: "§3.1",
    ...both("0x10001"),
  },
  {
    fact: "KVM_REG_ARM_VENDOR_HYP_BMAP_2 present",
    path: "firmware / defaults / psci-0.2 / KVM_REG_ARM_VENDOR_HYP_BMAP_2",
    research: "§3.3",
    ...both("ENOENT"),
  },
  {
    fact: "KVM_REG_ARM_STD_BMAP default",
    path: "firmware / defaults / psci-0.2 / KVM_REG_ARM_STD_BMAP",
    research: "§3.3",
    ...both("0x1"),
  },
  {
    fact: "KVM_REG_ARM_VENDOR_HYP_BMAP default",
    path: "firmware / defaults / psci-0.2 / KVM_REG_ARM_VENDOR_HYP_BMAP",
    research: "§3.3",
    ...both("0x3"),
  },
  {
    fact: "bitmap with an unsupported bit",
    path: "firmware / bitmapSet / 0x6030000000160000 / 0x3",
    research: "§3.3",
    ...both("EINVAL"),
  },
  {
    fact: "bitmap changed after the first KVM_RUN",
    path: "afterRun / set / KVM_REG_ARM_STD_BMAP zero",
    research: "§3.3",
    ...both("EBUSY"),
  },
  {
    fact: "ID register changed after the first KVM_RUN (CSV2 lowered)",
    path: "afterRun / set / ID_AA64PFR0_EL1 CSV2=0",
    research: "§2.3, §9",
    "debian-6.1": "ok",
    "debian-6.12": "EBUSY",
  },
  {
    fact: "TCR2_EL1 listed",
    path: "regs / psci-0.2 / 0x603000000013c103",
    research: "§5",
    "debian-6.1": "absent",
    "debian-6.12": "0x0",
  },
  {
    fact: "PIR_EL1 listed",
    path: "regs / psci-0.2 / 0x603000000013c513",
    research: "§5",
    "debian-6.1": "absent",
    "debian-6.12": "0x1de7ec7edbadc0de",
  },
  {
    fact: "POR_EL1 listed (QEMU 7.2 'max' has no S1POE)",
    path: "regs / psci-0.2 / 0x603000000013c514",
    research: "§5",
    ...both("absent"),
  },
  {
    fact: "KVM_GET_REG_LIST count for a PSCI 0.2 vCPU",
    path: "regLists / psci-0.2 / count",
    research: "§5",
    "debian-6.1": 242,
    "debian-6.12": 259,
  },
  {
    fact: "KVM_REG_ARM64_SVE_VLS set after KVM_ARM_VCPU_FINALIZE",
    path: "sve / finalize / vlsSetAfterFinalize",
    research: "§5 sve",
    ...both("EPERM"),
  },
  {
    fact: "KVM_ARM_VCPU_HAS_EL2 vCPU (no NV on these kernels)",
    path: "vcpuInit / el2",
    research: "§5 el2",
    ...both("ENOENT"),
  },
  {
    fact: "guest PSCI_VERSION over HVC with PSCI 0.2",
    path: "guestCalls / psci-0.2 / PSCI_VERSION",
    research: "§3.1",
    ...both("0x10001"),
  },
];
