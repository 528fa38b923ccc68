//! GICv3 as KVM presents it: register reset values and access rules (vgic-mmio-v3.c), IIDR
//! revisions (research §1.1–1.3), the ICC_* CPU interface, SGIs, priorities and EOI.

use rollsafe_emu::gic::{
    kvm_iidr, Gic, GicConfig, GicModel, GroupMode, IidrWriteRule, UaccessRules, EBUSY, EINVAL, ENXIO, GRP_CPU_SYSREGS,
    GRP_CTRL, GRP_DIST_REGS, GRP_LEVEL_INFO, GRP_NR_IRQS, GRP_REDIST_REGS,
};

const DIST: u64 = 0x0800_0000;
const REDIST: u64 = 0x080a_0000;
const SGI: u64 = 0x1_0000;

fn enc(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
}
fn icc_pmr() -> u32 {
    enc(3, 0, 4, 6, 0)
}
fn icc_iar0() -> u32 {
    enc(3, 0, 12, 8, 0)
}
fn icc_eoir0() -> u32 {
    enc(3, 0, 12, 8, 1)
}
fn icc_ap0r(n: u32) -> u32 {
    enc(3, 0, 12, 8, 4 + n)
}
fn icc_ap1r(n: u32) -> u32 {
    enc(3, 0, 12, 9, n)
}
fn icc_dir() -> u32 {
    enc(3, 0, 12, 11, 1)
}
fn icc_rpr() -> u32 {
    enc(3, 0, 12, 11, 3)
}
fn icc_sgi1r() -> u32 {
    enc(3, 0, 12, 11, 5)
}
fn icc_asgi1r() -> u32 {
    enc(3, 0, 12, 11, 6)
}
fn icc_sgi0r() -> u32 {
    enc(3, 0, 12, 11, 7)
}
fn icc_iar1() -> u32 {
    enc(3, 0, 12, 12, 0)
}
fn icc_eoir1() -> u32 {
    enc(3, 0, 12, 12, 1)
}
fn icc_hppir1() -> u32 {
    enc(3, 0, 12, 12, 2)
}
fn icc_bpr0() -> u32 {
    enc(3, 0, 12, 8, 3)
}
fn icc_bpr1() -> u32 {
    enc(3, 0, 12, 12, 3)
}
fn icc_ctlr() -> u32 {
    enc(3, 0, 12, 12, 4)
}
fn icc_sre() -> u32 {
    enc(3, 0, 12, 12, 5)
}
fn icc_igrpen0() -> u32 {
    enc(3, 0, 12, 12, 6)
}
fn icc_igrpen1() -> u32 {
    enc(3, 0, 12, 12, 7)
}

/// KVM's default vCPU MPIDRs: Aff0 = vcpu_id & 0xf, Aff1 = vcpu_id >> 4.
fn mpidr(i: u64) -> u64 {
    (1 << 31) | (i & 0xf) | ((i >> 4) & 0xff) << 8
}

fn cfg(ncpu: u64, rev: u32, mode: GroupMode) -> GicConfig {
    GicConfig {
        model: GicModel::V3,
        nr_irqs: 128,
        mpidrs: (0..ncpu).map(mpidr).collect(),
        iidr: kvm_iidr(rev),
        group_mode: mode,
        v2_groups_user_writable_needs_iidr: true,
        pri_bits: 5,
        id_bits: 0,
        seis: false,
        a3v: true,
        dist_base: DIST,
        redist_base: REDIST,
        cpu_base: 0,
    }
}

fn gic(ncpu: u64) -> Gic {
    Gic::new(cfg(ncpu, 3, GroupMode::Writable))
}

fn rd(cpu: u64) -> u64 {
    REDIST + cpu * 0x2_0000
}

fn r32(g: &mut Gic, addr: u64) -> u64 {
    g.mmio_read(0, addr, 4).expect("GIC address")
}

fn w32(g: &mut Gic, addr: u64, v: u64) {
    assert!(g.mmio_write(0, addr, 4, v));
}

/// The attr for a redistributor or CPU sysreg of vCPU `cpu` (mpidr in [63:32]).
fn at(cpu: u64, off: u64) -> u64 {
    (mpidr(cpu) & 0xff_ffff) << 32 | off
}

/// A guest that brings a vCPU's interface up like Linux does: PMR 0xf0, group 1 enabled.
fn cpu_up(g: &mut Gic, cpu: usize) {
    assert!(g.sysreg_write(cpu, icc_pmr(), 0xf0));
    assert!(g.sysreg_write(cpu, icc_igrpen1(), 1));
}

