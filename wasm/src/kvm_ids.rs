//! KVM ONE_REG ids for arm64 (arch/arm64/include/uapi/asm/kvm.h, Documentation/virt/kvm/api.rst
//! "KVM_SET_ONE_REG" arm64 section), mapped onto vCPU state. Names are KVM's, not the
//! architecture's: KVM_REG_ARM_TIMER_CNT and KVM_REG_ARM_TIMER_CVAL are swapped relative to the
//! encodings of CNTVCT_EL0 and CNTV_CVAL_EL0 ("accidentally swapped... set API"); the timer
//! module owns that mapping and is asked first for every timer id.

use crate::cpu::Cpu;
use crate::machine::Machine;
use crate::sysreg;

pub const KVM_REG_ARM64: u64 = 0x6000_0000_0000_0000;
pub const KVM_REG_SIZE_MASK: u64 = 0x00f0_0000_0000_0000;
pub const KVM_REG_SIZE_U32: u64 = 0x0020_0000_0000_0000;
pub const KVM_REG_SIZE_U64: u64 = 0x0030_0000_0000_0000;
pub const KVM_REG_SIZE_U128: u64 = 0x0040_0000_0000_0000;
/// Coprocessor field (bits 31:16): core registers, demux, sysregs, firmware, firmware bitmaps.
pub const KVM_REG_ARM_CORE: u64 = 0x0010 << 16;
pub const KVM_REG_ARM_DEMUX: u64 = 0x0011 << 16;
pub const KVM_REG_ARM64_SYSREG: u64 = 0x0013 << 16;
pub const KVM_REG_ARM_FW: u64 = 0x0014 << 16;
pub const KVM_REG_ARM_FW_FEAT_BMAP: u64 = 0x0016 << 16;
/// KVM_REG_ARM_DEMUX_ID_CCSIDR (0x00 << 8) with the CSSELR value in bits 7:0.
pub const KVM_REG_ARM_DEMUX_ID_CCSIDR: u64 = 0;

/// Negative errno values returned across the boundary.
pub const ENOENT: i32 = -2;
pub const EINVAL: i32 = -22;
/// A KVM id this emulator recognises but cannot take through this call (a U128 register
/// passed as a 64-bit value): EOPNOTSUPP; use the byte-buffer calls.
pub const EOPNOTSUPP: i32 = -95;

/// Offsets (in 32-bit words) into `struct kvm_regs` of the U64 core registers:
/// regs.regs[0..31], regs.sp, regs.pc, regs.pstate, sp_el1, elr_el1, spsr[0..5].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Core {
    X(usize),
    Sp,
    Pc,
    Pstate,
    SpEl1,
    ElrEl1,
    Spsr(usize),
}

fn core(off: u64) -> Option<Core> {
    Some(match off {
        0..=60 if off % 2 == 0 => Core::X((off / 2) as usize),
        62 => Core::Sp,
        64 => Core::Pc,
        66 => Core::Pstate,
        68 => Core::SpEl1,
        70 => Core::ElrEl1,
        72..=80 if off % 2 == 0 => Core::Spsr(((off - 72) / 2) as usize),
        _ => return None,
    })
}

/// FP/SIMD core registers (`fp_regs.vregs[32]` U128 at word 84 + 4n, `fpsr`/`fpcr` U32 at 212/213).
fn is_fp_core(id: u64) -> bool {
    let off = id & 0xffff;
    let size = id & KVM_REG_SIZE_MASK;
    (size == KVM_REG_SIZE_U128 && (84..212).contains(&off) && off % 4 == 0)
        || (size == KVM_REG_SIZE_U32 && (off == 212 || off == 213))
}

/// `Some(n)` for V<n> (U128 core register id).
fn vreg(id: u64) -> Option<usize> {
    let off = id & 0xffff;
    if id >> 32 == 0x6040_0000 && class(id) == KVM_REG_ARM_CORE && (84..212).contains(&off) && off % 4 == 0 {
        Some(((off - 84) / 4) as usize)
    } else {
        None
    }
}

/// KVM_GET_ONE_REG for registers wider than 64 bits (V0..V31): little-endian bytes.
pub fn get_bytes(m: &Machine, v: usize, id: u64) -> Result<[u8; 16], i32> {
    let cpu = m.cpus.get(v).ok_or(EINVAL)?;
    vreg(id).map(|n| cpu.v[n].to_le_bytes()).ok_or(ENOENT)
}

/// KVM_SET_ONE_REG for registers wider than 64 bits (V0..V31).
pub fn set_bytes(m: &mut Machine, v: usize, id: u64, bytes: &[u8]) -> Result<(), i32> {
    let n = vreg(id).ok_or(ENOENT)?;
    let cpu = m.cpus.get_mut(v).ok_or(EINVAL)?;
    if bytes.len() != 16 {
        return Err(EINVAL);
    }
    let mut b = [0u8; 16];
    b.copy_from_slice(bytes);
    cpu.v[n] = u128::from_le_bytes(b);
    Ok(())
}

fn fp_u32(cpu: &Cpu, id: u64) -> Option<u64> {
    match id & 0xffff {
        212 => Some(cpu.fpsr as u64),
        213 => Some(cpu.fpcr as u64),
        _ => None,
    }
}

fn class(id: u64) -> u64 {
    id & 0xffff_0000
}

