//! PSCI and SMCCC firmware as KVM answers it over HVC, configured per target kernel and host.
//!
//! Sources: PSCI (ARM DEN0022), SMCCC (ARM DEN0028), TRNG (ARM DEN0098) for function ids and
//! return codes; KVM's arch/arm64/kvm/{hypercalls.c, psci.c, trng.c} for which calls a guest
//! gets and what they return; arch/arm64/include/uapi/asm/kvm.h and
//! Documentation/virt/kvm/arm/fw-pseudo-registers.rst for the firmware ONE_REG ids.
//!
//! The call is decoded from x0..x3 (SMCCC 1.1: function id in w0, arguments in x1..x3, results
//! in x0..x3). Everything KVM does not implement answers NOT_SUPPORTED (-1), as
//! `kvm_hvc_call_handler` does by default.
//!
//! Deterministic answers where KVM would use the host:
//! - TRNG_RND32/RND64 answer NO_ENTROPY (-3), a return code DEN0098 allows ("no entropy is
//!   available at this time"). The emulator has no randomness, and a fixed bit stream would be a
//!   fake random number; the guest sees a TRNG that is present but currently empty. Argument
//!   checks (INVALID_PARAMETERS for N > 96/192) come first, as in kvm_trng_do_rnd.
//! - PTP (VENDOR_HYP_KVM_PTP) answers NOT_SUPPORTED in x0, which is exactly what KVM returns when
//!   the host clocksource is not the architected counter (`kvm_ptp_get_time` returns early);
//!   the emulator has no wall clock to pair with the counter.
//! - CPU_SUSPEND: KVM emulates it as WFI and returns SUCCESS. Waking from WFI at once is an
//!   architecturally permitted spurious wake-up, so the call returns SUCCESS immediately.
//!
//! Not modelled: SYSTEM_SUSPEND with KVM_CAP_ARM_SYSTEM_SUSPEND enabled exits to the VMM
//! (KVM_SYSTEM_EVENT_SUSPEND), which `HvcAction` cannot express; PSCI_FEATURES reports it, but a
//! call answers NOT_SUPPORTED. The HVC immediate (KVM answers -1 for a non-zero one) and SMC
//! conduit (UNDEF in KVM without an SMCCC filter) are the CPU's to decide before calling here.

/// SMCCC / PSCI return codes (DEN0028 §7, DEN0022 §5.2.2). Negative values as u64.
pub const SUCCESS: i64 = 0;
pub const NOT_SUPPORTED: i64 = -1;
pub const INVALID_PARAMETERS: i64 = -2;
pub const SMCCC_RET_NOT_REQUIRED: i64 = -2;
pub const PSCI_RET_ALREADY_ON: i64 = -4;
pub const PSCI_RET_INTERNAL_FAILURE: i64 = -6;
/// TRNG return codes are their own space (trng.c: "deliberately separate").
pub const TRNG_NO_ENTROPY: i64 = -3;
/// ARCH_FEATURES answer for an unaffected CPU (include/linux/arm-smccc.h).
pub const SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED: i64 = 1;