#[test]
fn distributor_reset_values() {
    let mut g = gic(2);
    // ARE_NS | DS, distributor disabled (vgic_mmio_read_v3_misc).
    assert_eq!(r32(&mut g, DIST), 0x50);
    // 128 INTIDs: ITLinesNumber 3; IDbits 9 (10-bit INTIDs, no ITS); no LPIS, no CPUNumber.
    assert_eq!(r32(&mut g, DIST + 0x4), 0x0048_0003);
    assert_eq!(r32(&mut g, DIST + 0x8), 0x4b00_343b);
    assert_eq!(r32(&mut g, DIST + 0xc), 0);
    // KVM reads GICD_STATUSR as all ones.
    assert_eq!(r32(&mut g, DIST + 0x10), 0xffff_ffff);
    assert_eq!(r32(&mut g, DIST + 0xffe8), 0x3b);
    assert_eq!(r32(&mut g, DIST + 0xffe0), 0);
    // SPIs: group 1, disabled, edge (kcalloc leaves config at VGIC_CONFIG_EDGE).
    assert_eq!(r32(&mut g, DIST + 0x84), 0xffff_ffff);
    assert_eq!(r32(&mut g, DIST + 0x104), 0);
    assert_eq!(r32(&mut g, DIST + 0xc08), 0xaaaa_aaaa);
    assert_eq!(r32(&mut g, DIST + 0x420), 0);
    assert_eq!(g.mmio_read(0, DIST + 0x6100, 8), Some(0));
}

#[test]
fn distributor_private_rows_are_raz_wi_under_affinity_routing() {
    let mut g = gic(1);
    for off in [0x80u64, 0x100, 0x200, 0x300, 0x400, 0xc00] {
        assert_eq!(r32(&mut g, DIST + off), 0, "offset {off:#x}");
    }
    w32(&mut g, DIST + 0x100, 0xffff_ffff);
    w32(&mut g, DIST + 0x80, 0);
    // The redistributor still has the SGIs enabled (and only those) and in group 1.
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x100), 0x0000_ffff);
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x80), 0xffff_ffff);
    // GICD_ITARGETSR and GICD_IGRPMODR are RAZ/WI.
    w32(&mut g, DIST + 0x820, 0x0101_0101);
    assert_eq!(r32(&mut g, DIST + 0x820), 0);
}

#[test]
fn distributor_access_checks() {
    let mut g = gic(1);
    // Priorities keep the top five bits (VGIC_PRI_BITS) and are byte accessible.
    w32(&mut g, DIST + 0x420, 0xff80_4001);
    assert_eq!(r32(&mut g, DIST + 0x420), 0xf880_4000);
    assert!(g.mmio_write(0, DIST + 0x421, 1, 0x68));
    assert_eq!(g.mmio_read(0, DIST + 0x421, 1), Some(0x68));
    assert_eq!(r32(&mut g, DIST + 0x420), 0xf880_6800);
    // A byte access to a word-only register is RAZ/WI; so is a misaligned word.
    assert_eq!(g.mmio_read(0, DIST + 0x104, 1), Some(0));
    assert!(g.mmio_write(0, DIST + 0x104, 1, 0xff));
    assert_eq!(r32(&mut g, DIST + 0x104), 0);
    assert_eq!(g.mmio_read(0, DIST + 0x422, 4), Some(0));
    // INTIDs at or past nr_irqs (128) are RAZ/WI: ISENABLER4 names 128..159.
    w32(&mut g, DIST + 0x110, 0xffff_ffff);
    assert_eq!(r32(&mut g, DIST + 0x110), 0);
    // ICFGR: SPI config is writable.
    w32(&mut g, DIST + 0xc08, 0x0000_0002);
    assert_eq!(r32(&mut g, DIST + 0xc08), 0x0000_0002);
    // Addresses outside the frames are not the GIC's.
    assert_eq!(g.mmio_read(0, DIST + 0x1_0000, 4), None);
    assert_eq!(g.mmio_read(0, 0x1000, 4), None);
    assert!(!g.mmio_write(0, 0x1000, 4, 0));
}

#[test]
fn irouter_keeps_aff2_to_aff0_only() {
    let mut g = gic(2);
    let irouter40 = DIST + 0x6000 + 40 * 8;
    // IRM (bit 31) and Aff3 are dropped by KVM.
    assert!(g.mmio_write(0, irouter40, 8, 0x0000_00ff_8001_0203));
    assert_eq!(g.mmio_read(0, irouter40, 8), Some(0x0001_0203));
    // The upper word is RAZ/WI.
    assert!(g.mmio_write(0, irouter40 + 4, 4, 0xffff_ffff));
    assert_eq!(g.mmio_read(0, irouter40 + 4, 4), Some(0));
    assert!(g.mmio_write(0, irouter40, 4, 0x1));
    assert_eq!(g.mmio_read(0, irouter40, 8), Some(1));
}

