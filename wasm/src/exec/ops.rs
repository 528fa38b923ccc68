//! Instruction semantics, one match arm per [`Op`], following the ARM ARM pseudocode of each
//! instruction (DDI0487 C6.2, "Alphabetical list of A64 base instructions").

use super::access::{load, load_as, store, store_as};
use super::mmu::{self, translate, Acc};
use super::{Ctx, Exit, Stop};
use crate::bits::{add_with_carry, cond_holds, sext};
use crate::cpu::exception::{Ec, Exception, Fsc};
use crate::cpu::Cpu;
use crate::decode::{Atomic, Excl, Insn, Mem, Op, Wb};
use crate::sysreg::{self, table};

/// `ShiftReg()`: LSL, LSR, ASR, ROR by `amt` (< datasize) on a 32- or 64-bit value.
#[inline(always)]
fn shift(v: u64, t: u8, amt: u32, sf: bool) -> u64 {
    if sf {
        match t {
            0 => v << amt,
            1 => v >> amt,
            2 => ((v as i64) >> amt) as u64,
            _ => v.rotate_right(amt),
        }
    } else {
        let w = v as u32;
        (match t {
            0 => w << amt,
            1 => w >> amt,
            2 => ((w as i32) >> amt) as u32,
            _ => w.rotate_right(amt),
        }) as u64
    }
}

/// `ExtendReg()`: UXTB/UXTH/UXTW/UXTX/SXTB/SXTH/SXTW/SXTX then LSL #shift.
#[inline(always)]
fn extend(v: u64, option: u8, sh: u32) -> u64 {
    let x = match option & 7 {
        0 => v as u8 as u64,
        1 => v as u16 as u64,
        2 => v as u32 as u64,
        3 => v,
        4 => v as u8 as i8 as i64 as u64,
        5 => v as u16 as i16 as i64 as u64,
        6 => v as u32 as i32 as i64 as u64,
        _ => v,
    };
    x << sh
}

#[inline(always)]
fn w(v: u64, sf: bool) -> u64 {
    if sf {
        v
    } else {
        v as u32 as u64
    }
}

#[inline(always)]
fn logic_flags(r: u64, sf: bool) -> u32 {
    let n = if sf { r >> 63 } else { (r >> 31) & 1 } as u32;
    n << 3 | ((r == 0) as u32) << 2
}

#[inline(always)]
fn undef<T>() -> Result<T, Exit> {
    Err(Exit::Exc(Exception::undef()))
}

/// SP alignment check when SP is the base of a load/store (ARM ARM D1.x "SP alignment
/// checking": SCTLR_EL1.SA at EL1, SA0 at EL0).
#[inline(always)]
fn sp_check(cpu: &Cpu, rn: u8, base: u64) -> Result<(), Exit> {
    if rn == 31 && base & 0xf != 0 {
        let bit = if cpu.el == 0 { table::SCTLR_SA0 } else { table::SCTLR_SA };
        if cpu.sys[table::SCTLR] & bit != 0 {
            return Err(Exit::Exc(Exception { ec: Ec::SP_ALIGN, iss: 0, far: None, next: false }));
        }
    }
    Ok(())
}

#[inline(always)]
fn load_ext(v: u64, a: u8) -> u64 {
    if a & Mem::SIGNED == 0 {
        return v;
    }
    let bits = 8u32 << (a & Mem::SIZE);
    let s = sext(v, bits);
    if a & Mem::W != 0 {
        s as u32 as u64
    } else {
        s
    }
}

