//! The machine: vCPUs, RAM, GIC, per-vCPU timers and firmware, a deterministic scheduler and a
//! deterministic clock.
//!
//! Scheduling: round-robin over the runnable vCPUs in slices of `slice` instructions. Time: a
//! global clock in instruction units; within a round every vCPU sees the clock at the start of
//! the round plus its own progress, so vCPUs run "in parallel" and the physical count advances
//! with retired instructions (`tick_num/tick_den` per instruction). A vCPU in WFI with nothing
//! pending lets the clock jump to the next timer deadline; with no deadline either, the run stops
//! with reason WFI. No host clock, no randomness: the same inputs give the same run.

use crate::config::Config;
use crate::cpu::exception::Vector;
use crate::cpu::{Cpu, Power};
use crate::devices::{handle_hvc, FirmwareConfig, Gic, GicConfig, GicModel, GroupMode, HvcAction, Timer};
use crate::exec::{self, Ctx, Exit, Stop};
use crate::memory::Memory;
use crate::sysreg::table::{enc, SCTLR, SCTLR_M};

/// Why `run` returned (the boundary passes the number).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(i32)]
pub enum Reason {
    /// The instruction budget is used up.
    Budget = 0,
    /// Every vCPU waits in WFI with no interrupt pending and no timer armed.
    Wfi = 1,
    /// PSCI SYSTEM_OFF.
    SystemOff = 2,
    /// PSCI SYSTEM_RESET.
    SystemReset = 3,
    /// A vCPU reached a watched address.
    Watch = 4,
    /// A vCPU accessed an MMIO window no device models.
    Mmio = 5,
    /// A vCPU executed HLT.
    Hlt = 6,
    /// Reserved: was "a vCPU needs an unimplemented feature" (the stage-1 MMU, now implemented).
    Unimplemented = 7,
    /// No vCPU is powered on.
    AllOff = 8,
}

/// Details of the last stop.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopInfo {
    pub vcpu: i32,
    pub addr: u64,
    pub size: u32,
    pub write: bool,
    pub value: u64,
    pub code: u32,
}

/// PPIs of the generic timer on KVM/QEMU `virt` (Documentation/virt/kvm/devices/vcpu.rst
/// defaults: virtual timer 27, physical timer 30).
pub const PPI_VTIMER: u32 = 27;
pub const PPI_PTIMER: u32 = 30;

/// PSCI return codes (PSCI spec DEN0022, 5.2.2).
const PSCI_INVALID_PARAMETERS: u64 = -2i64 as u64;
const PSCI_ALREADY_ON: u64 = -4i64 as u64;
const PSCI_SUCCESS: u64 = 0;

pub struct Machine {
    pub cpus: Vec<Cpu>,
    pub timers: Vec<Timer>,
    pub gic: Gic,
    pub fw: FirmwareConfig,
    pub mem: Memory,
    pub mmio_windows: Vec<(u64, u64)>,
    pub cntfrq: u64,
    pub tick_num: u64,
    pub tick_den: u64,
    pub slice: u64,
    pub pa_limit: u64,
    pub smc_smccc: bool,
    /// Global clock in instruction units.
    pub clock: u64,
    /// Physical count at clock 0.
    pub phys_offset: u64,
    pub stop: StopInfo,
    pub uart: Option<crate::uart::Pl011>,
}

/// KVM's default MPIDR for vCPU `i` (arch/arm64/kvm/sys_regs.c reset_mpidr): Aff0 = i[3:0],
/// Aff1 = i[11:4], Aff2 = i[19:12], bit 31 RES1.
pub fn default_mpidr(i: usize) -> u64 {
    let i = i as u64;
    (i & 0xf) | ((i >> 4) & 0xff) << 8 | ((i >> 12) & 0xff) << 16 | 1 << 31
}

/// The affinity fields of an MPIDR, as PSCI compares them.
fn affinity(m: u64) -> u64 {
    m & 0xff_00ff_ffff
}