#[test]
fn redistributor_identification() {
    let mut g = gic(3);
    for c in 0..3u64 {
        let typer = g.mmio_read(0, rd(c) + 0x8, 8).unwrap();
        assert_eq!(typer >> 32, mpidr(c) & 0xff_ffff, "affinity of {c}");
        assert_eq!((typer >> 8) & 0xffff, c, "processor number of {c}");
        assert_eq!(typer & (1 << 4) != 0, c == 2, "Last of {c}");
        // 32-bit halves read the same bits.
        assert_eq!(g.mmio_read(0, rd(c) + 0xc, 4).unwrap(), typer >> 32);
    }
    assert_eq!(r32(&mut g, rd(1) + 0x4), 0x4b00_043b);
    assert_eq!(r32(&mut g, rd(1) + 0x14), 0, "GICR_WAKER is RAZ/WI");
    w32(&mut g, rd(1) + 0x14, 0x2);
    assert_eq!(r32(&mut g, rd(1) + 0x14), 0);
    assert_eq!(r32(&mut g, rd(1) + 0xffe8), 0x3b);
    // SGI frame reset: SGIs enabled and edge, PPIs level and fixed.
    assert_eq!(r32(&mut g, rd(0) + SGI + 0xc00), 0xaaaa_aaaa);
    assert_eq!(r32(&mut g, rd(0) + SGI + 0xc04), 0);
    w32(&mut g, rd(0) + SGI + 0xc04, 0xaaaa_aaaa);
    assert_eq!(r32(&mut g, rd(0) + SGI + 0xc04), 0, "PPI config is read-only in KVM");
    w32(&mut g, rd(0) + SGI + 0x41c, 0xa0a0_a0a0);
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x41c), 0xa0a0_a0a0);
    assert_eq!(r32(&mut g, rd(1) + SGI + 0x41c), 0, "priorities are per redistributor");
}

#[test]
fn gicr_ctlr_ir_ces_only_from_revision_3() {
    let mut g3 = Gic::new(cfg(1, 3, GroupMode::Writable));
    assert_eq!(r32(&mut g3, rd(0)), 0x6);
    let mut g2 = Gic::new(cfg(1, 2, GroupMode::Writable));
    assert_eq!(r32(&mut g2, rd(0)), 0);
    assert_eq!(r32(&mut g2, DIST + 0x8), 0x4b00_243b);
    // EnableLPIs is ignored without an ITS.
    w32(&mut g2, rd(0), 1);
    assert_eq!(r32(&mut g2, rd(0)), 0);
}

#[test]
fn igroupr_by_revision() {
    // Revisions 2 and 3: guest-configurable (vgic_mmio_write_group).
    for rev in [2, 3] {
        let mut g = Gic::new(cfg(1, rev, GroupMode::Writable));
        w32(&mut g, DIST + 0x84, 0x0000_ffff);
        assert_eq!(r32(&mut g, DIST + 0x84), 0x0000_ffff, "rev {rev}");
        w32(&mut g, rd(0) + SGI + 0x80, 0xffff_0000);
        assert_eq!(r32(&mut g, rd(0) + SGI + 0x80), 0xffff_0000, "rev {rev}");
        // Userspace writes go through the same accessor on GICv3.
        g.set_attr(GRP_DIST_REGS, 0x84, 0x1234_5678).unwrap();
        assert_eq!(g.get_attr(GRP_DIST_REGS, 0x84), Ok(0x1234_5678));
    }
    // Proposed revision 1: RAO/WI for the guest and userspace.
    let mut g = Gic::new(cfg(1, 1, GroupMode::RaoWi));
    w32(&mut g, DIST + 0x84, 0);
    assert_eq!(r32(&mut g, DIST + 0x84), 0xffff_ffff);
    w32(&mut g, rd(0) + SGI + 0x80, 0);
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x80), 0xffff_ffff);
    g.set_attr(GRP_DIST_REGS, 0x84, 0).unwrap();
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x84), Ok(0xffff_ffff));
}