/// Executes `i` at `cpu.pc`. On `Ok` the PC has advanced (or branched).
#[inline(always)]
pub fn exec(cpu: &mut Cpu, ctx: &mut Ctx, i: &Insn) -> Result<(), Exit> {
    let sf = i.sf;
    match i.op {
        Op::ADD_i => cpu.set_sp(i.rd, w(cpu.xsp(i.rn).wrapping_add(i.imm), sf)),
        Op::SUB_i => cpu.set_sp(i.rd, w(cpu.xsp(i.rn).wrapping_sub(i.imm), sf)),
        Op::ADDS_i | Op::SUBS_i => {
            let y = if i.op == Op::SUBS_i { !i.imm } else { i.imm };
            let (r, f) = add_with_carry(cpu.xsp(i.rn), y, i.op == Op::SUBS_i, sf);
            cpu.nzcv = f;
            cpu.set(i.rd, r);
        }
        Op::ADD_r | Op::SUB_r | Op::ADDS_r | Op::SUBS_r => {
            let y = shift(cpu.xr(i.rm), i.a, i.b as u32, sf);
            let sub = matches!(i.op, Op::SUB_r | Op::SUBS_r);
            let (r, f) = add_with_carry(cpu.xr(i.rn), if sub { !y } else { y }, sub, sf);
            if matches!(i.op, Op::ADDS_r | Op::SUBS_r) {
                cpu.nzcv = f;
            }
            cpu.set(i.rd, r);
        }
        Op::ADD_x | Op::SUB_x | Op::ADDS_x | Op::SUBS_x => {
            let y = extend(cpu.xr(i.rm), i.a, i.b as u32);
            let sub = matches!(i.op, Op::SUB_x | Op::SUBS_x);
            let (r, f) = add_with_carry(cpu.xsp(i.rn), if sub { !y } else { y }, sub, sf);
            if matches!(i.op, Op::ADDS_x | Op::SUBS_x) {
                cpu.nzcv = f;
                cpu.set(i.rd, r);
            } else {
                cpu.set_sp(i.rd, r);
            }
        }
        Op::ADC | Op::ADCS | Op::SBC | Op::SBCS => {
            let sub = matches!(i.op, Op::SBC | Op::SBCS);
            let y = if sub { !cpu.xr(i.rm) } else { cpu.xr(i.rm) };
            let (r, f) = add_with_carry(cpu.xr(i.rn), y, cpu.nzcv & 2 != 0, sf);
            if matches!(i.op, Op::ADCS | Op::SBCS) {
                cpu.nzcv = f;
            }
            cpu.set(i.rd, r);
        }
        Op::AND_i => cpu.set_sp(i.rd, cpu.xr(i.rn) & i.imm),
        Op::ORR_i => cpu.set_sp(i.rd, w(cpu.xr(i.rn) | i.imm, sf)),
        Op::EOR_i => cpu.set_sp(i.rd, w(cpu.xr(i.rn) ^ i.imm, sf)),
        Op::ANDS_i => {
            let r = cpu.xr(i.rn) & i.imm;
            cpu.nzcv = logic_flags(r, sf);
            cpu.set(i.rd, r);
        }
        Op::AND_r | Op::BIC_r | Op::ORR_r | Op::ORN_r | Op::EOR_r | Op::EON_r | Op::ANDS_r | Op::BICS_r => {
            let mut y = shift(cpu.xr(i.rm), i.a, i.b as u32, sf);
            if matches!(i.op, Op::BIC_r | Op::ORN_r | Op::EON_r | Op::BICS_r) {
                y = !y;
            }
            let x = cpu.xr(i.rn);
            let r = w(
                match i.op {
                    Op::ORR_r | Op::ORN_r => x | y,
                    Op::EOR_r | Op::EON_r => x ^ y,
                    _ => x & y,
                },
                sf,
            );
            if matches!(i.op, Op::ANDS_r | Op::BICS_r) {
                cpu.nzcv = logic_flags(r, sf);
            }
            cpu.set(i.rd, r);
        }
        Op::MOVZ => cpu.set(i.rd, i.imm),
        Op::MOVN => cpu.set(i.rd, w(!i.imm, sf)),
        Op::MOVK => {
            let r = (cpu.xr(i.rd) & !(0xffff << i.a)) | i.imm;
            cpu.set(i.rd, w(r, sf));
        }
        Op::SBFM | Op::UBFM | Op::BFM => {
            // wmask in imm, tmask in imm2 (DecodeBitMasks at decode time).
            let src = cpu.xr(i.rn);
            let rot = shift(src, 3, i.a as u32, sf);
            let r = match i.op {
                Op::UBFM => rot & i.imm & i.imm2,
                Op::SBFM => {
                    let bot = rot & i.imm;
                    let top = if (src >> i.b) & 1 == 1 { w(u64::MAX, sf) } else { 0 };
                    (top & !i.imm2) | (bot & i.imm2)
                }
                _ => {
                    let dst = cpu.xr(i.rd);
                    let bot = (dst & !i.imm) | (rot & i.imm);
                    w((dst & !i.imm2) | (bot & i.imm2), sf)
                }
            };
            cpu.set(i.rd, r);
        }
        Op::EXTR => {
            let (hi, lo, lsb) = (cpu.xr(i.rn), cpu.xr(i.rm), i.a as u32);
            let r = if sf {
                if lsb == 0 {
                    lo
                } else {
                    (lo >> lsb) | (hi << (64 - lsb))
                }
            } else {
                (((hi as u32 as u64) << 32 | lo as u32 as u64) >> lsb) as u32 as u64
            };
            cpu.set(i.rd, r);
        }
        Op::ADR => cpu.set(i.rd, cpu.pc.wrapping_add(i.imm)),
        Op::ADRP => cpu.set(i.rd, (cpu.pc & !0xfff).wrapping_add(i.imm)),
        Op::CCMN_r | Op::CCMP_r | Op::CCMN_i | Op::CCMP_i => {
            if cond_holds(i.a, cpu.nzcv) {
                let y = if matches!(i.op, Op::CCMN_r | Op::CCMP_r) { cpu.xr(i.rm) } else { i.imm };
                let sub = matches!(i.op, Op::CCMP_r | Op::CCMP_i);
                cpu.nzcv = add_with_carry(cpu.xr(i.rn), if sub { !y } else { y }, sub, sf).1;
            } else {
                cpu.nzcv = i.b as u32;
            }
        }
        Op::CSEL | Op::CSINC | Op::CSINV | Op::CSNEG => {
            let r = if cond_holds(i.a, cpu.nzcv) {
                cpu.xr(i.rn)
            } else {
                let m = cpu.xr(i.rm);
                match i.op {
                    Op::CSEL => m,
                    Op::CSINC => m.wrapping_add(1),
                    Op::CSINV => !m,
                    _ => m.wrapping_neg(),
                }
            };
            cpu.set(i.rd, w(r, sf));
        }
        Op::MADD => cpu.set(i.rd, w(cpu.xr(i.ra).wrapping_add(cpu.xr(i.rn).wrapping_mul(cpu.xr(i.rm))), sf)),
        Op::MSUB => cpu.set(i.rd, w(cpu.xr(i.ra).wrapping_sub(cpu.xr(i.rn).wrapping_mul(cpu.xr(i.rm))), sf)),
        Op::SMADDL | Op::SMSUBL => {
            let p = (cpu.xr(i.rn) as u32 as i32 as i64).wrapping_mul(cpu.xr(i.rm) as u32 as i32 as i64) as u64;
            let a = cpu.xr(i.ra);
            cpu.set(i.rd, if i.op == Op::SMADDL { a.wrapping_add(p) } else { a.wrapping_sub(p) });
        }
        Op::UMADDL | Op::UMSUBL => {
            let p = (cpu.xr(i.rn) as u32 as u64).wrapping_mul(cpu.xr(i.rm) as u32 as u64);
            let a = cpu.xr(i.ra);
            cpu.set(i.rd, if i.op == Op::UMADDL { a.wrapping_add(p) } else { a.wrapping_sub(p) });
        }
        Op::SMULH => {
            let p = (cpu.xr(i.rn) as i64 as i128) * (cpu.xr(i.rm) as i64 as i128);
            cpu.set(i.rd, (p >> 64) as u64);
        }
        Op::UMULH => {
            let p = (cpu.xr(i.rn) as u128) * (cpu.xr(i.rm) as u128);
            cpu.set(i.rd, (p >> 64) as u64);
        }
        // Division by zero gives zero; INT_MIN / -1 gives INT_MIN (C6.2 SDIV/UDIV pseudocode).
        Op::UDIV => {
            let (n, m) = (w(cpu.xr(i.rn), sf), w(cpu.xr(i.rm), sf));
            cpu.set(i.rd, if m == 0 { 0 } else { n / m });
        }
        Op::SDIV => {
            let r = if sf {
                let (n, m) = (cpu.xr(i.rn) as i64, cpu.xr(i.rm) as i64);
                if m == 0 {
                    0
                } else {
                    n.wrapping_div(m) as u64
                }
            } else {
                let (n, m) = (cpu.xr(i.rn) as u32 as i32, cpu.xr(i.rm) as u32 as i32);
                if m == 0 {
                    0
                } else {
                    n.wrapping_div(m) as u32 as u64
                }
            };
            cpu.set(i.rd, r);
        }
        Op::LSLV | Op::LSRV | Op::ASRV | Op::RORV => {
            let amt = (cpu.xr(i.rm) & if sf { 63 } else { 31 }) as u32;
            let t = (i.op as u8) - (Op::LSLV as u8);
            cpu.set(i.rd, shift(cpu.xr(i.rn), t, amt, sf));
        }
        Op::RBIT => {
            let v = cpu.xr(i.rn);
            cpu.set(i.rd, if sf { v.reverse_bits() } else { (v as u32).reverse_bits() as u64 });
        }
        Op::REV16 => {
            let v = cpu.xr(i.rn);
            let m = 0x00ff_00ff_00ff_00ffu64;
            cpu.set(i.rd, w(((v & m) << 8) | ((v >> 8) & m), sf));
        }
        Op::REV32 => {
            let v = cpu.xr(i.rn);
            cpu.set(i.rd, (v as u32).swap_bytes() as u64 | ((((v >> 32) as u32).swap_bytes() as u64) << 32));
        }
        Op::REV => {
            let v = cpu.xr(i.rn);
            cpu.set(i.rd, if sf { v.swap_bytes() } else { (v as u32).swap_bytes() as u64 });
        }
        Op::CLZ => {
            let v = cpu.xr(i.rn);
            cpu.set(i.rd, if sf { v.leading_zeros() } else { (v as u32).leading_zeros() } as u64);
        }
        Op::CLS => {
            // CountLeadingZeroBits(x<N-1:1> EOR x<N-2:0>)
            let v = cpu.xr(i.rn);
            let r = if sf {
                (((v >> 1) ^ v) & (u64::MAX >> 1)).leading_zeros() - 1
            } else {
                let v = v as u32;
                (((v >> 1) ^ v) & (u32::MAX >> 1)).leading_zeros() - 1
            };
            cpu.set(i.rd, r as u64);
        }

        // Branches: set the PC and return.
        Op::B => {
            cpu.pc = cpu.pc.wrapping_add(i.imm);
            return Ok(());
        }
        Op::BL => {
            cpu.x[30] = cpu.pc.wrapping_add(4);
            cpu.pc = cpu.pc.wrapping_add(i.imm);
            return Ok(());
        }
        Op::B_cond => {
            cpu.pc = cpu.pc.wrapping_add(if cond_holds(i.a, cpu.nzcv) { i.imm } else { 4 });
            return Ok(());
        }
        Op::CBZ | Op::CBNZ => {
            let zero = w(cpu.xr(i.rd), sf) == 0;
            let taken = zero == (i.op == Op::CBZ);
            cpu.pc = cpu.pc.wrapping_add(if taken { i.imm } else { 4 });
            return Ok(());
        }
        Op::TBZ | Op::TBNZ => {
            let bit = (cpu.xr(i.rd) >> i.a) & 1;
            let taken = (bit == 0) == (i.op == Op::TBZ);
            cpu.pc = cpu.pc.wrapping_add(if taken { i.imm } else { 4 });
            return Ok(());
        }
        Op::BR | Op::RET => {
            cpu.pc = cpu.xr(i.rn);
            return Ok(());
        }
        Op::BLR => {
            let t = cpu.xr(i.rn);
            cpu.x[30] = cpu.pc.wrapping_add(4);
            cpu.pc = t;
            return Ok(());
        }
        Op::ERET => {
            if cpu.el == 0 {
                return undef();
            }
            cpu.eret();
            // DAIF, EL and SP may all have changed.
            ctx.reevaluate();
            return Ok(());
        }

        Op::SVC => return Err(Exit::Exc(Exception::call(Ec::SVC64, i.imm))),
        Op::HVC => {
            // HVC is UNDEFINED at EL0. At EL1 the hypervisor (KVM) answers it: PSCI/SMCCC.
            if cpu.el == 0 {
                return undef();
            }
            cpu.pc = cpu.pc.wrapping_add(4);
            return Err(Exit::Hvc);
        }
        // SMC is UNDEFINED at EL0. At EL1 it traps to KVM (HCR_EL2.TSC), which skips it
        // (arch/arm64/kvm/handle_exit.c handle_smc): a nonzero immediate, or any SMC before
        // Linux 6.4, returns ~0 (NOT_SUPPORTED) in x0; from 6.4 ("Let's just open the floodgates
        // and let EL1 access our SMCCC implementation with the SMC instruction as well") an
        // SMC #0 is answered like HVC.
        Op::SMC => {
            if cpu.el == 0 {
                return undef();
            }
            cpu.pc = cpu.pc.wrapping_add(4);
            if i.imm == 0 && ctx.smc_smccc {
                return Err(Exit::Hvc);
            }
            cpu.x[0] = u64::MAX;
            return Ok(());
        }
        Op::BRK => return Err(Exit::Exc(Exception { ec: Ec::BRK64, iss: i.imm as u32, far: None, next: false })),
        Op::HLT => {
            cpu.pc = cpu.pc.wrapping_add(4);
            return Err(Exit::Stop(Stop::Hlt(i.imm as u16)));
        }
        Op::NOP | Op::DSB | Op::DMB | Op::ISB => {}
        Op::YIELD => {
            cpu.pc = cpu.pc.wrapping_add(4);
            return Err(Exit::Yield);
        }
        Op::WFI | Op::WFE => {
            // SCTLR_EL1.nTWI (bit 16) / nTWE (bit 18) = 0 traps EL0 WFI/WFE to EL1 (EC 0x01).
            let wfe = i.op == Op::WFE;
            let bit = if wfe { 18 } else { 16 };
            if cpu.el == 0 && cpu.sys[table::SCTLR] >> bit & 1 == 0 {
                let iss = 1 << 24 | 0xe << 20 | wfe as u32;
                return Err(Exit::Exc(Exception { ec: 0x01, iss, far: None, next: false }));
            }
            cpu.pc = cpu.pc.wrapping_add(4);
            if wfe {
                if cpu.event {
                    cpu.event = false;
                    return Ok(());
                }
                // WFE may complete spuriously; ending the slice lets others make progress.
                return Err(Exit::Yield);
            }
            return Err(Exit::Wfi);
        }
        Op::SEV | Op::SEVL => cpu.event = true,
        Op::CLREX => cpu.excl = None,
        Op::MSR_i_SPSEL => {
            if cpu.el == 0 {
                return undef();
            }
            cpu.set_mode(cpu.el, i.a & 1);
        }
        Op::MSR_i_DAIFSET | Op::MSR_i_DAIFCLR => {
            if cpu.el == 0 && cpu.sys[table::SCTLR] >> table::SCTLR_UMA & 1 == 0 {
                let op2 = if i.op == Op::MSR_i_DAIFSET { 6 } else { 7 };
                let e = table::enc(0, 3, 4, i.a as u32, op2);
                return Err(Exit::Exc(Exception::sysreg_trap(e, 31, false)));
            }
            if i.op == Op::MSR_i_DAIFSET {
                cpu.daif |= i.a as u32;
            } else {
                cpu.daif &= !(i.a as u32);
            }
            ctx.reevaluate();
        }
        Op::MSR_i_PAN | Op::MSR_i_UAO | Op::MSR_i_DIT | Op::MSR_i_SSBS => {
            let s = match i.op {
                Op::MSR_i_PAN => table::Special::Pan,
                Op::MSR_i_UAO => table::Special::Uao,
                Op::MSR_i_DIT => table::Special::Dit,
                _ => table::Special::Ssbs,
            };
            let el0_ok = matches!(i.op, Op::MSR_i_DIT | Op::MSR_i_SSBS);
            if !sysreg::pstate_implemented(cpu, s) || (cpu.el == 0 && !el0_ok) {
                return undef();
            }
            sysreg::set_pstate_field(cpu, s, i.a & 1 == 1);
            ctx.reevaluate();
        }
        Op::MRS => {
            let v = sysreg::mrs(cpu, ctx, i.imm as u16, i.rd).map_err(Exit::Exc)?;
            cpu.set(i.rd, v);
        }
        Op::MSR_r => {
            let v = cpu.xr(i.rd);
            sysreg::msr(cpu, ctx, i.imm as u16, i.rd, v).map_err(Exit::Exc)?;
        }
        Op::SYS => sys(cpu, ctx, i)?,

        Op::LDST_i => {
            let base = cpu.xsp(i.rn);
            sp_check(cpu, i.rn, base)?;
            let addr = if i.b == Wb::POST { base } else { base.wrapping_add(i.imm) };
            let size = (i.a & Mem::SIZE) as u32;
            let unpriv = i.a & Mem::UNPRIV != 0;
            if i.a & Mem::LOAD != 0 {
                let v = load_ext(load_as(cpu, ctx, addr, size, unpriv)?, i.a);
                if i.b != Wb::OFFSET {
                    cpu.set_sp(i.rn, base.wrapping_add(i.imm));
                }
                cpu.set(i.rd, v);
            } else {
                store_as(cpu, ctx, addr, size, cpu.xr(i.rd), unpriv)?;
                if i.b != Wb::OFFSET {
                    cpu.set_sp(i.rn, base.wrapping_add(i.imm));
                }
            }
        }
        Op::LDST_r => {
            let base = cpu.xsp(i.rn);
            sp_check(cpu, i.rn, base)?;
            let addr = base.wrapping_add(extend(cpu.xr(i.rm), i.b, i.imm as u32));
            let size = (i.a & Mem::SIZE) as u32;
            if i.a & Mem::LOAD != 0 {
                let v = load_ext(load(cpu, ctx, addr, size)?, i.a);
                cpu.set(i.rd, v);
            } else {
                store(cpu, ctx, addr, size, cpu.xr(i.rd))?;
            }
        }
        Op::LDR_lit => {
            let addr = cpu.pc.wrapping_add(i.imm);
            let v = load_ext(load(cpu, ctx, addr, (i.a & Mem::SIZE) as u32)?, i.a);
            cpu.set(i.rd, v);
        }
        Op::PRFM => {}
        Op::LDSTP => {
            let base = cpu.xsp(i.rn);
            sp_check(cpu, i.rn, base)?;
            let addr = if i.b == Wb::POST { base } else { base.wrapping_add(i.imm) };
            let size = (i.a & Mem::SIZE) as u32;
            let step = 1u64 << size;
            if i.a & Mem::LOAD != 0 {
                let v1 = load_ext(load(cpu, ctx, addr, size)?, i.a);
                let v2 = load_ext(load(cpu, ctx, addr.wrapping_add(step), size)?, i.a);
                if i.b != Wb::OFFSET {
                    cpu.set_sp(i.rn, base.wrapping_add(i.imm));
                }
                cpu.set(i.rd, v1);
                cpu.set(i.ra, v2);
            } else {
                let (v1, v2) = (cpu.xr(i.rd), cpu.xr(i.ra));
                store(cpu, ctx, addr, size, v1)?;
                store(cpu, ctx, addr.wrapping_add(step), size, v2)?;
                if i.b != Wb::OFFSET {
                    cpu.set_sp(i.rn, base.wrapping_add(i.imm));
                }
            }
        }
        Op::LDSTX => ldstx(cpu, ctx, i)?,
        Op::ATOMIC => atomic(cpu, ctx, i)?,
        Op::CAS | Op::CASP => cas(cpu, ctx, i)?,
        Op::CRC32 => {
            let bytes = 1u32 << i.a;
            let poly = if i.b == 1 { 0x82f6_3b78u32 } else { 0xedb8_8320u32 };
            let mut crc = cpu.xr(i.rn) as u32;
            let data = cpu.xr(i.rm);
            for k in 0..bytes {
                crc ^= (data >> (8 * k)) as u8 as u32;
                for _ in 0..8 {
                    crc = (crc >> 1) ^ (poly & (crc & 1).wrapping_neg());
                }
            }
            cpu.set(i.rd, crc as u64);
        }

        Op::Undef => return undef(),
        Op::Watch => return Err(Exit::Stop(Stop::Watch)),
        // invariant: the run loop decodes a slot before executing it.
        Op::NotDecoded => return undef(),
    }
    cpu.pc = cpu.pc.wrapping_add(4);
    Ok(())
}

