//! The wasm boundary: plain `extern "C"` functions (no wasm-bindgen), mirroring KVM's vCPU and
//! device ioctls. One machine per wasm instance (the host instantiates the module per machine),
//! held in a thread-local; bulk data (configuration, guest memory, watch lists) goes through one
//! staging buffer whose address the host obtains from `buf` and writes with its own view of the
//! exported memory.
//!
//! This is the only module where `unsafe_code` is allowed, because `#[no_mangle]` is an unsafe
//! attribute in the lint's eyes (a symbol name could clash). It contains no `unsafe` block:
//! the host's writes into the staging buffer happen between calls, outside Rust's view.
//!
//! Return codes: 0 or a negative errno (ENOENT -2, EINVAL -22, ENODEV -19 no machine,
//! EOPNOTSUPP -95). 64-bit values are `u64`/`i64`, BigInt on the JavaScript side.
#![allow(unsafe_code)]

use std::cell::RefCell;

use crate::config::Config;
use crate::cpu::Power;
use crate::kvm_ids::{self, EINVAL};
use crate::machine::Machine;

const ENODEV: i32 = -19;
/// The most bytes one staging transfer may carry (64 MiB).
const MAX_BUF: u32 = 64 << 20;

struct State {
    machine: Option<Machine>,
    buf: Vec<u8>,
    value: u64,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State { machine: None, buf: Vec::new(), value: 0 });
}

fn with<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn with_machine(f: impl FnOnce(&mut Machine, &mut Vec<u8>, &mut u64) -> i32) -> i32 {
    with(|s| match s.machine.as_mut() {
        Some(m) => f(m, &mut s.buf, &mut s.value),
        None => ENODEV,
    })
}

/// Makes the staging buffer at least `len` bytes and returns its address (0 if too large).
#[no_mangle]
pub extern "C" fn buf(len: u32) -> u32 {
    if len > MAX_BUF {
        return 0;
    }
    with(|s| {
        if s.buf.len() < len as usize {
            let more = len as usize - s.buf.len();
            if s.buf.try_reserve_exact(more).is_err() {
                return 0;
            }
            s.buf.resize(len as usize, 0);
        }
        s.buf.as_mut_ptr() as usize as u32
    })
}

/// The value produced by the last `get_*` call.
#[no_mangle]
pub extern "C" fn value() -> u64 {
    with(|s| s.value)
}

/// Creates the machine from a configuration blob of `len` bytes in the staging buffer
/// (see `config.rs`). Replaces any previous machine.
#[no_mangle]
pub extern "C" fn create(len: u32) -> i32 {
    with(|s| {
        if len as usize > s.buf.len() {
            return EINVAL;
        }
        let cfg = match Config::parse(&s.buf[..len as usize]) {
            Ok(c) => c,
            Err(_) => return EINVAL,
        };
        let fw = match crate::devices::firmware_config(&cfg.fw_fields, &cfg.fw_regs) {
            Ok(f) => f,
            Err(_) => return EINVAL,
        };
        match Machine::new(cfg, fw) {
            Ok(m) => {
                s.machine = Some(m);
                0
            }
            Err(_) => EINVAL,
        }
    })
}

#[no_mangle]
pub extern "C" fn nr_vcpus() -> i32 {
    with(|s| s.machine.as_ref().map(|m| m.cpus.len() as i32).unwrap_or(ENODEV))
}

/// KVM_SET_ONE_REG.
#[no_mangle]
pub extern "C" fn set_one_reg(vcpu: u32, id: u64, val: u64) -> i32 {
    with_machine(|m, _, _| match kvm_ids::set(m, vcpu as usize, id, val) {
        Ok(()) => 0,
        Err(e) => e,
    })
}

/// KVM_GET_ONE_REG; the value is then available from `value`.
#[no_mangle]
pub extern "C" fn get_one_reg(vcpu: u32, id: u64) -> i32 {
    with_machine(|m, _, out| match kvm_ids::get(m, vcpu as usize, id) {
        Ok(v) => {
            *out = v;
            0
        }
        Err(e) => e,
    })
}

/// KVM_SET_ONE_REG for a register wider than 64 bits: `len` bytes from the staging buffer.
#[no_mangle]
pub extern "C" fn set_one_reg_bytes(vcpu: u32, id: u64, len: u32) -> i32 {
    with_machine(|m, buf, _| {
        if len as usize > buf.len() {
            return EINVAL;
        }
        match kvm_ids::set_bytes(m, vcpu as usize, id, &buf[..len as usize]) {
            Ok(()) => 0,
            Err(e) => e,
        }
    })
}

/// KVM_GET_ONE_REG for a register wider than 64 bits: 16 bytes into the staging buffer.
#[no_mangle]
pub extern "C" fn get_one_reg_bytes(vcpu: u32, id: u64) -> i32 {
    with_machine(|m, buf, _| match kvm_ids::get_bytes(m, vcpu as usize, id) {
        Ok(b) => {
            if buf.len() < 16 {
                buf.resize(16, 0);
            }
            buf[..16].copy_from_slice(&b);
            0
        }
        Err(e) => e,
    })
}

/// KVM_SET_DEVICE_ATTR on the vGIC.
#[no_mangle]
pub extern "C" fn set_device_attr(group: u32, attr: u64, val: u64) -> i32 {
    with_machine(|m, _, _| match m.gic.set_attr(group, attr, val) {
        Ok(()) => 0,
        Err(e) => -e.abs(),
    })
}