#[test]
fn icc_reset_and_identification() {
    let mut g = gic(1);
    // PRIbits-1 = 4, IDbits 0 (16-bit), A3V from the config; CBPR and EOImode clear.
    assert_eq!(g.sysreg_read(0, icc_ctlr()), Some(0x8400));
    assert_eq!(g.sysreg_read(0, icc_sre()), Some(0x7));
    assert!(g.sysreg_write(0, icc_sre(), 0));
    assert_eq!(g.sysreg_read(0, icc_sre()), Some(0x7), "SRE is fixed by KVM");
    assert_eq!(g.sysreg_read(0, icc_pmr()), Some(0));
    assert_eq!(g.sysreg_read(0, icc_rpr()), Some(0xff));
    // Binary points reset to their minimums for five priority bits.
    assert_eq!(g.sysreg_read(0, icc_bpr0()), Some(2));
    assert_eq!(g.sysreg_read(0, icc_bpr1()), Some(3));
    assert!(g.sysreg_write(0, icc_bpr0(), 0));
    assert_eq!(g.sysreg_read(0, icc_bpr0()), Some(2));
    // PMR keeps the implemented bits.
    assert!(g.sysreg_write(0, icc_pmr(), 0xff));
    assert_eq!(g.sysreg_read(0, icc_pmr()), Some(0xf8));
    // AP0R1.. do not exist with five priority bits: UNDEFINED.
    assert_eq!(g.sysreg_read(0, icc_ap0r(0)), Some(0));
    assert_eq!(g.sysreg_read(0, icc_ap0r(1)), None);
    assert!(!g.sysreg_write(0, icc_ap1r(3), 0));
    // Read-only and write-only registers.
    assert!(!g.sysreg_write(0, icc_iar1(), 0));
    assert_eq!(g.sysreg_read(0, icc_eoir1()), None);
    assert_eq!(g.sysreg_read(0, icc_sgi1r()), None);
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(1023));
    // Not an ICC register.
    assert_eq!(g.sysreg_read(0, enc(3, 0, 1, 0, 0)), None);
    // CBPR: BPR1 reads BPR0 + 1 and ignores writes.
    assert!(g.sysreg_write(0, icc_bpr0(), 4));
    assert!(g.sysreg_write(0, icc_ctlr(), 1));
    assert_eq!(g.sysreg_read(0, icc_bpr1()), Some(5));
    assert!(g.sysreg_write(0, icc_bpr1(), 7));
    assert!(g.sysreg_write(0, icc_ctlr(), 0));
    assert_eq!(g.sysreg_read(0, icc_bpr1()), Some(3));
}

#[test]
fn sgi_between_vcpus() {
    let mut g = gic(2);
    w32(&mut g, DIST, 0x2);
    cpu_up(&mut g, 1);
    // vCPU 0 sends SGI 3 to Aff0 = 1.
    assert!(g.sysreg_write(0, icc_sgi1r(), 3 << 24 | 1 << 1));
    assert!(!g.irq_pending(0));
    assert!(g.irq_pending(1));
    assert!(!g.fiq_pending(1));
    assert_eq!(g.sysreg_read(1, icc_hppir1()), Some(3));
    assert_eq!(g.sysreg_read(1, icc_iar1()), Some(3));
    assert!(!g.irq_pending(1));
    assert_eq!(g.sysreg_read(1, icc_rpr()), Some(0));
    assert_eq!(r32(&mut g, rd(1) + SGI + 0x300), 1 << 3, "SGI 3 active");
    assert!(g.sysreg_write(1, icc_eoir1(), 3));
    assert_eq!(r32(&mut g, rd(1) + SGI + 0x300), 0);
    assert_eq!(g.sysreg_read(1, icc_rpr()), Some(0xff));
    assert_eq!(g.sysreg_read(1, icc_iar1()), Some(1023));
}

#[test]
fn sgi_broadcast_and_groups() {
    let mut g = gic(3);
    w32(&mut g, DIST, 0x2);
    for c in 0..3 {
        cpu_up(&mut g, c);
    }
    // IRM = 1: everyone but the sender.
    assert!(g.sysreg_write(1, icc_sgi1r(), 1 << 40 | 7 << 24));
    assert!(g.irq_pending(0) && !g.irq_pending(1) && g.irq_pending(2));
    // SGI0R cannot raise a group 1 SGI; ASGI1R behaves as SGI0R with DS=1.
    assert!(g.sysreg_write(0, icc_sgi0r(), 5 << 24 | 1 << 1));
    assert!(g.sysreg_write(0, icc_asgi1r(), 6 << 24 | 1 << 1));
    assert_eq!(r32(&mut g, rd(1) + SGI + 0x200), 0);
    // Make SGI 5 group 0 on vCPU 1: now SGI0R raises it, as a FIQ.
    w32(&mut g, rd(1) + SGI + 0x80, !(1 << 5) & 0xffff_ffff);
    assert!(g.sysreg_write(0, icc_sgi0r(), 5 << 24 | 1 << 1));
    assert_eq!(r32(&mut g, rd(1) + SGI + 0x200), 1 << 5);
    assert!(!g.fiq_pending(1), "group 0 not enabled yet");
    assert!(g.sysreg_write(1, icc_igrpen0(), 1));
    assert!(g.fiq_pending(1) && !g.irq_pending(1));
    assert_eq!(g.sysreg_read(1, icc_iar1()), Some(1023), "IAR1 does not take group 0");
    assert_eq!(g.sysreg_read(1, icc_iar0()), Some(5));
    assert!(g.sysreg_write(1, icc_eoir0(), 5));
    // A target list naming an Aff0 with no vCPU is ignored.
    assert!(g.sysreg_write(0, icc_sgi1r(), 2 << 24 | 1 << 9));
    assert_eq!(r32(&mut g, rd(2) + SGI + 0x200) & (1 << 2), 0);
}