impl Machine {
    pub fn new(c: Config, fw: FirmwareConfig) -> Result<Machine, ()> {
        let mut mem = Memory::default();
        for &(base, size) in &c.ram {
            mem.add_region(base, size)?;
        }
        let mut cpus = Vec::with_capacity(c.nvcpus);
        for i in 0..c.nvcpus {
            let mut cpu = Cpu::new();
            for &(e, v) in &c.sysregs {
                if !crate::sysreg::raw_set(&mut cpu, e, v) {
                    return Err(());
                }
            }
            cpu.id[5] = c.mpidrs.iter().rev().find(|m| m.0 == i).map(|m| m.1).unwrap_or_else(|| default_mpidr(i));
            for &(sel, v) in &c.ccsidr {
                cpu.ccsidr[sel] = v;
            }
            cpu.dczid = c.dczid;
            cpu.id_cap = c.id_cap;
            cpu.pmcr = c.pmcr_n << 11;
            if c.power_off.contains(&i) {
                cpu.power = Power::Off;
            }
            cpus.push(cpu);
        }
        let gic = Gic::new(GicConfig {
            model: if c.gic_model == 2 { GicModel::V2 } else { GicModel::V3 },
            nr_irqs: c.gic_nr_irqs,
            mpidrs: cpus.iter().map(|c| c.id[5]).collect(),
            iidr: c.gic_iidr,
            group_mode: match c.gic_group_mode {
                1 => GroupMode::RazWi,
                2 => GroupMode::RaoWi,
                _ => GroupMode::Writable,
            },
            v2_groups_user_writable_needs_iidr: c.gic_v2_groups_need_iidr,
            pri_bits: c.gic_pri_bits,
            id_bits: c.gic_id_bits,
            seis: c.gic_seis,
            a3v: c.gic_a3v,
            dist_base: c.gic_dist_base,
            redist_base: c.gic_redist_base,
            cpu_base: c.gic_cpu_base,
        });
        Ok(Machine {
            timers: (0..c.nvcpus).map(|_| Timer::new()).collect(),
            cpus,
            gic,
            fw,
            mem,
            mmio_windows: c.mmio_windows,
            cntfrq: c.cntfrq,
            tick_num: c.tick_num,
            tick_den: c.tick_den,
            slice: c.slice,
            pa_limit: 1u64 << c.pa_bits,
            smc_smccc: c.smc_smccc,
            clock: 0,
            phys_offset: 0,
            stop: StopInfo::default(),
            uart: c.uart.map(crate::uart::Pl011::new),
        })
    }

    /// The physical count at clock `t`.
    pub fn phys_at(&self, t: u64) -> u64 {
        let d = t as u128 * self.tick_num as u128 / self.tick_den as u128;
        self.phys_offset.wrapping_add(d as u64)
    }

    pub fn phys_now(&self) -> u64 {
        self.phys_at(self.clock)
    }

    /// Instructions (clock units) until the physical count reaches `deadline`, at least 1.
    fn insns_until(&self, now_phys: u64, deadline: u64) -> u64 {
        if deadline <= now_phys {
            return 0;
        }
        let d = (deadline - now_phys) as u128 * self.tick_den as u128;
        let n = (d + self.tick_num as u128 - 1) / self.tick_num as u128;
        n.min(u64::MAX as u128) as u64
    }

    /// Drives timer outputs into the GIC for vCPU `v` at physical count `now`.
    fn sync_timer(&mut self, v: usize, now: u64) {
        let (virt, phys) = self.timers[v].lines(now);
        self.gic.set_ppi_level(v, PPI_VTIMER, virt);
        self.gic.set_ppi_level(v, PPI_PTIMER, phys);
    }

