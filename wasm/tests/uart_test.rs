//! The PL011 console through a guest (instruction words from GNU as 2.40, source alongside):
//! bytes written to UARTDR reach the console buffer in order, UARTFR says "transmit FIFO
//! empty, receive FIFO empty", and the PrimeCell ID registers answer as QEMU's pl011 does.

use rollsafe_emu::config::Config;
use rollsafe_emu::devices::firmware_config;
use rollsafe_emu::machine::{Machine, Reason};

const RAM: u64 = 0x4000_0000;
const UART: u64 = 0x0900_0000;

#[test]
fn guest_writes_reach_the_console_and_registers_read_back() {
    let mut c = Config::default();
    c.ram = vec![(RAM, 0x1_0000)];
    c.uart = Some(UART);
    let mut m = Machine::new(c, firmware_config(&[], &[]).unwrap()).unwrap();
    // movz w1,#0x68; strb w1,[x0]; movz w1,#0x69; str w1,[x0]; ldr w2,[x0,#0x18];
    // ldr w3,[x0,#0xfe0]; ldr w4,[x0,#0xffc]; hlt #0
    let words: [u32; 8] =
        [0x52800d01, 0x39000001, 0x52800d21, 0xb9000001, 0xb9401802, 0xb94fe003, 0xb94ffc04, 0xd4400000];
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert!(m.mem.host_write(RAM, &bytes));
    m.cpus[0].pc = RAM;
    m.cpus[0].x[0] = UART;
    assert_eq!(m.run(Some(0), 100), Reason::Hlt);
    assert_eq!(m.uart.as_ref().unwrap().console, b"hi");
    assert_eq!((m.cpus[0].x[2], m.cpus[0].x[3], m.cpus[0].x[4]), (0x90, 0x11, 0xb1));
}
