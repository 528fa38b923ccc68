//! KVM device attributes of the vGIC (KVM_{GET,SET,HAS}_DEVICE_ATTR), as
//! Documentation/virt/kvm/devices/arm-vgic-v3.rst and arm-vgic.rst define them and
//! arch/arm64/kvm/vgic/vgic-kvm-device.c implements them. Errors are positive errnos.

use super::irq::{NR_PRIVATE, NR_SGIS};
use super::regs::{self, Who};
use super::{dist, gicc, icc, redist, Gic};

/// Attribute groups (uapi asm/kvm.h KVM_DEV_ARM_VGIC_GRP_*).
pub const GRP_ADDR: u32 = 0;
pub const GRP_DIST_REGS: u32 = 1;
pub const GRP_CPU_REGS: u32 = 2;
pub const GRP_NR_IRQS: u32 = 3;
pub const GRP_CTRL: u32 = 4;
pub const GRP_REDIST_REGS: u32 = 5;
pub const GRP_CPU_SYSREGS: u32 = 6;
pub const GRP_LEVEL_INFO: u32 = 7;

/// KVM_DEV_ARM_VGIC_CTRL_INIT and KVM_DEV_ARM_VGIC_SAVE_PENDING_TABLES.
pub const CTRL_INIT: u64 = 0;
pub const CTRL_SAVE_PENDING_TABLES: u64 = 3;

/// KVM_VGIC_V2_ADDR_TYPE_DIST/CPU, KVM_VGIC_V3_ADDR_TYPE_DIST/REDIST/REDIST_REGION.
pub const ADDR_V2_DIST: u64 = 0;
pub const ADDR_V2_CPU: u64 = 1;
pub const ADDR_V3_DIST: u64 = 2;
pub const ADDR_V3_REDIST: u64 = 3;
pub const ADDR_V3_REDIST_REGION: u64 = 5;

pub const EPERM: i32 = 1;
pub const ENOENT: i32 = 2;
pub const ENXIO: i32 = 6;
pub const EBUSY: i32 = 16;
pub const EEXIST: i32 = 17;
pub const EINVAL: i32 = 22;

/// GICD_IIDR and GICD_TYPER2 offsets: the only registers reachable before CTRL_INIT on 6.17+.
const GICD_IIDR: u32 = 0x8;
const GICD_TYPER2: u32 = 0xc;

/// VGIC_TO_MPIDR: the attr's [63:32] holds Aff3.Aff2.Aff1.Aff0 as bytes; MPIDR has Aff3 at
/// [39:32].
fn attr_mpidr(attr: u64) -> u64 {
    let v = attr >> 32;
    (v & 0xff_ffff) | ((v >> 24) & 0xff) << 32
}

/// vgic_v3_parse_attr: DIST uses vCPU 0; others name a vCPU by MPIDR (-EINVAL if none).
fn v3_vcpu(gic: &Gic, group: u32, attr: u64) -> Result<usize, i32> {
    if group == GRP_DIST_REGS {
        if gic.ncpu() == 0 {
            Err(EINVAL)
        } else {
            Ok(0)
        }
    } else {
        gic.cpu_by_mpidr(attr_mpidr(attr)).ok_or(EINVAL)
    }
}

/// vgic_v2_parse_attr: vcpu_index in [39:32]; an index with no vCPU is -EINVAL.
fn v2_vcpu(gic: &Gic, attr: u64) -> Result<usize, i32> {
    let c = ((attr >> 32) & 0xff) as usize;
    if c < gic.ncpu() {
        Ok(c)
    } else {
        Err(EINVAL)
    }
}

fn ensure_init(gic: &mut Gic) {
    if !gic.initialized {
        let n = if gic.nr_irqs_set { gic.nr_irqs } else { 256 };
        gic.init_with(n);
    }
}

pub fn get(gic: &mut Gic, group: u32, attr: u64) -> Result<u64, i32> {
    match group {
        GRP_ADDR => addr(gic, attr),
        GRP_NR_IRQS => Ok(gic.nr_irqs as u64),
        GRP_CTRL => Err(ENXIO),
        _ => regs_access(gic, group, attr, None),
    }
}