    /// Runs vCPU `v` for up to `quota` instructions starting at clock `t0`. Returns how many it
    /// retired, or a stop.
    fn run_slice(&mut self, v: usize, t0: u64, quota: u64) -> Result<u64, Reason> {
        let ic0 = self.cpus[v].icount;
        let end = ic0 + quota;
        let phys0 = self.phys_at(t0);
        loop {
            let cpu = &self.cpus[v];
            if cpu.power == Power::Off || cpu.icount >= end {
                break;
            }
            let now = phys0.wrapping_add(self.phys_at(cpu.icount - ic0).wrapping_sub(self.phys_offset));
            self.sync_timer(v, now);
            let irq = self.gic.irq_pending(v);
            let fiq = self.gic.fiq_pending(v);
            let cpu = &mut self.cpus[v];
            if cpu.wfi {
                if !(irq || fiq) {
                    break;
                }
                cpu.wfi = false;
            }
            // FIQ before IRQ when both are unmasked (both are asynchronous; ordering is
            // IMPLEMENTATION DEFINED, this fixes one).
            if fiq && cpu.daif & 1 == 0 {
                let pc = cpu.pc;
                cpu.enter(Vector::Fiq, pc, None);
            } else if irq && cpu.daif & 2 == 0 {
                let pc = cpu.pc;
                cpu.enter(Vector::Irq, pc, None);
            }
            // Stop the inner loop at the next timer deadline so the line rises on time.
            let mut limit = end;
            // (A deadline not after `now` is a line already high: it was just driven into the GIC.)
            if let Some(d) = self.timers[v].next_deadline(now).filter(|&d| d > now) {
                limit = limit.min(self.cpus[v].icount + self.insns_until(now, d));
            }
            let exit = {
                let cpu = &mut self.cpus[v];
                let mut ctx = Ctx {
                    mem: &mut self.mem,
                    gic: &mut self.gic,
                    timer: &mut self.timers[v],
                    fw: &self.fw,
                    vcpu: v,
                    mmio_windows: &self.mmio_windows,
                    uart: &mut self.uart,
                    cntfrq: self.cntfrq,
                    phys_base: phys0,
                    ic_base: ic0,
                    tick_num: self.tick_num,
                    tick_den: self.tick_den,
                    limit,
                    pa_limit: self.pa_limit,
                    mmu_on: cpu.sys[SCTLR] & SCTLR_M != 0,
                    smc_smccc: self.smc_smccc,
                };
                exec::run::run(cpu, &mut ctx)
            };
            match exit {
                None => {}
                Some(Exit::Hvc) => {
                    if let Some(r) = self.hvc(v) {
                        return Err(r);
                    }
                }
                Some(Exit::Wfi) => {
                    // WFI completes at once if an interrupt is pending, masked or not.
                    if !(self.gic.irq_pending(v) || self.gic.fiq_pending(v)) {
                        self.cpus[v].wfi = true;
                    }
                }
                Some(Exit::Yield) => break,
                Some(Exit::Exc(_)) => {} // invariant: the inner loop takes exceptions itself
                Some(Exit::Stop(s)) => {
                    self.stop = StopInfo { vcpu: v as i32, ..StopInfo::default() };
                    return Err(match s {
                        Stop::Watch => {
                            self.stop.addr = self.cpus[v].pc;
                            Reason::Watch
                        }
                        Stop::Hlt(imm) => {
                            self.stop.code = imm as u32;
                            self.stop.addr = self.cpus[v].pc.wrapping_sub(4);
                            Reason::Hlt
                        }
                        Stop::Mmio { addr, size, write, value } => {
                            self.stop.addr = addr;
                            self.stop.size = size;
                            self.stop.write = write;
                            self.stop.value = value;
                            Reason::Mmio
                        }
                    });
                }
            }
        }
        Ok(self.cpus[v].icount - ic0)
    }

