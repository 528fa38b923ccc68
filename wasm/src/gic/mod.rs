//! GICv2 and GICv3 as KVM's vGIC presents them to a guest and to userspace.
//!
//! Architecture: IHI0069 (GICv3/v4) and IHI0048 (GICv2). Where KVM's vGIC differs from a
//! hardware GIC or from QEMU's TCG GIC, KVM wins, because the question rollsafe answers is
//! "what does a guest on host kernel X see". Sources are cited at the row; the KVM files are
//! arch/arm64/kvm/vgic/{vgic-mmio.c, vgic-mmio-v2.c, vgic-mmio-v3.c, vgic-init.c,
//! vgic-kvm-device.c} and arch/arm64/kvm/vgic-sys-reg-v3.c.
//!
//! Files: `irq.rs` (one interrupt), `regs.rs` (the generic register-map engine), `dist.rs`
//! (distributor tables, v2 and v3), `redist.rs` (GICv3 redistributors), `cpuif.rs` (priority,
//! acknowledge, EOI, signalling), `icc.rs` (GICv3 ICC_* system registers), `gicc.rs` (GICv2
//! GICC), `attr.rs` (KVM device attributes).
//!
//! IIDR-revision-dependent behaviour is state, not code forks: the revision (GICD_IIDR[15:12]),
//! the `GroupMode` and `v2_groups_user_writable` are fields that userspace IIDR writes update
//! under the configured `IidrWriteRule`.
//!
//! KVM rules modelled where they differ from a plain GIC (see the rows for citations):
//! - GICD_IIDR is 0x4b<<24 | rev<<12 | 0x43b (QEMU TCG reports 0x43b); GICR_IIDR has no revision.
//! - GICD_CTLR has one enable (EnableGrp1 on v3, Enable on v2) gating both groups; ARE_NS and DS
//!   read as one; GICD_STATUSR reads as all ones; GICD_TYPER has no CPUNumber/LPIs on v3.
//! - GICR_CTLR.{IR,CES} read as one from revision 3; GICR_WAKER is RAZ/WI; no LPIs.
//! - IPRIORITYR keeps 5 bits; SGI and PPI configuration is read-only; SPIs reset edge; v2
//!   ITARGETSR is masked to existing vCPUs and an SPI with no target goes to vCPU 0; IROUTER
//!   keeps Aff2..Aff0 only (IRM and Aff3 dropped); v2 ICPIDR2 reads as zero.
//! - GICv2 guests cannot set or clear SGI pending bits through GICD_I{S,C}PENDR0.
//! - ICC_SRE_EL1 reads SRE|DFB|DIB and ignores writes; ICC_ASGI1R acts as ICC_SGI0R (DS=1).
//! - Userspace: v3 pending reads/writes are the latch, v3 ICPENDR is RAZ/WI; v2 IGROUPR writes
//!   need a prior IIDR write (32f8777ed92d); IIDR write rules by kernel era; ICC_CTLR/SRE/APR
//!   checks of vgic-sys-reg-v3.c; EBUSY before CTRL_INIT on v3 (IIDR excepted from 6.17).
//!
//! Public API beyond the contract (documented deviations):
//! - `Gic::new` returns a vGIC that is already initialised (as after KVM_DEV_ARM_VGIC_CTRL_INIT),
//!   ready to run a guest. `Gic::new_uninitialized` gives the state right after
//!   KVM_CREATE_DEVICE for replaying a restore (NR_IRQS, IIDR before init, CTRL_INIT).
//! - `UaccessRules` (set with `set_uaccess_rules`) holds the kernel-build knobs for device
//!   attributes: the IIDR write rule and whether IIDR is accessible before init (6.17+).
//! - `has_attr` (KVM_HAS_DEVICE_ATTR): unknown register offsets are -ENXIO *there*; GET/SET of an
//!   unknown offset in DIST/REDIST/CPU_REGS succeed reading 0 / ignoring the write, because
//!   that is what vgic_uaccess_read/write do.
//! - `GicConfig::id_bits` accepts the ICC_CTLR_EL1.IDbits encoding (0/1) or a bit count (16/24).
//! - `set_spi_level` drives an SPI input for device models.

