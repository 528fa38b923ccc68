//! GICv3 CPU interface system registers (ICC_*_EL1; IHI0069 §12.2, encodings from
//! include/linux/irqchip/arm-gic-v3.h). A KVM guest reaches the ICV_* virtual registers through
//! these encodings; userspace reaches a subset through KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS
//! (vgic-sys-reg-v3.c gic_v3_icc_reg_descs), with its own checks.

use super::cpuif::{self, CpuIf};
use super::{Gic, EINVAL, ENXIO};

const fn enc(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Icc {
    Pmr,
    Iar(u8),
    Eoir(u8),
    Hppir(u8),
    Bpr0,
    Bpr1,
    Ap0r(u8),
    Ap1r(u8),
    Dir,
    Rpr,
    Sgi1r,
    Asgi1r,
    Sgi0r,
    Ctlr,
    Sre,
    Igrpen0,
    Igrpen1,
}

/// Guest access: MSR to a read-only or MRS of a write-only register is UNDEFINED.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Access {
    R,
    W,
    RW,
}

pub struct IccRow {
    pub name: &'static str,
    pub enc: u32,
    pub reg: Icc,
    pub access: Access,
    /// In gic_v3_icc_reg_descs (reachable through KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS).
    pub user: bool,
}

#[rustfmt::skip]
pub static ICC_REGS: &[IccRow] = &[
    IccRow { name: "ICC_PMR_EL1", enc: enc(3, 0, 4, 6, 0), reg: Icc::Pmr, access: Access::RW, user: true },
    IccRow { name: "ICC_IAR0_EL1", enc: enc(3, 0, 12, 8, 0), reg: Icc::Iar(0), access: Access::R, user: false },
    IccRow { name: "ICC_EOIR0_EL1", enc: enc(3, 0, 12, 8, 1), reg: Icc::Eoir(0), access: Access::W, user: false },
    IccRow { name: "ICC_HPPIR0_EL1", enc: enc(3, 0, 12, 8, 2), reg: Icc::Hppir(0), access: Access::R, user: false },
    IccRow { name: "ICC_BPR0_EL1", enc: enc(3, 0, 12, 8, 3), reg: Icc::Bpr0, access: Access::RW, user: true },
    IccRow { name: "ICC_AP0R0_EL1", enc: enc(3, 0, 12, 8, 4), reg: Icc::Ap0r(0), access: Access::RW, user: true },
    IccRow { name: "ICC_AP0R1_EL1", enc: enc(3, 0, 12, 8, 5), reg: Icc::Ap0r(1), access: Access::RW, user: true },
    IccRow { name: "ICC_AP0R2_EL1", enc: enc(3, 0, 12, 8, 6), reg: Icc::Ap0r(2), access: Access::RW, user: true },
    IccRow { name: "ICC_AP0R3_EL1", enc: enc(3, 0, 12, 8, 7), reg: Icc::Ap0r(3), access: Access::RW, user: true },
    IccRow { name: "ICC_AP1R0_EL1", enc: enc(3, 0, 12, 9, 0), reg: Icc::Ap1r(0), access: Access::RW, user: true },
    IccRow { name: "ICC_AP1R1_EL1", enc: enc(3, 0, 12, 9, 1), reg: Icc::Ap1r(1), access: Access::RW, user: true },
    IccRow { name: "ICC_AP1R2_EL1", enc: enc(3, 0, 12, 9, 2), reg: Icc::Ap1r(2), access: Access::RW, user: true },
    IccRow { name: "ICC_AP1R3_EL1", enc: enc(3, 0, 12, 9, 3), reg: Icc::Ap1r(3), access: Access::RW, user: true },
    IccRow { name: "ICC_DIR_EL1", enc: enc(3, 0, 12, 11, 1), reg: Icc::Dir, access: Access::W, user: false },
    IccRow { name: "ICC_RPR_EL1", enc: enc(3, 0, 12, 11, 3), reg: Icc::Rpr, access: Access::R, user: false },
    IccRow { name: "ICC_SGI1R_EL1", enc: enc(3, 0, 12, 11, 5), reg: Icc::Sgi1r, access: Access::W, user: false },
    IccRow { name: "ICC_ASGI1R_EL1", enc: enc(3, 0, 12, 11, 6), reg: Icc::Asgi1r, access: Access::W, user: false },
    IccRow { name: "ICC_SGI0R_EL1", enc: enc(3, 0, 12, 11, 7), reg: Icc::Sgi0r, access: Access::W, user: false },
    IccRow { name: "ICC_IAR1_EL1", enc: enc(3, 0, 12, 12, 0), reg: Icc::Iar(1), access: Access::R, user: false },
    IccRow { name: "ICC_EOIR1_EL1", enc: enc(3, 0, 12, 12, 1), reg: Icc::Eoir(1), access: Access::W, user: false },
    IccRow { name: "ICC_HPPIR1_EL1", enc: enc(3, 0, 12, 12, 2), reg: Icc::Hppir(1), access: Access::R, user: false },
    IccRow { name: "ICC_BPR1_EL1", enc: enc(3, 0, 12, 12, 3), reg: Icc::Bpr1, access: Access::RW, user: true },
    IccRow { name: "ICC_CTLR_EL1", enc: enc(3, 0, 12, 12, 4), reg: Icc::Ctlr, access: Access::RW, user: true },
    IccRow { name: "ICC_SRE_EL1", enc: enc(3, 0, 12, 12, 5), reg: Icc::Sre, access: Access::RW, user: true },
    IccRow { name: "ICC_IGRPEN0_EL1", enc: enc(3, 0, 12, 12, 6), reg: Icc::Igrpen0, access: Access::RW, user: true },
    IccRow { name: "ICC_IGRPEN1_EL1", enc: enc(3, 0, 12, 12, 7), reg: Icc::Igrpen1, access: Access::RW, user: true },
];