pub fn set(gic: &mut Gic, group: u32, attr: u64, val: u64) -> Result<(), i32> {
    match group {
        GRP_ADDR => {
            // The frames are fixed by the configuration: the address is already assigned
            // (vgic_check_iorange: -EEXIST), unless the VMM writes the same one.
            if addr(gic, attr)? == val {
                Ok(())
            } else {
                Err(EEXIST)
            }
        }
        GRP_NR_IRQS => {
            // "at least 32 SPIs on top of the 16 SGIs and 16 PPIs, at most 1024 interrupts, a
            // multiple of 32"; frozen once set or initialised (-EBUSY).
            let v = val as u32;
            if v < NR_PRIVATE + 32 || v > 1024 || v & 31 != 0 {
                return Err(EINVAL);
            }
            if gic.initialized || gic.nr_irqs_set {
                return Err(EBUSY);
            }
            gic.nr_irqs = v;
            gic.nr_irqs_set = true;
            Ok(())
        }
        GRP_CTRL => match attr {
            CTRL_INIT => {
                ensure_init(gic);
                Ok(())
            }
            // No LPIs are modelled, so there is nothing to save.
            CTRL_SAVE_PENDING_TABLES if gic.is_v3() => Ok(()),
            _ => Err(ENXIO),
        },
        _ => regs_access(gic, group, attr, Some(val)).map(|_| ()),
    }
}

fn addr(gic: &Gic, attr: u64) -> Result<u64, i32> {
    let c = &gic.cfg;
    match (gic.is_v3(), attr) {
        (false, ADDR_V2_DIST) => Ok(c.dist_base),
        (false, ADDR_V2_CPU) => Ok(c.cpu_base),
        (true, ADDR_V3_DIST) => Ok(c.dist_base),
        (true, ADDR_V3_REDIST) => Ok(c.redist_base),
        // Region 0: base | count << 52 | index (KVM_VGIC_V3_RDIST_COUNT_SHIFT).
        (true, ADDR_V3_REDIST_REGION) => Ok(c.redist_base | (gic.ncpu() as u64) << 52),
        _ => Err(ENXIO),
    }
}

/// vgic_v3_attr_regs_access / vgic_v2_attr_regs_access.
fn regs_access(gic: &mut Gic, group: u32, attr: u64, write: Option<u64>) -> Result<u64, i32> {
    let off = attr as u32;
    if gic.is_v3() {
        if !matches!(group, GRP_DIST_REGS | GRP_REDIST_REGS | GRP_CPU_SYSREGS | GRP_LEVEL_INFO) {
            return Err(ENXIO);
        }
        let cpu = v3_vcpu(gic, group, attr)?;
        if !gic.initialized {
            let early = gic.rules.iidr_before_init && group == GRP_DIST_REGS && (off == GICD_IIDR || off == GICD_TYPER2);
            if !early {
                return Err(EBUSY);
            }
        }
        match group {
            GRP_DIST_REGS => mmio(gic, cpu, off, write, dist::read, dist::write),
            GRP_REDIST_REGS => mmio(gic, cpu, off, write, redist::read, redist::write),
            GRP_CPU_SYSREGS => icc::user_access(gic, cpu, (attr & 0xffff) as u32, write),
            _ => level_info(gic, cpu, attr, write),
        }
    } else {
        if !matches!(group, GRP_DIST_REGS | GRP_CPU_REGS) {
            return Err(ENXIO);
        }
        let cpu = v2_vcpu(gic, attr)?;
        // GICv2 initialises lazily on first register access (vgic_init in the access path).
        ensure_init(gic);
        match group {
            GRP_DIST_REGS => mmio(gic, cpu, off, write, dist::read, dist::write),
            _ => match write {
                Some(v) => {
                    gicc::write(gic, cpu, Who::User, off, 4, v & 0xffff_ffff);
                    Ok(0)
                }
                None => Ok(gicc::read(gic, cpu, Who::User, off, 4)),
            },
        }
    }
}