mod attr;
mod cpuif;
mod dist;
mod gicc;
mod icc;
pub mod irq;
mod redist;
pub mod regs;

use self::cpuif::CpuIf;
use self::irq::{Irq, NR_PRIVATE, NR_SGIS};
use self::regs::{Op, Who};
use std::cell::Cell;

pub use self::attr::{
    EBUSY, EEXIST, EINVAL, ENOENT, ENXIO, EPERM, GRP_ADDR, GRP_CPU_REGS, GRP_CPU_SYSREGS, GRP_CTRL, GRP_DIST_REGS,
    GRP_LEVEL_INFO, GRP_NR_IRQS, GRP_REDIST_REGS,
};
pub use self::icc::ICC_REGS;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GicModel {
    V2,
    V3,
}

/// Guest (and userspace) behaviour of the IGROUPR registers, from the IIDR revision (research
/// §1.3): rev 2/3 `Writable`; the proposed revision 1 is `RazWi` on GICv2 and `RaoWi` on GICv3
/// (writes ignored, reads the reset group); ≤4.18 GICv2 "reported interrupts as group 1"
/// (`RaoWi`, research [U]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupMode {
    Writable,
    RazWi,
    RaoWi,
}

/// How a userspace GICD_IIDR write is judged (vgic-mmio-v2.c / vgic-mmio-v3.c uaccess).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IidrWriteRule {
    /// 4.19–5.18: the value must equal the current IIDR, else -EINVAL.
    ExactMatch,
    /// 5.19+ (49a1a2c70a7f): every field but Revision must match; Revision must be 2 or 3.
    /// `fixed: false` models the bug until a0e6ae45af17: the accepted revision is taken from
    /// the current value, so the write succeeds and changes nothing.
    Rev2Or3 { fixed: bool },
    /// The proposed 2026 patch "Allow userspace to set IIDR revision 1": revisions 1..3.
    Rev1To3 { fixed: bool },
}

/// Kernel-build knobs for device-attribute access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct UaccessRules {
    pub iidr_write: IidrWriteRule,
    /// f26e6af75782 (6.17): GICD_IIDR (and TYPER2) may be accessed before CTRL_INIT. Every
    /// other GICv3 DIST/REDIST/CPU_SYSREGS/LEVEL_INFO access before init is -EBUSY.
    pub iidr_before_init: bool,
}

impl UaccessRules {
    /// Latest mainline with the a0e6ae45af17 fix.
    pub const LATEST: UaccessRules =
        UaccessRules { iidr_write: IidrWriteRule::Rev2Or3 { fixed: true }, iidr_before_init: true };
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GicConfig {
    pub model: GicModel,
    /// Total interrupts including the 32 private ones (KVM_DEV_ARM_VGIC_GRP_NR_IRQS).
    pub nr_irqs: u32,
    /// One per vCPU, index = vcpu id.
    pub mpidrs: Vec<u64>,
    /// Initial GICD_IIDR (KVM: 0x4b<<24 | rev<<12 | 0x43b).
    pub iidr: u32,
    pub group_mode: GroupMode,
    /// GICv2: userspace IGROUPR writes are ignored until userspace wrote GICD_IIDR
    /// (32f8777ed92d, `v2_groups_user_writable`); false models the 2026 proposal that drops it.
    pub v2_groups_user_writable_needs_iidr: bool,
    /// ICH_VTR_EL2.PRIbits + 1: virtual priority bits (5..7 as KVM's APR handling supports).
    pub pri_bits: u8,
    /// Virtual INTID size, either as ICC_CTLR_EL1.IDbits encodes it (0 = 16-bit, 1 = 24-bit,
    /// as ICH_VTR_EL2.IDbits) or as a bit count (16 or 24); both spellings are accepted.
    pub id_bits: u8,
    pub seis: bool,
    pub a3v: bool,
    pub dist_base: u64,
    pub redist_base: u64,
    pub cpu_base: u64,
}

/// KVM's GICD_IIDR for a revision: ProductID 'K' (PRODUCT_ID_KVM 0x4b), implementer ARM 0x43b.
pub const fn kvm_iidr(revision: u32) -> u32 {
    0x4b << 24 | (revision & 0xf) << 12 | 0x43b
}

/// GICv3 frame sizes: distributor 64 KiB, redistributor 128 KiB (RD_base + SGI_base).
pub const V3_DIST_SIZE: u64 = 0x1_0000;
pub const V3_REDIST_SIZE: u64 = 0x2_0000;
/// GICv2 frame sizes (KVM_VGIC_V2_DIST_SIZE 4 KiB, KVM_VGIC_V2_CPU_SIZE 8 KiB).
pub const V2_DIST_SIZE: u64 = 0x1000;
pub const V2_CPU_SIZE: u64 = 0x2000;

/// MPIDR_HWID_BITMASK (Aff3, Aff2..0).
pub const MPIDR_AFF_MASK: u64 = 0xff_00ff_ffff;

/// Per-redistributor state that is not an interrupt.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RdState {
    /// GICR_CTLR as stored (EnableLPIs only, which needs an ITS; IR/CES are added on read).
    pub ctlr: u32,
    pub pendbaser: u64,
}

