//! libFuzzer entry point for the emulator's C ABI (wasm/src/ffi.rs): a configuration blob
//! through `buf` + `create`, then a stream of KVM-shaped calls decoded from the rest of the
//! input. The crate promises "bad host input is an error code, guest mistakes are architectural
//! exceptions, never a panic": a panic aborts, and libFuzzer keeps the input as a crash.
//!
//! The boundary addresses its staging buffer with a u32 (it is built for wasm32). Natively the
//! harness is linked without PIE and glibc is told to serve every allocation from the brk heap
//! (mallopt M_MMAP_THRESHOLD), which then sits just above the executable, below 4 GiB; the
//! harness checks that before it writes through the address.
#![allow(unsafe_code)]

use rollsafe_emu::ffi;

extern "C" {
    fn mallopt(param: i32, value: i32) -> i32;
}

const M_MMAP_THRESHOLD: i32 = -3;

#[no_mangle]
pub extern "C" fn LLVMFuzzerInitialize(_argc: *mut i32, _argv: *mut *mut *mut u8) -> i32 {
    // SAFETY: plain libc call with constant arguments, before any other thread exists.
    unsafe {
        mallopt(M_MMAP_THRESHOLD, 512 << 20);
    }
    0
}

struct Input<'a> {
    data: &'a [u8],
}

impl<'a> Input<'a> {
    fn bytes(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }
    fn u8(&mut self) -> u8 {
        self.bytes(1).first().copied().unwrap_or(0)
    }
    fn u16(&mut self) -> u16 {
        let b = self.bytes(2);
        b.iter().rev().fold(0u16, |a, &x| (a << 8) | x as u16)
    }
    fn u64(&mut self) -> u64 {
        let b = self.bytes(8);
        b.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64)
    }
    /// A KVM register id: mostly arm64 ids with a fuzzed low part, sometimes anything.
    fn reg_id(&mut self) -> u64 {
        let kind = self.u8();
        let low = self.u64();
        match kind % 4 {
            0 => low,
            1 => 0x6030_0000_0013_0000 | (low & 0xffff), // U64 system registers
            2 => 0x6030_0000_0010_0000 | (low & 0xffff), // U64 core registers
            _ => 0x6000_0000_0000_0000 | (low & 0x00ff_ffff_ffff_ffff),
        }
    }
}

/// Copies `bytes` into the staging buffer; false if the buffer is not addressable natively.
fn stage(bytes: &[u8]) -> bool {
    if bytes.is_empty() {
        return true; // nothing to write (an empty Vec's pointer is a dangling placeholder)
    }
    let addr = ffi::buf(bytes.len() as u32);
    if addr == 0 {
        return false;
    }
    // The brk heap of a non-PIE executable starts right above its data, far below 4 GiB; an
    // address below the executable's own start would mean the allocation came from elsewhere.
    let here = stage as usize;
    let p = addr as usize;
    assert!(p > here, "staging buffer at {:#x} is not addressable natively", p);
    // SAFETY: `buf` made at least `len` bytes at this address (checked to be the real one above).
    unsafe { std::ptr::copy_nonoverlapping(bytes.as_ptr(), p as *mut u8, bytes.len()) };
    true
}

#[no_mangle]
pub extern "C" fn LLVMFuzzerTestOneInput(data: *const u8, size: usize) -> i32 {
    // SAFETY: libFuzzer passes a valid buffer of `size` bytes.
    let data = unsafe { std::slice::from_raw_parts(data, size) };
    let mut input = Input { data };
    let len = (input.u16() as usize) * 24;
    let cfg = input.bytes(len);
    // The host sizes guest RAM from the snapshot (bounded by its own limits) and the wasm
    // module's memory by 4 GiB; a natively run machine asking for gigabytes only measures the
    // fuzzing machine. Configurations whose RAM records add up to more than 64 MiB are skipped.
    let ram: u64 = cfg
        .chunks_exact(24)
        .filter(|r| r[..8] == 2u64.to_le_bytes())
        .map(|r| u64::from_le_bytes(r[16..24].try_into().unwrap()))
        .fold(0u64, |a, b| a.saturating_add(b));
    if ram > 64 << 20 {
        return 0;
    }
    if !stage(cfg) || ffi::create(cfg.len() as u32) != 0 {
        return 0;
    }
    let nvcpus = ffi::nr_vcpus().max(1) as u32;
    for _ in 0..64 {
        if input.data.is_empty() {
            break;
        }
        let op = input.u8();
        let vcpu = (input.u8() as u32) % (nvcpus + 1);
        match op % 10 {
            0 => {
                let id = input.reg_id();
                ffi::set_one_reg(vcpu, id, input.u64());
            }
            1 => {
                ffi::get_one_reg(vcpu, input.reg_id());
            }
            2 => {
                let (g, a, v) = (input.u8() as u32 % 12, input.u64(), input.u64());
                ffi::set_device_attr(g, a, v);
            }
            3 => {
                ffi::get_device_attr(input.u8() as u32 % 12, input.u64());
            }
            4 => {
                ffi::run(vcpu as i32 - 1, 1 + input.u16() as u64);
            }
            5 => {
                ffi::set_mp_state(vcpu, input.u8() as u32 % 4);
            }
            6 => {
                let addr = input.u64();
                let n = input.u8() as usize;
                let bytes = input.bytes(n);
                if stage(bytes) {
                    ffi::write_memory(addr, bytes.len() as u32);
                }
            }
            7 => {
                ffi::read_memory(input.u64(), input.u16() as u32);
            }
            8 => {
                let id = input.reg_id();
                let n = input.u8() as usize;
                let bytes = input.bytes(n);
                if stage(bytes) {
                    ffi::set_one_reg_bytes(vcpu, id, bytes.len() as u32);
                }
            }
            _ => {
                ffi::get_one_reg_bytes(vcpu, input.reg_id());
            }
        }
    }
    0
}
