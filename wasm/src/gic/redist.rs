//! GICv3 redistributors: one 128 KiB frame per vCPU, RD_base then SGI_base (IHI0069 §12.10,
//! §12.11), as vgic-mmio-v3.c vgic_v3_rd_registers lays them out.

use super::regs::{self, Named, Op, Region, Target, Who, W32, W64, W8};
use super::Gic;

/// SGI_base is the second 64 KiB page.
const SGI: u32 = 0x1_0000;

#[rustfmt::skip]
pub static RD: &[Region] = &[
    Region::named("GICR_CTLR", 0x0000, 4, W32, Op::Named(Named::GicrCtlr)),
    Region::named("GICR_IIDR", 0x0004, 4, W32, Op::Named(Named::GicrIidr)),
    Region::named("GICR_TYPER", 0x0008, 8, W64 | W32, Op::Named(Named::GicrTyper)),
    Region::named("GICR_STATUSR", 0x0010, 4, W32, Op::RazWi),
    // KVM's redistributors never sleep: GICR_WAKER is RAZ/WI (ProcessorSleep and
    // ChildrenAsleep read 0, so a guest's wake-up poll ends at once).
    Region::named("GICR_WAKER", 0x0014, 4, W32, Op::RazWi),
    Region::named("GICR_PROPBASER", 0x0070, 8, W64 | W32, Op::Named(Named::GicrPropbaser)),
    Region::named("GICR_PENDBASER", 0x0078, 8, W64 | W32, Op::Named(Named::GicrPendbaser)),
    // LPI invalidation: no-ops without LPIs (vgic_mmio_write_invlpi returns early).
    Region::named("GICR_INVLPIR", 0x00a0, 8, W64 | W32, Op::RazWi),
    Region::named("GICR_INVALLR", 0x00b0, 8, W64 | W32, Op::RazWi),
    Region::named("GICR_SYNCR", 0x00c0, 4, W32, Op::Named(Named::GicrSyncr)),
    Region::named("GICR_IDREGS", 0xffd0, 48, W32, Op::Named(Named::IdRegs)),
    Region::private("GICR_IGROUPR0", SGI + 0x0080, 4, 1, W32, Op::Group),
    Region::private("GICR_ISENABLER0", SGI + 0x0100, 4, 1, W32, Op::SetEnable),
    Region::private("GICR_ICENABLER0", SGI + 0x0180, 4, 1, W32, Op::ClearEnable),
    Region::private("GICR_ISPENDR0", SGI + 0x0200, 4, 1, W32, Op::SetPending),
    Region::private("GICR_ICPENDR0", SGI + 0x0280, 4, 1, W32, Op::ClearPending).user(Op::RazWi),
    Region::private("GICR_ISACTIVER0", SGI + 0x0300, 4, 1, W32, Op::SetActive),
    Region::private("GICR_ICACTIVER0", SGI + 0x0380, 4, 1, W32, Op::ClearActive),
    Region::private("GICR_IPRIORITYR0..7", SGI + 0x0400, 32, 8, W32 | W8, Op::Priority),
    Region::private("GICR_ICFGR0..1", SGI + 0x0c00, 8, 2, W32, Op::Config),
    Region::private("GICR_IGRPMODR0", SGI + 0x0d00, 4, 1, W32, Op::RazWi),
    Region::private("GICR_NSACR", SGI + 0x0e00, 4, 1, W32, Op::RazWi),
];

/// GICR_CTLR bits (IHI0069 §12.11.2).
const GICR_CTLR_CES: u32 = 1 << 1;
const GICR_CTLR_IR: u32 = 1 << 2;
/// GICR_TYPER.Last (bit 4).
const GICR_TYPER_LAST: u64 = 1 << 4;

pub fn read(gic: &mut Gic, rcpu: usize, who: Who, off: u32, size: u32) -> u64 {
    let r = match regs::find(RD, off) {
        Some(r) if regs::check(gic, r, off, size) => r,
        _ => return 0,
    };
    let op = if who == Who::User { r.user_op.unwrap_or(r.op) } else { r.op };
    match op {
        Op::RazWi => 0,
        Op::Named(n) => named_read(gic, rcpu, n, off, size),
        _ => regs::read_per_irq(gic, op, who, Target { cpu: rcpu, private_raz: false }, off, size, r.bpi),
    }
}

pub fn write(gic: &mut Gic, rcpu: usize, who: Who, off: u32, size: u32, val: u64) -> Result<(), i32> {
    let r = match regs::find(RD, off) {
        Some(r) if regs::check(gic, r, off, size) => r,
        _ => return Ok(()),
    };
    let op = if who == Who::User { r.user_op.unwrap_or(r.op) } else { r.op };
    match op {
        Op::RazWi | Op::RaoWi => {}
        Op::Named(n) => named_write(gic, rcpu, n, off, size, val),
        _ => regs::write_per_irq(gic, op, who, Target { cpu: rcpu, private_raz: false }, rcpu, off, size, r.bpi, val),
    }
    Ok(())
}