pub struct Gic {
    pub cfg: GicConfig,
    pub nr_irqs: u32,
    pub private: Vec<[Irq; 32]>,
    pub spis: Vec<Irq>,
    /// GICD_CTLR enable. KVM keeps one flag (`dist->enabled`, from EnableGrp1 on v3 and Enable
    /// on v2) that gates delivery of both groups.
    pub enabled: bool,
    /// GICD_IIDR.Revision as the VM holds it.
    pub revision: u32,
    pub group_mode: GroupMode,
    pub v2_groups_user_writable: bool,
    pub cpus: Vec<CpuIf>,
    pub rd: Vec<RdState>,
    pub propbaser: u64,
    pub initialized: bool,
    nr_irqs_set: bool,
    pub rules: UaccessRules,
    /// Invalidates the cached IRQ/FIQ lines after any state change.
    generation: Cell<u64>,
    line_cache: Vec<Cell<(u64, bool, bool)>>,
}

impl Gic {
    /// An initialised vGIC, ready to run (as after CTRL_INIT).
    pub fn new(cfg: GicConfig) -> Gic {
        let mut g = Gic::new_uninitialized(cfg);
        let n = g.cfg.nr_irqs;
        g.init_with(n);
        g
    }

    /// The vGIC right after KVM_CREATE_DEVICE: no SPIs until NR_IRQS/CTRL_INIT.
    pub fn new_uninitialized(cfg: GicConfig) -> Gic {
        let ncpu = cfg.mpidrs.len();
        let v3 = cfg.model == GicModel::V3;
        let pri_bits = cfg.pri_bits.max(5).min(7);
        let id_enc = id_bits_field(cfg.id_bits);
        let cpus = (0..ncpu).map(|_| CpuIf::new(pri_bits, id_enc)).collect();
        let private = (0..ncpu)
            .map(|c| {
                let mut a = [Irq::default(); 32];
                for (i, irq) in a.iter_mut().enumerate() {
                    *irq = Irq::reset_private(i as u32, c, v3);
                }
                a
            })
            .collect();
        Gic {
            revision: (cfg.iidr >> 12) & 0xf,
            group_mode: cfg.group_mode,
            nr_irqs: NR_PRIVATE,
            private,
            spis: Vec::new(),
            enabled: false,
            v2_groups_user_writable: false,
            cpus,
            rd: vec![RdState::default(); ncpu],
            propbaser: 0,
            initialized: false,
            nr_irqs_set: false,
            rules: UaccessRules::LATEST,
            generation: Cell::new(1),
            line_cache: (0..ncpu).map(|_| Cell::new((0, false, false))).collect(),
            cfg,
        }
    }

    pub fn set_uaccess_rules(&mut self, rules: UaccessRules) {
        self.rules = rules;
    }

    /// vgic_init: freeze the number of interrupts and allocate the SPIs.
    fn init_with(&mut self, nr_irqs: u32) {
        let v3 = self.is_v3();
        let nr = nr_irqs.max(NR_PRIVATE).min(1024);
        self.nr_irqs = nr;
        self.spis = vec![Irq::reset_spi(v3); (nr - NR_PRIVATE) as usize];
        self.initialized = true;
        self.touch();
    }

