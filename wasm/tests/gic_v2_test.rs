//! GICv2 as KVM presents it (vgic-mmio-v2.c): distributor reset values, ITARGETSR masking,
//! IGROUPR by revision and the `v2_groups_user_writable` rule (32f8777ed92d), GICD_SGIR, and the
//! GICC CPU interface.

use rollsafe_emu::gic::{
    kvm_iidr, Gic, GicConfig, GicModel, GroupMode, IidrWriteRule, UaccessRules, EINVAL, ENXIO, GRP_CPU_REGS,
    GRP_DIST_REGS,
};

const DIST: u64 = 0x0800_0000;
const CPU: u64 = 0x0801_0000;

fn cfg(ncpu: u64, rev: u32, mode: GroupMode, needs_iidr: bool) -> GicConfig {
    GicConfig {
        model: GicModel::V2,
        nr_irqs: 64,
        mpidrs: (0..ncpu).map(|i| (1 << 31) | i).collect(),
        iidr: kvm_iidr(rev),
        group_mode: mode,
        v2_groups_user_writable_needs_iidr: needs_iidr,
        pri_bits: 5,
        id_bits: 0,
        seis: false,
        a3v: false,
        dist_base: DIST,
        redist_base: 0,
        cpu_base: CPU,
    }
}

fn gic(ncpu: u64) -> Gic {
    Gic::new(cfg(ncpu, 2, GroupMode::Writable, true))
}

fn r(g: &mut Gic, cpu: usize, addr: u64) -> u64 {
    g.mmio_read(cpu, addr, 4).expect("GIC address")
}

fn w(g: &mut Gic, cpu: usize, addr: u64, v: u64) {
    assert!(g.mmio_write(cpu, addr, 4, v));
}

#[test]
fn distributor_reset_values() {
    let mut g = gic(4);
    assert_eq!(r(&mut g, 0, DIST), 0);
    // ITLinesNumber 1 (64 INTIDs), CPUNumber 3 (four vCPUs), no SecurityExtn.
    assert_eq!(r(&mut g, 0, DIST + 0x4), 0x61);
    // KVM's IIDR: ProductID 'K', revision 2, ARM — unlike QEMU TCG's 0x43b.
    assert_eq!(r(&mut g, 0, DIST + 0x8), 0x4b00_243b);
    // KVM's GICv2 map has no ID registers: ICPIDR2 reads as zero.
    assert_eq!(r(&mut g, 0, DIST + 0xfe8), 0);
    // Group 0 everywhere; SGIs enabled.
    assert_eq!(r(&mut g, 0, DIST + 0x80), 0);
    assert_eq!(r(&mut g, 0, DIST + 0x84), 0);
    assert_eq!(r(&mut g, 0, DIST + 0x100), 0xffff);
    // Private ITARGETSR bytes name the reading vCPU.
    assert_eq!(r(&mut g, 2, DIST + 0x800), 0x0404_0404);
    assert_eq!(r(&mut g, 2, DIST + 0x81c), 0x0404_0404);
    // SGIs edge, PPIs level, SPIs edge (kcalloc).
    assert_eq!(r(&mut g, 0, DIST + 0xc00), 0xaaaa_aaaa);
    assert_eq!(r(&mut g, 0, DIST + 0xc04), 0);
    assert_eq!(r(&mut g, 0, DIST + 0xc08), 0xaaaa_aaaa);
    // GICD_SGIR is write-only.
    assert_eq!(r(&mut g, 0, DIST + 0xf00), 0);
    w(&mut g, 0, DIST, 1);
    assert_eq!(r(&mut g, 0, DIST), 1);
}

#[test]
fn itargetsr_masked_to_existing_vcpus() {
    let mut g = gic(2);
    // "ITARGETSR: bits for non-existent CPUs masked" (kvm-unit-tests gicv2-mmio; KVM passes,
    // QEMU TCG does not).
    w(&mut g, 0, DIST + 0x820, 0x0103_0203 | 0xfcfc_fcfc);
    assert_eq!(r(&mut g, 0, DIST + 0x820), 0x0103_0203);
    assert!(g.mmio_write(0, DIST + 0x821, 1, 0xff));
    assert_eq!(g.mmio_read(0, DIST + 0x821, 1), Some(0x03));
    // ITARGETSR0..7 are read-only.
    w(&mut g, 0, DIST + 0x800, 0);
    assert_eq!(r(&mut g, 0, DIST + 0x800), 0x0101_0101);
}

