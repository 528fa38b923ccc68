//! The generic timer of one vCPU: the EL1 virtual timer (CNTV_*) and the EL1 physical timer
//! (CNTP_*), as a KVM guest sees them, plus KVM's ONE_REG view of both.
//!
//! Time never enters on its own: every call carries `now_phys`, the machine's physical count
//! (the host counter). The guest's counters are offsets from it:
//! CNTVCT_EL0 = now_phys - voffset (CNTVOFF_EL2, which KVM owns) and
//! CNTPCT_EL0 = now_phys - poffset (KVM's physical offset, 6.4+; 0 before).
//!
//! Rows below carry two encodings: the architectural one (what MRS/MSR use,
//! op0<<14|op1<<11|CRn<<7|CRm<<3|op2, ARM DDI 0487 D24.x) and the KVM ONE_REG id. KVM's ids for
//! TIMER_CVAL and TIMER_CNT are swapped relative to the architectural encodings of CNTV_CVAL_EL0
//! and CNTVCT_EL0; the uapi header says so ("KVM_REG_ARM_TIMER_CVAL and KVM_REG_ARM_TIMER_CNT
//! ... have their values accidentally swapped", arch/arm64/include/uapi/asm/kvm.h, api.rst
//! warning added in 2020). This ABI is permanent, so KVM ids are named after KVM, never after
//! the architectural register.
//!
//! Deterministic choices where the architecture leaves room:
//! - CNTx_CTL.ISTATUS is UNKNOWN while ENABLE is 0 (DDI 0487 D12.x). KVM's `read_timer_ctl`
//!   reports it "regardless of ENABLE bit for our implementation convenience"
//!   (arch/arm64/kvm/arch_timer.c), and so do we, for the guest and for userspace.
//! - Writing TIMER_CNT sets the virtual offset of *this* timer. KVM applies it to every vCPU of
//!   the VM (`update_vtimer_cntvoff`); the machine is expected to do the same by calling
//!   `set_kvm_reg` on each vCPU's timer or `set_voffset`.

/// Architectural encodings (op0, op1, CRn, CRm, op2), DDI 0487 D24.
const fn enc(op0: u32, op1: u32, crn: u32, crm: u32, op2: u32) -> u32 {
    op0 << 14 | op1 << 11 | crn << 7 | crm << 3 | op2
}

pub const CNTFRQ_EL0: u32 = enc(3, 3, 14, 0, 0);
pub const CNTPCT_EL0: u32 = enc(3, 3, 14, 0, 1);
pub const CNTVCT_EL0: u32 = enc(3, 3, 14, 0, 2);
pub const CNTP_TVAL_EL0: u32 = enc(3, 3, 14, 2, 0);
pub const CNTP_CTL_EL0: u32 = enc(3, 3, 14, 2, 1);
pub const CNTP_CVAL_EL0: u32 = enc(3, 3, 14, 2, 2);
pub const CNTV_TVAL_EL0: u32 = enc(3, 3, 14, 3, 0);
pub const CNTV_CTL_EL0: u32 = enc(3, 3, 14, 3, 1);
pub const CNTV_CVAL_EL0: u32 = enc(3, 3, 14, 3, 2);

/// `KVM_REG_ARM64 | KVM_REG_SIZE_U64 | KVM_REG_ARM64_SYSREG` (api.rst, "ARM64 system registers").
const KVM_SYSREG: u64 = 0x6030_0000_0013_0000;
/// KVM_REG_ARM_TIMER_CTL = ARM64_SYS_REG(3, 3, 14, 3, 1) (uapi asm/kvm.h).
pub const KVM_REG_ARM_TIMER_CTL: u64 = KVM_SYSREG | 0xdf19;
/// KVM_REG_ARM_TIMER_CNT = ARM64_SYS_REG(3, 3, 14, 3, 2): the CNTV_CVAL encoding, swapped.
pub const KVM_REG_ARM_TIMER_CNT: u64 = KVM_SYSREG | 0xdf1a;
/// KVM_REG_ARM_TIMER_CVAL = ARM64_SYS_REG(3, 3, 14, 0, 2): the CNTVCT encoding, swapped.
pub const KVM_REG_ARM_TIMER_CVAL: u64 = KVM_SYSREG | 0xdf02;
/// KVM_REG_ARM_PTIMER_CTL = ARM64_SYS_REG(3, 3, 14, 2, 1).
pub const KVM_REG_ARM_PTIMER_CTL: u64 = KVM_SYSREG | 0xdf11;
/// KVM_REG_ARM_PTIMER_CVAL = ARM64_SYS_REG(3, 3, 14, 2, 2).
pub const KVM_REG_ARM_PTIMER_CVAL: u64 = KVM_SYSREG | 0xdf12;
/// KVM_REG_ARM_PTIMER_CNT = ARM64_SYS_REG(3, 3, 14, 0, 1); writable since 6.4 ("KVM: arm64:
/// timers: Allow save/restoring of the physical timer"), which sets the physical offset.
pub const KVM_REG_ARM_PTIMER_CNT: u64 = KVM_SYSREG | 0xdf01;