    pub fn is_v3(&self) -> bool {
        self.cfg.model == GicModel::V3
    }

    pub fn ncpu(&self) -> usize {
        self.cfg.mpidrs.len()
    }

    pub fn iidr(&self) -> u32 {
        (self.cfg.iidr & !0xf000) | (self.revision & 0xf) << 12
    }

    fn touch(&self) {
        self.generation.set(self.generation.get().wrapping_add(1));
    }

    pub fn irq(&self, cpu: usize, intid: u32) -> Option<&Irq> {
        if intid < NR_PRIVATE {
            self.private.get(cpu).map(|p| &p[intid as usize])
        } else if intid < self.nr_irqs {
            self.spis.get((intid - NR_PRIVATE) as usize)
        } else {
            None
        }
    }

    pub fn irq_mut(&mut self, cpu: usize, intid: u32) -> Option<&mut Irq> {
        if intid < NR_PRIVATE {
            self.private.get_mut(cpu).map(|p| &mut p[intid as usize])
        } else if intid < self.nr_irqs {
            self.spis.get_mut((intid - NR_PRIVATE) as usize)
        } else {
            None
        }
    }

    /// vCPU index with this MPIDR (Aff fields), as kvm_mpidr_to_vcpu.
    pub fn cpu_by_mpidr(&self, mpidr: u64) -> Option<usize> {
        self.cfg.mpidrs.iter().position(|m| m & MPIDR_AFF_MASK == mpidr & MPIDR_AFF_MASK)
    }

    /// The vCPU an SPI is delivered to (vgic_target_oracle): v3 the vCPU whose MPIDR equals
    /// IROUTER (none if no such vCPU); v2 the lowest set ITARGETSR bit, vCPU 0 if none
    /// (vgic_mmio_write_target: `target = irq->targets ? __ffs(irq->targets) : 0`).
    fn spi_target(&self, irq: &Irq) -> Option<usize> {
        if self.is_v3() {
            self.cpu_by_mpidr(irq.route)
        } else if irq.targets == 0 {
            Some(0)
        } else {
            Some(irq.targets.trailing_zeros() as usize)
        }
    }

    /// What a guest or userspace IGROUPR read returns for one interrupt.
    pub fn group_read(&self, irq: &Irq) -> u8 {
        match self.group_mode {
            GroupMode::Writable => irq.group,
            GroupMode::RazWi => 0,
            GroupMode::RaoWi => 1,
        }
    }

    /// Pending as read back: userspace reads of a GICv3 pending register see the latch only
    /// (vgic-mmio.c __read_pending, `is_user` on VGIC_V3); everything else sees irq_is_pending.
    pub fn pending_read(&self, irq: &Irq, who: Who) -> bool {
        if who == Who::User && self.is_v3() {
            irq.pending_latch
        } else {
            irq.pending()
        }
    }