#[test]
fn typer_iidr_and_idregs_are_read_only() {
    let mut g = gic(1);
    for off in [0x4u64, 0x8] {
        let before = r(&mut g, 0, DIST + off);
        w(&mut g, 0, DIST + off, 0xffff_ffff);
        assert_eq!(r(&mut g, 0, DIST + off), before);
    }
}

#[test]
fn igroupr_revision_2_guest_writable() {
    let mut g = gic(1);
    w(&mut g, 0, DIST + 0x84, 0xf0f0_f0f0);
    assert_eq!(r(&mut g, 0, DIST + 0x84), 0xf0f0_f0f0);
}

#[test]
fn igroupr_revision_1_raz_wi() {
    let mut g = Gic::new(cfg(1, 1, GroupMode::RazWi, true));
    w(&mut g, 0, DIST + 0x84, 0xffff_ffff);
    assert_eq!(r(&mut g, 0, DIST + 0x84), 0);
    g.set_attr(GRP_DIST_REGS, 0x84, 0xffff_ffff).unwrap();
    assert_eq!(r(&mut g, 0, DIST + 0x84), 0);
}

#[test]
fn igroupr_userspace_writes_need_an_iidr_write_first() {
    let mut g = gic(1);
    // Ignored: userspace has not written GICD_IIDR.
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x84, 0xffff_ffff), Ok(()));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x84), Ok(0));
    // An accepted IIDR write opts in.
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(2) as u64), Ok(()));
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x84, 0xffff_ffff), Ok(()));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x84), Ok(0xffff_ffff));
    assert_eq!(r(&mut g, 0, DIST + 0x84), 0xffff_ffff);
    // A rejected IIDR write does not.
    let mut g = gic(1);
    g.set_uaccess_rules(UaccessRules { iidr_write: IidrWriteRule::ExactMatch, iidr_before_init: false });
    assert_eq!(g.set_attr(GRP_DIST_REGS, 0x8, kvm_iidr(3) as u64), Err(EINVAL));
    g.set_attr(GRP_DIST_REGS, 0x84, 0xffff_ffff).unwrap();
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x84), Ok(0));
    // The 2026 proposal drops the opt-in: writable at once.
    let mut g = Gic::new(cfg(1, 2, GroupMode::Writable, false));
    g.set_attr(GRP_DIST_REGS, 0x84, 0x5).unwrap();
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x84), Ok(0x5));
}

fn cpu_up(g: &mut Gic, cpu: usize) {
    w(g, cpu, CPU + 0x4, 0xf0);
    w(g, cpu, CPU, 0x3);
}

#[test]
fn sgir_target_list_and_filters() {
    let mut g = gic(3);
    w(&mut g, 0, DIST, 1);
    for c in 0..3 {
        cpu_up(&mut g, c);
    }
    // vCPU 0 sends SGI 5 to vCPU 1 through the target list.
    w(&mut g, 0, DIST + 0xf00, 1 << 17 | 5);
    assert!(!g.irq_pending(0) && g.irq_pending(1) && !g.irq_pending(2));
    assert!(!g.fiq_pending(1), "group 0 is IRQ unless FIQEn");
    // The pending source is visible in vCPU 1's SPENDSGIR (one byte per SGI).
    assert_eq!(r(&mut g, 1, DIST + 0xf24), 1 << 8);
    // IAR carries the source CPUID in [12:10].
    assert_eq!(r(&mut g, 1, CPU + 0x0c), 5);
    w(&mut g, 2, DIST + 0xf00, 1 << 17 | 5);
    assert_eq!(r(&mut g, 1, DIST + 0xf24), 4 << 8);
    w(&mut g, 1, CPU + 0x10, 5);
    assert_eq!(r(&mut g, 1, CPU + 0x0c), 2 << 10 | 5);
    w(&mut g, 1, CPU + 0x10, 2 << 10 | 5);
    // Filter 1: all but self; filter 2: self only.
    w(&mut g, 0, DIST + 0xf00, 1 << 24 | 7);
    assert!(!g.irq_pending(0) && g.irq_pending(1) && g.irq_pending(2));
    w(&mut g, 0, DIST + 0xf00, 2 << 24 | 8);
    assert!(g.irq_pending(0));
    assert_eq!(r(&mut g, 0, CPU + 0x0c), 8);
    // CPENDSGIR clears a source.
    w(&mut g, 1, DIST + 0xf14, 1 << 24);
    assert_eq!(r(&mut g, 1, DIST + 0x200) & (1 << 7), 0);
    // GICD_ISPENDR0/ICPENDR0 SGI bits are WI for the guest.
    w(&mut g, 2, DIST + 0x280, 0xffff);
    assert_eq!(r(&mut g, 2, DIST + 0x200) & (1 << 7), 1 << 7);
    w(&mut g, 0, DIST + 0x200, 1 << 3);
    assert_eq!(r(&mut g, 0, DIST + 0x200) & (1 << 3), 0);
}

