//! Guest physical memory: RAM regions (host-owned byte vectors) and the decode cache attached to
//! them. Translation (virtual -> physical) lives in `exec/mmu.rs` and device dispatch in
//! `exec/access.rs`; this file only knows physical RAM.

use crate::decode::cache::{DecodeCache, PAGE_SHIFT};
use crate::decode::{decode, Insn, Op};

/// One RAM region, as KVM_SET_USER_MEMORY_REGION maps it.
pub struct Region {
    pub base: u64,
    pub data: Vec<u8>,
    /// Per 4 KiB page: 0 = not executed yet, else decode-cache page index + 1.
    code: Vec<u32>,
}

impl Region {
    #[inline(always)]
    pub fn contains(&self, pa: u64, len: u64) -> bool {
        let o = pa.wrapping_sub(self.base);
        pa >= self.base && o < self.data.len() as u64 && self.data.len() as u64 - o >= len
    }
}

/// Maximum RAM the machine accepts in total (the wasm32 address space is 4 GiB).
pub const MAX_RAM_BYTES: u64 = 3 << 30;

#[derive(Default)]
pub struct Memory {
    pub regions: Vec<Region>,
    /// The region the last access hit: checked first (accesses cluster).
    hot: usize,
    pub cache: DecodeCache,
    /// While the execution loop has borrowed `cache` (it holds decoded slots by reference),
    /// writes over executed pages are queued here as (page index, from, to) and applied when
    /// the loop hands the cache back; `code_dirty` tells the loop to do so.
    pub lent: bool,
    pub pending: Vec<(u32, u32, u32)>,
    pub code_dirty: bool,
    /// Sorted guest addresses that decode to [`Op::Watch`].
    pub watches: Vec<u64>,
    /// Bumped by every TLBI: a vCPU whose TLB saw an older value flushes it (TLBI broadcast).
    pub tlb_gen: u64,
}

impl Memory {
    /// Adds a region; fails on overlap, zero size, misalignment or a total above the cap.
    pub fn add_region(&mut self, base: u64, size: u64) -> Result<(), ()> {
        let total: u64 = self.regions.iter().map(|r| r.data.len() as u64).sum();
        if size == 0 || size > MAX_RAM_BYTES || base & 0xfff != 0 || size & 0xfff != 0 || total + size > MAX_RAM_BYTES {
            return Err(());
        }
        let end = base.checked_add(size).ok_or(())?;
        if self.regions.iter().any(|r| base < r.base + r.data.len() as u64 && r.base < end) {
            return Err(());
        }
        // Host memory may not stretch that far: fail with an error code, not an allocation trap.
        let mut data = Vec::new();
        data.try_reserve_exact(size as usize).map_err(|_| ())?;
        data.resize(size as usize, 0);
        self.regions.push(Region { base, data, code: vec![0; (size >> PAGE_SHIFT) as usize] });
        Ok(())
    }

    pub fn find(&self, pa: u64, len: u64) -> Option<usize> {
        self.regions.iter().position(|r| r.contains(pa, len))
    }

    /// The byte offset of `[pa, pa+len)` in region `hot` (updated on a miss), if it is RAM.
    #[inline(always)]
    fn locate(&mut self, pa: u64, len: u64) -> Option<(usize, usize)> {
        if let Some(r) = self.regions.get(self.hot) {
            let o = pa.wrapping_sub(r.base);
            if o < r.data.len() as u64 && (r.data.len() as u64 - o) >= len {
                return Some((self.hot, o as usize));
            }
        }
        let i = self.find(pa, len)?;
        self.hot = i;
        Some((i, (pa - self.regions[i].base) as usize))
    }

    /// Little-endian read of 1, 2, 4 or 8 bytes of RAM; `None` if not (entirely) RAM.
    #[inline(always)]
    pub fn read(&mut self, pa: u64, size_log2: u32) -> Option<u64> {
        let len = 1u64 << size_log2;
        let (ri, o) = self.locate(pa, len)?;
        let d = &self.regions[ri].data;
        Some(match size_log2 {
            0 => d[o] as u64,
            1 => u16::from_le_bytes([d[o], d[o + 1]]) as u64,
            2 => u32::from_le_bytes([d[o], d[o + 1], d[o + 2], d[o + 3]]) as u64,
            _ => {
                let mut b = [0u8; 8];
                b.copy_from_slice(&d[o..o + 8]);
                u64::from_le_bytes(b)
            }
        })
    }