/// The value of `bits` low bits of `v`, sign-extended, for the signed compares of LDSMAX/LDSMIN.
fn signed(v: u64, bits: u32) -> i64 {
    sext(v, bits) as i64
}

/// Natural alignment of an atomic access, on any memory type (ARM ARM B2.x; without
/// FEAT_LSE2 an unaligned atomic is an Alignment fault).
fn atomic_align(cpu: &Cpu, base: u64, bytes: u64, write: bool) -> Result<(), Exit> {
    if base & (bytes - 1) != 0 {
        return Err(Exit::Exc(Exception::data_abort(cpu.el, base, Fsc::ALIGNMENT, write)));
    }
    Ok(())
}

/// LD<op>, ST<op> (Rt = ZR), SWP and LDAPR (C6.2 LDADD ... SWP pseudocode): read, combine with
/// Rs, write back; Rt gets the old value, zero-extended. Acquire/release ordering is implicit.
fn atomic(cpu: &mut Cpu, ctx: &mut Ctx, i: &Insn) -> Result<(), Exit> {
    let base = cpu.xsp(i.rn);
    sp_check(cpu, i.rn, base)?;
    let size = i.a as u32;
    let bits = 8u32 << size;
    let mask = crate::bits::ones(bits);
    if i.b == Atomic::LDAPR {
        let v = load(cpu, ctx, base, size)?;
        cpu.set(i.rd, v);
        return Ok(());
    }
    atomic_align(cpu, base, 1 << size, true)?;
    let old = load(cpu, ctx, base, size)?;
    let s = cpu.xr(i.rm) & mask;
    let new = match i.b {
        Atomic::ADD => old.wrapping_add(s),
        Atomic::CLR => old & !s,
        Atomic::EOR => old ^ s,
        Atomic::SET => old | s,
        Atomic::SMAX => if signed(old, bits) >= signed(s, bits) { old } else { s },
        Atomic::SMIN => if signed(old, bits) <= signed(s, bits) { old } else { s },
        Atomic::UMAX => old.max(s),
        Atomic::UMIN => old.min(s),
        _ => s, // SWP
    } & mask;
    store(cpu, ctx, base, size, new)?;
    cpu.set(i.rd, old);
    Ok(())
}