/// Function ids (DEN0022 table 5.1, DEN0028 §7, DEN0098, include/linux/arm-smccc.h).
pub mod fid {
    pub const PSCI_VERSION: u32 = 0x8400_0000;
    pub const CPU_SUSPEND: u32 = 0x8400_0001;
    pub const CPU_SUSPEND64: u32 = 0xc400_0001;
    pub const CPU_OFF: u32 = 0x8400_0002;
    pub const CPU_ON: u32 = 0x8400_0003;
    pub const CPU_ON64: u32 = 0xc400_0003;
    pub const AFFINITY_INFO: u32 = 0x8400_0004;
    pub const AFFINITY_INFO64: u32 = 0xc400_0004;
    pub const MIGRATE_INFO_TYPE: u32 = 0x8400_0006;
    pub const SYSTEM_OFF: u32 = 0x8400_0008;
    pub const SYSTEM_RESET: u32 = 0x8400_0009;
    pub const PSCI_FEATURES: u32 = 0x8400_000a;
    pub const SYSTEM_SUSPEND: u32 = 0x8400_000e;
    pub const SYSTEM_SUSPEND64: u32 = 0xc400_000e;
    pub const SYSTEM_RESET2: u32 = 0x8400_0012;
    pub const SYSTEM_RESET2_64: u32 = 0xc400_0012;
    pub const SYSTEM_OFF2: u32 = 0x8400_0015;
    pub const SYSTEM_OFF2_64: u32 = 0xc400_0015;
    pub const TRNG_VERSION: u32 = 0x8400_0050;
    pub const TRNG_FEATURES: u32 = 0x8400_0051;
    pub const TRNG_GET_UUID: u32 = 0x8400_0052;
    pub const TRNG_RND32: u32 = 0x8400_0053;
    pub const TRNG_RND64: u32 = 0xc400_0053;
    pub const SMCCC_VERSION: u32 = 0x8000_0000;
    pub const SMCCC_ARCH_FEATURES: u32 = 0x8000_0001;
    pub const SMCCC_ARCH_WORKAROUND_1: u32 = 0x8000_8000;
    pub const SMCCC_ARCH_WORKAROUND_2: u32 = 0x8000_7fff;
    pub const SMCCC_ARCH_WORKAROUND_3: u32 = 0x8000_3fff;
    pub const HV_PV_TIME_FEATURES: u32 = 0xc500_0020;
    pub const HV_PV_TIME_ST: u32 = 0xc500_0021;
    pub const VENDOR_HYP_KVM_FEATURES: u32 = 0x8600_0000;
    pub const VENDOR_HYP_KVM_PTP: u32 = 0x8600_0001;
    pub const VENDOR_HYP_CALL_UID: u32 = 0x8600_ff01;
    /// KVM's own PSCI 0.1 ids (uapi asm/kvm.h: KVM_PSCI_FN_BASE 0x95c1ba5e).
    pub const KVM_PSCI_FN_CPU_SUSPEND: u32 = 0x95c1_ba5e;
    pub const KVM_PSCI_FN_CPU_OFF: u32 = 0x95c1_ba5f;
    pub const KVM_PSCI_FN_CPU_ON: u32 = 0x95c1_ba60;
    pub const KVM_PSCI_FN_MIGRATE: u32 = 0x95c1_ba61;
}

/// PSCI versions as KVM_REG_ARM_PSCI_VERSION holds them (include/kvm/arm_psci.h).
pub const PSCI_0_1: u64 = 0x1;
pub const PSCI_0_2: u64 = 0x2;
pub const PSCI_1_0: u64 = 0x1_0000;
pub const PSCI_1_1: u64 = 0x1_0001;
pub const PSCI_1_2: u64 = 0x1_0002;
pub const PSCI_1_3: u64 = 0x1_0003;
/// Every version some kernel accepts, in order (hypercalls.c kvm_arm_set_fw_reg; 1.1 from
/// 512865d83fd9 (5.18), 1.2/1.3 from 6.13).
const PSCI_VERSIONS: &[u64] = &[PSCI_0_1, PSCI_0_2, PSCI_1_0, PSCI_1_1, PSCI_1_2, PSCI_1_3];

/// KVM's SMCCC version answer: ARM_SMCCC_VERSION_1_1 (hypercalls.c).
pub const SMCCC_VERSION_1_1: u64 = 0x1_0001;
/// TRNG 1.0 (trng.c ARM_SMCCC_TRNG_VERSION_1_0).
pub const TRNG_VERSION_1_0: u64 = 0x1_0000;

/// KVM vendor hypervisor UID 28b46fb6-2ec5-11e9-a9ca-4b564d003a74 as four registers
/// (ARM_SMCCC_VENDOR_HYP_UID_KVM_REG_0..3, include/linux/arm-smccc.h).
pub const KVM_UID: [u64; 4] = [0xb66f_b428, 0xe911_c52e, 0x564b_caa9, 0x743a_004d];
/// KVM TRNG UUID 0d21e000-4384-11eb-8070-524455 4e5a4c (trng.c arm_smc_trng_uuid), returned
/// as the four little-endian words of its bytes.
pub const KVM_TRNG_UUID: [u64; 4] = [0x00e0_210d, 0xeb11_8443, 0x4452_7080, 0x4c5a_4e55];

/// Firmware ONE_REG ids: `KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM_FW | n` and
/// `KVM_REG_ARM_FW_FEAT_BMAP_REG(n)` (uapi asm/kvm.h).
pub const KVM_REG_ARM_PSCI_VERSION: u64 = 0x6030_0000_0014_0000;
pub const KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1: u64 = 0x6030_0000_0014_0001;
pub const KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2: u64 = 0x6030_0000_0014_0002;
pub const KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3: u64 = 0x6030_0000_0014_0003;
pub const KVM_REG_ARM_STD_BMAP: u64 = 0x6030_0000_0016_0000;
pub const KVM_REG_ARM_STD_HYP_BMAP: u64 = 0x6030_0000_0016_0001;
pub const KVM_REG_ARM_VENDOR_HYP_BMAP: u64 = 0x6030_0000_0016_0002;
pub const KVM_REG_ARM_VENDOR_HYP_BMAP_2: u64 = 0x6030_0000_0016_0003;