/// CNTx_CTL bits (DDI 0487 D24, CNTV_CTL_EL0).
pub const CTL_ENABLE: u64 = 1 << 0;
pub const CTL_IMASK: u64 = 1 << 1;
pub const CTL_ISTATUS: u64 = 1 << 2;

/// The PPIs KVM wires the timers to by default (virt board / KVM_ARM_VCPU_TIMER_IRQ_* defaults:
/// vtimer 27, ptimer 30).
pub const PPI_VTIMER: u32 = 27;
pub const PPI_PTIMER: u32 = 30;

/// Which of the two EL1 timers a row talks about.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Which {
    Virt,
    Phys,
}

/// What a register row reads or writes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Field {
    Ctl,
    Cval,
    Tval,
    Count,
}

/// One row per guest-visible timer register (DDI 0487 D24.x).
struct SysRow {
    name: &'static str,
    enc: u32,
    timer: Which,
    field: Field,
    /// CNTVCT/CNTPCT are read-only: MSR to them is an unallocated encoding (UNDEFINED).
    writable: bool,
}

const SYS_ROWS: &[SysRow] = &[
    SysRow { name: "CNTV_CTL_EL0", enc: CNTV_CTL_EL0, timer: Which::Virt, field: Field::Ctl, writable: true },
    SysRow { name: "CNTV_CVAL_EL0", enc: CNTV_CVAL_EL0, timer: Which::Virt, field: Field::Cval, writable: true },
    SysRow { name: "CNTV_TVAL_EL0", enc: CNTV_TVAL_EL0, timer: Which::Virt, field: Field::Tval, writable: true },
    SysRow { name: "CNTVCT_EL0", enc: CNTVCT_EL0, timer: Which::Virt, field: Field::Count, writable: false },
    SysRow { name: "CNTP_CTL_EL0", enc: CNTP_CTL_EL0, timer: Which::Phys, field: Field::Ctl, writable: true },
    SysRow { name: "CNTP_CVAL_EL0", enc: CNTP_CVAL_EL0, timer: Which::Phys, field: Field::Cval, writable: true },
    SysRow { name: "CNTP_TVAL_EL0", enc: CNTP_TVAL_EL0, timer: Which::Phys, field: Field::Tval, writable: true },
    SysRow { name: "CNTPCT_EL0", enc: CNTPCT_EL0, timer: Which::Phys, field: Field::Count, writable: false },
];

/// One row per KVM ONE_REG id (uapi asm/kvm.h). The names are KVM's.
struct KvmRow {
    name: &'static str,
    id: u64,
    timer: Which,
    field: KvmField,
}

/// KVM has no TVAL id: ONE_REG exposes CTL, CVAL and the counter only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum KvmField {
    Ctl,
    Cval,
    Count,
}

const KVM_ROWS: &[KvmRow] = &[
    KvmRow { name: "KVM_REG_ARM_TIMER_CTL", id: KVM_REG_ARM_TIMER_CTL, timer: Which::Virt, field: KvmField::Ctl },
    KvmRow { name: "KVM_REG_ARM_TIMER_CNT", id: KVM_REG_ARM_TIMER_CNT, timer: Which::Virt, field: KvmField::Count },
    KvmRow { name: "KVM_REG_ARM_TIMER_CVAL", id: KVM_REG_ARM_TIMER_CVAL, timer: Which::Virt, field: KvmField::Cval },
    KvmRow { name: "KVM_REG_ARM_PTIMER_CTL", id: KVM_REG_ARM_PTIMER_CTL, timer: Which::Phys, field: KvmField::Ctl },
    KvmRow { name: "KVM_REG_ARM_PTIMER_CNT", id: KVM_REG_ARM_PTIMER_CNT, timer: Which::Phys, field: KvmField::Count },
    KvmRow { name: "KVM_REG_ARM_PTIMER_CVAL", id: KVM_REG_ARM_PTIMER_CVAL, timer: Which::Phys, field: KvmField::Cval },
];

