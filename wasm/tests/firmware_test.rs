//! PSCI / SMCCC answers as KVM gives them (hypercalls.c, psci.c, trng.c) and the firmware
//! ONE_REG rules (kvm_arm_set_fw_reg).

use rollsafe_emu::firmware::*;

/// Two vCPUs: MPIDR 0 on, MPIDR 1 off; nothing else exists.
fn cpus(m: u64) -> Option<bool> {
    match m {
        0 => Some(true),
        1 => Some(false),
        _ => None,
    }
}

fn call(cfg: &FirmwareConfig, x: [u64; 4]) -> HvcAction {
    handle_hvc(cfg, x, &cpus)
}

fn x0(cfg: &FirmwareConfig, f: u32, a1: u64) -> i64 {
    match call(cfg, [f as u64, a1, 0, 0]) {
        HvcAction::Return(r) => r[0] as i64,
        other => panic!("{f:#x}: expected a return, got {other:?}"),
    }
}

fn with_psci(v: u64) -> FirmwareConfig {
    let mut c = FirmwareConfig::latest(WA1_NOT_REQUIRED, WA2_NOT_REQUIRED, WA1_NOT_REQUIRED);
    c.psci_version = v;
    if v == PSCI_0_1 {
        c.psci_0_2_feature = false;
    }
    c
}

#[test]
fn psci_version_per_configuration() {
    assert_eq!(x0(&with_psci(PSCI_0_2), fid::PSCI_VERSION, 0), 0x2);
    assert_eq!(x0(&with_psci(PSCI_1_0), fid::PSCI_VERSION, 0), 0x1_0000);
    assert_eq!(x0(&with_psci(PSCI_1_1), fid::PSCI_VERSION, 0), 0x1_0001);
    assert_eq!(x0(&with_psci(PSCI_1_3), fid::PSCI_VERSION, 0), 0x1_0003);
    // PSCI 0.1 has no PSCI_VERSION call.
    assert_eq!(x0(&with_psci(PSCI_0_1), fid::PSCI_VERSION, 0), NOT_SUPPORTED);
}

#[test]
fn psci_features_by_version() {
    let v10 = with_psci(PSCI_1_0);
    let v11 = with_psci(PSCI_1_1);
    let v13 = with_psci(PSCI_1_3);
    for f in [fid::CPU_ON, fid::CPU_OFF, fid::AFFINITY_INFO64, fid::SYSTEM_OFF, fid::PSCI_FEATURES, fid::SMCCC_VERSION] {
        assert_eq!(x0(&v10, fid::PSCI_FEATURES, f as u64), SUCCESS, "{f:#x}");
    }
    assert_eq!(x0(&v10, fid::PSCI_FEATURES, fid::SYSTEM_RESET2 as u64), NOT_SUPPORTED);
    assert_eq!(x0(&v11, fid::PSCI_FEATURES, fid::SYSTEM_RESET2_64 as u64), SUCCESS);
    assert_eq!(x0(&v11, fid::PSCI_FEATURES, fid::SYSTEM_OFF2 as u64), NOT_SUPPORTED);
    // SYSTEM_OFF2 reports the HIBERNATE_OFF type bit.
    assert_eq!(x0(&v13, fid::PSCI_FEATURES, fid::SYSTEM_OFF2 as u64), 2);
    // SYSTEM_SUSPEND only with KVM_CAP_ARM_SYSTEM_SUSPEND.
    assert_eq!(x0(&v13, fid::PSCI_FEATURES, fid::SYSTEM_SUSPEND64 as u64), NOT_SUPPORTED);
    let mut s = v13.clone();
    s.system_suspend = true;
    assert_eq!(x0(&s, fid::PSCI_FEATURES, fid::SYSTEM_SUSPEND64 as u64), SUCCESS);
    // PSCI 0.2 has no PSCI_FEATURES.
    assert_eq!(x0(&with_psci(PSCI_0_2), fid::PSCI_FEATURES, fid::CPU_ON as u64), NOT_SUPPORTED);
    assert_eq!(x0(&v13, fid::PSCI_FEATURES, 0x8400_0007), NOT_SUPPORTED);
}