/// Bitmap bits (uapi asm/kvm.h, fw-pseudo-registers.rst).
pub const STD_BIT_TRNG_V1_0: u64 = 1 << 0;
pub const STD_HYP_BIT_PV_TIME: u64 = 1 << 0;
pub const VENDOR_HYP_BIT_FUNC_FEAT: u64 = 1 << 0;
pub const VENDOR_HYP_BIT_PTP: u64 = 1 << 1;

/// Workaround register levels (uapi asm/kvm.h).
pub const WA1_NOT_AVAIL: u64 = 0;
pub const WA1_AVAIL: u64 = 1;
pub const WA1_NOT_REQUIRED: u64 = 2;
pub const WA2_NOT_AVAIL: u64 = 0;
pub const WA2_UNKNOWN: u64 = 1;
pub const WA2_AVAIL: u64 = 2;
pub const WA2_NOT_REQUIRED: u64 = 3;
pub const WA2_ENABLED: u64 = 1 << 4;
const FEATURE_LEVEL_MASK: u64 = 0xf;

/// Errnos (positive, as the gic module returns them).
pub const EINVAL: i32 = 22;
pub const ENOENT: i32 = 2;
pub const EBUSY: i32 = 16;

/// One target's firmware: what the kernel offers (limits) and what the VM currently holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirmwareConfig {
    /// FW reg 0: the PSCI version the guest is answered with.
    pub psci_version: u64,
    /// Highest PSCI version this kernel accepts (1.0 up to 5.17, 1.1 from 5.18, 1.3 from 6.13).
    pub max_psci_version: u64,
    /// The vCPUs were created with KVM_ARM_VCPU_PSCI_0_2 (gates 0.1 vs 0.2+ on SET).
    pub psci_0_2_feature: bool,
    /// Host levels for FW regs 1..3 (what GET returns; SET only validates against them).
    pub wa1_level: u64,
    pub wa2_level: u64,
    pub wa3_level: u64,
    /// How many FW regs the kernel knows: 3 (PSCI, WA1, WA2) before WORKAROUND_3 (a5905d6af492,
    /// 5.17), else 4.
    pub fw_regs: u8,
    /// Bitmap registers 0..3 as the VM holds them.
    pub std_bmap: u64,
    pub std_hyp_bmap: u64,
    pub vendor_hyp_bmap: u64,
    pub vendor_hyp_bmap_2: u64,
    /// Bits each bitmap register may hold on this kernel (KVM_ARM_SMCCC_*_FEATURES); index 0..3.
    pub bmap_features: [u64; 4],
    /// How many bitmap registers the kernel knows: 0 before 5.19, 3 up to 6.14, 4 from 6.15.
    pub bmap_regs: u8,
    /// KVM_ARCH_FLAG_HAS_RAN_ONCE: after it, a bitmap change is -EBUSY.
    pub has_ran: bool,
    /// KVM_CAP_ARM_SYSTEM_SUSPEND enabled by the VMM (5.19+); off unless the VMM opts in.
    pub system_suspend: bool,
    /// PV stolen-time base set by the VMM (KVM_ARM_VCPU_PVTIME_IPA), if any.
    pub pv_time_base: Option<u64>,
}

impl FirmwareConfig {
    /// Latest mainline defaults: PSCI 1.3, all bitmap features on except BMAP_2 (opt-in),
    /// workaround levels as given by the host.
    pub fn latest(wa1: u64, wa2: u64, wa3: u64) -> FirmwareConfig {
        FirmwareConfig {
            psci_version: PSCI_1_3,
            max_psci_version: PSCI_1_3,
            psci_0_2_feature: true,
            wa1_level: wa1,
            wa2_level: wa2,
            wa3_level: wa3,
            fw_regs: 4,
            std_bmap: STD_BIT_TRNG_V1_0,
            std_hyp_bmap: STD_HYP_BIT_PV_TIME,
            vendor_hyp_bmap: VENDOR_HYP_BIT_FUNC_FEAT | VENDOR_HYP_BIT_PTP,
            vendor_hyp_bmap_2: 0,
            bmap_features: [STD_BIT_TRNG_V1_0, STD_HYP_BIT_PV_TIME, VENDOR_HYP_BIT_FUNC_FEAT | VENDOR_HYP_BIT_PTP, 0b11],
            bmap_regs: 4,
            has_ran: false,
            system_suspend: false,
            pv_time_base: None,
        }
    }