#[test]
fn distributor_enable_gates_delivery() {
    let mut g = gic(1);
    cpu_up(&mut g, 0);
    assert!(g.sysreg_write(0, icc_sgi1r(), 1 << 24 | 1));
    assert!(!g.irq_pending(0), "GICD_CTLR.EnableGrp1 clear");
    w32(&mut g, DIST, 0x2);
    assert!(g.irq_pending(0));
    assert_eq!(r32(&mut g, DIST), 0x52);
}

/// Route SPI `intid` to vCPU 0 with `prio`, enable and pend it.
fn spi(g: &mut Gic, intid: u64, prio: u8) {
    assert!(g.mmio_write(0, DIST + 0x6000 + intid * 8, 8, mpidr(0) & 0xff_ffff));
    assert!(g.mmio_write(0, DIST + 0x400 + intid, 1, prio as u64));
    w32(g, DIST + 0x100 + (intid / 32) * 4, 1 << (intid % 32));
    w32(g, DIST + 0x200 + (intid / 32) * 4, 1 << (intid % 32));
}

#[test]
fn priority_and_preemption() {
    let mut g = gic(1);
    w32(&mut g, DIST, 0x2);
    cpu_up(&mut g, 0);
    spi(&mut g, 40, 0x80);
    spi(&mut g, 41, 0x40);
    // Highest priority (lowest value) first.
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(41));
    assert_eq!(g.sysreg_read(0, icc_rpr()), Some(0x40));
    assert_eq!(g.sysreg_read(0, icc_ap1r(0)), Some(1 << (0x40 >> 3)));
    // 0x80 cannot preempt 0x40.
    assert!(!g.irq_pending(0));
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(1023));
    // 0x20 can.
    spi(&mut g, 42, 0x20);
    assert!(g.irq_pending(0));
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(42));
    assert!(g.sysreg_write(0, icc_eoir1(), 42));
    assert_eq!(g.sysreg_read(0, icc_rpr()), Some(0x40));
    assert!(g.sysreg_write(0, icc_eoir1(), 41));
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(40));
    assert!(g.sysreg_write(0, icc_eoir1(), 40));
    // The priority mask: 0xf0 lets 0xe8 through but not 0xf0.
    spi(&mut g, 43, 0xf0);
    assert!(!g.irq_pending(0));
    // With BPR1 = 7 only priority bit 7 forms the group priority: once 0xe8 is active the
    // running priority is 0x80, so 0x88 (group priority 0x80) cannot preempt but 0x78 can.
    assert!(g.sysreg_write(0, icc_bpr1(), 7));
    spi(&mut g, 44, 0xe8);
    assert!(g.irq_pending(0));
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(44));
    assert_eq!(g.sysreg_read(0, icc_rpr()), Some(0x80));
    spi(&mut g, 45, 0x88);
    assert!(!g.irq_pending(0));
    spi(&mut g, 46, 0x78);
    assert!(g.irq_pending(0));
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(46));
}

#[test]
fn eoimode_splits_drop_and_deactivate() {
    let mut g = gic(1);
    w32(&mut g, DIST, 0x2);
    cpu_up(&mut g, 0);
    assert!(g.sysreg_write(0, icc_ctlr(), 2));
    assert_eq!(g.sysreg_read(0, icc_ctlr()), Some(0x8402));
    spi(&mut g, 50, 0x80);
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(50));
    assert!(g.sysreg_write(0, icc_eoir1(), 50));
    assert_eq!(g.sysreg_read(0, icc_rpr()), Some(0xff), "priority dropped");
    assert_eq!(r32(&mut g, DIST + 0x304) & (1 << 18), 1 << 18, "still active");
    // Still active, so a new edge on it is pending but not delivered.
    w32(&mut g, DIST + 0x204, 1 << 18);
    assert!(!g.irq_pending(0));
    assert!(g.sysreg_write(0, icc_dir(), 50));
    assert_eq!(r32(&mut g, DIST + 0x304) & (1 << 18), 0);
    assert!(g.irq_pending(0));
}

#[test]
fn level_ppi_stays_pending_while_the_line_is_high() {
    let mut g = gic(1);
    w32(&mut g, DIST, 0x2);
    cpu_up(&mut g, 0);
    w32(&mut g, rd(0) + SGI + 0x100, 1 << 27);
    g.set_ppi_level(0, 27, true);
    assert!(g.irq_pending(0));
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x200), 1 << 27);
    assert_eq!(g.sysreg_read(0, icc_iar1()), Some(27));
    // Active and pending: not delivered again until EOI.
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x200), 1 << 27);
    assert!(!g.irq_pending(0));
    assert!(g.sysreg_write(0, icc_eoir1(), 27));
    assert!(g.irq_pending(0));
    g.set_ppi_level(0, 27, false);
    assert!(!g.irq_pending(0));
    // ICPENDR does not clear a level interrupt whose line is high.
    g.set_ppi_level(0, 27, true);
    w32(&mut g, rd(0) + SGI + 0x280, 1 << 27);
    assert!(g.irq_pending(0));
}

