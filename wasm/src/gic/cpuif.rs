//! The virtual CPU interface of one vCPU: priority mask, binary points, active priorities,
//! acknowledge, priority drop, deactivation and the IRQ/FIQ lines. KVM backs it with the
//! hardware's virtual interface (ICH_*/ICV_* on GICv3 hosts, GICH/GICV on GICv2 hosts), so the
//! behaviour is the architecture's (IHI0069 §4.8 and §12.5 for ICV_*; IHI0048 §3.3 and §5.3 for
//! GICV_*), with the number of priority bits the host has (ICH_VTR_EL2.PRIbits).

use super::irq::NR_SGIS;
use super::Gic;

/// Spurious INTIDs (IHI0069 §2.2.1): 1022 = "group 1 pending but not acknowledgeable here"
/// (GICv2 AckCtl=0), 1023 = nothing to acknowledge.
pub const SPURIOUS_1022: u32 = 1022;
pub const SPURIOUS: u32 = 1023;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CpuIf {
    /// Priority bits the hardware implements (ICH_VTR_EL2.PRIbits + 1): what the guest's ICV_*
    /// registers and priority logic use.
    pub pri_bits: u8,
    /// ICH_VTR_EL2.IDbits (the ICC_CTLR_EL1.IDbits encoding).
    pub id_bits: u8,
    /// KVM's `vgic_cpu.num_pri_bits` / `num_id_bits`: start at the hardware values; a userspace
    /// ICC_CTLR_EL1 write may lower them (access_gic_ctlr). They shape the userspace view of
    /// ICC_CTLR_EL1 and which AP registers userspace may touch; the guest, whose ICV_CTLR_EL1
    /// reads come from the hardware, keeps seeing `pri_bits` / `id_bits`.
    pub num_pri_bits: u8,
    pub num_id_bits: u8,
    pub pmr: u8,
    /// Binary points as KVM's VMCR holds them (`vgic_vmcr.bpr` / `abpr`). KVM resets the VMCR
    /// to 0 and userspace reads it raw (a real 6.1/6.12 reads ICC_BPR0/1_EL1 0x0 after init,
    /// tests/fixtures/oracle); the guest's ICV_BPRn_EL1 never show less than the minimum.
    pub bpr0: u8,
    pub bpr1: u8,
    pub cbpr: bool,
    pub eoimode: bool,
    pub grpen: [bool; 2],
    /// Active priorities, group 0 and group 1 (ICH_AP0Rn / ICH_AP1Rn; GICv2 uses [0] only,
    /// GICH_APR being a single register).
    pub apr: [[u32; 4]; 2],
    /// GICv2 GICV_CTLR.AckCtl and FIQEn.
    pub ackctl: bool,
    pub fiqen: bool,
}

impl CpuIf {
    /// KVM resets ICH_VMCR to 0 "so that the GIC will restore the binary points to their reset
    /// values" (vgic_v3_enable); the reset binary points are the minimums.
    pub fn new(pri_bits: u8, id_bits: u8) -> CpuIf {
        CpuIf {
            pri_bits,
            id_bits,
            num_pri_bits: pri_bits,
            num_id_bits: id_bits,
            pmr: 0,
            bpr0: 0,
            bpr1: 0,
            cbpr: false,
            eoimode: false,
            grpen: [false; 2],
            apr: [[0; 4]; 2],
            ackctl: false,
            fiqen: false,
        }
    }

    /// Implemented priority bits as a mask of the priority byte.
    pub fn pri_mask(&self) -> u8 {
        (0xff00u16 >> self.pri_bits) as u8
    }

    /// Minimum BPR0 = 7 - PRIbits, the binary point that leaves all implemented priority bits
    /// in the group priority (IHI0069 ICC_BPR0_EL1: a write below the minimum sets the minimum).
    pub fn min_bpr0(&self) -> u8 {
        7 - self.pri_bits.min(7)
    }

    /// ICV_BPR0_EL1 as the guest sees it.
    pub fn guest_bpr0(&self) -> u8 {
        self.bpr0.max(self.min_bpr0())
    }

    /// ICV_BPR1_EL1 (CBPR clear) as the guest sees it: the minimum is one more than BPR0's.
    pub fn guest_bpr1(&self) -> u8 {
        self.bpr1.max(self.min_bpr0() + 1)
    }