/// KVM_GET_DEVICE_ATTR on the vGIC; the value is then available from `value`.
#[no_mangle]
pub extern "C" fn get_device_attr(group: u32, attr: u64) -> i32 {
    with_machine(|m, _, out| match m.gic.get_attr(group, attr) {
        Ok(v) => {
            *out = v;
            0
        }
        Err(e) => -e.abs(),
    })
}

/// KVM_GET_MP_STATE: 0 RUNNABLE, 1 STOPPED (uapi KVM_MP_STATE_*); value via `value`.
#[no_mangle]
pub extern "C" fn get_mp_state(vcpu: u32) -> i32 {
    with_machine(|m, _, out| match m.cpus.get(vcpu as usize) {
        Some(c) => {
            *out = if c.power == Power::On { 0 } else { 1 };
            0
        }
        None => EINVAL,
    })
}

/// KVM_SET_MP_STATE: 0 RUNNABLE, 1 STOPPED.
#[no_mangle]
pub extern "C" fn set_mp_state(vcpu: u32, state: u32) -> i32 {
    with_machine(|m, _, _| match (m.cpus.get_mut(vcpu as usize), state) {
        (Some(c), 0) => {
            c.power = Power::On;
            0
        }
        (Some(c), 1) => {
            c.power = Power::Off;
            0
        }
        _ => EINVAL,
    })
}

/// Copies `len` bytes from the staging buffer into guest RAM at `addr`.
#[no_mangle]
pub extern "C" fn write_memory(addr: u64, len: u32) -> i32 {
    with_machine(|m, buf, _| {
        if len as usize > buf.len() || !m.mem.host_write(addr, &buf[..len as usize]) {
            return EINVAL;
        }
        0
    })
}

/// Copies `len` bytes of guest RAM at `addr` into the staging buffer.
#[no_mangle]
pub extern "C" fn read_memory(addr: u64, len: u32) -> i32 {
    with_machine(|m, buf, _| {
        if len as usize > buf.len() || !m.mem.host_read(addr, &mut buf[..len as usize]) {
            return EINVAL;
        }
        0
    })
}

/// Replaces the watched addresses with the `count` little-endian u64s in the staging buffer.
#[no_mangle]
pub extern "C" fn set_watches(count: u32) -> i32 {
    with_machine(|m, buf, _| {
        let n = count as usize;
        if n * 8 > buf.len() {
            return EINVAL;
        }
        let w = buf[..n * 8]
            .chunks(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        m.mem.set_watches(w);
        0
    })
}

/// Runs vCPU `vcpu` (or every vCPU if negative) for at most `budget` instructions; returns the
/// stop reason (`machine::Reason`) or a negative errno.
#[no_mangle]
pub extern "C" fn run(vcpu: i32, budget: u64) -> i32 {
    with_machine(|m, _, _| {
        let which = if vcpu < 0 { None } else { Some(vcpu as usize) };
        if let Some(v) = which {
            if v >= m.cpus.len() {
                return EINVAL;
            }
        }
        m.run(which, budget) as i32
    })
}

/// Details of the last stop: vCPU (-1 if none), address, access size, write flag, value, code.
#[no_mangle]
pub extern "C" fn stop_vcpu() -> i32 {
    with(|s| s.machine.as_ref().map(|m| m.stop.vcpu).unwrap_or(-1))
}
#[no_mangle]
pub extern "C" fn stop_addr() -> u64 {
    with(|s| s.machine.as_ref().map(|m| m.stop.addr).unwrap_or(0))
}
#[no_mangle]
pub extern "C" fn stop_size() -> u32 {
    with(|s| s.machine.as_ref().map(|m| m.stop.size).unwrap_or(0))
}
#[no_mangle]
pub extern "C" fn stop_write() -> u32 {
    with(|s| s.machine.as_ref().map(|m| m.stop.write as u32).unwrap_or(0))
}
#[no_mangle]
pub extern "C" fn stop_value() -> u64 {
    with(|s| s.machine.as_ref().map(|m| m.stop.value).unwrap_or(0))
}
#[no_mangle]
pub extern "C" fn stop_code() -> u32 {
    with(|s| s.machine.as_ref().map(|m| m.stop.code).unwrap_or(0))
}

/// Moves the console bytes the UART has collected into the staging buffer; returns how many.
#[no_mangle]
pub extern "C" fn console_take() -> i32 {
    with(|s| {
        let bytes = match s.machine.as_mut().and_then(|m| m.uart.as_mut()) {
            Some(u) => std::mem::take(&mut u.console),
            None => return 0,
        };
        if s.buf.len() < bytes.len() {
            s.buf.resize(bytes.len(), 0);
        }
        s.buf[..bytes.len()].copy_from_slice(&bytes);
        bytes.len() as i32
    })
}

/// Instructions retired by `vcpu`, or by all vCPUs if negative.
#[no_mangle]
pub extern "C" fn instructions(vcpu: i32) -> u64 {
    with(|s| match s.machine.as_ref() {
        Some(m) if vcpu < 0 => m.cpus.iter().map(|c| c.icount).sum(),
        Some(m) => m.cpus.get(vcpu as usize).map(|c| c.icount).unwrap_or(0),
        None => 0,
    })
}

/// The physical counter (CNTPCT_EL0 as the guest would read it now).
#[no_mangle]
pub extern "C" fn phys_counter() -> u64 {
    with(|s| s.machine.as_ref().map(|m| m.phys_now()).unwrap_or(0))
}