    /// Apply one interrupt's field of a per-IRQ register write.
    pub fn write_irq_field(&mut self, op: Op, who: Who, cpu: usize, src_cpu: usize, intid: u32, field: u64) {
        let v3 = self.is_v3();
        let group_writable = match self.group_mode {
            GroupMode::Writable => {
                // vgic_mmio_uaccess_write_v2_group: only once userspace wrote GICD_IIDR.
                !(who == Who::User && !v3 && self.cfg.v2_groups_user_writable_needs_iidr && !self.v2_groups_user_writable)
            }
            _ => false,
        };
        let v2_sgi = !v3 && intid < NR_SGIS;
        let ncpu = self.ncpu();
        let irq = match self.irq_mut(cpu, intid) {
            Some(i) => i,
            None => return,
        };
        let set = field != 0;
        match op {
            Op::Group => {
                if group_writable {
                    irq.group = set as u8;
                }
            }
            Op::SetEnable => irq.enabled |= set,
            Op::ClearEnable => {
                if set {
                    irq.enabled = false
                }
            }
            Op::SetPending => match (who, v3) {
                // GICv3 uaccess writes the latch both ways (vgic_v3_uaccess_write_pending).
                (Who::User, true) => irq.pending_latch = set,
                // "GICD_ISPENDR0 SGI bits are WI" for a GICv2 guest.
                (Who::Guest, false) if v2_sgi => {}
                (Who::User, false) if set => {
                    irq.pending_latch = true;
                    // "GICv2 SGIs are terribly broken ... just pick the vcpu itself as source".
                    if v2_sgi && cpu < 8 {
                        irq.source |= 1 << cpu;
                    }
                }
                _ => {
                    if set {
                        irq.pending_latch = true
                    }
                }
            },
            Op::ClearPending => match (who, v3) {
                // GICv3 ICPENDR is RAZ/WI via uaccess.
                (Who::User, true) => {}
                (Who::Guest, false) if v2_sgi => {}
                _ => {
                    if set {
                        irq.pending_latch = false;
                        if v2_sgi {
                            irq.source = 0;
                        }
                    }
                }
            },
            Op::SetActive | Op::ClearActive => {
                if set {
                    let active = op == Op::SetActive;
                    irq.active = active;
                    if active && v2_sgi {
                        // The requester's id, 0 from userspace (vgic_mmio_change_active).
                        irq.active_source = if who == Who::Guest { src_cpu as u8 } else { 0 };
                    }
                }
            }
            // "Narrow the priority range to what we actually support" (VGIC_PRI_BITS = 5).
            Op::Priority => irq.priority = (field as u8) & 0xf8,
            Op::Config => {
                // SGI config is fixed; PPIs read-only because "the arch timer code relies on PPIs
                // being level triggered" (vgic_mmio_write_config).
                if intid >= NR_PRIVATE {
                    irq.edge = field & 2 != 0;
                }
            }
            Op::Targets => {
                // GICD_ITARGETSR0..7 are read-only; others masked to existing vCPUs.
                if intid >= NR_PRIVATE {
                    let mask = if ncpu >= 8 { 0xff } else { (1u8 << ncpu) - 1 };
                    irq.targets = field as u8 & mask;
                }
            }
            _ => {}
        }
    }

    /// MMIO read by vCPU `cpu`. `None`: not a GIC address.
    pub fn mmio_read(&mut self, cpu: usize, addr: u64, size: u32) -> Option<u64> {
        let v = match self.frame(addr)? {
            Frame::Dist(off) => dist::read(self, cpu, Who::Guest, off, size),
            Frame::Redist(rcpu, off) => redist::read(self, rcpu, Who::Guest, off, size),
            Frame::Cpu(off) => gicc::read(self, cpu, Who::Guest, off, size),
        };
        self.touch();
        Some(v)
    }

    /// MMIO write by vCPU `cpu`. `false`: not a GIC address.
    pub fn mmio_write(&mut self, cpu: usize, addr: u64, size: u32, val: u64) -> bool {
        let f = match self.frame(addr) {
            Some(f) => f,
            None => return false,
        };
        match f {
            Frame::Dist(off) => {
                let _ = dist::write(self, cpu, Who::Guest, off, size, val);
            }
            Frame::Redist(rcpu, off) => {
                let _ = redist::write(self, rcpu, Who::Guest, off, size, val);
            }
            Frame::Cpu(off) => gicc::write(self, cpu, Who::Guest, off, size, val),
        }
        self.touch();
        true
    }

    fn frame(&self, addr: u64) -> Option<Frame> {
        let c = &self.cfg;
        if addr >= c.dist_base && addr - c.dist_base < if self.is_v3() { V3_DIST_SIZE } else { V2_DIST_SIZE } {
            return Some(Frame::Dist((addr - c.dist_base) as u32));
        }
        if self.is_v3() {
            if addr >= c.redist_base {
                let rel = addr - c.redist_base;
                let idx = (rel / V3_REDIST_SIZE) as usize;
                if idx < self.ncpu() {
                    return Some(Frame::Redist(idx, (rel % V3_REDIST_SIZE) as u32));
                }
            }
        } else if addr >= c.cpu_base && addr - c.cpu_base < V2_CPU_SIZE {
            return Some(Frame::Cpu((addr - c.cpu_base) as u32));
        }
        None
    }