    /// A guest write: the hardware stores the minimum for anything below it.
    pub fn set_bpr0(&mut self, v: u8) {
        self.bpr0 = (v & 7).max(self.min_bpr0());
    }

    pub fn set_bpr1(&mut self, v: u8) {
        self.bpr1 = (v & 7).max(self.min_bpr0() + 1);
    }

    pub fn set_pmr(&mut self, v: u8) {
        self.pmr = v & self.pri_mask();
    }

    /// Highest APR register index the hardware has (IHI0069: ICV_AP1R<n> for n beyond it are
    /// UNDEFINED).
    pub fn max_apr_idx(&self) -> usize {
        apr_idx_for(self.pri_bits)
    }

    /// Highest APR index userspace may access (vgic_v3_max_apr_idx, on num_pri_bits).
    pub fn max_user_apr_idx(&self) -> usize {
        apr_idx_for(self.num_pri_bits)
    }
}

/// vgic_v3_max_apr_idx: 7 priority bits need AP*R0..3, 6 need AP*R0..1, fewer AP*R0.
fn apr_idx_for(pri_bits: u8) -> usize {
    match pri_bits {
        7 => 3,
        6 => 1,
        _ => 0,
    }
}

impl CpuIf {
    /// Group priority: the priority bits above the binary point (IHI0069 §4.8.5). Group 1 uses
    /// BPR1 unless CBPR, in which case BPR0 governs both.
    fn group_prio(&self, group: u8, prio: u8) -> u8 {
        let p = prio & self.pri_mask();
        let shift = if group == 0 || self.cbpr { self.guest_bpr0() + 1 } else { self.guest_bpr1() };
        if shift >= 8 {
            0
        } else {
            p & (0xffu8 << shift)
        }
    }

    fn apr_index(&self, gprio: u8) -> u32 {
        (gprio >> (8 - self.pri_bits)) as u32
    }

    /// Running priority: the highest active priority in the APRs, 0xff when idle.
    pub fn rpr(&self) -> u8 {
        let mut best: Option<u32> = None;
        for g in 0..2 {
            for (w, word) in self.apr[g].iter().enumerate() {
                if *word != 0 {
                    let idx = w as u32 * 32 + word.trailing_zeros();
                    best = Some(best.map_or(idx, |b: u32| b.min(idx)));
                    break;
                }
            }
        }
        match best {
            Some(i) => ((i << (8 - self.pri_bits)) & 0xff) as u8,
            None => 0xff,
        }
    }

    fn set_active_priority(&mut self, v2: bool, group: u8, prio: u8) {
        let idx = self.apr_index(self.group_prio(group, prio));
        let g = if v2 { 0 } else { group as usize };
        if let Some(w) = self.apr[g].get_mut((idx / 32) as usize) {
            *w |= 1 << (idx % 32);
        }
    }

    /// Priority drop: clear the highest active priority (lowest set bit over both groups).
    pub fn drop_priority(&mut self) {
        let mut best: Option<(usize, usize, u32)> = None;
        for g in 0..2 {
            for w in 0..4 {
                let word = self.apr[g][w];
                if word != 0 {
                    let idx = w as u32 * 32 + word.trailing_zeros();
                    if best.map_or(true, |(_, _, b)| idx < b) {
                        best = Some((g, w, idx));
                    }
                    break;
                }
            }
        }
        if let Some((g, w, idx)) = best {
            self.apr[g][w] &= !(1 << (idx % 32));
        }
    }

    /// Whether an interrupt of this group and priority would be signalled now: its group is
    /// enabled, it passes the priority mask, and its group priority preempts the running one.
    fn can_signal(&self, group: u8, prio: u8) -> bool {
        self.grpen[group as usize & 1]
            && (prio & self.pri_mask()) < self.pmr
            && self.group_prio(group, prio) < self.rpr()
    }
}

/// Highest-priority candidate whose group is enabled: lowest priority value, then lowest INTID.
fn hppi(gic: &Gic, cpu: usize, need_grpen: bool) -> Option<(u32, u8, u8)> {
    let c = &gic.cpus[cpu];
    let mut best: Option<(u32, u8, u8)> = None;
    for (intid, prio, group) in gic.candidates(cpu) {
        if need_grpen && !c.grpen[group as usize & 1] {
            continue;
        }
        let p = prio & c.pri_mask();
        if best.map_or(true, |(_, bp, _)| p < bp) {
            best = Some((intid, p, group));
        }
    }
    best
}

