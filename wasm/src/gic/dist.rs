//! Distributor register maps: GICv3 (vgic-mmio-v3.c vgic_v3_dist_registers, IHI0069 §12.9)
//! and GICv2 (vgic-mmio-v2.c vgic_v2_dist_registers, IHI0048 §4.3), and their named registers.

use super::regs::{self, Named, Op, Region, Target, Who, W32, W64, W8};
use super::{Gic, GroupMode, IidrWriteRule, EINVAL};

/// GICv3 distributor. Per-IRQ rows cover 1024 INTIDs; the first 32 INTIDs of each are RAZ/WI
/// because affinity routing is always on (REGISTER_DESC_WITH_BITS_PER_IRQ_SHARED).
#[rustfmt::skip]
pub static V3_DIST: &[Region] = &[
    // CTLR, TYPER, IIDR, TYPER2: one 16-byte block (vgic_mmio_read_v3_misc).
    Region::named("GICD_CTLR..TYPER2", 0x0000, 16, W32, Op::Named(Named::DistMisc)),
    // KVM reads GICD_STATUSR as all ones (vgic_mmio_read_rao).
    Region::named("GICD_STATUSR", 0x0010, 4, W32, Op::RaoWi),
    Region::per_irq("GICD_IGROUPR", 0x0080, 1, W32, Op::Group),
    Region::per_irq("GICD_ISENABLER", 0x0100, 1, W32, Op::SetEnable),
    Region::per_irq("GICD_ICENABLER", 0x0180, 1, W32, Op::ClearEnable),
    Region::per_irq("GICD_ISPENDR", 0x0200, 1, W32, Op::SetPending),
    // ICPENDR is RAZ/WI through uaccess (arm-vgic-v3.rst: "ICPENDR is RAZ/WI").
    Region::per_irq("GICD_ICPENDR", 0x0280, 1, W32, Op::ClearPending).user(Op::RazWi),
    Region::per_irq("GICD_ISACTIVER", 0x0300, 1, W32, Op::SetActive),
    Region::per_irq("GICD_ICACTIVER", 0x0380, 1, W32, Op::ClearActive),
    Region::per_irq("GICD_IPRIORITYR", 0x0400, 8, W32 | W8, Op::Priority),
    // ITARGETSR is RAZ/WI with affinity routing.
    Region::per_irq("GICD_ITARGETSR", 0x0800, 8, W32 | W8, Op::RazWi),
    Region::per_irq("GICD_ICFGR", 0x0c00, 2, W32, Op::Config),
    Region::per_irq("GICD_IGRPMODR", 0x0d00, 1, W32, Op::RazWi),
    Region::per_irq("GICD_IROUTER", 0x6000, 64, W64 | W32, Op::Router),
    // PIDR4..CIDR3; only PIDR2 is non-zero (vgic_mmio_read_v3_idregs).
    Region::named("GICD_IDREGS", 0xffd0, 48, W32, Op::Named(Named::IdRegs)),
];

/// GICv2 distributor (IHI0048 table 4-1 as KVM implements it). There is no ICPIDR2 row: KVM's
/// GICv2 map ends at SPENDSGIR, so the ID registers read as zero.
#[rustfmt::skip]
pub static V2_DIST: &[Region] = &[
    Region::named("GICD_CTLR..IIDR", 0x000, 12, W32, Op::Named(Named::DistMisc)),
    Region::per_irq("GICD_IGROUPR", 0x080, 1, W32, Op::Group),
    Region::per_irq("GICD_ISENABLER", 0x100, 1, W32, Op::SetEnable),
    Region::per_irq("GICD_ICENABLER", 0x180, 1, W32, Op::ClearEnable),
    Region::per_irq("GICD_ISPENDR", 0x200, 1, W32, Op::SetPending),
    Region::per_irq("GICD_ICPENDR", 0x280, 1, W32, Op::ClearPending),
    Region::per_irq("GICD_ISACTIVER", 0x300, 1, W32, Op::SetActive),
    Region::per_irq("GICD_ICACTIVER", 0x380, 1, W32, Op::ClearActive),
    Region::per_irq("GICD_IPRIORITYR", 0x400, 8, W32 | W8, Op::Priority),
    Region::per_irq("GICD_ITARGETSR", 0x800, 8, W32 | W8, Op::Targets),
    Region::per_irq("GICD_ICFGR", 0xc00, 2, W32, Op::Config),
    // Write-only; reads as zero (vgic_mmio_read_raz).
    Region::named("GICD_SGIR", 0xf00, 4, W32, Op::Named(Named::Sgir)),
    Region::named("GICD_CPENDSGIR", 0xf10, 16, W32 | W8, Op::Named(Named::SgiPendClear)),
    Region::named("GICD_SPENDSGIR", 0xf20, 16, W32 | W8, Op::Named(Named::SgiPendSet)),
];