/// KVM_GET_ONE_REG for vCPU `v`: the value or a negative errno.
pub fn get(m: &Machine, v: usize, id: u64) -> Result<u64, i32> {
    let cpu = m.cpus.get(v).ok_or(EINVAL)?;
    if id & 0xff00_0000_0000_0000 != KVM_REG_ARM64 {
        return Err(ENOENT);
    }
    let size = id & KVM_REG_SIZE_MASK;
    match class(id) {
        KVM_REG_ARM_CORE if is_fp_core(id) && id >> 32 == 0x6020_0000 => fp_u32(cpu, id).ok_or(ENOENT),
        KVM_REG_ARM_CORE if is_fp_core(id) && id >> 48 & 0xff0f == 0x6000 => Err(EOPNOTSUPP),
        KVM_REG_ARM_CORE if size == KVM_REG_SIZE_U64 && id >> 32 == 0x6030_0000 => {
            let c = core(id & 0xffff).ok_or(ENOENT)?;
            Ok(match c {
                Core::X(n) => cpu.x[n],
                Core::Sp => cpu.sp_el0(),
                Core::Pc => cpu.pc,
                Core::Pstate => cpu.pstate(),
                Core::SpEl1 => cpu.sp_el1(),
                Core::ElrEl1 => cpu.sys[sysreg::table::ELR],
                Core::Spsr(0) => cpu.sys[sysreg::table::SPSR],
                Core::Spsr(n) => cpu.spsr32[n - 1],
            })
        }
        KVM_REG_ARM_DEMUX if size == KVM_REG_SIZE_U32 && id >> 32 == 0x6020_0000 => {
            let sel = demux_ccsidr(id)?;
            Ok(cpu.ccsidr[sel] & 0xffff_ffff)
        }
        KVM_REG_ARM64_SYSREG if size == KVM_REG_SIZE_U64 && id >> 32 == 0x6030_0000 => {
            let now = m.phys_now();
            if let Some(val) = m.timers[v].get_kvm_reg(id, now) {
                return Ok(val);
            }
            sysreg::raw_get(cpu, (id & 0xffff) as u16).ok_or(ENOENT)
        }
        KVM_REG_ARM_FW | KVM_REG_ARM_FW_FEAT_BMAP => crate::devices::fw_get(&m.fw, id).ok_or(ENOENT),
        _ => Err(ENOENT),
    }
}

fn demux_ccsidr(id: u64) -> Result<usize, i32> {
    let sel = id & 0xff;
    // CSSELR: Level (bits 3:1) 0..6 for L1..L7, InD bit 0.
    if (id & 0xff00) >> 8 != KVM_REG_ARM_DEMUX_ID_CCSIDR || sel >= 14 {
        return Err(ENOENT);
    }
    Ok(sel as usize)
}

/// KVM_SET_ONE_REG for vCPU `v`: 0 or a negative errno.
pub fn set(m: &mut Machine, v: usize, id: u64, val: u64) -> Result<(), i32> {
    if v >= m.cpus.len() {
        return Err(EINVAL);
    }
    if id & 0xff00_0000_0000_0000 != KVM_REG_ARM64 {
        return Err(ENOENT);
    }
    let size = id & KVM_REG_SIZE_MASK;
    match class(id) {
        KVM_REG_ARM_CORE if is_fp_core(id) && id >> 32 == 0x6020_0000 => {
            if val >> 32 != 0 {
                return Err(EINVAL);
            }
            let cpu = &mut m.cpus[v];
            if id & 0xffff == 212 {
                cpu.fpsr = val as u32;
            } else {
                cpu.fpcr = val as u32;
            }
            Ok(())
        }
        KVM_REG_ARM_CORE if is_fp_core(id) && id >> 48 & 0xff0f == 0x6000 => Err(EOPNOTSUPP),
        KVM_REG_ARM_CORE if size == KVM_REG_SIZE_U64 && id >> 32 == 0x6030_0000 => {
            let c = core(id & 0xffff).ok_or(ENOENT)?;
            let cpu: &mut Cpu = &mut m.cpus[v];
            match c {
                Core::X(n) => cpu.x[n] = val,
                Core::Sp => cpu.set_sp_el0(val),
                Core::Pc => cpu.pc = val,
                Core::Pstate => {
                    // KVM rejects modes the vCPU cannot be in (arch/arm64/kvm/guest.c
                    // set_core_reg: valid_mode check) with EINVAL.
                    if !Cpu::legal_mode(val) {
                        return Err(EINVAL);
                    }
                    cpu.set_pstate(val);
                }
                Core::SpEl1 => cpu.set_sp_el1(val),
                Core::ElrEl1 => cpu.sys[sysreg::table::ELR] = val,
                Core::Spsr(0) => cpu.sys[sysreg::table::SPSR] = val,
                Core::Spsr(n) => cpu.spsr32[n - 1] = val,
            }
            Ok(())
        }
        KVM_REG_ARM_DEMUX if size == KVM_REG_SIZE_U32 && id >> 32 == 0x6020_0000 => {
            let sel = demux_ccsidr(id)?;
            if val >> 32 != 0 {
                return Err(EINVAL);
            }
            m.cpus[v].ccsidr[sel] = val;
            Ok(())
        }
        KVM_REG_ARM64_SYSREG if size == KVM_REG_SIZE_U64 && id >> 32 == 0x6030_0000 => {
            let now = m.phys_now();
            if m.timers[v].set_kvm_reg(id, val, now) {
                return Ok(());
            }
            if sysreg::raw_set(&mut m.cpus[v], (id & 0xffff) as u16, val) {
                Ok(())
            } else {
                Err(ENOENT)
            }
        }
        KVM_REG_ARM_FW | KVM_REG_ARM_FW_FEAT_BMAP => crate::devices::fw_set(&mut m.fw, id, val),
        _ => Err(ENOENT),
    }
}