    /// MRS of an ICC_* register. `None`: not an ICC register or UNDEFINED here.
    pub fn sysreg_read(&mut self, cpu: usize, enc: u32) -> Option<u64> {
        let v = icc::guest_read(self, cpu, enc);
        if v.is_some() {
            self.touch();
        }
        v
    }

    /// MSR of an ICC_* register. `false`: not an ICC register or UNDEFINED here.
    pub fn sysreg_write(&mut self, cpu: usize, enc: u32, val: u64) -> bool {
        let ok = icc::guest_write(self, cpu, enc, val);
        if ok {
            self.touch();
        }
        ok
    }

    /// Drive a PPI input line (the timers: 27 virtual, 30 physical; level-sensitive).
    pub fn set_ppi_level(&mut self, cpu: usize, intid: u32, level: bool) {
        if !(NR_SGIS..NR_PRIVATE).contains(&intid) {
            return;
        }
        if let Some(irq) = self.irq_mut(cpu, intid) {
            if irq.line_level != level {
                irq.line_level = level;
                self.touch();
            }
        }
    }

    /// Drive an SPI input line (level) or, for edge SPIs, signal an edge on a rising level.
    pub fn set_spi_level(&mut self, intid: u32, level: bool) {
        if intid < NR_PRIVATE {
            return;
        }
        if let Some(irq) = self.irq_mut(0, intid) {
            if irq.edge && level && !irq.line_level {
                irq.pending_latch = true;
            }
            irq.line_level = level;
            self.touch();
        }
    }

    /// Candidates for delivery to `cpu`: enabled, pending, not active, targeted here, and the
    /// distributor enabled. Yields (intid, priority, effective group).
    fn candidates(&self, cpu: usize) -> Vec<(u32, u8, u8)> {
        let mut out = Vec::new();
        if !self.enabled {
            return out;
        }
        if let Some(p) = self.private.get(cpu) {
            for (i, irq) in p.iter().enumerate() {
                if irq.enabled && irq.pending() && !irq.active {
                    out.push((i as u32, irq.priority, irq.group));
                }
            }
        }
        for (i, irq) in self.spis.iter().enumerate() {
            if irq.enabled && irq.pending() && !irq.active && self.spi_target(irq) == Some(cpu) {
                out.push((i as u32 + NR_PRIVATE, irq.priority, irq.group));
            }
        }
        out
    }

    fn lines(&self, cpu: usize) -> (bool, bool) {
        let cache = match self.line_cache.get(cpu) {
            Some(c) => c,
            None => return (false, false),
        };
        let (gen, irq, fiq) = cache.get();
        if gen == self.generation.get() {
            return (irq, fiq);
        }
        let (irq, fiq) = cpuif::signals(self, cpu);
        cache.set((self.generation.get(), irq, fiq));
        (irq, fiq)
    }

    /// IRQ line to vCPU `cpu` (before PSTATE.I masking).
    pub fn irq_pending(&self, cpu: usize) -> bool {
        self.lines(cpu).0
    }

    /// FIQ line to vCPU `cpu` (before PSTATE.F masking).
    pub fn fiq_pending(&self, cpu: usize) -> bool {
        self.lines(cpu).1
    }

    /// KVM_GET_DEVICE_ATTR. Err = positive errno.
    pub fn get_attr(&mut self, group: u32, attr: u64) -> Result<u64, i32> {
        let r = attr::get(self, group, attr);
        self.touch();
        r
    }

    /// KVM_SET_DEVICE_ATTR. Err = positive errno.
    pub fn set_attr(&mut self, group: u32, attr: u64, val: u64) -> Result<(), i32> {
        let r = attr::set(self, group, attr, val);
        self.touch();
        r
    }

    /// KVM_HAS_DEVICE_ATTR.
    pub fn has_attr(&self, group: u32, attr: u64) -> Result<(), i32> {
        attr::has(self, group, attr)
    }
}

/// ICC_CTLR_EL1.IDbits field for a configured INTID size (0/1 encoding or 16/24 bits).
pub fn id_bits_field(id_bits: u8) -> u8 {
    match id_bits {
        1 | 24..=u8::MAX => 1,
        _ => 0,
    }
}

enum Frame {
    Dist(u32),
    Redist(usize, u32),
    Cpu(u32),
}