/// Name of an architectural timer register encoding, for messages.
pub fn sysreg_name(enc: u32) -> Option<&'static str> {
    if enc == CNTFRQ_EL0 {
        return Some("CNTFRQ_EL0");
    }
    SYS_ROWS.iter().find(|r| r.enc == enc).map(|r| r.name)
}

/// Name of a KVM timer ONE_REG id, for messages.
pub fn kvm_reg_name(id: u64) -> Option<&'static str> {
    KVM_ROWS.iter().find(|r| r.id == id).map(|r| r.name)
}

/// State of one EL1 timer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimerContext {
    /// ENABLE and IMASK only; ISTATUS is computed.
    pub ctl: u64,
    pub cval: u64,
    /// Subtracted from the physical count to give this timer's counter.
    pub offset: u64,
}

impl TimerContext {
    fn count(&self, now_phys: u64) -> u64 {
        now_phys.wrapping_sub(self.offset)
    }

    /// The timer condition: counter >= CVAL (DDI 0487 D12.2.4, unsigned 64-bit compare).
    fn condition(&self, now_phys: u64) -> bool {
        self.count(now_phys) >= self.cval
    }

    fn read_ctl(&self, now_phys: u64) -> u64 {
        let mut v = self.ctl & (CTL_ENABLE | CTL_IMASK);
        if self.condition(now_phys) {
            v |= CTL_ISTATUS;
        }
        v
    }

    /// The output line: enabled, condition met, not masked.
    fn line(&self, now_phys: u64) -> bool {
        self.ctl & CTL_ENABLE != 0 && self.ctl & CTL_IMASK == 0 && self.condition(now_phys)
    }

    /// The physical count at which the line rises, if it will. Counters wrap modulo 2^64 (an
    /// offset may be "negative"), so the wait is measured from the counter now: the line rises
    /// after CVAL - counter more ticks, unless the physical count would overflow first.
    fn deadline(&self, now_phys: u64) -> Option<u64> {
        if self.ctl & CTL_ENABLE == 0 || self.ctl & CTL_IMASK != 0 {
            return None;
        }
        let count = self.count(now_phys);
        if count >= self.cval {
            return Some(now_phys);
        }
        now_phys.checked_add(self.cval - count)
    }
}

/// The two EL1 timers of one vCPU.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Timer {
    pub virt: TimerContext,
    pub phys: TimerContext,
}

impl Timer {
    /// Reset state: both timers disabled, CVAL 0, offsets 0 (KVM resets CTL to 0 in
    /// `kvm_timer_vcpu_reset`; CVAL and the offsets are whatever userspace restores).
    pub fn new() -> Timer {
        Timer::default()
    }

    fn ctx(&self, w: Which) -> &TimerContext {
        match w {
            Which::Virt => &self.virt,
            Which::Phys => &self.phys,
        }
    }

    fn ctx_mut(&mut self, w: Which) -> &mut TimerContext {
        match w {
            Which::Virt => &mut self.virt,
            Which::Phys => &mut self.phys,
        }
    }

    /// vCPU reset (KVM_ARM_VCPU_INIT, PSCI CPU_ON): `kvm_timer_vcpu_reset` clears both CTLs
    /// ("The bits in CNTV_CTL are architecturally reset to UNKNOWN ... reset to 0"); CVAL and
    /// the offsets, which are VM state, stay.
    pub fn vcpu_reset(&mut self) {
        self.virt.ctl = 0;
        self.phys.ctl = 0;
    }

    pub fn voffset(&self) -> u64 {
        self.virt.offset
    }

    pub fn set_voffset(&mut self, off: u64) {
        self.virt.offset = off;
    }

    pub fn poffset(&self) -> u64 {
        self.phys.offset
    }

    pub fn set_poffset(&mut self, off: u64) {
        self.phys.offset = off;
    }

