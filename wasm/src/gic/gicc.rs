//! GICv2 CPU interface (GICC, IHI0048 §4.4). The guest's GICC is the host's virtual CPU
//! interface (GICV) mapped by KVM; userspace sees KVM's VMCR-backed subset
//! (vgic-mmio-v2.c vgic_v2_cpu_registers: CTLR, PMR, BPR, ABPR, APR0..3, IIDR).

use super::cpuif;
use super::regs::Who;
use super::Gic;

/// GICC register offsets (IHI0048 table 4-2).
pub const GICC_CTLR: u32 = 0x00;
pub const GICC_PMR: u32 = 0x04;
pub const GICC_BPR: u32 = 0x08;
pub const GICC_IAR: u32 = 0x0c;
pub const GICC_EOIR: u32 = 0x10;
pub const GICC_RPR: u32 = 0x14;
pub const GICC_HPPIR: u32 = 0x18;
pub const GICC_ABPR: u32 = 0x1c;
pub const GICC_AIAR: u32 = 0x20;
pub const GICC_AEOIR: u32 = 0x24;
pub const GICC_AHPPIR: u32 = 0x28;
pub const GICC_APR0: u32 = 0xd0;
pub const GICC_IIDR: u32 = 0xfc;
pub const GICC_DIR: u32 = 0x1000;

/// GICV_CTLR bits (IHI0048 §5.3.1).
const CTLR_ENABLE_GRP0: u32 = 1 << 0;
const CTLR_ENABLE_GRP1: u32 = 1 << 1;
const CTLR_ACKCTL: u32 = 1 << 2;
const CTLR_FIQEN: u32 = 1 << 3;
const CTLR_CBPR: u32 = 1 << 4;
const CTLR_EOIMODE: u32 = 1 << 9;

/// GICC_IIDR as KVM reports it to userspace: ProductID 'K' in [31:20], architecture version 2
/// in [19:16], implementer ARM (vgic_mmio_read_vcpuif GIC_CPU_IDENT). A guest on real hardware
/// reads the host GICV_IIDR instead, which differs per host GIC; this value stands in for it.
pub const KVM_GICC_IIDR: u32 = (0x4b << 20) | (2 << 16) | 0x43b;

pub fn read(gic: &mut Gic, cpu: usize, who: Who, off: u32, size: u32) -> u64 {
    // CPU interface registers are word-accessible only (IHI0048 §4.1.4).
    if size != 4 || off % 4 != 0 || cpu >= gic.cpus.len() {
        return 0;
    }
    let ackctl = gic.cpus[cpu].ackctl;
    let c = &gic.cpus[cpu];
    let v: u32 = match off {
        GICC_CTLR => {
            (c.grpen[0] as u32) * CTLR_ENABLE_GRP0
                | (c.grpen[1] as u32) * CTLR_ENABLE_GRP1
                | (c.ackctl as u32) * CTLR_ACKCTL
                | (c.fiqen as u32) * CTLR_FIQEN
                | (c.cbpr as u32) * CTLR_CBPR
                | (c.eoimode as u32) * CTLR_EOIMODE
        }
        // Userspace sees GICH_VMCR.VMPriMask: the top five bits shifted down
        // ("we expose the upper five bits of priority mask to userspace using the lower bits").
        GICC_PMR if who == Who::User => (c.pmr >> 3) as u32,
        GICC_PMR => c.pmr as u32,
        // Userspace sees GICH_VMCR's VMBP/VMABP as stored, the guest the clamped GICV view.
        GICC_BPR if who == Who::User => c.bpr0 as u32,
        GICC_ABPR if who == Who::User => c.bpr1 as u32,
        GICC_BPR => c.guest_bpr0() as u32,
        GICC_ABPR => c.guest_bpr1() as u32,
        GICC_APR0 => c.apr[0][0],
        0xd4..=0xdc => 0,
        GICC_IIDR => KVM_GICC_IIDR,
        _ if who == Who::User => 0,
        GICC_RPR => c.rpr() as u32,
        GICC_IAR => cpuif::acknowledge(gic, cpu, 0, ackctl),
        GICC_AIAR => cpuif::acknowledge(gic, cpu, 1, false),
        GICC_HPPIR => {
            let g0 = cpuif::hppir(gic, cpu, 0);
            if g0 != cpuif::SPURIOUS {
                g0
            } else {
                let g1 = cpuif::hppir(gic, cpu, 1);
                if g1 == cpuif::SPURIOUS || ackctl {
                    g1
                } else {
                    cpuif::SPURIOUS_1022
                }
            }
        }
        GICC_AHPPIR => cpuif::hppir(gic, cpu, 1),
        _ => 0,
    };
    v as u64
}

pub fn write(gic: &mut Gic, cpu: usize, who: Who, off: u32, size: u32, val: u64) {
    if size != 4 || off % 4 != 0 || cpu >= gic.cpus.len() {
        return;
    }
    let v = val as u32;
    match off {
        GICC_CTLR => {
            let c = &mut gic.cpus[cpu];
            c.grpen[0] = v & CTLR_ENABLE_GRP0 != 0;
            c.grpen[1] = v & CTLR_ENABLE_GRP1 != 0;
            c.ackctl = v & CTLR_ACKCTL != 0;
            c.fiqen = v & CTLR_FIQEN != 0;
            c.cbpr = v & CTLR_CBPR != 0;
            c.eoimode = v & CTLR_EOIMODE != 0;
        }
        GICC_PMR if who == Who::User => gic.cpus[cpu].set_pmr(((v & 0x1f) << 3) as u8),
        GICC_PMR => gic.cpus[cpu].set_pmr(v as u8),
        GICC_BPR if who == Who::User => gic.cpus[cpu].bpr0 = (v & 7) as u8,
        GICC_ABPR if who == Who::User => gic.cpus[cpu].bpr1 = (v & 7) as u8,
        GICC_BPR => gic.cpus[cpu].set_bpr0(v as u8),
        GICC_ABPR => gic.cpus[cpu].set_bpr1(v as u8),
        GICC_APR0 => gic.cpus[cpu].apr[0][0] = v,
        _ if who == Who::User => {}
        GICC_EOIR | GICC_AEOIR => cpuif::eoi(gic, cpu, v),
        GICC_DIR => cpuif::dir(gic, cpu, v),
        _ => {}
    }
}

/// Whether `off` is a register KVM exposes through KVM_DEV_ARM_VGIC_GRP_CPU_REGS.
pub fn user_visible(off: u32) -> bool {
    matches!(off, GICC_CTLR | GICC_PMR | GICC_BPR | GICC_ABPR | GICC_IIDR) || (GICC_APR0..=0xdc).contains(&off)
}