#[test]
fn cpu_on_and_affinity_info() {
    let c = with_psci(PSCI_1_1);
    assert_eq!(
        call(&c, [fid::CPU_ON64 as u64, 1, 0x4008_0000, 0xabcd]),
        HvcAction::CpuOn { target_mpidr: 1, entry: 0x4008_0000, context: 0xabcd }
    );
    // The 32-bit call narrows its arguments.
    assert_eq!(
        call(&c, [fid::CPU_ON as u64, 1, 0xffff_ffff_4008_0000, 0x1_0000_0002]),
        HvcAction::CpuOn { target_mpidr: 1, entry: 0x4008_0000, context: 2 }
    );
    assert_eq!(x0(&c, fid::CPU_ON64, 0), PSCI_RET_ALREADY_ON);
    assert_eq!(x0(&c, fid::CPU_ON64, 7), INVALID_PARAMETERS);
    // Bits outside MPIDR_HWID_BITMASK.
    assert_eq!(x0(&c, fid::CPU_ON64, 1 << 24), INVALID_PARAMETERS);
    // AFFINITY_INFO: 0 = ON, 1 = OFF.
    assert_eq!(x0(&c, fid::AFFINITY_INFO64, 0), 0);
    assert_eq!(x0(&c, fid::AFFINITY_INFO64, 1), 1);
    assert_eq!(x0(&c, fid::AFFINITY_INFO64, 9), INVALID_PARAMETERS);
    // Level 1 asks about the cluster: one vCPU in it is on.
    assert_eq!(match call(&c, [fid::AFFINITY_INFO64 as u64, 1, 1, 0]) { HvcAction::Return(r) => r[0], _ => 99 }, 0);
    assert_eq!(match call(&c, [fid::AFFINITY_INFO64 as u64, 0, 4, 0]) { HvcAction::Return(r) => r[0] as i64, _ => 99 }, INVALID_PARAMETERS);
    assert_eq!(call(&c, [fid::CPU_OFF as u64, 0, 0, 0]), HvcAction::CpuOff);
    // MIGRATE_INFO_TYPE: 2, trusted OS not present.
    assert_eq!(x0(&c, fid::MIGRATE_INFO_TYPE, 0), 2);
    assert_eq!(x0(&c, fid::CPU_SUSPEND64, 0), SUCCESS);
}

#[test]
fn psci_0_1_uses_kvm_function_ids() {
    let c = with_psci(PSCI_0_1);
    assert_eq!(call(&c, [fid::KVM_PSCI_FN_CPU_OFF as u64, 0, 0, 0]), HvcAction::CpuOff);
    assert_eq!(
        call(&c, [fid::KVM_PSCI_FN_CPU_ON as u64, 1, 0x8000, 0]),
        HvcAction::CpuOn { target_mpidr: 1, entry: 0x8000, context: 0 }
    );
    // 0.1 has no ALREADY_ON.
    assert_eq!(x0(&c, fid::KVM_PSCI_FN_CPU_ON, 0), INVALID_PARAMETERS);
    assert_eq!(x0(&c, fid::KVM_PSCI_FN_MIGRATE, 0), NOT_SUPPORTED);
    assert_eq!(x0(&c, fid::CPU_ON64, 1), NOT_SUPPORTED);
    // The 0.1 ids mean nothing to a 0.2+ guest.
    assert_eq!(x0(&with_psci(PSCI_1_0), fid::KVM_PSCI_FN_CPU_OFF, 0), NOT_SUPPORTED);
}

#[test]
fn system_events() {
    let c = with_psci(PSCI_1_3);
    assert_eq!(call(&c, [fid::SYSTEM_OFF as u64, 0, 0, 0]), HvcAction::SystemOff);
    assert_eq!(call(&c, [fid::SYSTEM_RESET as u64, 0, 0, 0]), HvcAction::SystemReset);
    assert_eq!(call(&c, [fid::SYSTEM_RESET2_64 as u64, 0, 0, 0]), HvcAction::SystemReset);
    assert_eq!(call(&c, [fid::SYSTEM_RESET2_64 as u64, 0x8000_0001, 0, 0]), HvcAction::SystemReset);
    assert_eq!(x0(&c, fid::SYSTEM_RESET2_64, 1), INVALID_PARAMETERS);
    assert_eq!(call(&c, [fid::SYSTEM_OFF2_64 as u64, 1, 0, 0]), HvcAction::SystemOff);
    assert_eq!(call(&c, [fid::SYSTEM_OFF2 as u64, 0, 0, 0]), HvcAction::SystemOff);
    assert_eq!(x0(&c, fid::SYSTEM_OFF2_64, 2), INVALID_PARAMETERS);
    // Below 1.3 SYSTEM_OFF2 does not exist; below 1.1 neither does SYSTEM_RESET2.
    assert_eq!(x0(&with_psci(PSCI_1_1), fid::SYSTEM_OFF2_64, 1), NOT_SUPPORTED);
    assert_eq!(x0(&with_psci(PSCI_1_0), fid::SYSTEM_RESET2_64, 0), NOT_SUPPORTED);
}

