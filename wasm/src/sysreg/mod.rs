//! System register access: MRS/MSR from the guest (architectural accessors, with EL0 rules and
//! side effects) and raw get/set for restore (no side effects, no access checks), in the spirit
//! of QEMU's `readfn`/`raw_readfn` split.

pub mod idsan;
pub mod table;

use crate::cpu::exception::Exception;
use crate::cpu::Cpu;
use crate::exec::Ctx;
use table::{El0, Kind, Special, SysReg, ROWS};

/// How a guest access resolves.
enum Target {
    Row(usize),
    Id(usize),
    Icc,
    Family(&'static table::Family),
}

fn resolve(e: u16) -> Option<Target> {
    if let Some(i) = table::find(e) {
        return Some(Target::Row(i));
    }
    if let Some(f) = table::family(e) {
        return Some(Target::Family(f));
    }
    if let Some(i) = table::id_index(e) {
        return Some(Target::Id(i));
    }
    if table::is_icc(e) {
        return Some(Target::Icc);
    }
    None
}

/// EL0 access check for `row`; `Ok` if allowed.
fn el0_allowed(cpu: &Cpu, r: &SysReg, e: u16, rt: u8, read: bool) -> Result<(), Exception> {
    let (gate, writable) = match r.el0 {
        El0::No => return Err(Exception::undef()),
        El0::Rw => return Ok(()),
        El0::Ro => return if read { Ok(()) } else { Err(Exception::undef()) },
        El0::IfSctlr(bit, w) => (cpu.sys[table::SCTLR] >> bit & 1 == 1, w),
        El0::IfCntkctl(mask, w) => (cpu.sys[table::CNTKCTL] & mask as u64 != 0, w),
        El0::IfPmuserenr(mask, w) => (cpu.sys[table::PMUSERENR] & mask as u64 != 0, w),
    };
    if !read && !writable {
        return Err(Exception::undef());
    }
    if gate {
        Ok(())
    } else {
        Err(Exception::sysreg_trap(e, rt, read))
    }
}

/// MRS: the value the guest reads, or the exception the access raises.
pub fn mrs(cpu: &mut Cpu, ctx: &mut Ctx, e: u16, rt: u8) -> Result<u64, Exception> {
    let t = resolve(e).ok_or_else(Exception::undef)?;
    match t {
        Target::Id(i) => {
            if cpu.el == 0 {
                return Err(Exception::undef());
            }
            Ok(idsan::guest_view(cpu, i))
        }
        Target::Icc => {
            if cpu.el == 0 {
                return Err(Exception::undef());
            }
            ctx.gic.sysreg_read(ctx.vcpu, e as u32).ok_or_else(Exception::undef)
        }
        Target::Family(f) => {
            if cpu.el == 0 {
                el0_allowed(cpu, &SysReg { name: f.name, enc: e, el0: f.el0, kind: Kind::KvmOnly }, e, rt, true)?;
            }
            Ok(cpu.banked.get(&e).copied().unwrap_or(0))
        }
        Target::Row(i) => {
            let r = &ROWS[i];
            if cpu.el == 0 {
                el0_allowed(cpu, r, e, rt, true)?;
            }
            match r.kind {
                Kind::Store { .. } | Kind::Const => Ok(cpu.sys[i]),
                Kind::Id => {
                    let i = table::id_index(e).unwrap_or(0);
                    Ok(idsan::guest_view(cpu, i))
                }
                Kind::KvmOnly => Err(Exception::undef()),
                Kind::Special(s) => read_special(cpu, ctx, s, e),
            }
        }
    }
}

fn read_special(cpu: &mut Cpu, ctx: &mut Ctx, s: Special, e: u16) -> Result<u64, Exception> {
    let now = ctx.now(cpu.icount);
    Ok(match s {
        Special::Nzcv => (cpu.nzcv as u64) << 28,
        Special::Daif => (cpu.daif as u64) << 6,
        Special::CurrentEl => (cpu.el as u64) << 2,
        Special::SpSel => cpu.spsel as u64,
        // SP_EL0 is UNDEFINED at EL1 while it is the live stack pointer (SPSel=0).
        Special::SpEl0 => {
            if cpu.spsel == 0 {
                return Err(Exception::undef());
            }
            cpu.sp_el0()
        }
        Special::Ccsidr => cpu.ccsidr[(cpu.sys[table::CSSELR] & 0xf) as usize],
        // DZP (bit 4) reads 1 at EL0 when SCTLR_EL1.DZE is 0 (D19.2 DCZID_EL0).
        Special::Dczid => {
            let dzp = cpu.el == 0 && cpu.sys[table::SCTLR] >> table::SCTLR_DZE & 1 == 0;
            (cpu.dczid & 0xf) | (dzp as u64) << 4
        }
        Special::Isr => {
            (ctx.gic.irq_pending(ctx.vcpu) as u64) << 7 | (ctx.gic.fiq_pending(ctx.vcpu) as u64) << 6
        }
        Special::CntFrq | Special::CntPct | Special::CntVct | Special::Timer => {
            if let Some(v) = ctx.timer.sysreg_read(e as u32, now, ctx.cntfrq) {
                return Ok(v);
            }
            match s {
                Special::CntFrq => ctx.cntfrq,
                Special::CntPct | Special::CntVct => now,
                _ => return Err(Exception::undef()),
            }
        }
        Special::Pmcr => cpu.pmcr & !0b110, // P and C are write-only, read as zero
        Special::PmcntenSet | Special::PmcntenClr => cpu.pmcnten,
        Special::PmovsSet | Special::PmovsClr => cpu.pmovs,
        Special::PmintenSet | Special::PmintenClr => cpu.pminten,
        Special::Pmccntr => cpu.pmccntr(),
        // Write-only registers read as UNDEFINED.
        Special::Pmswinc | Special::Oslar => return Err(Exception::undef()),
        // OSLM = 0b10 (bits 3 and 0: OSLM[1] is bit 3), OSLK bit 1.
        Special::Oslsr => 0b1000 | (cpu.oslk as u64) << 1,
        Special::Pan | Special::Uao | Special::Dit | Special::Ssbs => {
            if !pstate_implemented(cpu, s) {
                return Err(Exception::undef());
            }
            cpu.pstate() & pstate_bit(s)
        }
    })
}

/// The PSTATE bit (SPSR layout) a PSTATE-field register reads and writes.
pub fn pstate_bit(s: Special) -> u64 {
    match s {
        Special::Pan => 1 << 22,
        Special::Uao => 1 << 23,
        Special::Dit => 1 << 24,
        _ => 1 << 12, // SSBS
    }
}

/// Whether the guest-visible ID registers advertise the feature behind a PSTATE field
/// (ID_AA64MMFR1_EL1.PAN [23:20], ID_AA64MMFR2_EL1.UAO [7:4], ID_AA64PFR0_EL1.DIT [51:48],
/// ID_AA64PFR1_EL1.SSBS [7:4]); without it the register and its MSR (immediate) are UNDEFINED.
pub fn pstate_implemented(cpu: &Cpu, s: Special) -> bool {
    let (idx, lsb) = match s {
        Special::Pan => (0x39, 20),
        Special::Uao => (0x3a, 4),
        Special::Dit => (0x20, 48),
        _ => (0x21, 4),
    };
    (idsan::guest_view(cpu, idx) >> lsb) & 0xf != 0
}

/// Writes a PSTATE field from a register value or an MSR (immediate) bit.
pub fn set_pstate_field(cpu: &mut Cpu, s: Special, on: bool) {
    match s {
        Special::Pan => cpu.pan = on,
        Special::Uao => cpu.uao = on,
        Special::Dit => cpu.dit = on,
        _ => cpu.ssbs = on,
    }
}

/// MSR: applies a guest write, or returns the exception it raises.
pub fn msr(cpu: &mut Cpu, ctx: &mut Ctx, e: u16, rt: u8, v: u64) -> Result<(), Exception> {
    let t = resolve(e).ok_or_else(Exception::undef)?;
    match t {
        Target::Id(_) => Err(Exception::undef()),
        Target::Icc => {
            if cpu.el == 0 || !ctx.gic.sysreg_write(ctx.vcpu, e as u32, v) {
                return Err(Exception::undef());
            }
            ctx.reevaluate();
            Ok(())
        }
        Target::Family(f) => {
            if cpu.el == 0 {
                el0_allowed(cpu, &SysReg { name: f.name, enc: e, el0: f.el0, kind: Kind::KvmOnly }, e, rt, false)?;
            }
            cpu.banked.insert(e, v);
            Ok(())
        }
        Target::Row(i) => {
            let r = &ROWS[i];
            if cpu.el == 0 {
                el0_allowed(cpu, r, e, rt, false)?;
            }
            match r.kind {
                Kind::Store { wmask, .. } => {
                    cpu.sys[i] = v & wmask;
                    if matches!(i, table::SCTLR | table::TCR | table::TTBR0 | table::TTBR1 | table::MAIR) {
                        // Translation changes: the TLB is flushed (stricter than the architecture,
                        // see exec/mmu.rs) and the loop left so its fetch page is looked up again.
                        cpu.tlb.flush();
                        ctx.reevaluate();
                    }
                    Ok(())
                }
                Kind::Id | Kind::Const | Kind::KvmOnly => Err(Exception::undef()),
                Kind::Special(s) => write_special(cpu, ctx, s, e, v),
            }
        }
    }
}

fn write_special(cpu: &mut Cpu, ctx: &mut Ctx, s: Special, e: u16, v: u64) -> Result<(), Exception> {
    let now = ctx.now(cpu.icount);
    match s {
        Special::Nzcv => cpu.nzcv = ((v >> 28) & 0xf) as u32,
        Special::Daif => {
            cpu.daif = ((v >> 6) & 0xf) as u32;
            ctx.reevaluate();
        }
        Special::SpSel => cpu.set_mode(cpu.el, (v & 1) as u8),
        Special::SpEl0 => {
            if cpu.spsel == 0 {
                return Err(Exception::undef());
            }
            cpu.set_sp_el0(v)
        }
        Special::Timer => {
            if !ctx.timer.sysreg_write(e as u32, v, now) {
                return Err(Exception::undef());
            }
            ctx.reevaluate();
        }
        // CNTFRQ_EL0 is writable only at the highest implemented EL, which is not the guest's.
        Special::CntFrq
        | Special::CntPct
        | Special::CntVct
        | Special::CurrentEl
        | Special::Ccsidr
        | Special::Dczid
        | Special::Isr
        | Special::Oslsr => return Err(Exception::undef()),
        Special::Pmcr => {
            cpu.pmc_sync();
            if v & 0b100 != 0 {
                cpu.pmc_value = 0; // C: reset the cycle counter
            }
            // Writable: E (0), D (3), X (4), DP (5), LC (6); N (15:11) is read-only.
            cpu.pmcr = (cpu.pmcr & !0x79) | (v & 0x79);
            cpu.pmc_mark += 1; // a change of E takes effect after this instruction
        }
        Special::PmcntenSet => {
            cpu.pmc_sync();
            cpu.pmcnten |= v & (1 << 31);
            cpu.pmc_mark += 1; // counting starts after this instruction
        }
        Special::PmcntenClr => {
            cpu.pmc_sync();
            cpu.pmcnten &= !(v & (1 << 31));
            cpu.pmc_mark += 1;
        }
        Special::PmovsSet => cpu.pmovs |= v & (1 << 31),
        Special::PmovsClr => cpu.pmovs &= !(v & (1 << 31)),
        Special::PmintenSet => cpu.pminten |= v & (1 << 31),
        Special::PmintenClr => cpu.pminten &= !(v & (1 << 31)),
        Special::Pmccntr => {
            cpu.pmc_sync();
            cpu.pmc_value = v;
            cpu.pmc_mark += 1; // the next instruction reads v
        }
        Special::Pmswinc => {}
        Special::Oslar => cpu.oslk = v & 1 == 1,
        Special::Pan | Special::Uao | Special::Dit | Special::Ssbs => {
            if !pstate_implemented(cpu, s) {
                return Err(Exception::undef());
            }
            set_pstate_field(cpu, s, v & pstate_bit(s) != 0);
            // PAN and UAO change how the next access is checked (the TLB holds permissions).
            ctx.reevaluate();
        }
    }
    Ok(())
}

/// Raw read for KVM_GET_ONE_REG (no access checks, no side effects). Timer and ICC registers are
/// not here: KVM exposes the timer through its own ids and the GIC through device attributes.
pub fn raw_get(cpu: &Cpu, e: u16) -> Option<u64> {
    if let Some(i) = table::find(e) {
        return Some(match ROWS[i].kind {
            Kind::Store { .. } | Kind::Const | Kind::KvmOnly => cpu.sys[i],
            Kind::Id => cpu.id[table::id_index(e)?],
            Kind::Special(s) => match s {
                Special::Nzcv
                | Special::Daif
                | Special::CurrentEl
                | Special::SpSel
                | Special::Isr
                | Special::Pan
                | Special::Uao
                | Special::Dit
                | Special::Ssbs => {
                    return None; // PSTATE lives in the core register `pstate`
                }
                Special::SpEl0 => cpu.sp_el0(),
                Special::Ccsidr => return None, // KVM exposes CCSIDR through the demux ids
                Special::Dczid => cpu.dczid,
                Special::CntFrq | Special::CntPct | Special::CntVct | Special::Timer => return None,
                Special::Pmcr => cpu.pmcr,
                Special::PmcntenSet | Special::PmcntenClr => cpu.pmcnten,
                Special::PmovsSet | Special::PmovsClr => cpu.pmovs,
                Special::PmintenSet | Special::PmintenClr => cpu.pminten,
                Special::Pmccntr => cpu.pmccntr(),
                Special::Pmswinc => cpu.sys[i],
                Special::Oslar => 0,
                Special::Oslsr => 0b1000 | (cpu.oslk as u64) << 1,
            },
        });
    }
    if table::family(e).is_some() {
        return Some(cpu.banked.get(&e).copied().unwrap_or(0));
    }
    table::id_index(e).map(|i| cpu.id[i])
}

/// Raw write for KVM_SET_ONE_REG and machine configuration. `false` if `e` is not a register
/// this path owns.
pub fn raw_set(cpu: &mut Cpu, e: u16, v: u64) -> bool {
    if let Some(i) = table::find(e) {
        match ROWS[i].kind {
            Kind::Store { .. } | Kind::Const | Kind::KvmOnly => cpu.sys[i] = v,
            Kind::Id => match table::id_index(e) {
                Some(j) => cpu.id[j] = v,
                None => return false,
            },
            Kind::Special(s) => match s {
                Special::SpEl0 => cpu.set_sp_el0(v),
                Special::Dczid => cpu.dczid = v & 0x1f,
                // IMP[31:24], IDCODE[23:16] and N[15:11] are what the host reports: kept raw.
                Special::Pmcr => {
                    cpu.pmc_sync();
                    cpu.pmcr = v & 0xffff_ffff;
                }
                Special::PmcntenSet | Special::PmcntenClr => {
                    cpu.pmc_sync();
                    cpu.pmcnten = v;
                }
                Special::PmovsSet | Special::PmovsClr => cpu.pmovs = v,
                Special::PmintenSet | Special::PmintenClr => cpu.pminten = v,
                Special::Pmccntr => {
                    cpu.pmc_sync();
                    cpu.pmc_value = v;
                }
                // Write-only to the guest, but KVM lists it and returns what was set (on real
                // hosts the reset pattern 0x1de7ec7edbadc0de): keep it for restore fidelity.
                Special::Pmswinc => cpu.sys[i] = v,
                Special::Oslar => {}
                Special::Oslsr => cpu.oslk = v >> 1 & 1 == 1,
                _ => return false,
            },
        }
        return true;
    }
    if table::family(e).is_some() {
        cpu.banked.insert(e, v);
        return true;
    }
    match table::id_index(e) {
        Some(j) => {
            cpu.id[j] = v;
            true
        }
        None => false,
    }
}