pub fn find(enc: u32) -> Option<&'static IccRow> {
    ICC_REGS.iter().find(|r| r.enc == enc)
}

/// ICC_SRE_EL1 as KVM programs it for a GICv3 guest: SRE | DFB | DIB (vgic_v3_enable); the
/// guest cannot change it.
pub const KVM_V3_SRE: u64 = 0x7;

/// ICC_CTLR_EL1 fields (IHI0069 §12.2.6).
const CTLR_CBPR: u64 = 1 << 0;
const CTLR_EOIMODE: u64 = 1 << 1;
const CTLR_PRIBITS_SHIFT: u64 = 8;
const CTLR_IDBITS_SHIFT: u64 = 11;
const CTLR_SEIS: u64 = 1 << 14;
const CTLR_A3V: u64 = 1 << 15;

/// ICC_CTLR_EL1 as read: PRIbits/IDbits from the hardware (guest) or from KVM's num_*_bits
/// (userspace), SEIS and A3V from ICH_VTR_EL2, CBPR and EOImode from the VMCR.
fn ctlr_read(gic: &Gic, c: &CpuIf, user: bool) -> u64 {
    let (pri, id) = if user { (c.num_pri_bits, c.num_id_bits) } else { (c.pri_bits, c.id_bits) };
    let mut v = ((pri as u64 - 1) & 7) << CTLR_PRIBITS_SHIFT | ((id as u64) & 7) << CTLR_IDBITS_SHIFT;
    if gic.cfg.seis {
        v |= CTLR_SEIS;
    }
    if gic.cfg.a3v {
        v |= CTLR_A3V;
    }
    if c.cbpr {
        v |= CTLR_CBPR;
    }
    if c.eoimode {
        v |= CTLR_EOIMODE;
    }
    v
}

/// BPR1 read: with CBPR set it reads BPR0 + 1, saturated at 7 (IHI0069 ICC_BPR1_EL1;
/// access_gic_bpr1). The guest sees the hardware's clamped values, userspace the VMCR's.
fn bpr1_read(c: &CpuIf, user: bool) -> u64 {
    let (b0, b1) = if user { (c.bpr0, c.bpr1) } else { (c.guest_bpr0(), c.guest_bpr1()) };
    if c.cbpr {
        (b0 as u64 + 1).min(7)
    } else {
        b1 as u64
    }
}

