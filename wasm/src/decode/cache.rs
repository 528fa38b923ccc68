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

pub type Page = Box<[Insn; SLOTS]>;

/// Pages of decoded instructions; owners (RAM regions) keep the page-number -> index map.
#[derive(Default)]
pub struct DecodeCache {
    pub pages: Vec<Page>,
}

impl DecodeCache {
    pub fn alloc(&mut self) -> u32 {
        self.pages.push(Box::new([Insn::NOT_DECODED; SLOTS]));
        (self.pages.len() - 1) as u32
    }

    /// Forget the decoded slots covering byte offsets `[from, to)` within page `idx`.
    pub fn invalidate(&mut self, idx: u32, from: usize, to: usize) {
        let page = &mut self.pages[idx as usize];
        let last = (to.saturating_sub(1) >> 2).min(SLOTS - 1);
        for slot in page[(from >> 2)..=last].iter_mut() {
            slot.op = Op::NotDecoded;
        }
    }

    pub fn invalidate_all(&mut self) {
        for p in self.pages.iter_mut() {
            for slot in p.iter_mut() {
                slot.op = Op::NotDecoded;
            }
        }
    }
}