pub fn table(gic: &Gic) -> &'static [Region] {
    if gic.is_v3() {
        V3_DIST
    } else {
        V2_DIST
    }
}

/// GICD_CTLR bits (IHI0069 §12.9.4, security disabled view; IHI0048 §4.3.1).
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
const CTLR_ARE_NS: u32 = 1 << 4;
const CTLR_DS: u32 = 1 << 6;
const V2_CTLR_ENABLE: u32 = 1 << 0;
/// INTERRUPT_ID_BITS_SPIS (vgic.h): without an ITS, GICD_TYPER.IDbits = 10 - 1.
const INTERRUPT_ID_BITS_SPIS: u32 = 10;

/// Distributor read by `cpu` (the vCPU whose private interrupts a GICv2 access names).
pub fn read(gic: &mut Gic, cpu: usize, who: Who, off: u32, size: u32) -> u64 {
    let r = match regs::find(table(gic), off) {
        Some(r) if regs::check(gic, r, off, size) => r,
        _ => return 0,
    };
    let op = if who == Who::User { r.user_op.unwrap_or(r.op) } else { r.op };
    let t = Target { cpu, private_raz: gic.is_v3() };
    match op {
        Op::RazWi => 0,
        Op::RaoWi => mask(size),
        Op::Named(n) => named_read(gic, cpu, n, off, size),
        _ => regs::read_per_irq(gic, op, who, t, off, size, r.bpi),
    }
}

/// Distributor write. Err only from userspace IIDR/TYPER2 checks.
pub fn write(gic: &mut Gic, cpu: usize, who: Who, off: u32, size: u32, val: u64) -> Result<(), i32> {
    let r = match regs::find(table(gic), off) {
        Some(r) if regs::check(gic, r, off, size) => r,
        _ => return Ok(()),
    };
    let op = if who == Who::User { r.user_op.unwrap_or(r.op) } else { r.op };
    let t = Target { cpu, private_raz: gic.is_v3() };
    match op {
        Op::RazWi | Op::RaoWi => Ok(()),
        Op::Named(n) => named_write(gic, cpu, who, n, off, size, val),
        _ => {
            regs::write_per_irq(gic, op, who, t, cpu, off, size, r.bpi, val);
            Ok(())
        }
    }
}

fn mask(size: u32) -> u64 {
    if size >= 8 {
        u64::MAX
    } else {
        (1u64 << (size * 8)) - 1
    }
}

fn named_read(gic: &Gic, cpu: usize, n: Named, off: u32, size: u32) -> u64 {
    match n {
        Named::DistMisc => misc_read(gic, off & 0xc) as u64,
        // GICD_PIDR2.ArchRev = 3 ("report a GICv3 compliant implementation": 0x3b).
        Named::IdRegs => {
            if off == 0xffe8 {
                0x3b
            } else {
                0
            }
        }
        Named::SgiPendClear | Named::SgiPendSet => {
            // One byte per SGI: the source vCPUs with it pending (vgic_mmio_read_sgipend).
            let first = off & 0xf;
            let mut v = 0u64;
            for i in 0..size {
                if let Some(irq) = gic.irq(cpu, first + i) {
                    v |= (irq.source as u64) << (i * 8);
                }
            }
            v
        }
        _ => 0,
    }
}

/// GICD_CTLR / TYPER / IIDR / TYPER2 (vgic_mmio_read_v3_misc, vgic_mmio_read_v2_misc).
pub fn misc_read(gic: &Gic, reg: u32) -> u32 {
    let its = (gic.nr_irqs >> 5) - 1;
    match (gic.is_v3(), reg) {
        (true, 0x0) => (if gic.enabled { CTLR_ENABLE_GRP1 } else { 0 }) | CTLR_ARE_NS | CTLR_DS,
        // ITLinesNumber and IDbits; no LPIs without an ITS, no CPUNumber under ARE.
        (true, 0x4) => its | (INTERRUPT_ID_BITS_SPIS - 1) << 19,
        // TYPER2.nASSGIcap only on GICv4.1 hosts, which are not modelled.
        (true, 0xc) => 0,
        (_, 0x8) => gic.iidr(),
        (false, 0x0) => {
            if gic.enabled {
                V2_CTLR_ENABLE
            } else {
                0
            }
        }
        // CPUNumber = online vCPUs - 1 (bits [7:5]); no SecurityExtn.
        (false, 0x4) => its | ((gic.ncpu() as u32).saturating_sub(1) & 7) << 5,
        _ => 0,
    }
}