    /// Answers an HVC from vCPU `v` (PSCI/SMCCC through firmware). `Some` stops the run.
    fn hvc(&mut self, v: usize) -> Option<Reason> {
        let regs = [self.cpus[v].x[0], self.cpus[v].x[1], self.cpus[v].x[2], self.cpus[v].x[3]];
        let states: Vec<(u64, bool)> = self.cpus.iter().map(|c| (affinity(c.id[5]), c.power == Power::On)).collect();
        let lookup = move |mpidr: u64| states.iter().find(|s| s.0 == affinity(mpidr)).map(|s| s.1);
        match handle_hvc(&self.fw, regs, &lookup) {
            HvcAction::Return(r) => self.cpus[v].x[..4].copy_from_slice(&r),
            HvcAction::CpuOn { target_mpidr, entry, context } => {
                let t = self.cpus.iter().position(|c| affinity(c.id[5]) == affinity(target_mpidr));
                self.cpus[v].x[0] = match t {
                    None => PSCI_INVALID_PARAMETERS,
                    Some(t) if self.cpus[t].power == Power::On => PSCI_ALREADY_ON,
                    Some(t) => {
                        // kvm_psci_vcpu_on: reset, then PC = entry and X0 = context id.
                        let c = &mut self.cpus[t];
                        c.reset();
                        c.power = Power::On;
                        c.pc = entry;
                        c.x[0] = context;
                        PSCI_SUCCESS
                    }
                };
            }
            HvcAction::CpuOff => {
                self.cpus[v].power = Power::Off;
                self.cpus[v].wfi = false;
            }
            HvcAction::SystemOff => {
                self.stop = StopInfo { vcpu: v as i32, ..StopInfo::default() };
                return Some(Reason::SystemOff);
            }
            HvcAction::SystemReset => {
                self.stop = StopInfo { vcpu: v as i32, ..StopInfo::default() };
                return Some(Reason::SystemReset);
            }
        }
        None
    }

    /// Runs vCPU `which` (or all, round-robin) until `budget` instructions are retired in total
    /// or a stop.
    pub fn run(&mut self, which: Option<usize>, budget: u64) -> Reason {
        self.stop = StopInfo { vcpu: -1, ..StopInfo::default() };
        let set: Vec<usize> = match which {
            Some(v) => vec![v],
            None => (0..self.cpus.len()).collect(),
        };
        let mut left = budget;
        // Exclusive monitors do not survive a switch to another vCPU: a store by the other vCPU
        // could have cleared them (the global monitor is not modelled), so clear conservatively.
        let multi = set.len() > 1;
        while left > 0 {
            if set.iter().all(|&v| self.cpus[v].power == Power::Off) {
                return Reason::AllOff;
            }
            let t0 = self.clock;
            let mut most = 0;
            let mut ran_any = false;
            for &v in &set {
                let quota = self.slice.min(left);
                if quota == 0 {
                    break;
                }
                let before = self.cpus[v].icount;
                let r = self.run_slice(v, t0, quota);
                let n = self.cpus[v].icount - before;
                left -= n.min(left);
                most = most.max(n);
                ran_any |= n > 0;
                if multi {
                    self.cpus[v].excl = None;
                }
                if let Err(reason) = r {
                    self.clock = t0 + most;
                    return reason;
                }
            }
            self.clock = t0 + most;
            if !ran_any {
                // Everyone is idle: jump to the earliest timer deadline, or stop.
                let now = self.phys_now();
                // A deadline at or before now is a line already high that the GIC does not
                // forward (disabled or masked there): waiting longer cannot wake anyone.
                let next = set
                    .iter()
                    .filter(|&&v| self.cpus[v].power == Power::On)
                    .filter_map(|&v| self.timers[v].next_deadline(now))
                    .filter(|&d| d > now)
                    .min();
                match next {
                    Some(d) => self.clock += self.insns_until(now, d).max(1),
                    None => return Reason::Wfi,
                }
            }
        }
        Reason::Budget
    }

    /// `pub` helper for the boundary: the vCPU whose MPIDR affinity matches, if any.
    pub fn vcpu_by_mpidr(&self, mpidr: u64) -> Option<usize> {
        self.cpus.iter().position(|c| affinity(c.id[5]) == affinity(mpidr))
    }
}

/// The encoding of MPIDR_EL1, for callers that configure it through `SYSREG`.
pub const MPIDR_ENC: u16 = enc(3, 0, 0, 0, 5);