/// CAS and CASP (C6.2 CAS, CASP): compare memory with Rs (Rs:Rs+1), store Rt (Rt:Rt+1) if
/// equal; Rs receives the memory value either way. The store happens only on a match.
fn cas(cpu: &mut Cpu, ctx: &mut Ctx, i: &Insn) -> Result<(), Exit> {
    let base = cpu.xsp(i.rn);
    sp_check(cpu, i.rn, base)?;
    let size = i.a as u32;
    let mask = crate::bits::ones(8 << size);
    let step = 1u64 << size;
    if i.op == Op::CASP {
        atomic_align(cpu, base, 2 * step, true)?;
        let m1 = load(cpu, ctx, base, size)?;
        let m2 = load(cpu, ctx, base.wrapping_add(step), size)?;
        let (s1, s2) = (cpu.xr(i.rm) & mask, cpu.xr(i.rm + 1) & mask);
        if m1 == s1 && m2 == s2 {
            let (t1, t2) = (cpu.xr(i.rd) & mask, cpu.xr(i.rd + 1) & mask);
            store(cpu, ctx, base, size, t1)?;
            store(cpu, ctx, base.wrapping_add(step), size, t2)?;
        }
        cpu.set(i.rm, m1);
        cpu.set(i.rm + 1, m2);
        return Ok(());
    }
    atomic_align(cpu, base, step, true)?;
    let m = load(cpu, ctx, base, size)?;
    if m == cpu.xr(i.rm) & mask {
        store(cpu, ctx, base, size, cpu.xr(i.rd) & mask)?;
    }
    cpu.set(i.rm, m);
    Ok(())
}