fn named_write(gic: &mut Gic, cpu: usize, who: Who, n: Named, off: u32, size: u32, val: u64) -> Result<(), i32> {
    match n {
        Named::DistMisc => misc_write(gic, who, off & 0xc, val as u32),
        Named::Sgir => {
            if who == Who::Guest {
                v2_sgir(gic, cpu, val as u32);
            }
            Ok(())
        }
        Named::SgiPendClear | Named::SgiPendSet => {
            let first = off & 0xf;
            for i in 0..size {
                let bits = (val >> (i * 8)) as u8;
                if let Some(irq) = gic.irq_mut(cpu, first + i) {
                    if n == Named::SgiPendSet {
                        irq.source |= bits;
                        if irq.source != 0 {
                            irq.pending_latch = true;
                        }
                    } else {
                        irq.source &= !bits;
                        if irq.source == 0 {
                            irq.pending_latch = false;
                        }
                    }
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

fn misc_write(gic: &mut Gic, who: Who, reg: u32, val: u32) -> Result<(), i32> {
    match reg {
        0x0 => {
            gic.enabled = val & if gic.is_v3() { CTLR_ENABLE_GRP1 } else { V2_CTLR_ENABLE } != 0;
            Ok(())
        }
        // TYPER2: userspace must write the current value (5.7+; no GICv4.1 here).
        0xc if who == Who::User && gic.is_v3() => {
            if val != misc_read(gic, 0xc) {
                Err(EINVAL)
            } else {
                Ok(())
            }
        }
        0x8 if who == Who::User => iidr_uaccess_write(gic, val),
        // TYPER, IIDR: "This is at best for documentation purposes..."
        _ => Ok(()),
    }
}

/// Userspace GICD_IIDR write under the configured kernel rule (research §1.2).
fn iidr_uaccess_write(gic: &mut Gic, val: u32) -> Result<(), i32> {
    let cur = gic.iidr();
    let (fixed, lowest) = match gic.rules.iidr_write {
        IidrWriteRule::ExactMatch => {
            if val != cur {
                return Err(EINVAL);
            }
            gic.v2_groups_user_writable = true;
            return Ok(());
        }
        IidrWriteRule::Rev2Or3 { fixed } => (fixed, 2),
        IidrWriteRule::Rev1To3 { fixed } => (fixed, 1),
    };
    if (cur ^ val) & !0xf000 != 0 {
        return Err(EINVAL);
    }
    // Before a0e6ae45af17 the revision was read from the current value, not the written one.
    let rev = if fixed { (val >> 12) & 0xf } else { (cur >> 12) & 0xf };
    if rev < lowest || rev > 3 {
        return Err(EINVAL);
    }
    gic.revision = rev;
    gic.v2_groups_user_writable = true;
    gic.group_mode = group_mode_for(gic.is_v3(), rev);
    Ok(())
}

/// GroupMode for an accepted revision: 2 and 3 make groups configurable; the proposed
/// revision 1 makes IGROUPR read the reset group and ignore writes (RAZ/WI on v2, RAO/WI on v3).
pub fn group_mode_for(v3: bool, rev: u32) -> GroupMode {
    match (rev, v3) {
        (r, _) if r >= 2 => GroupMode::Writable,
        (_, true) => GroupMode::RaoWi,
        (_, false) => GroupMode::RazWi,
    }
}

/// GICD_SGIR (vgic_mmio_write_sgir): TargetListFilter 0 = list, 1 = all but self, 2 = self,
/// 3 reserved (ignored). Each target's SGI records the source vCPU.
fn v2_sgir(gic: &mut Gic, src: usize, val: u32) {
    let intid = val & 0xf;
    let ncpu = gic.ncpu().min(8);
    let all = ((1u32 << ncpu) - 1) as u8;
    let targets: u8 = match (val >> 24) & 3 {
        0 => (val >> 16) as u8,
        1 => all & !(1u8 << src.min(7)),
        2 => 1u8 << src.min(7),
        _ => return,
    };
    for c in 0..ncpu {
        if targets & (1 << c) != 0 {
            if let Some(irq) = gic.irq_mut(c, intid) {
                irq.pending_latch = true;
                irq.source |= 1 << src.min(7);
            }
        }
    }
}
