//! The data-access path: alignment, translation (virtual -> physical), then RAM, the GIC, an
//! unmodelled MMIO window (stop) or nothing (synchronous external abort).
//!
//! Translation is `mmu::translate` (flat with the MMU off, the stage-1 walk with it on).

use super::mmu::{self, Acc, Pa};
use super::{Ctx, Exit, Stop};
use crate::cpu::exception::{Exception, Fsc};
use crate::cpu::Cpu;
use crate::sysreg::table;

pub use mmu::translate;

/// Alignment checks before translation: SCTLR_EL1.A makes every unaligned access fault
/// (ARM ARM D1.x "Alignment faults"); with the MMU off every data access is Device memory, so
/// the same holds. Device memory found by the walk is checked after it (see `device_align`).
#[inline(always)]
fn align_check(cpu: &Cpu, ctx: &Ctx, va: u64, bytes: u64, write: bool) -> Result<(), Exit> {
    if va & (bytes - 1) != 0 && (!ctx.mmu_on || cpu.sys[table::SCTLR] & table::SCTLR_A != 0) {
        return Err(Exit::Exc(Exception::data_abort(cpu.el, va, Fsc::ALIGNMENT, write)));
    }
    Ok(())
}

#[inline(always)]
fn device_align(cpu: &Cpu, p: &Pa, va: u64, bytes: u64, write: bool) -> Result<(), Exit> {
    if va & (bytes - 1) != 0 && p.device() {
        return Err(Exit::Exc(Exception::data_abort(cpu.el, va, Fsc::ALIGNMENT, write)));
    }
    Ok(())
}

/// Whether `[va, va+bytes)` crosses a 4 KiB page (only possible unaligned, MMU on).
#[inline(always)]
fn crosses(va: u64, bytes: u64) -> bool {
    (va & 0xfff) + bytes > 0x1000
}

/// Load `1 << size` bytes at `va`.
#[inline(always)]
pub fn load(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, size: u32) -> Result<u64, Exit> {
    load_as(cpu, ctx, va, size, false)
}

/// Store the low `1 << size` bytes of `v` at `va`.
#[inline(always)]
pub fn store(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, size: u32, v: u64) -> Result<(), Exit> {
    store_as(cpu, ctx, va, size, v, false)
}

/// Load; `unpriv` checks EL0 permissions at EL1 (LDTR family).
#[inline(always)]
pub fn load_as(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, size: u32, unpriv: bool) -> Result<u64, Exit> {
    let bytes = 1u64 << size;
    align_check(cpu, ctx, va, bytes, false)?;
    if crosses(va, bytes) {
        return split_load(cpu, ctx, va, bytes, unpriv);
    }
    let p = translate(cpu, ctx, va, Acc::data(false, unpriv))?;
    device_align(cpu, &p, va, bytes, false)?;
    if let Some(v) = ctx.mem.read(p.pa, size) {
        return Ok(v);
    }
    mmio_read(cpu, ctx, va, p.pa, size)
}

/// Store; `unpriv` checks EL0 permissions at EL1 (STTR family).
#[inline(always)]
pub fn store_as(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, size: u32, v: u64, unpriv: bool) -> Result<(), Exit> {
    let bytes = 1u64 << size;
    align_check(cpu, ctx, va, bytes, true)?;
    if crosses(va, bytes) {
        return split_store(cpu, ctx, va, bytes, v, unpriv);
    }
    let p = translate(cpu, ctx, va, Acc::data(true, unpriv))?;
    device_align(cpu, &p, va, bytes, true)?;
    if ctx.mem.write(p.pa, size, v) {
        if ctx.mem.code_dirty {
            // The store hit decoded code: leave the loop so the cache is refreshed first.
            ctx.reevaluate();
        }
        return Ok(());
    }
    mmio_write(cpu, ctx, va, p.pa, size, v)
}

/// An unaligned access across a page boundary, byte by byte, each byte translated (both pages
/// are translated before anything is read, so a fault on the second page leaves no effect).
#[cold]
fn split_load(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, bytes: u64, unpriv: bool) -> Result<u64, Exit> {
    let second = (va | 0xfff).wrapping_add(1);
    translate(cpu, ctx, va, Acc::data(false, unpriv))?;
    translate(cpu, ctx, second, Acc::data(false, unpriv))?;
    let mut v = 0u64;
    for k in 0..bytes {
        let b = load_as(cpu, ctx, va.wrapping_add(k), 0, unpriv)?;
        v |= b << (8 * k);
    }
    Ok(v)
}

#[cold]
fn split_store(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, bytes: u64, v: u64, unpriv: bool) -> Result<(), Exit> {
    let second = (va | 0xfff).wrapping_add(1);
    translate(cpu, ctx, va, Acc::data(true, unpriv))?;
    translate(cpu, ctx, second, Acc::data(true, unpriv))?;
    for k in 0..bytes {
        store_as(cpu, ctx, va.wrapping_add(k), 0, v >> (8 * k), unpriv)?;
    }
    Ok(())
}

fn in_window(ctx: &Ctx, pa: u64) -> bool {
    ctx.mmio_windows.iter().any(|&(b, s)| pa >= b && pa - b < s)
}

#[cold]
fn mmio_read(cpu: &mut Cpu, ctx: &mut Ctx, va: u64, pa: u64, size: u32) -> Result<u64, Exit> {
    if let Some(u) = ctx.uart.as_mut().filter(|u| u.contains(pa)) {
        return Ok(u.read(pa));
    }
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
    if let Some(u) = ctx.uart.as_mut().filter(|u| u.contains(pa)) {
        u.write(pa, v);
        return Ok(());
    }
    if ctx.gic.mmio_write(ctx.vcpu, pa, 1 << size, v) {
        ctx.reevaluate();
        return Ok(());
    }
    if in_window(ctx, pa) {
        return Err(Exit::Stop(Stop::Mmio { addr: pa, size: 1 << size, write: true, value: v }));
    }
    Err(Exit::Exc(Exception::data_abort(cpu.el, va, Fsc::EXTERNAL, true)))
}