/// Exclusive and ordered accesses. Exclusives and acquire/release require natural alignment of
/// the whole access on any memory type (ARM ARM B2.x "Alignment of data accesses").
fn ldstx(cpu: &mut Cpu, ctx: &mut Ctx, i: &Insn) -> Result<(), Exit> {
    let base = cpu.xsp(i.rn);
    sp_check(cpu, i.rn, base)?;
    let size = (i.a & Mem::SIZE) as u32;
    let pair = i.b & Excl::PAIR != 0;
    let total = if pair { 2u64 << size } else { 1u64 << size };
    let load_ = i.a & Mem::LOAD != 0;
    if base & (total - 1) != 0 {
        return Err(Exit::Exc(Exception::data_abort(cpu.el, base, Fsc::ALIGNMENT, !load_)));
    }
    let pa = translate(cpu, ctx, base, if load_ { Acc::READ } else { Acc::WRITE })?.pa;
    let step = 1u64 << size;
    if load_ {
        let v1 = load(cpu, ctx, base, size)?;
        let v2 = if pair { load(cpu, ctx, base.wrapping_add(step), size)? } else { 0 };
        if i.b & Excl::EXCLUSIVE != 0 {
            cpu.excl = Some((pa, total.trailing_zeros()));
        }
        cpu.set(i.rd, v1);
        if pair {
            cpu.set(i.ra, v2);
        }
    } else if i.b & Excl::EXCLUSIVE != 0 {
        // Store-exclusive succeeds (status 0) only if the monitor covers exactly this access.
        let ok = cpu.excl == Some((pa, total.trailing_zeros()));
        if ok {
            let (v1, v2) = (cpu.xr(i.rd), cpu.xr(i.ra));
            store(cpu, ctx, base, size, v1)?;
            if pair {
                store(cpu, ctx, base.wrapping_add(step), size, v2)?;
            }
        }
        cpu.excl = None;
        cpu.set(i.rm, if ok { 0 } else { 1 });
    } else {
        store(cpu, ctx, base, size, cpu.xr(i.rd))?;
    }
    Ok(())
}