#[test]
fn smccc_version_and_workarounds() {
    let mut c = with_psci(PSCI_1_1);
    assert_eq!(x0(&c, fid::SMCCC_VERSION, 0), 0x1_0001);
    // WA1/WA3: NOT_AVAIL → NOT_SUPPORTED, AVAIL → SUCCESS, NOT_REQUIRED → 1 (UNAFFECTED).
    for (lvl, want) in [(WA1_NOT_AVAIL, NOT_SUPPORTED), (WA1_AVAIL, SUCCESS), (WA1_NOT_REQUIRED, 1)] {
        c.wa1_level = lvl;
        c.wa3_level = lvl;
        assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::SMCCC_ARCH_WORKAROUND_1 as u64), want);
        assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::SMCCC_ARCH_WORKAROUND_3 as u64), want);
    }
    // WA2: NOT_REQUIRED → -2 (SMCCC_RET_NOT_REQUIRED); NOT_AVAIL (incl. SSBS hosts) → -1.
    c.wa2_level = WA2_NOT_REQUIRED;
    assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::SMCCC_ARCH_WORKAROUND_2 as u64), -2);
    c.wa2_level = WA2_NOT_AVAIL;
    assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::SMCCC_ARCH_WORKAROUND_2 as u64), NOT_SUPPORTED);
    // A kernel without WORKAROUND_3 does not know the call.
    c.fw_regs = 3;
    c.wa3_level = WA1_AVAIL;
    assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::SMCCC_ARCH_WORKAROUND_3 as u64), NOT_SUPPORTED);
    assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, 0x8000_0002), NOT_SUPPORTED);
    assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::HV_PV_TIME_FEATURES as u64), SUCCESS);
    // Calling a workaround itself is not something KVM answers.
    assert_eq!(x0(&c, fid::SMCCC_ARCH_WORKAROUND_1, 0), NOT_SUPPORTED);
    assert_eq!(x0(&c, 0xc600_0000, 0), NOT_SUPPORTED);
}

#[test]
fn vendor_hypervisor_services_and_bitmaps() {
    let mut c = with_psci(PSCI_1_1);
    assert_eq!(call(&c, [fid::VENDOR_HYP_CALL_UID as u64, 0, 0, 0]), HvcAction::Return([0xb66f_b428, 0xe911_c52e, 0x564b_caa9, 0x743a_004d]));
    assert_eq!(x0(&c, fid::VENDOR_HYP_KVM_FEATURES, 0), 0b11);
    // PTP is present but answers as KVM does without the architected clocksource.
    assert_eq!(x0(&c, fid::VENDOR_HYP_KVM_PTP, 0), NOT_SUPPORTED);
    // Clearing VENDOR_HYP_BMAP bit 0 hides the UID and the features call.
    c.vendor_hyp_bmap = VENDOR_HYP_BIT_PTP;
    assert_eq!(x0(&c, fid::VENDOR_HYP_CALL_UID, 0), NOT_SUPPORTED);
    assert_eq!(x0(&c, fid::VENDOR_HYP_KVM_FEATURES, 0), NOT_SUPPORTED);
    // VENDOR_HYP_BMAP_2 (6.15+) shows up in x2 of the features call.
    c.vendor_hyp_bmap = VENDOR_HYP_BIT_FUNC_FEAT;
    c.vendor_hyp_bmap_2 = 0b11;
    assert_eq!(call(&c, [fid::VENDOR_HYP_KVM_FEATURES as u64, 0, 0, 0]), HvcAction::Return([1, 0, 0b11, 0]));
    c.bmap_regs = 3;
    assert_eq!(call(&c, [fid::VENDOR_HYP_KVM_FEATURES as u64, 0, 0, 0]), HvcAction::Return([1, 0, 0, 0]));
    // Before 5.19 there are no bitmaps and nothing is hidden.
    c.vendor_hyp_bmap = VENDOR_HYP_BIT_PTP;
    c.bmap_regs = 0;
    assert_eq!(x0(&c, fid::VENDOR_HYP_KVM_FEATURES, 0), 0b11);
}

#[test]
fn trng() {
    let mut c = with_psci(PSCI_1_1);
    assert_eq!(x0(&c, fid::TRNG_VERSION, 0), 0x1_0000);
    assert_eq!(x0(&c, fid::TRNG_FEATURES, fid::TRNG_RND64 as u64), SUCCESS);
    assert_eq!(x0(&c, fid::TRNG_FEATURES, 0x8400_0054), NOT_SUPPORTED);
    assert_eq!(call(&c, [fid::TRNG_GET_UUID as u64, 0, 0, 0]), HvcAction::Return([0x00e0_210d, 0xeb11_8443, 0x4452_7080, 0x4c5a_4e55]));
    // Too many bits: INVALID_PARAMETERS; otherwise the deterministic NO_ENTROPY.
    assert_eq!(x0(&c, fid::TRNG_RND32, 97), INVALID_PARAMETERS);
    assert_eq!(x0(&c, fid::TRNG_RND32, 96), TRNG_NO_ENTROPY);
    assert_eq!(x0(&c, fid::TRNG_RND64, 193), INVALID_PARAMETERS);
    assert_eq!(x0(&c, fid::TRNG_RND64, 192), TRNG_NO_ENTROPY);
    // STD_BMAP bit 0 cleared: the whole TRNG service is gone.
    c.std_bmap = 0;
    assert_eq!(x0(&c, fid::TRNG_VERSION, 0), NOT_SUPPORTED);
    assert_eq!(x0(&c, fid::TRNG_GET_UUID, 0), NOT_SUPPORTED);
}

