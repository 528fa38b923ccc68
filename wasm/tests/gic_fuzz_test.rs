//! Guest and userspace mistakes are architectural behaviour or errnos, never a panic: a
//! deterministic stream of random accesses (any offset, width, CPU index, register encoding,
//! attribute, HVC) against GICv2/GICv3, the timer and the firmware. Debug builds check integer
//! overflow, so arithmetic slips would panic here too.

use rollsafe_emu::firmware::{handle_hvc, FirmwareConfig, HvcAction};
use rollsafe_emu::gic::{kvm_iidr, Gic, GicConfig, GicModel, GroupMode, IidrWriteRule, UaccessRules};
use rollsafe_emu::timer::Timer;

/// xorshift64*: reproducible, no dependency.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn config(model: GicModel, rng: &mut Rng) -> GicConfig {
    let ncpu = 1 + rng.below(4);
    GicConfig {
        model,
        nr_irqs: [64, 96, 256, 1024, 1000, 0][rng.below(6) as usize],
        mpidrs: (0..ncpu).map(|i| (1 << 31) | i).collect(),
        iidr: kvm_iidr(rng.below(4) as u32),
        group_mode: [GroupMode::Writable, GroupMode::RazWi, GroupMode::RaoWi][rng.below(3) as usize],
        v2_groups_user_writable_needs_iidr: rng.below(2) == 0,
        pri_bits: [0, 4, 5, 6, 7, 8, 255][rng.below(7) as usize],
        id_bits: [0, 1, 16, 24, 99][rng.below(5) as usize],
        seis: rng.below(2) == 0,
        a3v: rng.below(2) == 0,
        dist_base: 0x0800_0000,
        redist_base: 0x080a_0000,
        cpu_base: 0x0801_0000,
    }
}

fn hammer(gic: &mut Gic, rng: &mut Rng, ops: u32) {
    let ncpu = gic.cfg.mpidrs.len() as u64;
    for _ in 0..ops {
        let cpu = rng.below(ncpu + 2) as usize; // sometimes a vCPU that does not exist
        let size = [1u32, 2, 4, 8, 3][rng.below(5) as usize];
        let val = rng.next();
        match rng.below(9) {
            0 | 1 => {
                let addr = 0x0800_0000 + rng.below(0x20_0000) + if rng.below(4) == 0 { 0xffe0 } else { 0 };
                let _ = gic.mmio_read(cpu, addr, size);
            }
            2 | 3 => {
                let addr = 0x0800_0000 + rng.below(0x20_0000);
                let _ = gic.mmio_write(cpu, addr, size, val);
            }
            4 => {
                // ICC space (op0=3, op1=0, CRn=4 or 12) plus anything.
                let enc = if rng.below(2) == 0 { (3 << 14) | ((rng.below(2) * 8 + 4) << 7) | rng.below(128) as u32 as u64 } else { rng.below(1 << 16) };
                let _ = gic.sysreg_read(cpu, enc as u32);
            }
            5 => {
                let enc = (3u32 << 14) | (12 << 7) | rng.below(128) as u32;
                let _ = gic.sysreg_write(cpu, enc, val);
            }
            6 => {
                let group = rng.below(10) as u32;
                let attr = if rng.below(2) == 0 { rng.next() } else { (rng.below(4) << 32) | rng.below(0x2_0000) };
                if rng.below(2) == 0 {
                    let _ = gic.get_attr(group, attr);
                } else {
                    let _ = gic.set_attr(group, attr, val);
                }
                let _ = gic.has_attr(group, attr);
            }
            7 => gic.set_ppi_level(cpu, rng.below(40) as u32, rng.below(2) == 0),
            _ => {
                let _ = gic.irq_pending(cpu);
                let _ = gic.fiq_pending(cpu);
            }
        }
    }
}

#[test]
fn random_gic_accesses_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..60 {
        let model = if round % 2 == 0 { GicModel::V3 } else { GicModel::V2 };
        let cfg = config(model, &mut rng);
        let mut gic = if round % 3 == 0 { Gic::new_uninitialized(cfg) } else { Gic::new(cfg) };
        let rules = [
            UaccessRules::LATEST,
            UaccessRules { iidr_write: IidrWriteRule::ExactMatch, iidr_before_init: false },
            UaccessRules { iidr_write: IidrWriteRule::Rev1To3 { fixed: false }, iidr_before_init: true },
        ];
        gic.set_uaccess_rules(rules[round % 3]);
        hammer(&mut gic, &mut rng, 5_000);
    }
}

#[test]
fn random_timer_accesses_never_panic() {
    let mut rng = Rng(42);
    let mut t = Timer::new();
    for _ in 0..50_000 {
        let now = if rng.below(8) == 0 { u64::MAX - rng.below(16) } else { rng.next() };
        let enc = (3u32 << 14) | (3 << 11) | (14 << 7) | rng.below(128) as u32;
        let id = 0x6030_0000_0013_0000 | (enc as u64);
        match rng.below(6) {
            0 => {
                let _ = t.sysreg_read(enc, now, rng.next());
            }
            1 => {
                let _ = t.sysreg_write(enc, rng.next(), now);
            }
            2 => {
                let _ = t.next_deadline(now);
            }
            3 => {
                let _ = t.lines(now);
            }
            4 => {
                let _ = t.get_kvm_reg(id, now);
            }
            _ => {
                let _ = t.set_kvm_reg(id, rng.next(), now);
            }
        }
        // A deadline is never in the past.
        if let Some(d) = t.next_deadline(now) {
            assert!(d >= now);
        }
    }
}

#[test]
fn random_hvcs_never_panic() {
    let mut rng = Rng(7);
    let mut cfg = FirmwareConfig::latest(1, 3, 2);
    let on = |m: u64| if m < 4 { Some(m % 2 == 0) } else { None };
    for i in 0..50_000u64 {
        if i % 1000 == 0 {
            cfg.psci_version = [0x1, 0x2, 0x1_0000, 0x1_0001, 0x1_0003][rng.below(5) as usize];
            cfg.bmap_regs = rng.below(5) as u8;
            cfg.fw_regs = 3 + rng.below(2) as u8;
        }
        // Mostly ids in the owned ranges, some anything.
        let f = match rng.below(4) {
            0 => 0x8400_0000 | rng.below(0x60),
            1 => 0xc400_0000 | rng.below(0x60),
            2 => [0x8000_0000, 0x8000_0001, 0x8600_0000, 0x8600_0001, 0x8600_ff01, 0x95c1_ba5e + rng.below(4)][rng.below(6) as usize],
            _ => rng.next(),
        };
        let regs = [f, rng.next() >> rng.below(64), rng.next(), rng.next()];
        match handle_hvc(&cfg, regs, &on) {
            HvcAction::CpuOn { target_mpidr, .. } => assert_eq!(on(target_mpidr), Some(false)),
            _ => {}
        }
        let id = 0x6030_0000_0014_0000 | (rng.below(2) << 17) | rng.below(6);
        let _ = cfg.get_reg(id);
        let _ = cfg.clone().set_reg(id, rng.next() >> rng.below(64));
    }
}