/// SYS: cache and TLB maintenance and address translation (ARM ARM C5.3 "A64 System
/// instructions for cache maintenance, address translation, TLB maintenance"). With no caches
/// modelled and the MMU off they have no effect except DC ZVA (a store) and AT (writes PAR_EL1).
fn sys(cpu: &mut Cpu, ctx: &mut Ctx, i: &Insn) -> Result<(), Exit> {
    let e = i.imm as u16;
    let op1 = (e >> 11) & 7;
    let crn = (e >> 7) & 0xf;
    let crm = (e >> 3) & 0xf;
    let op2 = e & 7;
    let el0_gate = |bit: u8| -> Result<(), Exit> {
        if cpu.el == 0 && cpu.sys[table::SCTLR] >> bit & 1 == 0 {
            return Err(Exit::Exc(Exception::sysreg_trap(e, i.rd, false)));
        }
        Ok(())
    };
    match (op1, crn, crm, op2) {
        // IC IALLUIS, IC IALLU; DC IVAC, ISW, CSW, CISW (EL1 only).
        (0, 7, 1, 0) | (0, 7, 5, 0) | (0, 7, 6, 1) | (0, 7, 6, 2) | (0, 7, 10, 2) | (0, 7, 14, 2) => {
            if cpu.el == 0 {
                return undef();
            }
        }
        // IC IVAU, DC CVAC, DC CVAU, DC CIVAC: EL0 if SCTLR_EL1.UCI.
        (3, 7, 5, 1) | (3, 7, 10, 1) | (3, 7, 11, 1) | (3, 7, 14, 1) => el0_gate(table::SCTLR_UCI)?,
        // DC ZVA: EL0 if SCTLR_EL1.DZE; zeroes the DCZID-sized aligned block.
        (3, 7, 4, 1) => {
            el0_gate(table::SCTLR_DZE)?;
            let bytes = 4u64 << (cpu.dczid & 0xf);
            let start = cpu.xr(i.rd) & !(bytes - 1);
            for k in 0..bytes / 8 {
                store(cpu, ctx, start.wrapping_add(k * 8), 3, 0)?;
            }
        }
        // AT S1E1R/W, S1E0R/W: the translation's result or fault in PAR_EL1.
        (0, 7, 8, 0..=3) => {
            if cpu.el == 0 {
                return undef();
            }
            let va = cpu.xr(i.rd);
            cpu.sys[table::PAR] = mmu::at(cpu, ctx, va, op2 & 1 == 1, op2 >= 2);
        }
        // TLBI: op1=0 CRn=8. Every form invalidates every vCPU's whole TLB (a superset of what
        // each asks for, which no correct guest can tell apart).
        (0, 8, _, _) => {
            if cpu.el == 0 {
                return undef();
            }
            ctx.mem.tlb_gen += 1;
            cpu.tlb.flush();
            ctx.reevaluate();
        }
        _ => return undef(),
    }
    Ok(())
}