/// Guest MRS. GICv2 VMs have no system-register interface (ICC_SRE_EL1.SRE = 0 and the ICC
/// registers trap to UNDEF), so everything is `None` there.
pub fn guest_read(gic: &mut Gic, cpu: usize, enc: u32) -> Option<u64> {
    let row = find(enc)?;
    if !gic.is_v3() || row.access == Access::W || cpu >= gic.cpus.len() {
        return None;
    }
    let c = &gic.cpus[cpu];
    Some(match row.reg {
        Icc::Pmr => c.pmr as u64,
        Icc::Bpr0 => c.guest_bpr0() as u64,
        Icc::Bpr1 => bpr1_read(c, false),
        Icc::Ap0r(n) | Icc::Ap1r(n) => {
            // APRs beyond what PRIbits needs are UNDEFINED.
            if n as usize > c.max_apr_idx() {
                return None;
            }
            let g = if let Icc::Ap0r(_) = row.reg { 0 } else { 1 };
            c.apr[g][n as usize] as u64
        }
        Icc::Ctlr => ctlr_read(gic, c, false),
        Icc::Sre => KVM_V3_SRE,
        Icc::Igrpen0 => c.grpen[0] as u64,
        Icc::Igrpen1 => c.grpen[1] as u64,
        Icc::Rpr => c.rpr() as u64,
        Icc::Hppir(g) => cpuif::hppir(gic, cpu, g) as u64,
        Icc::Iar(g) => cpuif::acknowledge(gic, cpu, g, false) as u64,
        _ => return None,
    })
}

/// Guest MSR.
pub fn guest_write(gic: &mut Gic, cpu: usize, enc: u32, val: u64) -> bool {
    let row = match find(enc) {
        Some(r) => r,
        None => return false,
    };
    if !gic.is_v3() || row.access == Access::R || cpu >= gic.cpus.len() {
        return false;
    }
    match row.reg {
        Icc::Pmr => gic.cpus[cpu].set_pmr(val as u8),
        Icc::Bpr0 => gic.cpus[cpu].set_bpr0(val as u8),
        Icc::Bpr1 => {
            // With CBPR set, BPR1 writes are ignored.
            if !gic.cpus[cpu].cbpr {
                gic.cpus[cpu].set_bpr1(val as u8)
            }
        }
        Icc::Ap0r(n) | Icc::Ap1r(n) => {
            let c = &mut gic.cpus[cpu];
            if n as usize > c.max_apr_idx() {
                return false;
            }
            let g = if let Icc::Ap0r(_) = row.reg { 0 } else { 1 };
            c.apr[g][n as usize] = val as u32;
        }
        // Only CBPR and EOImode are writable in ICV_CTLR_EL1.
        Icc::Ctlr => {
            let c = &mut gic.cpus[cpu];
            c.cbpr = val & CTLR_CBPR != 0;
            c.eoimode = val & CTLR_EOIMODE != 0;
        }
        // SRE, DFB, DIB are fixed by the hypervisor: writes ignored.
        Icc::Sre => {}
        Icc::Igrpen0 => gic.cpus[cpu].grpen[0] = val & 1 != 0,
        Icc::Igrpen1 => gic.cpus[cpu].grpen[1] = val & 1 != 0,
        Icc::Eoir(_) => cpuif::eoi(gic, cpu, val as u32),
        Icc::Dir => cpuif::dir(gic, cpu, val as u32),
        // "ICC_ASGI1R_EL1 is effectively equivalent to ICC_SGI0R_EL1, as there is no
        // 'alternative' secure group" (sys_regs.c access_gic_sgi, GICD_CTLR.DS=1).
        Icc::Sgi1r => dispatch_sgi(gic, cpu, val, true),
        Icc::Asgi1r | Icc::Sgi0r => dispatch_sgi(gic, cpu, val, false),
        _ => return false,
    }
    true
}

/// vgic_v3_dispatch_sgi: IRM=1 broadcasts to every vCPU but the sender; otherwise the target
/// list names Aff0 values (RS*16 + bit) under Aff3.Aff2.Aff1 (IHI0069 §12.2.22).
fn dispatch_sgi(gic: &mut Gic, src: usize, val: u64, allow_group1: bool) {
    let intid = ((val >> 24) & 0xf) as u32;
    let irm = val & (1 << 40) != 0;
    let mut targets: Vec<usize> = Vec::new();
    if irm {
        targets.extend((0..gic.ncpu()).filter(|&c| c != src));
    } else {
        let aff = ((val >> 48) & 0xff) << 32 | ((val >> 32) & 0xff) << 16 | ((val >> 16) & 0xff) << 8;
        let rs = (val >> 44) & 0xf;
        for bit in 0..16u64 {
            if val & (1 << bit) != 0 {
                let aff0 = rs * 16 + bit;
                if aff0 > 0xff {
                    continue;
                }
                if let Some(c) = gic.cpu_by_mpidr(aff | aff0) {
                    targets.push(c);
                }
            }
        }
    }
    for c in targets {
        if let Some(irq) = gic.irq_mut(c, intid) {
            // "An access targeting Group0 SGIs can only generate those, while an access
            // targeting Group1 SGIs can generate interrupts of either group."
            if irq.group == 0 || allow_group1 {
                irq.pending_latch = true;
            }
        }
    }
}

/// KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS access (vgic_v3_cpu_sysregs_uaccess): -ENXIO for registers
/// outside the table, -EINVAL when an accessor refuses.
pub fn user_access(gic: &mut Gic, cpu: usize, enc: u32, write: Option<u64>) -> Result<u64, i32> {
    let row = match find(enc) {
        Some(r) if r.user => r,
        _ => return Err(ENXIO),
    };
    let seis = gic.cfg.seis;
    let a3v = gic.cfg.a3v;
    let cfg_pri = gic.cfg.pri_bits.max(5).min(7);
    let cfg_id = super::id_bits_field(gic.cfg.id_bits);
    let c = &mut gic.cpus[cpu];
    match (row.reg, write) {
        (Icc::Ctlr, Some(v)) => {
            // set_gic_ctlr / access_gic_ctlr: "Disallow restoring VM state if not supported by
            // this hardware." PRIbits and IDbits may only shrink; SEIS and A3V must match.
            let pri = (((v >> CTLR_PRIBITS_SHIFT) & 7) + 1) as u8;
            if pri > c.num_pri_bits || pri > cfg_pri {
                return Err(EINVAL);
            }
            let id = ((v >> CTLR_IDBITS_SHIFT) & 7) as u8;
            if id > c.num_id_bits || id > cfg_id {
                return Err(EINVAL);
            }
            if (v & CTLR_SEIS != 0) != seis || (v & CTLR_A3V != 0) != a3v {
                return Err(EINVAL);
            }
            c.num_pri_bits = pri;
            c.num_id_bits = id;
            c.cbpr = v & CTLR_CBPR != 0;
            c.eoimode = v & CTLR_EOIMODE != 0;
            Ok(0)
        }
        (Icc::Ctlr, None) => {
            let c = gic.cpus[cpu].clone();
            Ok(ctlr_read(gic, &c, true))
        }
        (Icc::Pmr, Some(v)) => {
            c.set_pmr(v as u8);
            Ok(0)
        }
        (Icc::Pmr, None) => Ok(c.pmr as u64),
        // access_gic_bpr0/1 store into the VMCR as given (ICC_BPRn_EL1 masks, 3 bits).
        (Icc::Bpr0, Some(v)) => {
            c.bpr0 = (v & 7) as u8;
            Ok(0)
        }
        (Icc::Bpr0, None) => Ok(c.bpr0 as u64),
        (Icc::Bpr1, Some(v)) => {
            if !c.cbpr {
                c.bpr1 = (v & 7) as u8;
            }
            Ok(0)
        }
        (Icc::Bpr1, None) => Ok(bpr1_read(c, true)),
        (Icc::Ap0r(n), w) | (Icc::Ap1r(n), w) => {
            // access_gic_aprn: an index beyond vgic_v3_max_apr_idx is -EINVAL, read or write.
            if n as usize > c.max_user_apr_idx() {
                return Err(EINVAL);
            }
            let g = if let Icc::Ap0r(_) = row.reg { 0 } else { 1 };
            match w {
                Some(v) => {
                    c.apr[g][n as usize] = v as u32;
                    Ok(0)
                }
                None => Ok(c.apr[g][n as usize] as u64),
            }
        }
        // access_gic_sre: a write without SRE is -EINVAL; nothing is stored.
        (Icc::Sre, Some(v)) => {
            if v & 1 == 0 {
                Err(EINVAL)
            } else {
                Ok(0)
            }
        }
        (Icc::Sre, None) => Ok(KVM_V3_SRE),
        (Icc::Igrpen0, Some(v)) => {
            c.grpen[0] = v & 1 != 0;
            Ok(0)
        }
        (Icc::Igrpen0, None) => Ok(c.grpen[0] as u64),
        (Icc::Igrpen1, Some(v)) => {
            c.grpen[1] = v & 1 != 0;
            Ok(0)
        }
        (Icc::Igrpen1, None) => Ok(c.grpen[1] as u64),
        _ => Err(ENXIO),
    }
}