#[test]
fn cpu_sysregs_attr_checks() {
    let mut g = gic(2);
    let ctlr = icc_ctlr() as u64;
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(1, ctlr)), Ok(0x8400));
    // More priority bits than the host: -EINVAL (access_gic_ctlr).
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(1, ctlr), 0x8600), Err(EINVAL));
    // IDbits 24-bit on a 16-bit host: -EINVAL.
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(1, ctlr), 0x8c00), Err(EINVAL));
    // SEIS or A3V different from the host: -EINVAL.
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(1, ctlr), 0xc400), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(1, ctlr), 0x0400), Err(EINVAL));
    // Fewer priority bits are accepted and stick, with EOImode.
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(1, ctlr), 0x8302), Ok(()));
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(1, ctlr)), Ok(0x8302));
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(1, ctlr), 0x8400), Err(EINVAL), "lowered for good");
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, ctlr)), Ok(0x8400), "per vCPU");
    // The guest's ICV_CTLR_EL1 still shows the hardware's bits; EOImode lands in the VMCR.
    assert_eq!(g.sysreg_read(1, icc_ctlr()), Some(0x8402));
    // ICC_SRE_EL1 without SRE: -EINVAL.
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(0, icc_sre() as u64), 0), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(0, icc_sre() as u64), 7), Ok(()));
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, icc_sre() as u64)), Ok(7));
    // AP registers beyond the priority bits: -EINVAL both ways.
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, icc_ap1r(1) as u64)), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(0, icc_ap0r(2) as u64), 1), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_CPU_SYSREGS, at(0, icc_ap1r(0) as u64), 0x10), Ok(()));
    assert_eq!(g.sysreg_read(0, icc_ap1r(0)), Some(0x10));
    // Registers outside gic_v3_icc_reg_descs: -ENXIO; an MPIDR with no vCPU: -EINVAL.
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, icc_iar1() as u64)), Err(ENXIO));
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, 0x0000_0009_0000_0000 | ctlr), Err(EINVAL));
    // PMR and group enables land in the guest's view.
    g.set_attr(GRP_CPU_SYSREGS, at(0, icc_pmr() as u64), 0xf0).unwrap();
    g.set_attr(GRP_CPU_SYSREGS, at(0, icc_igrpen1() as u64), 1).unwrap();
    assert_eq!(g.sysreg_read(0, icc_pmr()), Some(0xf0));
    assert_eq!(g.sysreg_read(0, icc_igrpen1()), Some(1));
    // Binary points: userspace reads KVM's VMCR, 0 after reset (as real 6.1/6.12 kernels do);
    // the guest sees the minimums for five priority bits.
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, icc_bpr0() as u64)), Ok(0));
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, icc_bpr1() as u64)), Ok(0));
    assert_eq!(g.sysreg_read(0, icc_bpr0()), Some(2));
    assert_eq!(g.sysreg_read(0, icc_bpr1()), Some(3));
    g.set_attr(GRP_CPU_SYSREGS, at(0, icc_bpr1() as u64), 5).unwrap();
    assert_eq!(g.get_attr(GRP_CPU_SYSREGS, at(0, icc_bpr1() as u64)), Ok(5));
    assert_eq!(g.sysreg_read(0, icc_bpr1()), Some(5));
}

#[test]
fn iidr_userspace_write_rules() {
    // 5.19+ with a0e6ae45af17: revision 2 or 3, other fields must match.
    let mut g = gic(1);
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(2) as u64), Ok(()));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x8), Ok(0x4b00_243b));
    assert_eq!(r32(&mut g, rd(0)), 0, "IR/CES gone at revision 2");
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(1) as u64), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(4) as u64), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, 0x4c00_343b), Err(EINVAL));
    // Without the fix the write succeeds and changes nothing.
    let mut g = gic(1);
    g.set_uaccess_rules(UaccessRules { iidr_write: IidrWriteRule::Rev2Or3 { fixed: false }, iidr_before_init: false });
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(2) as u64), Ok(()));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x8), Ok(0x4b00_343b));
    assert_eq!(r32(&mut g, rd(0)), 0x6);
    // 4.19–5.18: exact match.
    let mut g = Gic::new(cfg(1, 2, GroupMode::Writable));
    g.set_uaccess_rules(UaccessRules { iidr_write: IidrWriteRule::ExactMatch, iidr_before_init: false });
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(3) as u64), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(2) as u64), Ok(()));
    // The proposed revision-1 variant: revision 1 makes IGROUPR RAO/WI.
    let mut g = gic(1);
    g.set_uaccess_rules(UaccessRules { iidr_write: IidrWriteRule::Rev1To3 { fixed: true }, iidr_before_init: true });
    w32(&mut g, DIST + 0x84, 0);
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(1) as u64), Ok(()));
    assert_eq!(r32(&mut g, DIST + 0x84), 0xffff_ffff);
    w32(&mut g, DIST + 0x84, 0);
    assert_eq!(r32(&mut g, DIST + 0x84), 0xffff_ffff);
    // TYPER2 must be written back unchanged.
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0xc, 1 << 8), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0xc, 0), Ok(()));
}

