//! The register-map engine: distributor, redistributor and GICv2 CPU-interface frames are const
//! tables of `Region` rows (gic/dist.rs, gic/redist.rs, gic/gicc.rs); this file finds the row
//! for an access and runs it, once, for the guest (MMIO) and for userspace (device attributes).
//!
//! The lookup and checks follow KVM's vgic-mmio.c: `vgic_find_mmio_region` (the row whose
//! [offset, offset+len) holds the access), `check_region` (the width must be one the row allows
//! and naturally aligned; a per-IRQ row must not name an INTID at or above the number of
//! interrupts). An access that fails either is RAZ/WI for the guest (`dispatch_mmio_read`
//! zero-fills) and reads 0 / ignores the write for userspace (`vgic_uaccess_read/write`).

use super::irq::NR_PRIVATE;
use super::Gic;

/// Allowed access widths (VGIC_ACCESS_8bit / 32bit / 64bit).
pub const W8: u8 = 1;
pub const W32: u8 = 4;
pub const W64: u8 = 8;

/// Who is accessing: the guest through MMIO, or userspace through KVM_{GET,SET}_DEVICE_ATTR.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Who {
    Guest,
    User,
}

/// What a row does. Per-IRQ ops work on `bpi` bits per interrupt; the rest are named registers
/// handled by the frame's own file.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Op {
    /// Reads as zero, writes ignored.
    RazWi,
    /// Reads as all ones, writes ignored.
    RaoWi,
    Group,
    SetEnable,
    ClearEnable,
    SetPending,
    ClearPending,
    SetActive,
    ClearActive,
    Priority,
    Config,
    /// GICv2 GICD_ITARGETSR.
    Targets,
    /// GICv3 GICD_IROUTER.
    Router,
    /// A named register; the frame's handler decodes the offset.
    Named(Named),
}

/// Named (non per-IRQ) registers, by frame.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Named {
    /// GICD_CTLR / TYPER / IIDR / TYPER2 block (v3) or CTLR / TYPER / IIDR (v2).
    DistMisc,
    /// GICD_PIDR0..CIDR3 block.
    IdRegs,
    /// GICv2 GICD_SGIR.
    Sgir,
    /// GICv2 GICD_CPENDSGIR / GICD_SPENDSGIR.
    SgiPendClear,
    SgiPendSet,
    GicrCtlr,
    GicrIidr,
    GicrTyper,
    GicrPropbaser,
    GicrPendbaser,
    GicrSyncr,
    /// GICv2 CPU interface registers (gicc.rs).
    Gicc,
}

/// One row of a register map (vgic_register_region).
#[derive(Clone, Copy, Debug)]
pub struct Region {
    pub name: &'static str,
    pub offset: u32,
    pub len: u32,
    /// Bits per interrupt for per-IRQ rows; 0 for named registers.
    pub bpi: u32,
    /// Whether `check_region` bounds the INTID by the number of interrupts (distributor rows;
    /// redistributor rows are REGISTER_DESC_WITH_LENGTH and are not bounded).
    pub bounded: bool,
    pub access: u8,
    pub op: Op,
    /// Userspace view, where it differs from the guest's (`uaccess_read/uaccess_write`).
    pub user_op: Option<Op>,
}

impl Region {
    pub const fn per_irq(name: &'static str, offset: u32, bpi: u32, access: u8, op: Op) -> Region {
        Region { name, offset, len: bpi * 1024 / 8, bpi, bounded: true, access, op, user_op: None }
    }

    pub const fn named(name: &'static str, offset: u32, len: u32, access: u8, op: Op) -> Region {
        Region { name, offset, len, bpi: 0, bounded: false, access, op, user_op: None }
    }

    /// A per-IRQ row of the SGI frame: fixed length, INTIDs 0..31 of that redistributor.
    pub const fn private(name: &'static str, offset: u32, len: u32, bpi: u32, access: u8, op: Op) -> Region {
        Region { name, offset, len, bpi, bounded: false, access, op, user_op: None }
    }