#[test]
fn gicc_registers() {
    let mut g = gic(1);
    // Five priority bits: PMR low bits RAZ; BPR minimum 2, ABPR minimum 3.
    w(&mut g, 0, CPU + 0x4, 0xff);
    assert_eq!(r(&mut g, 0, CPU + 0x4), 0xf8);
    assert_eq!(r(&mut g, 0, CPU + 0x8), 2);
    assert_eq!(r(&mut g, 0, CPU + 0x1c), 3);
    w(&mut g, 0, CPU + 0x8, 0);
    assert_eq!(r(&mut g, 0, CPU + 0x8), 2);
    assert_eq!(r(&mut g, 0, CPU + 0x14), 0xff, "idle running priority");
    assert_eq!(r(&mut g, 0, CPU + 0x0c), 1023);
    assert_eq!(r(&mut g, 0, CPU + 0xfc), 0x04b2_043b);
    w(&mut g, 0, CPU, 0x21f);
    assert_eq!(r(&mut g, 0, CPU), 0x21f);
    // Byte accesses to the CPU interface are RAZ/WI.
    assert_eq!(g.mmio_read(0, CPU, 1), Some(0));
}

#[test]
fn group_1_with_and_without_ackctl() {
    let mut g = gic(1);
    w(&mut g, 0, DIST, 1);
    cpu_up(&mut g, 0);
    // SPI 40: group 1, priority 0x80, target vCPU 0, pending.
    w(&mut g, 0, DIST + 0x84, 1 << 8);
    assert!(g.mmio_write(0, DIST + 0x400 + 40, 1, 0x80));
    assert!(g.mmio_write(0, DIST + 0x800 + 40, 1, 1));
    w(&mut g, 0, DIST + 0x104, 1 << 8);
    w(&mut g, 0, DIST + 0x204, 1 << 8);
    assert!(g.irq_pending(0));
    // GICC_IAR with AckCtl=0 answers 1022 for a group 1 interrupt; HPPIR too.
    assert_eq!(r(&mut g, 0, CPU + 0x18), 1022);
    assert_eq!(r(&mut g, 0, CPU + 0x0c), 1022);
    assert_eq!(r(&mut g, 0, CPU + 0x28), 40);
    assert_eq!(r(&mut g, 0, CPU + 0x20), 40);
    assert_eq!(r(&mut g, 0, CPU + 0x14), 0x80);
    w(&mut g, 0, CPU + 0x24, 40);
    assert_eq!(r(&mut g, 0, CPU + 0x14), 0xff);
    // With AckCtl the plain IAR acknowledges it.
    w(&mut g, 0, DIST + 0x204, 1 << 8);
    w(&mut g, 0, CPU, 0x7);
    assert_eq!(r(&mut g, 0, CPU + 0x0c), 40);
    w(&mut g, 0, CPU + 0x10, 40);
    assert_eq!(r(&mut g, 0, DIST + 0x304), 0);
}

#[test]
fn group_0_is_fiq_with_fiqen() {
    let mut g = gic(1);
    w(&mut g, 0, DIST, 1);
    cpu_up(&mut g, 0);
    w(&mut g, 0, CPU, 0x3 | 1 << 3);
    w(&mut g, 0, DIST + 0xf00, 2 << 24 | 1);
    assert!(g.fiq_pending(0) && !g.irq_pending(0));
}