    fn psci_minor(&self) -> u64 {
        self.psci_version & 0xffff
    }

    fn is_psci_1x(&self) -> bool {
        self.psci_version >> 16 == 1
    }

    /// Bitmap as the hypercall gate sees it. Before 5.19 there are no bitmaps and nothing is
    /// gated: every service the kernel has is on.
    fn bmap(&self, n: usize) -> u64 {
        if (self.bmap_regs as usize) <= n {
            return self.bmap_features[n];
        }
        match n {
            0 => self.std_bmap,
            1 => self.std_hyp_bmap,
            2 => self.vendor_hyp_bmap,
            _ => self.vendor_hyp_bmap_2,
        }
    }

    fn bmap_slot(&mut self, n: usize) -> &mut u64 {
        match n {
            0 => &mut self.std_bmap,
            1 => &mut self.std_hyp_bmap,
            2 => &mut self.vendor_hyp_bmap,
            _ => &mut self.vendor_hyp_bmap_2,
        }
    }

    /// KVM_GET_ONE_REG for a firmware id (hypercalls.c kvm_arm_get_fw_reg). Err(ENOENT): the
    /// kernel has no such register.
    pub fn get_reg(&self, id: u64) -> Result<u64, i32> {
        match id {
            KVM_REG_ARM_PSCI_VERSION => Ok(self.psci_version),
            KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1 => Ok(self.wa1_level & FEATURE_LEVEL_MASK),
            KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2 => Ok(self.wa2_level & FEATURE_LEVEL_MASK),
            KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3 if self.fw_regs >= 4 => Ok(self.wa3_level & FEATURE_LEVEL_MASK),
            _ => match bmap_index(id) {
                Some(n) if n < self.bmap_regs as usize => Ok(self.bmap(n)),
                _ => Err(ENOENT),
            },
        }
    }

    /// KVM_SET_ONE_REG for a firmware id, with the kernel's checks (hypercalls.c
    /// kvm_arm_set_fw_reg / kvm_arm_set_fw_reg_bmap). Workaround writes validate only.
    pub fn set_reg(&mut self, id: u64, val: u64) -> Result<(), i32> {
        match id {
            KVM_REG_ARM_PSCI_VERSION => {
                if !PSCI_VERSIONS.contains(&val) || val > self.max_psci_version {
                    return Err(EINVAL);
                }
                // 0.1 only without KVM_ARM_VCPU_PSCI_0_2; 0.2+ only with it.
                if (val == PSCI_0_1) == self.psci_0_2_feature {
                    return Err(EINVAL);
                }
                self.psci_version = val;
                Ok(())
            }
            KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1 | KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3 => {
                if id == KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_3 && self.fw_regs < 4 {
                    return Err(ENOENT);
                }
                let host = if id == KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_1 { self.wa1_level } else { self.wa3_level };
                // Higher means better protected; a better-protected snapshot fails here.
                if val & !FEATURE_LEVEL_MASK != 0 || host < val {
                    return Err(EINVAL);
                }
                Ok(())
            }
            KVM_REG_ARM_SMCCC_ARCH_WORKAROUND_2 => {
                if val & !(FEATURE_LEVEL_MASK | WA2_ENABLED) != 0 {
                    return Err(EINVAL);
                }
                if val & WA2_ENABLED != 0 && val & FEATURE_LEVEL_MASK != WA2_AVAIL {
                    return Err(EINVAL);
                }
                // "Map all the possible incoming states to the only two we really want to deal
                // with."
                let wanted = match val & FEATURE_LEVEL_MASK {
                    WA2_NOT_AVAIL | WA2_UNKNOWN => WA2_NOT_AVAIL,
                    WA2_AVAIL | WA2_NOT_REQUIRED => WA2_NOT_REQUIRED,
                    _ => return Err(EINVAL),
                };
                if self.wa2_level < wanted {
                    return Err(EINVAL);
                }
                Ok(())
            }
            _ => {
                let n = match bmap_index(id) {
                    Some(n) if n < self.bmap_regs as usize => n,
                    _ => return Err(ENOENT),
                };
                if val & !self.bmap_features[n] != 0 {
                    return Err(EINVAL);
                }
                if self.has_ran && val != self.bmap(n) {
                    return Err(EBUSY);
                }
                *self.bmap_slot(n) = val;
                Ok(())
            }
        }
    }
}