#[test]
fn pv_time() {
    let mut c = with_psci(PSCI_1_1);
    assert_eq!(x0(&c, fid::HV_PV_TIME_FEATURES, fid::HV_PV_TIME_ST as u64), SUCCESS);
    assert_eq!(x0(&c, fid::HV_PV_TIME_ST, 0), NOT_SUPPORTED, "no stolen-time region set");
    c.pv_time_base = Some(0x9000_0000);
    assert_eq!(x0(&c, fid::HV_PV_TIME_ST, 0), 0x9000_0000);
    c.std_hyp_bmap = 0;
    assert_eq!(x0(&c, fid::HV_PV_TIME_ST, 0), NOT_SUPPORTED);
    assert_eq!(x0(&c, fid::SMCCC_ARCH_FEATURES, fid::HV_PV_TIME_FEATURES as u64), NOT_SUPPORTED);
}

#[test]
fn firmware_register_rules() {
    let mut c = FirmwareConfig::latest(WA1_AVAIL, WA2_NOT_AVAIL, WA1_NOT_AVAIL);
    c.max_psci_version = PSCI_1_1;
    c.psci_version = PSCI_1_1;
    assert_eq!(c.get_reg(KVM_REG_ARM_PSCI_VERSION), Ok(PSCI_1_1));
    // PSCI 1.3 on a 1.1 kernel, 0.1 with PSCI_0_2, garbage: -EINVAL.
    assert_eq!(c.set_reg(KVM_REG_ARM_PSCI_VERSION, PSCI_1_3), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_PSCI_VERSION, PSCI_0_1), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_PSCI_VERSION, 0x3), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_PSCI_VERSION, PSCI_1_0), Ok(()));
    assert_eq!(c.get_reg(KVM_REG_ARM_PSCI_VERSION), Ok(PSCI_1_0));
    // Workarounds validate only: a better-protected snapshot fails.
    assert_eq!(c.get_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1), Ok(WA1_AVAIL));
    assert_eq!(c.set_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1, WA1_NOT_REQUIRED), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1, WA1_NOT_AVAIL), Ok(()));
    assert_eq!(c.get_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1), Ok(WA1_AVAIL));
    assert_eq!(c.set_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1, 0x10), Err(EINVAL));
    // WA2: ENABLED only with AVAIL; AVAIL maps to NOT_REQUIRED, which this host is not.
    assert_eq!(c.set_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2, WA2_NOT_REQUIRED | WA2_ENABLED), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2, WA2_AVAIL), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2, WA2_UNKNOWN), Ok(()));
    // Bitmaps: unknown bits -EINVAL; changes after the first run -EBUSY, same value fine.
    assert_eq!(c.set_reg(KVM_REG_ARM_STD_BMAP, 0b10), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_VENDOR_HYP_BMAP, VENDOR_HYP_BIT_FUNC_FEAT), Ok(()));
    c.has_ran = true;
    assert_eq!(c.set_reg(KVM_REG_ARM_VENDOR_HYP_BMAP, 0), Err(EBUSY));
    assert_eq!(c.set_reg(KVM_REG_ARM_VENDOR_HYP_BMAP, VENDOR_HYP_BIT_FUNC_FEAT), Ok(()));
    // Registers a kernel does not have: -ENOENT.
    c.bmap_regs = 3;
    c.fw_regs = 3;
    assert_eq!(c.get_reg(KVM_REG_ARM_VENDOR_HYP_BMAP_2), Err(ENOENT));
    assert_eq!(c.set_reg(KVM_REG_ARM_VENDOR_HYP_BMAP_2, 0), Err(ENOENT));
    assert_eq!(c.get_reg(KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3), Err(ENOENT));
    assert_eq!(c.get_reg(0x6030_0000_0014_0009), Err(ENOENT));
    // A VM created without PSCI_0_2 accepts only 0.1.
    let mut c = with_psci(PSCI_0_1);
    assert_eq!(c.set_reg(KVM_REG_ARM_PSCI_VERSION, PSCI_1_0), Err(EINVAL));
    assert_eq!(c.set_reg(KVM_REG_ARM_PSCI_VERSION, PSCI_0_1), Ok(()));
}