#[test]
fn attrs_before_ctrl_init() {
    let mut g = Gic::new_uninitialized(cfg(2, 3, GroupMode::Writable));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x0), Err(EBUSY));
    assert_eq!(g.get_attr(GRP_REDIST_REGS, at(1, 0x8)), Err(EBUSY));
    // 6.17+: IIDR is reachable before init.
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x8), Ok(0x4b00_343b));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(2) as u64), Ok(()));
    // Older kernels: -EBUSY for IIDR too.
    g.set_uaccess_rules(UaccessRules { iidr_write: IidrWriteRule::Rev2Or3 { fixed: true }, iidr_before_init: false });
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x8), Err(EBUSY));
    // NR_IRQS: 64..1024 in steps of 32, once.
    assert_eq!(g.set_attr(GRP_NR_IRQS, 0, 48), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_NR_IRQS, 0, 100), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_NR_IRQS, 0, 1056), Err(EINVAL));
    assert_eq!(g.set_attr(GRP_NR_IRQS, 0, 192), Ok(()));
    assert_eq!(g.set_attr(GRP_NR_IRQS, 0, 256), Err(EBUSY));
    assert_eq!(g.set_attr(GRP_CTRL, 0, 0), Ok(()));
    assert_eq!(g.get_attr(GRP_NR_IRQS, 0), Ok(192));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x4), Ok(0x0048_0005));
    // The revision written before init survives it.
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x8), Ok(0x4b00_243b));
    assert_eq!(g.set_attr(GRP_CTRL, 0, 0), Ok(()), "CTRL_INIT twice is fine");
    assert_eq!(g.set_attr(GRP_NR_IRQS, 0, 256), Err(EBUSY));
    assert_eq!(g.set_attr(GRP_CTRL, 7, 0), Err(ENXIO));
}

#[test]
fn pending_uaccess_is_the_latch() {
    let mut g = gic(1);
    // A level PPI with its line high reads pending for the guest but not for userspace.
    g.set_ppi_level(0, 27, true);
    assert_eq!(r32(&mut g, rd(0) + SGI + 0x200), 1 << 27);
    assert_eq!(g.get_attr(GRP_REDIST_REGS, at(0, 0x1_0200)), Ok(0));
    // Userspace ISPENDR writes both set and clear the latch (vgic_v3_uaccess_write_pending).
    g.set_attr(GRP_DIST_REGS, 0x204, 0b1010).unwrap();
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x204), Ok(0b1010));
    g.set_attr(GRP_DIST_REGS, 0x204, 0b0010).unwrap();
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x204), Ok(0b0010));
    // ICPENDR is RAZ/WI through uaccess.
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x284), Ok(0));
    g.set_attr(GRP_DIST_REGS, 0x284, 0xffff_ffff).unwrap();
    assert_eq!(r32(&mut g, DIST + 0x204), 0b0010);
}

#[test]
fn unknown_offsets_and_has_attr() {
    let g0 = gic(1);
    assert_eq!(g0.has_attr(GRP_DIST_REGS, 0x8), Ok(()));
    assert_eq!(g0.has_attr(GRP_DIST_REGS, 0x14), Err(ENXIO));
    assert_eq!(g0.has_attr(GRP_DIST_REGS, 0x9), Err(ENXIO));
    assert_eq!(g0.has_attr(GRP_REDIST_REGS, at(0, 0x1_0100)), Ok(()));
    assert_eq!(g0.has_attr(GRP_REDIST_REGS, at(0, 0x1_0f00)), Err(ENXIO));
    assert_eq!(g0.has_attr(GRP_CPU_SYSREGS, at(0, icc_pmr() as u64)), Ok(()));
    assert_eq!(g0.has_attr(GRP_CPU_SYSREGS, at(0, icc_dir() as u64)), Err(ENXIO));
    // GET/SET of an unmapped offset read 0 and ignore the write (vgic_uaccess_read/write).
    let mut g = gic(1);
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x14), Ok(0));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x14, 5), Ok(()));
}

