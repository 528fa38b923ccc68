//! A PL011 UART as QEMU's `virt` board has it (ARM PrimeCell UART (PL011) Technical Reference
//! Manual, DDI0183, 3.2 "Summary of registers"): transmit only. Bytes written to UARTDR go to
//! the console buffer the host drains; the receive FIFO is always empty. The transmitter is
//! infinitely fast, so UARTFR always reads "transmit FIFO empty, not busy" and the console
//! output is a function of the guest alone (no timing).

/// Register offsets (DDI0183 table 3-1).
const DR: u64 = 0x000;
const RSR: u64 = 0x004;
const FR: u64 = 0x018;
const ILPR: u64 = 0x020;
const IBRD: u64 = 0x024;
const FBRD: u64 = 0x028;
const LCR_H: u64 = 0x02c;
const CR: u64 = 0x030;
const IFLS: u64 = 0x034;
const IMSC: u64 = 0x038;
const RIS: u64 = 0x03c;
const MIS: u64 = 0x040;
const ICR: u64 = 0x044;
const DMACR: u64 = 0x048;
/// UARTFR: TXFE (transmit FIFO empty) and RXFE (receive FIFO empty).
const FR_TXFE: u64 = 1 << 7;
const FR_RXFE: u64 = 1 << 4;
/// UARTPeriphID0..3 and UARTPCellID0..3 at 0xFE0..0xFFC, the values QEMU's `pl011` model
/// answers (hw/char/pl011.c `pl011_id_arm`), which AMBA probing matches on.
const ID: [u8; 8] = [0x11, 0x10, 0x14, 0x00, 0x0d, 0xf0, 0x05, 0xb1];
/// The most console bytes held between drains (older bytes are kept, newer dropped).
const MAX_CONSOLE: usize = 1 << 20;

pub struct Pl011 {
    pub base: u64,
    /// Register file of the writable control registers, by offset / 4 (0x00..0x48).
    regs: [u32; 19],
    pub console: Vec<u8>,
}

impl Pl011 {
    pub fn new(base: u64) -> Pl011 {
        let mut regs = [0u32; 19];
        regs[(CR / 4) as usize] = 0x300; // TXE | RXE at reset
        regs[(IFLS / 4) as usize] = 0x12;
        Pl011 { base, regs, console: Vec::new() }
    }

    pub fn contains(&self, pa: u64) -> bool {
        pa >= self.base && pa - self.base < 0x1000
    }

    pub fn read(&mut self, pa: u64) -> u64 {
        let off = pa - self.base;
        match off {
            DR | RSR | RIS | MIS => 0,
            FR => FR_TXFE | FR_RXFE,
            ILPR | IBRD | FBRD | LCR_H | CR | IFLS | IMSC | DMACR => self.regs[(off / 4) as usize] as u64,
            0xfe0..=0xffc if off & 3 == 0 => ID[((off - 0xfe0) / 4) as usize] as u64,
            _ => 0,
        }
    }

    pub fn write(&mut self, pa: u64, v: u64) {
        let off = pa - self.base;
        match off {
            DR => {
                if self.console.len() < MAX_CONSOLE {
                    self.console.push(v as u8);
                }
            }
            ILPR | IBRD | FBRD | LCR_H | CR | IFLS | IMSC | DMACR => self.regs[(off / 4) as usize] = v as u32,
            // RSR/ECR writes clear errors, ICR clears interrupts: none are ever raised.
            RSR | ICR => {}
            _ => {}
        }
    }
}
