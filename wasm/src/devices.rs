//! Where the CPU meets the devices of `gic`, `timer` and `firmware`: everything the core needs
//! from them goes through these names, so the wiring is in one place.

pub use crate::firmware::{handle_hvc, FirmwareConfig, HvcAction};
pub use crate::gic::{Gic, GicConfig, GicModel, GroupMode};
pub use crate::timer::Timer;

use crate::firmware::{WA1_AVAIL, WA2_NOT_REQUIRED};

/// KVM_REG_ARM_FW_REG / FW_FEAT_BMAP_REG read.
pub fn fw_get(fw: &FirmwareConfig, id: u64) -> Option<u64> {
    fw.get_reg(id).ok()
}

/// KVM_REG_ARM_FW_REG / FW_FEAT_BMAP_REG write: 0 or a negative errno.
pub fn fw_set(fw: &mut FirmwareConfig, id: u64, val: u64) -> Result<(), i32> {
    fw.set_reg(id, val).map_err(|e| -e.abs())
}

/// Fields of [`FirmwareConfig`] a machine configuration may set (config key `FW_FIELD`), by
/// index: what the target kernel offers, as the kernel profile says.
pub fn set_fw_field(fw: &mut FirmwareConfig, field: u64, v: u64) -> Result<(), ()> {
    match field {
        0 => fw.psci_version = v,
        1 => fw.max_psci_version = v,
        2 => fw.psci_0_2_feature = v != 0,
        3 => fw.wa1_level = v,
        4 => fw.wa2_level = v,
        5 => fw.wa3_level = v,
        6 => fw.fw_regs = v.min(4) as u8,
        7 => fw.std_bmap = v,
        8 => fw.std_hyp_bmap = v,
        9 => fw.vendor_hyp_bmap = v,
        10 => fw.vendor_hyp_bmap_2 = v,
        11..=14 => fw.bmap_features[(field - 11) as usize] = v,
        15 => fw.bmap_regs = v.min(4) as u8,
        16 => fw.has_ran = v != 0,
        17 => fw.system_suspend = v != 0,
        18 => fw.pv_time_base = Some(v),
        _ => return Err(()),
    }
    Ok(())
}

/// Firmware from the configuration: latest mainline defaults (PSCI 1.3; workaround 1 and 3
/// available, workaround 2 not required, as on Neoverse N1 hosts), then the configured fields,
/// then the FW_REG values the VM holds (through KVM's own SET checks).
pub fn firmware_config(fields: &[(u64, u64)], regs: &[(u64, u64)]) -> Result<FirmwareConfig, ()> {
    let mut fw = FirmwareConfig::latest(WA1_AVAIL, WA2_NOT_REQUIRED, WA1_AVAIL);
    for &(f, v) in fields {
        set_fw_field(&mut fw, f, v)?;
    }
    for &(id, v) in regs {
        fw_set(&mut fw, id, v).map_err(|_| ())?;
    }
    Ok(fw)
}
