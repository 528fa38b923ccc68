//! Decode cache: one array of 1024 decoded slots per 4 KiB guest-physical page of RAM that has
//! been executed from. Slots are decoded lazily on first execution (so data sharing a page with
//! code is never decoded) and reset by any write that overlaps them, which keeps self-modifying
//! code and host writes correct without a flush protocol. Watched addresses decode to
//! [`Op::Watch`], so watching costs nothing per instruction.
//!
//! Trade-off: 24 KiB of host memory per executed page, bounded by the RAM actually executed.

use super::insn::{Insn, Op};

pub const PAGE_SHIFT: u32 = 12;
pub const SLOTS: usize = 1 << (PAGE_SHIFT - 2);

/// Pages of decoded instructions, stored back to back (page `i` is `slots[i*SLOTS..]`) so a
/// fetch is one index into one vector. Owners (RAM regions) keep the page-number -> index map.
#[derive(Default)]
pub struct DecodeCache {
    pub slots: Vec<Insn>,
}

impl DecodeCache {
    pub fn alloc(&mut self) -> u32 {
        let idx = self.slots.len() / SLOTS;
        self.slots.resize(self.slots.len() + SLOTS, Insn::NOT_DECODED);
        idx as u32
    }

    /// The decoded slot `slot` of page `idx`.
    #[inline(always)]
    pub fn get_ref(&self, idx: u32, slot: usize) -> &Insn {
        &self.slots[idx as usize * SLOTS + slot]
    }

    pub fn set(&mut self, idx: u32, slot: usize, insn: Insn) {
        self.slots[idx as usize * SLOTS + slot] = insn;
    }

    /// Forget the decoded slots covering byte offsets `[from, to)` within page `idx`.
    pub fn invalidate(&mut self, idx: u32, from: usize, to: usize) {
        let base = idx as usize * SLOTS;
        let last = (to.saturating_sub(1) >> 2).min(SLOTS - 1);
        for slot in self.slots[base + (from >> 2)..=base + last].iter_mut() {
            slot.op = Op::NotDecoded;
        }
    }

    pub fn invalidate_all(&mut self) {
        for slot in self.slots.iter_mut() {
            slot.op = Op::NotDecoded;
        }
    }
}