fn bmap_index(id: u64) -> Option<usize> {
    match id {
        KVM_REG_ARM_STD_BMAP => Some(0),
        KVM_REG_ARM_STD_HYP_BMAP => Some(1),
        KVM_REG_ARM_VENDOR_HYP_BMAP => Some(2),
        KVM_REG_ARM_VENDOR_HYP_BMAP_2 => Some(3),
        _ => None,
    }
}

/// What the machine must do after an HVC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HvcAction {
    /// Write x0..x3 and continue.
    Return([u64; 4]),
    /// Power on `target_mpidr` at `entry` with x0 = `context`; the caller gets SUCCESS in x0.
    CpuOn { target_mpidr: u64, entry: u64, context: u64 },
    /// Power off the calling vCPU (it does not return).
    CpuOff,
    /// KVM_SYSTEM_EVENT_SHUTDOWN (SYSTEM_OFF, SYSTEM_OFF2). x0 would read INTERNAL_FAILURE if
    /// resumed.
    SystemOff,
    /// KVM_SYSTEM_EVENT_RESET (SYSTEM_RESET, SYSTEM_RESET2).
    SystemReset,
}

fn ret(x0: i64) -> HvcAction {
    HvcAction::Return([x0 as u64, 0, 0, 0])
}

fn ret4(v: [u64; 4]) -> HvcAction {
    HvcAction::Return(v)
}

/// MPIDR_HWID_BITMASK: Aff3 and Aff2..0 (arch/arm64/include/asm/cputype.h).
const MPIDR_HWID_BITMASK: u64 = 0xff_00ff_ffff;

fn is_psci_0_2_plus_fn(f: u32) -> bool {
    // Standard service, function number <= 0x1f (hypercalls.c kvm_hvc_call_default_allowed).
    (f >> 24) & 0x3f == 4 && f & 0xffff <= 0x1f
}

/// Handle one HVC from a vCPU. `regs` = x0..x3. `affinity_state(mpidr)` says whether a vCPU with
/// that MPIDR (Aff fields only) exists and is on.
pub fn handle_hvc(cfg: &FirmwareConfig, regs: [u64; 4], affinity_state: &dyn Fn(u64) -> Option<bool>) -> HvcAction {
    let f = regs[0] as u32;
    if !call_allowed(cfg, f) {
        return ret(NOT_SUPPORTED);
    }
    match f {
        fid::SMCCC_VERSION => ret(SMCCC_VERSION_1_1 as i64),
        fid::SMCCC_ARCH_FEATURES => ret(arch_features(cfg, regs[1] as u32)),
        fid::HV_PV_TIME_FEATURES => ret(match regs[1] as u32 {
            fid::HV_PV_TIME_FEATURES | fid::HV_PV_TIME_ST => SUCCESS,
            _ => NOT_SUPPORTED,
        }),
        fid::HV_PV_TIME_ST => ret(match cfg.pv_time_base {
            Some(gpa) => gpa as i64,
            None => NOT_SUPPORTED,
        }),
        fid::VENDOR_HYP_CALL_UID => ret4(KVM_UID),
        // x0 covers KVM vendor functions 0..31 (FEATURES, PTP), x2 functions 64..95, where
        // DISCOVER_IMPL_VER/CPUS (64, 65) sit as VENDOR_HYP_BMAP_2 bits 0 and 1 (c0000e58c74e;
        // the guest reads them with bitmap_from_arr32 in drivers/firmware/smccc/kvm_guest.c).
        // The calls themselves are the VMM's (SMCCC filter FWD_TO_USER), not KVM's.
        fid::VENDOR_HYP_KVM_FEATURES => {
            let bmap2 = if cfg.bmap_regs >= 4 { cfg.vendor_hyp_bmap_2 } else { 0 };
            ret4([cfg.bmap(2), 0, bmap2, 0])
        }
        fid::VENDOR_HYP_KVM_PTP => ret(NOT_SUPPORTED),
        fid::TRNG_VERSION => ret(TRNG_VERSION_1_0 as i64),
        fid::TRNG_FEATURES => ret(match regs[1] as u32 {
            fid::TRNG_VERSION | fid::TRNG_FEATURES | fid::TRNG_GET_UUID | fid::TRNG_RND32 | fid::TRNG_RND64 => SUCCESS,
            _ => NOT_SUPPORTED,
        }),
        fid::TRNG_GET_UUID => ret4(KVM_TRNG_UUID),
        fid::TRNG_RND32 | fid::TRNG_RND64 => {
            let size = if f == fid::TRNG_RND32 { 32 } else { 64 };
            if regs[1] as u32 > 3 * size {
                ret(INVALID_PARAMETERS)
            } else {
                ret(TRNG_NO_ENTROPY)
            }
        }
        _ => psci_call(cfg, f, regs, affinity_state),
    }
}