/// extract_bytes(): `size` bytes of a 64-bit register starting at byte `off & 7`.
fn extract(v: u64, off: u32, size: u32) -> u64 {
    let v = v >> ((off & 7) * 8);
    if size >= 8 {
        v
    } else {
        v & ((1u64 << (size * 8)) - 1)
    }
}

/// update_64bit_reg(): replace one half (or all) of a 64-bit register.
fn update64(reg: u64, off: u32, size: u32, val: u64) -> u64 {
    if size >= 8 {
        return val;
    }
    let lo = (off & 4) * 8;
    let m = 0xffff_ffffu64 << lo;
    (reg & !m) | ((val & 0xffff_ffff) << lo)
}

fn named_read(gic: &Gic, rcpu: usize, n: Named, off: u32, size: u32) -> u64 {
    match n {
        Named::GicrCtlr => {
            // IR and CES are advertised from IIDR revision 3 (49a1a2c70a7f).
            let mut v = gic.rd[rcpu].ctlr;
            if gic.revision >= 3 {
                v |= GICR_CTLR_IR | GICR_CTLR_CES;
            }
            v as u64
        }
        // PRODUCT_ID_KVM << 24 | IMPLEMENTER_ARM, no revision (vgic_mmio_read_v3r_iidr).
        Named::GicrIidr => 0x4b00_043b,
        Named::GicrTyper => extract(typer(gic, rcpu), off, size),
        Named::GicrPropbaser => extract(gic.propbaser, off, size),
        // PTZ reads as zero (vgic_mmio_read_pendbase).
        Named::GicrPendbaser => extract(gic.rd[rcpu].pendbaser & !(1 << 62), off, size),
        Named::GicrSyncr => 0,
        Named::IdRegs => {
            if off == 0xffe8 {
                0x3b
            } else {
                0
            }
        }
        _ => 0,
    }
}

/// GICR_TYPER (vgic_mmio_read_v3r_typer): Aff3..0 of the vCPU in [63:32], Processor_Number =
/// vcpu_id in [23:8], Last on the final redistributor of the (single, contiguous) region; no
/// PLPIS without an ITS.
pub fn typer(gic: &Gic, rcpu: usize) -> u64 {
    let m = gic.cfg.mpidrs[rcpu];
    let aff = (m & 0xff_ffff) | ((m >> 32) & 0xff) << 24;
    let mut v = aff << 32 | ((rcpu as u64) & 0xffff) << 8;
    if rcpu + 1 == gic.ncpu() {
        v |= GICR_TYPER_LAST;
    }
    v
}

fn named_write(gic: &mut Gic, rcpu: usize, n: Named, off: u32, size: u32, val: u64) {
    match n {
        // EnableLPIs needs an ITS (vgic_mmio_write_v3r_ctlr returns early without one).
        Named::GicrCtlr => {}
        Named::GicrPropbaser => gic.propbaser = sanitise_baser(update64(gic.propbaser, off, size, val), PROPBASER_RES0),
        Named::GicrPendbaser => {
            let v = update64(gic.rd[rcpu].pendbaser, off, size, val);
            gic.rd[rcpu].pendbaser = sanitise_baser(v, PENDBASER_RES0);
        }
        _ => {}
    }
}

/// RES0 masks (vgic-mmio-v3.c PROPBASER_RES0_MASK / PENDBASER_RES0_MASK).
const PROPBASER_RES0: u64 = (0x1f << 59) | (0xf << 52) | (0x3 << 5);
const PENDBASER_RES0: u64 = (1 << 63) | (0x7 << 59) | (0xf << 52) | (0xf << 12) | 0x7f;

/// vgic_sanitise_{shareability,inner_cacheability,outer_cacheability}: Outer Shareable becomes
/// Inner Shareable; inner Device-nGnRnE or non-cacheable becomes RaWb; outer anything but
/// SameAsInner/non-cacheable becomes SameAsInner.
fn sanitise_baser(reg: u64, res0: u64) -> u64 {
    let mut r = reg;
    let sh = (r >> 10) & 3;
    if sh == 2 {
        r = (r & !(3 << 10)) | (1 << 10);
    }
    let inner = (r >> 7) & 7;
    if inner == 0 || inner == 1 {
        r = (r & !(7 << 7)) | (3 << 7);
    }
    let outer = (r >> 56) & 7;
    if outer != 0 && outer != 1 {
        r &= !(7 << 56);
    }
    r & !res0
}
