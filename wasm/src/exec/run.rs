//! The inner execution loop of one vCPU: fetch from the decode cache, execute, count.
//!
//! The hot path is a page compare, an array index and the `exec` match. Everything else
//! (instruction aborts, decode-cache misses, exceptions) is on the slow path. The loop returns
//! when the vCPU has retired `ctx.limit` instructions, or sooner with an [`Exit`] the machine
//! must handle (HVC, WFI, stops).

use super::mmu::{translate, Acc};
use super::ops::exec;
use super::{Ctx, Exit};
use crate::cpu::exception::{Ec, Exception, Fsc};
use crate::cpu::Cpu;
use crate::decode::cache::DecodeCache;
use crate::decode::Op;

/// Runs `cpu` until `cpu.icount >= ctx.limit` (returns `None`) or an exit the machine handles.
pub fn run(cpu: &mut Cpu, ctx: &mut Ctx) -> Option<Exit> {
    // The decode cache is held apart from `ctx` so decoded slots are used in place (no copy)
    // while instructions mutate memory; stores over code end the loop (see Memory::lent).
    let mut cache = ctx.mem.lend_cache();
    let r = run_with(cpu, ctx, &mut cache);
    ctx.mem.return_cache(cache);
    r
}

fn run_with(cpu: &mut Cpu, ctx: &mut Ctx, cache: &mut DecodeCache) -> Option<Exit> {
    // The cached page: `page_va` has the low 2 bits clear, so a misaligned PC always misses
    // and takes the slow path, where the PC alignment fault is raised.
    let mut page_va = u64::MAX;
    let mut page_pa = 0u64;
    let mut ci = 0u32;
    while cpu.icount < ctx.limit {
        let pc = cpu.pc;
        if pc & !0xffc != page_va {
            if cpu.il {
                // An illegal exception return: the next instruction is UNDEFINED with EC 0x0E.
                cpu.take(&Exception { ec: Ec::ILLEGAL_STATE, iss: 0, far: None, next: false });
                cpu.icount += 1;
                page_va = u64::MAX;
                continue;
            }
            if pc & 3 != 0 {
                cpu.take(&Exception { ec: Ec::PC_ALIGN, iss: 0, far: Some(pc), next: false });
                cpu.icount += 1;
                continue;
            }
            let pa = match translate(cpu, ctx, pc, Acc::FETCH) {
                Ok(p) => p.pa,
                Err(Exit::Exc(e)) => {
                    cpu.take(&e);
                    cpu.icount += 1;
                    page_va = u64::MAX;
                    continue;
                }
                Err(other) => return Some(other),
            };
            match ctx.mem.code_page(cache, pa) {
                Some(i) => {
                    ci = i;
                    page_va = pc & !0xfff;
                    page_pa = pa & !0xfff;
                }
                None => {
                    // Instruction fetch from outside RAM: synchronous external abort.
                    cpu.take(&Exception::insn_abort(cpu.el, pc, Fsc::EXTERNAL));
                    cpu.icount += 1;
                    continue;
                }
            }
        }
        let slot = ((pc >> 2) & 0x3ff) as usize;
        if cache.get_ref(ci, slot).op == Op::NotDecoded {
            ctx.mem.fill(cache, ci, slot, page_pa | (pc & 0xfff));
        }
        match exec(cpu, ctx, cache.get_ref(ci, slot)) {
            Ok(()) => cpu.icount += 1,
            Err(Exit::Exc(e)) => {
                cpu.take(&e);
                cpu.icount += 1;
                // Permissions of the fetch depend on the EL, which may have changed.
                page_va = u64::MAX;
            }
            Err(x @ Exit::Stop(super::Stop::Watch)) => return Some(x),
            Err(x @ Exit::Stop(super::Stop::Mmio { .. })) => return Some(x),
            Err(x) => {
                cpu.icount += 1;
                return Some(x);
            }
        }
    }
    None
}