/// Calls gated by a bit of a bitmap register (hypercalls.c kvm_hvc_call_allowed): function id,
/// bitmap register index (0 STD, 1 STD_HYP, 2 VENDOR_HYP), bit.
#[rustfmt::skip]
const GATED: &[(u32, usize, u64)] = &[
    (fid::TRNG_VERSION, 0, STD_BIT_TRNG_V1_0),
    (fid::TRNG_FEATURES, 0, STD_BIT_TRNG_V1_0),
    (fid::TRNG_GET_UUID, 0, STD_BIT_TRNG_V1_0),
    (fid::TRNG_RND32, 0, STD_BIT_TRNG_V1_0),
    (fid::TRNG_RND64, 0, STD_BIT_TRNG_V1_0),
    (fid::HV_PV_TIME_FEATURES, 1, STD_HYP_BIT_PV_TIME),
    (fid::HV_PV_TIME_ST, 1, STD_HYP_BIT_PV_TIME),
    (fid::VENDOR_HYP_KVM_FEATURES, 2, VENDOR_HYP_BIT_FUNC_FEAT),
    (fid::VENDOR_HYP_CALL_UID, 2, VENDOR_HYP_BIT_FUNC_FEAT),
    (fid::VENDOR_HYP_KVM_PTP, 2, VENDOR_HYP_BIT_PTP),
];

/// kvm_hvc_call_allowed: bitmap-gated services, then the default allow list (SMCCC_VERSION,
/// ARCH_FEATURES, standard-service functions 0..0x1f, KVM's PSCI 0.1 ids).
fn call_allowed(cfg: &FirmwareConfig, f: u32) -> bool {
    if let Some(&(_, n, bit)) = GATED.iter().find(|g| g.0 == f) {
        return cfg.bmap(n) & bit != 0;
    }
    matches!(f, fid::SMCCC_VERSION | fid::SMCCC_ARCH_FEATURES)
        || is_psci_0_2_plus_fn(f)
        || (fid::KVM_PSCI_FN_CPU_SUSPEND..=fid::KVM_PSCI_FN_MIGRATE).contains(&f)
}

/// SMCCC_ARCH_FEATURES (hypercalls.c): workaround answers from the host's mitigation state,
/// which the FW register levels encode (get_kernel_wa_level is the same mapping in reverse).
fn arch_features(cfg: &FirmwareConfig, feature: u32) -> i64 {
    match feature {
        // SPECTRE_VULNERABLE → NOT_SUPPORTED, MITIGATED → SUCCESS, UNAFFECTED → RET_UNAFFECTED.
        fid::SMCCC_ARCH_WORKAROUND_1 => wa13_answer(cfg.wa1_level),
        fid::SMCCC_ARCH_WORKAROUND_3 if cfg.fw_regs >= 4 => wa13_answer(cfg.wa3_level),
        // Spectre-v4: NOT_REQUIRED (also "mitigated without SSBS") → SMCCC_RET_NOT_REQUIRED;
        // vulnerable, or mitigated with SSBS (reported NOT_AVAIL) → NOT_SUPPORTED. AVAIL is the
        // pre-5.10 dynamic-mitigation answer, SUCCESS.
        fid::SMCCC_ARCH_WORKAROUND_2 => match cfg.wa2_level & FEATURE_LEVEL_MASK {
            WA2_NOT_REQUIRED => SMCCC_RET_NOT_REQUIRED,
            WA2_AVAIL => SUCCESS,
            _ => NOT_SUPPORTED,
        },
        fid::HV_PV_TIME_FEATURES if cfg.bmap(1) & STD_HYP_BIT_PV_TIME != 0 => SUCCESS,
        _ => NOT_SUPPORTED,
    }
}

fn wa13_answer(level: u64) -> i64 {
    match level & FEATURE_LEVEL_MASK {
        WA1_AVAIL => SUCCESS,
        WA1_NOT_REQUIRED => SMCCC_ARCH_WORKAROUND_RET_UNAFFECTED,
        _ => NOT_SUPPORTED,
    }
}

