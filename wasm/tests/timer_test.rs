//! The generic timer: counters as offsets of the physical count, CVAL/TVAL arithmetic, ISTATUS,
//! the output lines, WFI deadlines and KVM's ONE_REG view with the TIMER_CNT/TIMER_CVAL swap.

use rollsafe_emu::timer::*;

const FRQ: u64 = 62_500_000;

#[test]
fn reset_state() {
    let mut t = Timer::new();
    assert_eq!(t.sysreg_read(CNTV_CTL_EL0, 1000, FRQ), Some(CTL_ISTATUS), "CVAL 0 has passed");
    assert_eq!(t.sysreg_read(CNTV_CVAL_EL0, 1000, FRQ), Some(0));
    assert_eq!(t.sysreg_read(CNTVCT_EL0, 1000, FRQ), Some(1000));
    assert_eq!(t.sysreg_read(CNTPCT_EL0, 1000, FRQ), Some(1000));
    assert_eq!(t.sysreg_read(CNTFRQ_EL0, 1000, FRQ), Some(FRQ));
    assert_eq!(t.lines(1000), (false, false), "disabled timers drive nothing");
    assert_eq!(t.next_deadline(1000), None);
    assert_eq!(t.sysreg_read(0x1234, 0, FRQ), None);
}

#[test]
fn counters_are_read_only() {
    let mut t = Timer::new();
    assert!(!t.sysreg_write(CNTVCT_EL0, 5, 0));
    assert!(!t.sysreg_write(CNTPCT_EL0, 5, 0));
    assert!(!t.sysreg_write(CNTFRQ_EL0, 5, 0));
}

#[test]
fn cval_compare_and_lines() {
    let mut t = Timer::new();
    assert!(t.sysreg_write(CNTV_CVAL_EL0, 5000, 1000));
    assert!(t.sysreg_write(CNTV_CTL_EL0, CTL_ENABLE | CTL_ISTATUS, 1000));
    // ISTATUS is not writable.
    assert_eq!(t.sysreg_read(CNTV_CTL_EL0, 1000, FRQ), Some(CTL_ENABLE));
    assert_eq!(t.lines(4999), (false, false));
    assert_eq!(t.lines(5000), (true, false));
    assert_eq!(t.sysreg_read(CNTV_CTL_EL0, 5000, FRQ), Some(CTL_ENABLE | CTL_ISTATUS));
    // IMASK keeps ISTATUS but drops the line.
    assert!(t.sysreg_write(CNTV_CTL_EL0, CTL_ENABLE | CTL_IMASK, 6000));
    assert_eq!(t.sysreg_read(CNTV_CTL_EL0, 6000, FRQ), Some(CTL_ENABLE | CTL_IMASK | CTL_ISTATUS));
    assert_eq!(t.lines(6000), (false, false));
    // The physical timer is independent and drives the second line.
    assert!(t.sysreg_write(CNTP_CVAL_EL0, 7000, 6000));
    assert!(t.sysreg_write(CNTP_CTL_EL0, CTL_ENABLE, 6000));
    assert_eq!(t.lines(7000), (false, true));
}

#[test]
fn tval_is_signed_32_bit_relative_to_the_counter() {
    let mut t = Timer::new();
    t.set_voffset(100);
    // CVAL = CNTVCT + TVAL.
    assert!(t.sysreg_write(CNTV_TVAL_EL0, 500, 1100));
    assert_eq!(t.sysreg_read(CNTV_CVAL_EL0, 1100, FRQ), Some(1500));
    assert_eq!(t.sysreg_read(CNTV_TVAL_EL0, 1200, FRQ), Some(400));
    // After expiry TVAL counts below zero, as a 32-bit value.
    assert_eq!(t.sysreg_read(CNTV_TVAL_EL0, 1610, FRQ), Some(0xffff_fff6));
    // A negative TVAL (bit 31 set) sign-extends: CVAL = counter - 16.
    assert!(t.sysreg_write(CNTV_TVAL_EL0, 0xffff_fff0, 2100));
    assert_eq!(t.sysreg_read(CNTV_CVAL_EL0, 2100, FRQ), Some(2000 - 16));
    // Bits [63:32] of a TVAL write are ignored.
    assert!(t.sysreg_write(CNTV_TVAL_EL0, 0xdead_0000_0000_0010, 2100));
    assert_eq!(t.sysreg_read(CNTV_CVAL_EL0, 2100, FRQ), Some(2016));
}