#[test]
fn cpu_regs_uaccess() {
    let mut g = gic(2);
    // The PMR as GICH_VMCR.VMPriMask: five bits in the low end.
    g.set_attr(GRP_CPU_REGS, 1 << 32 | 0x4, 0x1e).unwrap();
    assert_eq!(r(&mut g, 1, CPU + 0x4), 0xf0);
    assert_eq!(g.get_attr(GRP_CPU_REGS, 1 << 32 | 0x4), Ok(0x1e));
    assert_eq!(g.get_attr(GRP_CPU_REGS, 0xfc), Ok(0x04b2_043b));
    g.set_attr(GRP_CPU_REGS, 1 << 32, 0x201).unwrap();
    assert_eq!(r(&mut g, 1, CPU), 0x201);
    // Registers with no userspace view read 0.
    assert_eq!(g.get_attr(GRP_CPU_REGS, 0x0c), Ok(0));
    assert_eq!(g.has_attr(GRP_CPU_REGS, 0x0c), Err(ENXIO));
    assert_eq!(g.has_attr(GRP_CPU_REGS, 0xd0), Ok(()));
    // A vcpu_index with no vCPU: -EINVAL.
    assert_eq!(g.get_attr(GRP_CPU_REGS, 5 << 32), Err(EINVAL));
    assert_eq!(g.get_attr(GRP_DIST_REGS, 5 << 32), Err(EINVAL));
    // Userspace ISPENDR of a GICv2 SGI records the vCPU itself as the source.
    g.set_attr(GRP_DIST_REGS, 1 << 32 | 0x200, 1 << 4).unwrap();
    assert_eq!(r(&mut g, 1, DIST + 0xf24), 2);
}

#[test]
fn gicv2_has_no_icc_sysregs() {
    let mut g = gic(1);
    let icc_sre = 3 << 14 | 12 << 7 | 12 << 3 | 5;
    assert_eq!(g.sysreg_read(0, icc_sre), None);
    assert!(!g.sysreg_write(0, icc_sre, 7));
}

#[test]
fn gicv2_initialises_lazily_on_first_register_access() {
    let mut g = Gic::new_uninitialized(cfg(1, 2, GroupMode::Writable, true));
    // No NR_IRQS set: KVM freezes 256 interrupts (VGIC_NR_IRQS_LEGACY).
    assert_eq!(g.get_attr(GRP_DIST_REGS, 0x4), Ok(7));
}

#[test]
fn cbpr_makes_bpr_govern_group_1() {
    // SPIs 40 (0xc0) and 41 (0xa0), group 1, to vCPU 0; AckCtl so GICC_IAR takes group 1.
    let setup = |cbpr: bool| {
        let mut g = gic(1);
        w(&mut g, 0, DIST, 1);
        cpu_up(&mut g, 0);
        w(&mut g, 0, DIST + 0x84, 3 << 8);
        for (intid, prio) in [(40u64, 0xc0u64), (41, 0xa0)] {
            assert!(g.mmio_write(0, DIST + 0x400 + intid, 1, prio));
            assert!(g.mmio_write(0, DIST + 0x800 + intid, 1, 1));
        }
        w(&mut g, 0, DIST + 0x104, 3 << 8);
        w(&mut g, 0, CPU + 0x1c, 7);
        w(&mut g, 0, CPU, 0x7 | if cbpr { 1 << 4 } else { 0 });
        w(&mut g, 0, DIST + 0x204, 1 << 8);
        assert_eq!(r(&mut g, 0, CPU + 0x0c), 40);
        w(&mut g, 0, DIST + 0x204, 1 << 9);
        g
    };
    // ABPR = 7: group 1 priority is bit 7 only; 0xa0 and 0xc0 share it, so no preemption.
    let mut g = setup(false);
    assert_eq!(r(&mut g, 0, CPU + 0x14), 0x80);
    assert!(!g.irq_pending(0));
    // CBPR: the group 0 BPR (2) governs group 1 as well; 0xa0 preempts 0xc0.
    let mut g = setup(true);
    assert_eq!(r(&mut g, 0, CPU + 0x14), 0xc0);
    assert!(g.irq_pending(0));
    assert_eq!(r(&mut g, 0, CPU + 0x0c), 41);
}