/// kvm_psci_call: dispatch on the configured PSCI version.
fn psci_call(cfg: &FirmwareConfig, f: u32, regs: [u64; 4], aff: &dyn Fn(u64) -> Option<bool>) -> HvcAction {
    if cfg.psci_version == PSCI_0_1 {
        return match f {
            fid::KVM_PSCI_FN_CPU_OFF => HvcAction::CpuOff,
            fid::KVM_PSCI_FN_CPU_ON => cpu_on(cfg, regs, aff),
            _ => ret(NOT_SUPPORTED),
        };
    }
    if cfg.is_psci_1x() {
        if let Some(a) = psci_1x_call(cfg, f, regs) {
            return a;
        }
    }
    psci_0_2_call(cfg, f, regs, aff)
}

/// PSCI 1.x additions (psci.c kvm_psci_1_x_call). `None`: fall through to the 0.2 calls.
fn psci_1x_call(cfg: &FirmwareConfig, f: u32, regs: [u64; 4]) -> Option<HvcAction> {
    let minor = cfg.psci_minor();
    match f {
        fid::PSCI_VERSION => Some(ret(cfg.psci_version as i64)),
        fid::PSCI_FEATURES => Some(ret(psci_features(cfg, regs[1] as u32))),
        fid::SYSTEM_RESET2 | fid::SYSTEM_RESET2_64 if minor >= 1 => {
            let arg = if f == fid::SYSTEM_RESET2 { regs[1] & 0xffff_ffff } else { regs[1] };
            // reset_type: SYSTEM_WARM_RESET (0) or vendor-specific (bit 31) (DEN0022 §5.17).
            if arg == 0 || arg >= 0x8000_0000 {
                Some(HvcAction::SystemReset)
            } else {
                Some(ret(INVALID_PARAMETERS))
            }
        }
        fid::SYSTEM_OFF2 | fid::SYSTEM_OFF2_64 if minor >= 3 => {
            let (a1, a2) = if f == fid::SYSTEM_OFF2 { (regs[1] & 0xffff_ffff, regs[2] & 0xffff_ffff) } else { (regs[1], regs[2]) };
            // HIBERNATE_OFF is type 1; "PSCI v1.3 issue F.b requires that zero be accepted".
            if (a1 != 0 && a1 != 1) || a2 != 0 {
                Some(ret(INVALID_PARAMETERS))
            } else {
                Some(HvcAction::SystemOff)
            }
        }
        _ => None,
    }
}

/// PSCI_FEATURES rows (psci.c kvm_psci_1_x_call): function, lowest 1.x minor version that
/// reports it, whether it needs KVM_CAP_ARM_SYSTEM_SUSPEND, and the answer.
#[rustfmt::skip]
const PSCI_FEATURES_ROWS: &[(u32, u64, bool, i64)] = &[
    (fid::PSCI_VERSION, 0, false, SUCCESS),
    (fid::CPU_SUSPEND, 0, false, SUCCESS),
    (fid::CPU_SUSPEND64, 0, false, SUCCESS),
    (fid::CPU_OFF, 0, false, SUCCESS),
    (fid::CPU_ON, 0, false, SUCCESS),
    (fid::CPU_ON64, 0, false, SUCCESS),
    (fid::AFFINITY_INFO, 0, false, SUCCESS),
    (fid::AFFINITY_INFO64, 0, false, SUCCESS),
    (fid::MIGRATE_INFO_TYPE, 0, false, SUCCESS),
    (fid::SYSTEM_OFF, 0, false, SUCCESS),
    (fid::SYSTEM_RESET, 0, false, SUCCESS),
    (fid::PSCI_FEATURES, 0, false, SUCCESS),
    (fid::SMCCC_VERSION, 0, false, SUCCESS),
    // 5.19 (KVM_CAP_ARM_SYSTEM_SUSPEND, off unless the VMM enables it).
    (fid::SYSTEM_SUSPEND, 0, true, SUCCESS),
    (fid::SYSTEM_SUSPEND64, 0, true, SUCCESS),
    (fid::SYSTEM_RESET2, 1, false, SUCCESS),
    (fid::SYSTEM_RESET2_64, 1, false, SUCCESS),
    // PSCI 1.3 (6.13): the answer is the bitmap of supported types, BIT(HIBERNATE_OFF = 1).
    (fid::SYSTEM_OFF2, 3, false, 1 << 1),
    (fid::SYSTEM_OFF2_64, 3, false, 1 << 1),
];