#[test]
fn wfi_deadline_includes_the_virtual_offset() {
    let mut t = Timer::new();
    t.set_voffset(10_000);
    assert!(t.sysreg_write(CNTV_CVAL_EL0, 2_000, 0));
    assert!(t.sysreg_write(CNTV_CTL_EL0, CTL_ENABLE, 0));
    // CNTVCT reaches 2000 when the physical count reaches 12000.
    assert_eq!(t.next_deadline(11_000), Some(12_000));
    assert_eq!(t.lines(11_999), (false, false));
    assert_eq!(t.lines(12_000), (true, false));
    // An earlier physical deadline wins; a masked one does not count.
    assert!(t.sysreg_write(CNTP_CVAL_EL0, 11_500, 0));
    assert!(t.sysreg_write(CNTP_CTL_EL0, CTL_ENABLE | CTL_IMASK, 0));
    assert_eq!(t.next_deadline(11_000), Some(12_000));
    assert!(t.sysreg_write(CNTP_CTL_EL0, CTL_ENABLE, 0));
    assert_eq!(t.next_deadline(11_000), Some(11_500));
    // Already expired: now.
    assert_eq!(t.next_deadline(13_000), Some(13_000));
    // A counter offset past the physical count (a restored VM whose counter is ahead of the
    // host's): CNTVCT wraps, and the deadline is still CVAL - CNTVCT ticks away.
    let mut t = Timer::new();
    assert!(t.set_kvm_reg(KVM_REG_ARM_TIMER_CNT, 5_000, 100));
    assert_eq!(t.voffset(), 100u64.wrapping_sub(5_000));
    assert!(t.sysreg_write(CNTV_CVAL_EL0, 6_000, 100));
    assert!(t.sysreg_write(CNTV_CTL_EL0, CTL_ENABLE, 100));
    assert_eq!(t.next_deadline(100), Some(1_100));
    assert_eq!(t.lines(1_099), (false, false));
    assert_eq!(t.lines(1_100), (true, false));
    // A CVAL the counter reaches only after the physical count overflows: no deadline.
    let mut t = Timer::new();
    t.set_voffset(1 << 63);
    assert!(t.sysreg_write(CNTV_CVAL_EL0, u64::MAX, 0));
    assert!(t.sysreg_write(CNTV_CTL_EL0, CTL_ENABLE, 0));
    assert_eq!(t.next_deadline(u64::MAX - 5), None);
}

#[test]
fn kvm_one_reg_with_the_cnt_cval_swap() {
    let mut t = Timer::new();
    let now = 1_000_000;
    // TIMER_CNT (0x...df1a, CNTV_CVAL_EL0's encoding) is the counter: writing it sets CNTVOFF.
    assert!(t.set_kvm_reg(KVM_REG_ARM_TIMER_CNT, 400_000, now));
    assert_eq!(t.voffset(), 600_000);
    assert_eq!(t.sysreg_read(CNTVCT_EL0, now + 5, FRQ), Some(400_005));
    assert_eq!(t.get_kvm_reg(KVM_REG_ARM_TIMER_CNT, now + 5), Some(400_005));
    // TIMER_CVAL (0x...df02, CNTVCT_EL0's encoding) is the compare value.
    assert!(t.set_kvm_reg(KVM_REG_ARM_TIMER_CVAL, 450_000, now));
    assert_eq!(t.sysreg_read(CNTV_CVAL_EL0, now, FRQ), Some(450_000));
    assert!(t.set_kvm_reg(KVM_REG_ARM_TIMER_CTL, CTL_ENABLE | CTL_ISTATUS, now));
    assert_eq!(t.get_kvm_reg(KVM_REG_ARM_TIMER_CTL, now), Some(CTL_ENABLE));
    assert_eq!(t.get_kvm_reg(KVM_REG_ARM_TIMER_CTL, now + 50_000), Some(CTL_ENABLE | CTL_ISTATUS));
    // PTIMER_CNT sets the physical offset (6.4+).
    assert!(t.set_kvm_reg(KVM_REG_ARM_PTIMER_CNT, 10, now));
    assert_eq!(t.sysreg_read(CNTPCT_EL0, now + 1, FRQ), Some(11));
    assert!(t.set_kvm_reg(KVM_REG_ARM_PTIMER_CVAL, 20, now));
    assert!(t.set_kvm_reg(KVM_REG_ARM_PTIMER_CTL, CTL_ENABLE, now));
    assert_eq!(t.next_deadline(now), Some(now + 10));
    // Not a timer id; the architectural encodings are not KVM ids.
    assert_eq!(t.get_kvm_reg(0x6030_0000_0013_df19 + 0x100, now), None);
    assert!(!t.set_kvm_reg(0x6030_0000_0013_df00, 0, now));
    assert_eq!(kvm_reg_name(KVM_REG_ARM_TIMER_CNT), Some("KVM_REG_ARM_TIMER_CNT"));
    assert_eq!(sysreg_name(CNTV_CVAL_EL0), Some("CNTV_CVAL_EL0"));
}

#[test]
fn vcpu_reset_disables_both_timers_and_keeps_the_rest() {
    let mut t = Timer::new();
    t.set_voffset(7);
    assert!(t.sysreg_write(CNTV_CVAL_EL0, 100, 0));
    assert!(t.sysreg_write(CNTV_CTL_EL0, CTL_ENABLE, 0));
    assert!(t.sysreg_write(CNTP_CTL_EL0, CTL_ENABLE | CTL_IMASK, 0));
    t.vcpu_reset();
    // At physical 50 the virtual counter is 43, below CVAL: CTL reads 0.
    assert_eq!(t.sysreg_read(CNTV_CTL_EL0, 50, FRQ), Some(0));
    assert_eq!(t.sysreg_read(CNTP_CTL_EL0, 50, FRQ), Some(CTL_ISTATUS));
    assert_eq!(t.sysreg_read(CNTV_CVAL_EL0, 50, FRQ), Some(100));
    assert_eq!(t.voffset(), 7);
    assert_eq!(t.next_deadline(50), None);
}