#[test]
fn level_info() {
    let mut g = gic(1);
    // Make SPI 33 level-sensitive, then restore its line.
    w32(&mut g, DIST + 0xc08, 0);
    assert_eq!(g.set_attr(GRP_LEVEL_INFO, at(0, 32), 1 << 1), Ok(()));
    assert_eq!(g.get_attr(GRP_LEVEL_INFO, at(0, 32)), Ok(1 << 1));
    assert_eq!(r32(&mut g, DIST + 0x204), 1 << 1, "a high level line is pending");
    assert_eq!(g.get_attr(GRP_LEVEL_INFO, at(0, 33)), Err(EINVAL));
    assert_eq!(g.get_attr(GRP_LEVEL_INFO, at(0, 1 << 10)), Err(EINVAL));
    // SGIs are skipped.
    assert_eq!(g.set_attr(GRP_LEVEL_INFO, at(0, 0), 0xffff_ffff), Ok(()));
    assert_eq!(g.get_attr(GRP_LEVEL_INFO, at(0, 0)), Ok(0xffff_0000));
}

#[test]
fn id_bits_accepts_field_or_bit_count() {
    for (id_bits, field) in [(0u8, 0u64), (16, 0), (1, 1), (24, 1)] {
        let mut c = cfg(1, 3, GroupMode::Writable);
        c.id_bits = id_bits;
        let mut g = Gic::new(c);
        assert_eq!(g.sysreg_read(0, icc_ctlr()).unwrap() >> 11 & 7, field, "id_bits {id_bits}");
        // A 24-bit snapshot restores only where the host has 24 bits.
        let r = g.set_attr(GRP_CPU_SYSREGS, at(0, icc_ctlr() as u64), 0x8400 | 1 << 11);
        assert_eq!(r, if field == 1 { Ok(()) } else { Err(EINVAL) }, "id_bits {id_bits}");
    }
}

#[test]
fn enable_and_active_set_clear_pairs() {
    let mut g = gic(1);
    w32(&mut g, DIST + 0x104, 0x0000_00f0);
    assert_eq!(r32(&mut g, DIST + 0x184), 0x0000_00f0, "ICENABLER reads the enables");
    w32(&mut g, DIST + 0x184, 0x0000_0030);
    assert_eq!(r32(&mut g, DIST + 0x104), 0x0000_00c0);
    w32(&mut g, DIST + 0x304, 0x0000_0101);
    assert_eq!(r32(&mut g, DIST + 0x384), 0x0000_0101);
    w32(&mut g, DIST + 0x384, 0x0000_0001);
    assert_eq!(r32(&mut g, DIST + 0x304), 0x0000_0100);
    // Userspace reaches the same state (vgic_uaccess_read_active).
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x304), Ok(0x100));
    g.set_attr(GRP_DIST_REGS, 0x384, 0x100).unwrap();
    assert_eq!(r32(&mut g, DIST + 0x304), 0);
}

#[test]
fn propbaser_and_pendbaser_are_sanitised() {
    let mut g = gic(2);
    // Outer Shareable (2) becomes Inner Shareable (1); inner Device-nGnRnE (0) becomes RaWb (3);
    // outer Write-back (7) becomes SameAsInner (0); RES0 bits go.
    let v: u64 = 0xf800_0000_4000_0000 | 7 << 56 | 2 << 10 | 0 << 7 | 0x1f | 3 << 5;
    assert!(g.mmio_write(0, rd(1) + 0x70, 8, v));
    assert_eq!(g.mmio_read(0, rd(1) + 0x70, 8), Some(0x4000_0000 | 1 << 10 | 3 << 7 | 0x1f));
    // PROPBASER is one per VM: every redistributor shows it.
    assert_eq!(g.mmio_read(0, rd(0) + 0x70, 8), g.mmio_read(0, rd(1) + 0x70, 8));
    // PENDBASER is per redistributor; PTZ (bit 62) reads as zero; 32-bit halves update.
    // Inner non-cacheable (1) is sanitised to RaWb (3) here too; WaWb (5) would be kept.
    assert!(g.mmio_write(0, rd(1) + 0x78, 8, 1 << 62 | 0x8001_0000 | 1 << 7));
    assert_eq!(g.mmio_read(0, rd(1) + 0x78, 8), Some(0x8001_0000 | 3 << 7));
    assert!(g.mmio_write(0, rd(1) + 0x78, 4, 0x8001_0000 | 5 << 7));
    assert!(g.mmio_write(0, rd(1) + 0x7c, 4, 0x1));
    assert_eq!(g.mmio_read(0, rd(1) + 0x78, 8), Some(0x1_8001_0000 | 5 << 7));
    assert_eq!(g.mmio_read(0, rd(0) + 0x78, 8), Some(0));
}