fn psci_features(cfg: &FirmwareConfig, arg: u32) -> i64 {
    match PSCI_FEATURES_ROWS.iter().find(|r| r.0 == arg) {
        Some(&(_, since, cap, answer)) if cfg.psci_minor() >= since && (!cap || cfg.system_suspend) => answer,
        _ => NOT_SUPPORTED,
    }
}

/// PSCI 0.2 calls (psci.c kvm_psci_0_2_call).
fn psci_0_2_call(cfg: &FirmwareConfig, f: u32, regs: [u64; 4], aff: &dyn Fn(u64) -> Option<bool>) -> HvcAction {
    let narrow = |r: [u64; 4]| [r[0], r[1] & 0xffff_ffff, r[2] & 0xffff_ffff, r[3] & 0xffff_ffff];
    match f {
        fid::PSCI_VERSION => ret(PSCI_0_2 as i64),
        fid::CPU_SUSPEND | fid::CPU_SUSPEND64 => ret(SUCCESS),
        fid::CPU_OFF => HvcAction::CpuOff,
        fid::CPU_ON => cpu_on(cfg, narrow(regs), aff),
        fid::CPU_ON64 => cpu_on(cfg, regs, aff),
        fid::AFFINITY_INFO => affinity_info(narrow(regs), aff),
        fid::AFFINITY_INFO64 => affinity_info(regs, aff),
        // PSCI_0_2_TOS_MP (2): "Trusted OS is not present" / does not require migration.
        fid::MIGRATE_INFO_TYPE => ret(2),
        fid::SYSTEM_OFF => HvcAction::SystemOff,
        fid::SYSTEM_RESET => HvcAction::SystemReset,
        _ => ret(NOT_SUPPORTED),
    }
}

/// kvm_psci_vcpu_on.
fn cpu_on(cfg: &FirmwareConfig, regs: [u64; 4], aff: &dyn Fn(u64) -> Option<bool>) -> HvcAction {
    let target = regs[1];
    if target & !MPIDR_HWID_BITMASK != 0 {
        return ret(INVALID_PARAMETERS);
    }
    match aff(target) {
        None => ret(INVALID_PARAMETERS),
        // PSCI 0.1 has no ALREADY_ON.
        Some(true) if cfg.psci_version == PSCI_0_1 => ret(INVALID_PARAMETERS),
        Some(true) => ret(PSCI_RET_ALREADY_ON),
        Some(false) => HvcAction::CpuOn { target_mpidr: target, entry: regs[2], context: regs[3] },
    }
}

/// kvm_psci_vcpu_affinity_info. The callback answers one MPIDR at a time, so for
/// lowest_affinity_level > 0 the candidates are the MPIDRs of KVM's default layout under the
/// target's upper affinity (Aff0 0..15, Aff1 0..255: `kvm_vcpu_get_mpidr_aff` packs vcpu_id that
/// way). A VMM that gives vCPUs other MPIDRs is only matched exactly at level 0.
fn affinity_info(regs: [u64; 4], aff: &dyn Fn(u64) -> Option<bool>) -> HvcAction {
    let target = regs[1];
    let level = regs[2];
    if target & !MPIDR_HWID_BITMASK != 0 || level > 3 {
        return ret(INVALID_PARAMETERS);
    }
    let shift = [0u32, 8, 16, 32][level as usize];
    let mask = MPIDR_HWID_BITMASK & !((1u64 << shift) - 1);
    let base = target & mask;
    let mut matching = false;
    let mut probe = |mpidr: u64| -> Option<HvcAction> {
        match aff(mpidr) {
            Some(true) => Some(ret(0)), // AFFINITY_LEVEL_ON
            Some(false) => {
                matching = true;
                None
            }
            None => None,
        }
    };
    if level == 0 {
        if let Some(a) = probe(base) {
            return a;
        }
    } else {
        let aff1_range: u64 = if level >= 2 { 256 } else { 1 };
        for a1 in 0..aff1_range {
            for a0 in 0..16u64 {
                let cand = if level >= 2 { base | a1 << 8 | a0 } else { base | a0 };
                if let Some(a) = probe(cand) {
                    return a;
                }
            }
        }
    }
    if matching {
        ret(1) // AFFINITY_LEVEL_OFF
    } else {
        ret(INVALID_PARAMETERS)
    }
}
