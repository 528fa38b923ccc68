//! The data-access path: alignment, translation (virtual -> physical), then RAM, the GIC, an
//! unmodelled MMIO window (stop) or nothing (synchronous external abort).
//!
//! Translation is a single function so a stage-1 MMU can replace its body: today only
//! SCTLR_EL1.M=0 is implemented, where VA = PA and every data access is Device-nGnRnE (ARM ARM
//! D8 "The effects of disabling address translation"), hence unaligned accesses take an
//! Alignment fault.

use super::{Ctx, Exit, Stop, Unimpl};
use crate::cpu::exception::{Exception, Fsc};
use crate::cpu::Cpu;

/// Translate a data or instruction address.
#[inline(always)]
pub fn translate(cpu: &Cpu, ctx: &Ctx, va: u64, write: bool, fetch: bool) -> Result<u64, Exit> {
    if ctx.mmu_on {
        return Err(Exit::Stop(Stop::Unimplemented(Unimpl::Mmu)));
    }
    if va >= ctx.pa_limit {
        let e = if fetch {
            Exception::insn_abort(cpu.el, va, Fsc::ADDR_SIZE_L0)
        } else {
            Exception::data_abort(cpu.el, va, Fsc::ADDR_SIZE_L0, write)
        };
        return Err(Exit::Exc(e));
    }
    Ok(va)
}

#[inline(always)]
fn align_check(cpu: &Cpu, va: u64, bytes: u64, write: bool) -> Result<(), Exit> {
    if va & (bytes - 1) != 0 {
        return Err(Exit::Exc(Exception::data_abort(cpu.el, va, Fsc::ALIGNMENT, write)));
    }
    Ok(())
}

/// Load `1 << size` bytes at `va`.
#[inline(always)]
pub fn load(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, size: u32) -> Result<u64, Exit> {
    align_check(cpu, va, 1 << size, false)?;
    let pa = translate(cpu, ctx, va, false, false)?;
    if let Some(v) = ctx.mem.read(pa, size) {
        return Ok(v);
    }
    mmio_read(cpu, ctx, va, pa, size)
}

/// Store the low `1 << size` bytes of `v` at `va`.
#[inline(always)]
pub fn store(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, size: u32, v: u64) -> Result<(), Exit> {
    align_check(cpu, va, 1 << size, true)?;
    let pa = translate(cpu, ctx, va, true, false)?;
    if ctx.mem.write(pa, size, v) {
        if ctx.mem.code_dirty {
            // The store hit decoded code: leave the loop so the cache is refreshed first.
            ctx.reevaluate();
        }
        return Ok(());
    }
    mmio_write(cpu, ctx, va, pa, size, v)
}

fn in_window(ctx: &Ctx, pa: u64) -> bool {
    ctx.mmio_windows.iter().any(|&(b, s)| pa >= b && pa - b < s)
}

#[cold]
fn mmio_read(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, pa: u64, size: u32) -> Result<u64, Exit> {
    if let Some(v) = ctx.gic.mmio_read(ctx.vcpu, pa, 1 << size) {
        // Reads of IAR-like registers change GIC state.
        ctx.reevaluate();
        return Ok(v);
    }
    if in_window(ctx, pa) {
        return Err(Exit::Stop(Stop::Mmio { addr: pa, size: 1 << size, write: false, value: 0 }));
    }
    Err(Exit::Exc(Exception::data_abort(cpu.el, va, Fsc::EXTERNAL, false)))
}

#[cold]
fn mmio_write(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, pa: u64, size: u32, v: u64) -> Result<(), Exit> {
    if ctx.gic.mmio_write(ctx.vcpu, pa, 1 << size, v) {
        ctx.reevaluate();
        return Ok(());
    }
    if in_window(ctx, pa) {
        return Err(Exit::Stop(Stop::Mmio { addr: pa, size: 1 << size, write: true, value: v }));
    }
    Err(Exit::Exc(Exception::data_abort(cpu.el, va, Fsc::EXTERNAL, true)))
}