    /// MRS of a timer register at EL1/EL0. `None`: not a timer register (the CPU decides).
    pub fn sysreg_read(&mut self, enc: u32, now_phys: u64, cntfrq: u64) -> Option<u64> {
        if enc == CNTFRQ_EL0 {
            return Some(cntfrq);
        }
        let row = SYS_ROWS.iter().find(|r| r.enc == enc)?;
        let t = self.ctx(row.timer);
        Some(match row.field {
            Field::Ctl => t.read_ctl(now_phys),
            Field::Cval => t.cval,
            // TimerValue = (CVAL - counter)[31:0]; bits [63:32] RES0 (DDI 0487, CNTV_TVAL_EL0).
            Field::Tval => t.cval.wrapping_sub(t.count(now_phys)) & 0xffff_ffff,
            Field::Count => t.count(now_phys),
        })
    }

    /// MSR of a timer register. `false`: not a writable timer register (the CPU raises UNDEF).
    pub fn sysreg_write(&mut self, enc: u32, val: u64, now_phys: u64) -> bool {
        let row = match SYS_ROWS.iter().find(|r| r.enc == enc) {
            Some(r) if r.writable => r,
            _ => return false,
        };
        let t = self.ctx_mut(row.timer);
        match row.field {
            // ISTATUS is read-only; other bits RES0.
            Field::Ctl => t.ctl = val & (CTL_ENABLE | CTL_IMASK),
            Field::Cval => t.cval = val,
            // CVAL = counter + SignExtend(TVAL[31:0]) (DDI 0487, CNTV_TVAL_EL0).
            Field::Tval => {
                let tval = (val as u32) as i32 as i64 as u64;
                t.cval = t.count(now_phys).wrapping_add(tval);
            }
            Field::Count => return false,
        }
        true
    }

    /// Physical count at which an enabled, unmasked timer line next rises (`now_phys` if one is
    /// already high); `None` if no line will rise without a register write.
    pub fn next_deadline(&self, now_phys: u64) -> Option<u64> {
        match (self.virt.deadline(now_phys), self.phys.deadline(now_phys)) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, None) => a,
            (None, b) => b,
        }
    }

    /// Timer output lines: (virtual → PPI 27, physical → PPI 30). Level-sensitive.
    pub fn lines(&self, now_phys: u64) -> (bool, bool) {
        (self.virt.line(now_phys), self.phys.line(now_phys))
    }

    /// KVM_GET_ONE_REG for the timer ids. `None`: not a timer id.
    pub fn get_kvm_reg(&self, id: u64, now_phys: u64) -> Option<u64> {
        let row = KVM_ROWS.iter().find(|r| r.id == id)?;
        let t = self.ctx(row.timer);
        Some(match row.field {
            KvmField::Ctl => t.read_ctl(now_phys),
            KvmField::Cval => t.cval,
            KvmField::Count => t.count(now_phys),
        })
    }

    /// KVM_SET_ONE_REG for the timer ids. `false`: not a timer id. Which ids a given kernel
    /// accepts (PTIMER_* only from 6.4, or vendor backports) is the TypeScript restore model's
    /// business; this holds the state the kernel would hold once accepted.
    pub fn set_kvm_reg(&mut self, id: u64, val: u64, now_phys: u64) -> bool {
        let row = match KVM_ROWS.iter().find(|r| r.id == id) {
            Some(r) => r,
            None => return false,
        };
        let t = self.ctx_mut(row.timer);
        match row.field {
            // kvm_arm_timer_set_reg stores CTL; ISTATUS is recomputed on read.
            KvmField::Ctl => t.ctl = val & (CTL_ENABLE | CTL_IMASK),
            KvmField::Cval => t.cval = val,
            // Writing the counter sets the offset: offset = phys - value (arch_timer.c,
            // update_vtimer_cntvoff / the 6.4 poffset equivalent).
            KvmField::Count => t.offset = now_phys.wrapping_sub(val),
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kvm_ids_are_the_uapi_values() {
        assert_eq!(KVM_REG_ARM_TIMER_CNT, 0x6030_0000_0013_df1a);
        assert_eq!(KVM_REG_ARM_TIMER_CVAL, 0x6030_0000_0013_df02);
        assert_eq!(KVM_REG_ARM_TIMER_CTL, 0x6030_0000_0013_df19);
        // The swap: TIMER_CNT carries CNTV_CVAL_EL0's encoding and TIMER_CVAL CNTVCT_EL0's.
        assert_eq!(KVM_REG_ARM_TIMER_CNT & 0xffff, CNTV_CVAL_EL0 as u64);
        assert_eq!(KVM_REG_ARM_TIMER_CVAL & 0xffff, CNTVCT_EL0 as u64);
    }
}