type ReadFn = fn(&mut Gic, usize, Who, u32, u32) -> u64;
type WriteFn = fn(&mut Gic, usize, Who, u32, u32, u64) -> Result<(), i32>;

/// A 32-bit register access through the frame's table, as userspace (vgic_uaccess).
fn mmio(gic: &mut Gic, cpu: usize, off: u32, write: Option<u64>, r: ReadFn, w: WriteFn) -> Result<u64, i32> {
    match write {
        Some(v) => w(gic, cpu, Who::User, off, 4, v & 0xffff_ffff).map(|_| 0),
        None => Ok(r(gic, cpu, Who::User, off, 4)),
    }
}

/// KVM_DEV_ARM_VGIC_GRP_LEVEL_INFO: attr = mpidr[63:32] | info[31:10] | vINTID[9:0]; only
/// VGIC_LEVEL_INFO_LINE_LEVEL (0) exists and vINTID must be a multiple of 32
/// (vgic_v3_line_level_info_uaccess). SGIs and INTIDs past the last are skipped.
fn level_info(gic: &mut Gic, cpu: usize, attr: u64, write: Option<u64>) -> Result<u64, i32> {
    let info = (attr >> 10) & 0x3f_ffff;
    let intid = (attr & 0x3ff) as u32;
    if info != 0 || intid % 32 != 0 {
        return Err(EINVAL);
    }
    let mut v = 0u64;
    for i in 0..32u32 {
        let id = intid + i;
        if id < NR_SGIS || id >= gic.nr_irqs {
            continue;
        }
        match write {
            // "Line level is set irrespective of irq type (level or edge)".
            Some(bits) => {
                if let Some(irq) = gic.irq_mut(cpu, id) {
                    irq.line_level = bits & (1 << i) != 0;
                }
            }
            None => {
                if let Some(irq) = gic.irq(cpu, id) {
                    if !irq.edge && irq.line_level {
                        v |= 1 << i;
                    }
                }
            }
        }
    }
    Ok(v)
}

/// KVM_HAS_DEVICE_ATTR (vgic_v3_has_attr / vgic_v2_has_attr): register offsets must name a
/// row that accepts an aligned 32-bit access, else -ENXIO.
pub fn has(gic: &Gic, group: u32, attr: u64) -> Result<(), i32> {
    let off = attr as u32;
    let v3 = gic.is_v3();
    match group {
        GRP_ADDR => addr(gic, attr).map(|_| ()),
        GRP_NR_IRQS => Ok(()),
        GRP_CTRL => match attr {
            CTRL_INIT => Ok(()),
            CTRL_SAVE_PENDING_TABLES if v3 => Ok(()),
            _ => Err(ENXIO),
        },
        GRP_DIST_REGS | GRP_REDIST_REGS if v3 => {
            v3_vcpu(gic, group, attr)?;
            let table = if group == GRP_DIST_REGS { dist::V3_DIST } else { redist::RD };
            row_exists(gic, table, off)
        }
        GRP_DIST_REGS if !v3 => {
            v2_vcpu(gic, attr)?;
            row_exists(gic, dist::V2_DIST, off)
        }
        GRP_CPU_REGS if !v3 => {
            v2_vcpu(gic, attr)?;
            if off % 4 == 0 && gicc::user_visible(off) {
                Ok(())
            } else {
                Err(ENXIO)
            }
        }
        GRP_CPU_SYSREGS if v3 => {
            v3_vcpu(gic, group, attr)?;
            match icc::find((attr & 0xffff) as u32) {
                Some(r) if r.user => Ok(()),
                _ => Err(ENXIO),
            }
        }
        GRP_LEVEL_INFO if v3 => {
            if (attr >> 10) & 0x3f_ffff == 0 {
                Ok(())
            } else {
                Err(ENXIO)
            }
        }
        _ => Err(ENXIO),
    }
}

fn row_exists(gic: &Gic, table: &'static [regs::Region], off: u32) -> Result<(), i32> {
    if off & 3 != 0 {
        return Err(ENXIO);
    }
    match regs::find(table, off) {
        Some(r) if regs::check(gic, r, off, 4) => Ok(()),
        _ => Err(ENXIO),
    }
}