/// The interrupt that would be signalled to `cpu`, if any: (intid, priority, group).
pub fn signalled(gic: &Gic, cpu: usize) -> Option<(u32, u8, u8)> {
    let (intid, prio, group) = hppi(gic, cpu, true)?;
    if gic.cpus[cpu].can_signal(group, prio) {
        Some((intid, prio, group))
    } else {
        None
    }
}

/// (IRQ, FIQ) lines. GICv3 with SRE=1 as KVM presents it to a non-secure EL1 guest: group 0 is
/// a virtual FIQ, group 1 a virtual IRQ. GICv2 (GICV): group 1 is IRQ; group 0 is FIQ when
/// GICV_CTLR.FIQEn is set, IRQ otherwise.
pub fn signals(gic: &Gic, cpu: usize) -> (bool, bool) {
    match signalled(gic, cpu) {
        None => (false, false),
        Some((_, _, group)) => {
            let fiq = group == 0 && (gic.is_v3() || gic.cpus[cpu].fiqen);
            (!fiq, fiq)
        }
    }
}

/// Highest pending interrupt for HPPIR: not masked by PMR or the running priority.
pub fn hppir(gic: &Gic, cpu: usize, group: u8) -> u32 {
    match hppi(gic, cpu, false) {
        Some((intid, _, g)) if g == group => with_source(gic, cpu, intid),
        _ => SPURIOUS,
    }
}

/// GICv2 SGIs carry the lowest source vCPU in [12:10] (IHI0048 §4.4.4).
fn with_source(gic: &Gic, cpu: usize, intid: u32) -> u32 {
    if !gic.is_v3() && intid < NR_SGIS {
        if let Some(irq) = gic.irq(cpu, intid) {
            if irq.source != 0 {
                return intid | (irq.source.trailing_zeros() << 10);
            }
        }
    }
    intid
}

/// Acknowledge for group `group`: returns the INTID (with the GICv2 SGI source) or a spurious
/// ID. `ack_other_group` lets a GICv2 GICC_IAR take group 1 when AckCtl is set.
pub fn acknowledge(gic: &mut Gic, cpu: usize, group: u8, ack_other_group: bool) -> u32 {
    let (intid, prio, g) = match signalled(gic, cpu) {
        Some(s) => s,
        None => return SPURIOUS,
    };
    if g != group && !ack_other_group {
        // GICv2 GICC_IAR with a group 1 interrupt and AckCtl=0 answers 1022.
        return if !gic.is_v3() && group == 0 && g == 1 { SPURIOUS_1022 } else { SPURIOUS };
    }
    let v3 = gic.is_v3();
    let id = with_source(gic, cpu, intid);
    let src = (id >> 10) & 7;
    if let Some(irq) = gic.irq_mut(cpu, intid) {
        irq.active = true;
        if !v3 && intid < NR_SGIS {
            irq.source &= !(1u8 << src);
            irq.active_source = src as u8;
            irq.pending_latch = irq.source != 0;
        } else {
            irq.pending_latch = false;
        }
    }
    gic.cpus[cpu].set_active_priority(!v3, g, prio);
    id
}

/// End of interrupt: priority drop, and deactivation unless EOImode is set.
pub fn eoi(gic: &mut Gic, cpu: usize, val: u32) {
    let intid = val & if gic.is_v3() { 0xff_ffff } else { 0x3ff };
    if (1020..1024).contains(&intid) {
        return;
    }
    gic.cpus[cpu].drop_priority();
    if !gic.cpus[cpu].eoimode {
        deactivate(gic, cpu, intid);
    }
}

/// ICC_DIR / GICC_DIR: deactivate; only meaningful with EOImode set.
pub fn dir(gic: &mut Gic, cpu: usize, val: u32) {
    let intid = val & if gic.is_v3() { 0xff_ffff } else { 0x3ff };
    if gic.cpus[cpu].eoimode {
        deactivate(gic, cpu, intid);
    }
}

fn deactivate(gic: &mut Gic, cpu: usize, intid: u32) {
    if let Some(irq) = gic.irq_mut(cpu, intid) {
        irq.active = false;
    }
}