    pub const fn user(mut self, op: Op) -> Region {
        self.user_op = Some(op);
        self
    }
}

/// Find the row holding `offset` (vgic_find_mmio_region).
pub fn find(regions: &'static [Region], offset: u32) -> Option<&'static Region> {
    regions.iter().find(|r| offset >= r.offset && offset < r.offset + r.len)
}

/// VGIC_ADDR_TO_INTID: the first INTID a per-IRQ access at `offset` names.
pub fn addr_to_intid(offset: u32, bpi: u32) -> u32 {
    let mask = bpi * 1024 / 8 - 1;
    ((offset & mask) * 8) / bpi
}

/// check_region: width allowed and aligned, INTID in range.
pub fn check(gic: &Gic, r: &Region, offset: u32, size: u32) -> bool {
    let flag = match size {
        1 => W8,
        4 => W32,
        8 => W64,
        _ => return false,
    };
    if r.access & flag == 0 || offset % size != 0 {
        return false;
    }
    if r.bpi == 0 || !r.bounded {
        return true;
    }
    addr_to_intid(offset, r.bpi) < gic.nr_irqs
}

/// Where a per-IRQ access lands: the vCPU whose private interrupts it names, and whether the
/// private part of a GICv3 distributor row (RAZ/WI under affinity routing) is being touched.
#[derive(Clone, Copy, Debug)]
pub struct Target {
    pub cpu: usize,
    /// GICv3 distributor rows: INTIDs 0..31 are RAZ/WI (REGISTER_DESC_WITH_BITS_PER_IRQ_SHARED).
    pub private_raz: bool,
}

/// Read `size` bytes of a per-IRQ row.
pub fn read_per_irq(gic: &Gic, op: Op, who: Who, t: Target, offset: u32, size: u32, bpi: u32) -> u64 {
    let first = addr_to_intid(offset, bpi);
    if t.private_raz && first < NR_PRIVATE {
        return 0;
    }
    let n = size * 8 / bpi;
    let mut v: u64 = 0;
    for i in 0..n {
        let intid = first + i;
        let irq = match gic.irq(t.cpu, intid) {
            Some(irq) => irq,
            None => continue,
        };
        let field: u64 = match op {
            Op::Group => gic.group_read(irq) as u64,
            Op::SetEnable | Op::ClearEnable => irq.enabled as u64,
            Op::SetPending | Op::ClearPending => gic.pending_read(irq, who) as u64,
            Op::SetActive | Op::ClearActive => irq.active as u64,
            Op::Priority => irq.priority as u64,
            Op::Config => {
                if irq.edge {
                    2
                } else {
                    0
                }
            }
            Op::Targets => irq.targets as u64,
            Op::Router => {
                // "The upper word is RAZ for us" (vgic_mmio_read_irouter); extract_bytes.
                if offset & 4 != 0 {
                    0
                } else {
                    irq.route
                }
            }
            _ => 0,
        };
        if op == Op::Router {
            v = field >> ((offset & 7) * 8);
            if size < 8 {
                v &= (1u64 << (size * 8)) - 1;
            }
            break;
        }
        v |= field << (i * bpi);
    }
    v
}

/// Write `size` bytes of a per-IRQ row.
pub fn write_per_irq(gic: &mut Gic, op: Op, who: Who, t: Target, src_cpu: usize, offset: u32, size: u32, bpi: u32, val: u64) {
    let first = addr_to_intid(offset, bpi);
    if t.private_raz && first < NR_PRIVATE {
        return;
    }
    if op == Op::Router {
        // "The upper word is WI for us since we don't implement Aff3."
        if offset & 4 != 0 {
            return;
        }
        if let Some(irq) = gic.irq_mut(t.cpu, first) {
            irq.route = val & 0xff_ffff;
        }
        return;
    }
    let n = size * 8 / bpi;
    for i in 0..n {
        let intid = first + i;
        let field = (val >> (i * bpi)) & ((1u64 << bpi) - 1);
        gic.write_irq_field(op, who, t.cpu, src_cpu, intid, field);
    }
}
