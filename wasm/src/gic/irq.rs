//! One interrupt's state, as KVM's `struct vgic_irq` keeps it (include/kvm/arm_vgic.h), and its
//! reset values (vgic-init.c: kvm_vgic_vcpu_init for SGIs/PPIs, kvm_vgic_dist_init for SPIs).

/// Number of SGIs and of private interrupts (SGIs + PPIs), IHI0069 §2.2.1.
pub const NR_SGIS: u32 = 16;
pub const NR_PRIVATE: u32 = 32;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Irq {
    /// Interrupt group as stored (0 or 1). What the guest reads back depends on the GroupMode.
    pub group: u8,
    pub enabled: bool,
    /// Software pending state: edge events, GICD_ISPENDR writes, SGIs.
    pub pending_latch: bool,
    /// Input line level (level-sensitive interrupts, e.g. the timer PPIs).
    pub line_level: bool,
    pub active: bool,
    /// Priority byte as stored; KVM keeps only the top 5 bits (VGIC_PRI_BITS).
    pub priority: u8,
    /// ICFGR: true = edge-triggered (VGIC_CONFIG_EDGE), false = level.
    pub edge: bool,
    /// GICv2 GICD_ITARGETSR byte.
    pub targets: u8,
    /// GICv3 GICD_IROUTER: Aff2.Aff1.Aff0 only ("We only care about and preserve Aff0, Aff1 and
    /// Aff2", vgic-mmio-v3.c vgic_mmio_write_irouter; IRM and Aff3 are dropped).
    pub route: u64,
    /// GICv2 SGIs: bitmap of source vCPUs with this SGI pending (vgic_irq.source).
    pub source: u8,
    /// GICv2 SGIs: the source vCPU of the active instance.
    pub active_source: u8,
}

impl Irq {
    /// irq_is_pending(): the latch, or a level interrupt whose line is high (vgic.h).
    pub fn pending(&self) -> bool {
        if self.edge {
            self.pending_latch
        } else {
            self.pending_latch || self.line_level
        }
    }

    /// Reset state of private interrupt `intid` on vCPU `cpu`. SGIs are enabled and edge,
    /// PPIs level (kvm_vgic_vcpu_init); the group is 1 for GICv3 and 0 for GICv2, and a GICv2
    /// private interrupt targets its own vCPU (vgic_init).
    pub fn reset_private(intid: u32, cpu: usize, v3: bool) -> Irq {
        let sgi = intid < NR_SGIS;
        Irq {
            group: if v3 { 1 } else { 0 },
            enabled: sgi,
            edge: sgi,
            targets: if v3 || cpu >= 8 { 0 } else { 1u8 << cpu },
            ..Irq::default()
        }
    }

    /// Reset state of an SPI: group 1 routed to MPIDR 0 (v3) or group 0 with no target (v2),
    /// config left at 0 = VGIC_CONFIG_EDGE by kcalloc (kvm_vgic_dist_init).
    pub fn reset_spi(v3: bool) -> Irq {
        Irq { group: if v3 { 1 } else { 0 }, edge: true, ..Irq::default() }
    }
}