    /// Little-endian write; resets decoded slots it overlaps. `false` if not (entirely) RAM.
    #[inline(always)]
    pub fn write(&mut self, pa: u64, size_log2: u32, v: u64) -> bool {
        let len = 1usize << size_log2;
        let (ri, o) = match self.locate(pa, len as u64) {
            Some(x) => x,
            None => return false,
        };
        let r = &mut self.regions[ri];
        let d = &mut r.data;
        // Fixed-size copies: a variable-length copy_from_slice becomes a memcpy call.
        match size_log2 {
            0 => d[o] = v as u8,
            1 => d[o..o + 2].copy_from_slice(&(v as u16).to_le_bytes()),
            2 => d[o..o + 4].copy_from_slice(&(v as u32).to_le_bytes()),
            _ => d[o..o + 8].copy_from_slice(&v.to_le_bytes()),
        }
        let page = o >> PAGE_SHIFT;
        let ci = r.code[page];
        if ci != 0 {
            let po = o & 0xfff;
            if self.lent {
                self.pending.push((ci - 1, po as u32, (po + len) as u32));
                self.code_dirty = true;
            } else {
                self.cache.invalidate(ci - 1, po, po + len);
            }
        }
        true
    }

    /// Host copy into guest RAM; the range must lie inside one region (`false` otherwise).
    pub fn host_write(&mut self, pa: u64, bytes: &[u8]) -> bool {
        let ri = match self.find(pa, bytes.len().max(1) as u64) {
            Some(i) => i,
            None => return false,
        };
        let r = &mut self.regions[ri];
        let o = (pa - r.base) as usize;
        r.data[o..o + bytes.len()].copy_from_slice(bytes);
        let first = o >> PAGE_SHIFT;
        let last = (o + bytes.len().max(1) - 1) >> PAGE_SHIFT;
        for page in first..=last {
            let ci = r.code[page];
            if ci != 0 {
                self.cache.invalidate(ci - 1, 0, 1 << PAGE_SHIFT);
            }
        }
        true
    }

    pub fn host_read(&self, pa: u64, out: &mut [u8]) -> bool {
        match self.find(pa, out.len().max(1) as u64) {
            Some(ri) => {
                let r = &self.regions[ri];
                let o = (pa - r.base) as usize;
                out.copy_from_slice(&r.data[o..o + out.len()]);
                true
            }
            None => false,
        }
    }

    /// Lends the decode cache to the execution loop (see `lent`).
    pub fn lend_cache(&mut self) -> DecodeCache {
        self.lent = true;
        std::mem::take(&mut self.cache)
    }

    /// Takes the cache back and applies the invalidations queued meanwhile.
    pub fn return_cache(&mut self, mut cache: DecodeCache) {
        for (ci, from, to) in self.pending.drain(..) {
            cache.invalidate(ci, from as usize, to as usize);
        }
        self.cache = cache;
        self.lent = false;
        self.code_dirty = false;
    }

    /// Decode-cache page index for the RAM page holding `pa`, creating it on first use.
    /// `None` if `pa` is not RAM (the caller raises an instruction abort).
    pub fn code_page(&mut self, cache: &mut DecodeCache, pa: u64) -> Option<u32> {
        let ri = self.find(pa, 4)?;
        let r = &mut self.regions[ri];
        let page = ((pa - r.base) >> PAGE_SHIFT) as usize;
        if r.code[page] == 0 {
            r.code[page] = cache.alloc() + 1;
        }
        Some(r.code[page] - 1)
    }

    /// Decodes slot `slot` of cache page `ci`, which holds physical address `pa`.
    pub fn fill(&mut self, cache: &mut DecodeCache, ci: u32, slot: usize, pa: u64) {
        let insn = if self.watches.binary_search(&pa).is_ok() {
            Insn::of(Op::Watch)
        } else {
            match self.read(pa, 2) {
                Some(w) => decode(w as u32),
                None => Insn::UNDEF,
            }
        };
        cache.set(ci, slot, insn);
    }

    pub fn set_watches(&mut self, mut w: Vec<u64>) {
        w.sort_unstable();
        w.dedup();
        self.watches = w;
        self.cache.invalidate_all();
    }
}
