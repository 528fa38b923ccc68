//! Stage-1 translation through the machine (instruction words from GNU as 2.40, source
//! alongside): a 4 KiB-granule, 39-bit table set up in guest RAM by the test, then loads,
//! stores, fetches and AT against it. Each case checks the architectural outcome a guest sees:
//! the value, or ESR_EL1/FAR_EL1 of the fault (ARM ARM D19.2 ESR_EL1 ISS encoding for data and
//! instruction aborts), or PAR_EL1.

use rollsafe_emu::config::Config;
use rollsafe_emu::devices::firmware_config;
use rollsafe_emu::machine::{Machine, Reason};
use rollsafe_emu::sysreg::table;

const RAM: u64 = 0x4000_0000;
const L1: u64 = RAM + 0x1_0000;
const L2: u64 = RAM + 0x1_1000;
const L3: u64 = RAM + 0x1_2000;
const DATA: u64 = RAM + 0x2_0000;
const VA: u64 = 0x1000_0000;
const VBAR: u64 = RAM + 0x800;

const HLT0: u32 = 0xd440_0000; // hlt #0
const HLT1: u32 = 0xd440_0020; // hlt #1
const LDR: u32 = 0xf940_0001; // ldr x1,[x0]
const STR: u32 = 0xf900_0001; // str x1,[x0]
const LDUR1: u32 = 0xf840_1001; // ldur x1,[x0,#1]
const LDTR: u32 = 0xf840_0801; // ldtr x1,[x0]
const AT_E1R: u32 = 0xd508_7800; // at s1e1r, x0
const AT_E1W: u32 = 0xd508_7820; // at s1e1w, x0
const AT_E0R: u32 = 0xd508_7840; // at s1e0r, x0
const TLBI: u32 = 0xd508_871f; // tlbi vmalle1
const BR_X0: u32 = 0xd61f_0000; // br x0

// Descriptor bits (ARM ARM D8.3 "Translation table descriptor formats").
const VALID_TABLE: u64 = 0b11;
const BLOCK: u64 = 0b01;
const PAGE: u64 = 0b11;
const AF: u64 = 1 << 10;
const NORMAL: u64 = 1 << 2; // AttrIndx 1
const DEVICE: u64 = 0; // AttrIndx 0
const ISH: u64 = 3 << 8;
const AP_RO: u64 = 1 << 7;
const AP_EL0: u64 = 1 << 6;
const DBM: u64 = 1 << 51;
const PXN: u64 = 1 << 53;

fn w64(m: &mut Machine, pa: u64, v: u64) {
    assert!(m.mem.host_write(pa, &v.to_le_bytes()));
}

/// A machine with the tables below, the MMU on and a vector table that stops with HLT #1 on
/// any synchronous exception from EL1 (offset 0x200) or EL0 (0x400).
fn machine(tcr_extra: u64) -> Machine {
    let mut c = Config::default();
    c.ram = vec![(RAM, 0x10_0000)];
    let mut m = Machine::new(c, firmware_config(&[], &[]).unwrap()).unwrap();
    // L1[1]: 1 GiB identity block over RAM (Normal); L1[0] -> L2; L2[0x80] -> L3 (VA 0x1000_0000).
    w64(&mut m, L1 + 8, RAM | BLOCK | AF | NORMAL | ISH);
    w64(&mut m, L1, L2 | VALID_TABLE);
    w64(&mut m, L2 + 0x80 * 8, L3 | VALID_TABLE);
    let pages = [
        DATA | PAGE | AF | NORMAL | ISH,                   // 0: EL1 RW
        (DATA + 0x1000) | PAGE | NORMAL | ISH,             // 1: AF = 0
        (DATA + 0x2000) | PAGE | AF | NORMAL | AP_RO | DBM, // 2: read-only, dirty-bit managed
        (DATA + 0x3000) | PAGE | AF | DEVICE,              // 3: Device-nGnRnE
        (DATA + 0x4000) | PAGE | AF | NORMAL | AP_EL0,     // 4: EL0 and EL1 RW
        0,                                                 // 5: invalid
        (DATA + 0x6000) | PAGE | AF | NORMAL | PXN,        // 6: EL1 execute-never
    ];
    for (k, d) in pages.iter().enumerate() {
        w64(&mut m, L3 + 8 * k as u64, *d);
    }
    w64(&mut m, DATA, 0x1122_3344_5566_7788);
    w64(&mut m, DATA + 0x2000, 0xaaaa);
    w64(&mut m, DATA + 0x3000, 0x0102_0304_0506_0708);
    for off in [0x200u64, 0x400] {
        assert!(m.mem.host_write(VBAR + off, &HLT1.to_le_bytes()));
    }
    let cpu = &mut m.cpus[0];
    cpu.sys[table::MAIR] = 0xff << 8; // attr0 Device-nGnRnE, attr1 Normal write-back
    // T0SZ=25 (39-bit), TG0=4K, EPD1, IPS=40 bits.
    cpu.sys[table::TCR] = 25 | 1 << 23 | 2 << 32 | tcr_extra;
    cpu.sys[table::TTBR0] = L1;
    cpu.sys[table::VBAR] = VBAR;
    cpu.sys[table::SCTLR] |= table::SCTLR_M;
    m
}

/// Runs `words` at RAM with x0 = `x0` until HLT; returns the HLT immediate.
fn run(m: &mut Machine, words: &[u32], x0: u64) -> u32 {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert!(m.mem.host_write(RAM, &bytes));
    m.cpus[0].pc = RAM;
    m.cpus[0].x[0] = x0;
    assert_eq!(m.run(Some(0), 1000), Reason::Hlt);
    m.stop.code
}

fn esr(m: &Machine) -> (u64, u64) {
    let e = m.cpus[0].sys[table::ESR];
    assert_ne!(e & 1 << 25, 0, "IL: a 32-bit instruction");
    (e >> 26, e & 0x1ff_ffff)
}

#[test]
fn loads_and_stores_go_through_the_tables() {
    let mut m = machine(0);
    assert_eq!(run(&mut m, &[LDR, HLT0], VA), 0);
    assert_eq!(m.cpus[0].x[1], 0x1122_3344_5566_7788);
    m.cpus[0].x[1] = 0x99;
    assert_eq!(run(&mut m, &[STR, HLT0], VA + 8), 0);
    assert_eq!(m.mem.read(DATA + 8, 3), Some(0x99));
    // Unaligned to Normal memory is fine with SCTLR_EL1.A = 0.
    assert_eq!(run(&mut m, &[LDUR1, HLT0], VA), 0);
    assert_eq!(m.cpus[0].x[1], 0x9911_2233_4455_6677);
    // Across a page boundary into an unmapped page: the fault names the unmapped page and
    // nothing is loaded.
    m.cpus[0].x[1] = 5;
    assert_eq!(run(&mut m, &[LDUR1, HLT0], VA + 0x4ffc), 1);
    assert_eq!(m.cpus[0].x[1], 5);
    assert_eq!((esr(&m), m.cpus[0].sys[table::FAR]), ((0x25, 0x07), VA + 0x5000));
}

#[test]
fn faults_report_class_status_and_level() {
    // Access flag fault, level 3 (DFSC 0b001011), data abort from the current EL (EC 0x25).
    let mut m = machine(0);
    assert_eq!(run(&mut m, &[LDR, HLT0], VA + 0x1000), 1);
    assert_eq!(esr(&m), (0x25, 0x0b));
    assert_eq!(m.cpus[0].sys[table::FAR], VA + 0x1000);
    // Translation fault, level 3 (0b000111), on a write: WnR (bit 6).
    assert_eq!(run(&mut m, &[STR, HLT0], VA + 0x5008), 1);
    assert_eq!(esr(&m), (0x25, 1 << 6 | 0x07));
    assert_eq!(m.cpus[0].sys[table::FAR], VA + 0x5008);
    // Outside T0SZ's 39 bits: translation fault, level 0.
    assert_eq!(run(&mut m, &[LDR, HLT0], 1 << 40), 1);
    assert_eq!(esr(&m), (0x25, 0x04));
    // Permission fault, level 3 (0b001111): a write to a read-only page (no TCR.HD).
    assert_eq!(run(&mut m, &[STR, HLT0], VA + 0x2000), 1);
    assert_eq!(esr(&m), (0x25, 1 << 6 | 0x0f));
    // Device memory: an unaligned load is an Alignment fault (0b100001) even with SCTLR.A = 0.
    assert_eq!(run(&mut m, &[LDUR1, HLT0], VA + 0x3000), 1);
    assert_eq!(esr(&m), (0x25, 0x21));
    // Fetch from a PXN page: instruction abort (EC 0x21), permission fault level 3.
    assert_eq!(run(&mut m, &[BR_X0], VA + 0x6000), 1);
    assert_eq!(esr(&m), (0x21, 0x0f));
    assert_eq!(m.cpus[0].sys[table::ELR], VA + 0x6000);
}

#[test]
fn hardware_access_flag_and_dirty_state_update_the_descriptors() {
    // TCR.HA (39) and TCR.HD (40).
    let mut m = machine(1 << 39 | 1 << 40);
    assert_eq!(run(&mut m, &[LDR, HLT0], VA + 0x1000), 0, "HA sets AF instead of faulting");
    assert_ne!(m.mem.read(L3 + 8, 3).unwrap() & AF, 0);
    m.cpus[0].x[1] = 0x77;
    assert_eq!(run(&mut m, &[STR, HLT0], VA + 0x2000), 0, "HD makes the DBM page writable");
    assert_eq!(m.mem.read(DATA + 0x2000, 3), Some(0x77));
    assert_eq!(m.mem.read(L3 + 16, 3).unwrap() & AP_RO, 0, "AP[2] cleared: the page is dirty");
}

#[test]
fn tlb_holds_translations_until_tlbi() {
    let mut m = machine(0);
    assert_eq!(run(&mut m, &[LDR, HLT0], VA), 0);
    // Remap page 0 to page 2's frame; the old translation stays until TLBI.
    w64(&mut m, L3, (DATA + 0x2000) | PAGE | AF | NORMAL | ISH);
    assert_eq!(run(&mut m, &[LDR, HLT0], VA), 0);
    assert_eq!(m.cpus[0].x[1], 0x1122_3344_5566_7788, "cached translation");
    assert_eq!(run(&mut m, &[TLBI, LDR, HLT0], VA), 0);
    assert_eq!(m.cpus[0].x[1], 0xaaaa, "after TLBI VMALLE1 the new descriptor is used");
}

#[test]
fn pan_and_unprivileged_accesses() {
    let mut m = machine(0);
    // Without FEAT_PAN in ID_AA64MMFR1_EL1, MSR PAN is UNDEFINED (EC 0).
    assert_eq!(run(&mut m, &[0xd500_419f, HLT0], 0), 1); // msr pan, #1
    assert_eq!(esr(&m).0, 0);
    m.cpus[0].id[0x39] = 1 << 20; // ID_AA64MMFR1_EL1.PAN = 1
    assert_eq!(run(&mut m, &[0xd500_419f, LDR, HLT0], VA + 0x4000), 1); // msr pan,#1; ldr
    assert_eq!(esr(&m), (0x25, 0x0f), "PAN: EL1 load from an EL0 page");
    // LDTR checks EL0 permissions, to which PAN does not apply; on an EL1-only page it faults.
    assert_eq!(run(&mut m, &[LDTR, HLT0], VA + 0x4000), 0);
    assert_eq!(run(&mut m, &[LDTR, HLT0], VA), 1);
    assert_eq!(esr(&m), (0x25, 0x0f));
    // mrs x2, pan reads PSTATE.PAN in bit 22 (exception entry kept it: SCTLR.SPAN = 1).
    assert_eq!(run(&mut m, &[0xd538_4262, HLT0], 0), 0);
    assert_eq!(m.cpus[0].x[2], 1 << 22);
}

#[test]
fn at_writes_par_el1_with_bit_11_set() {
    let mut m = machine(0);
    assert_eq!(run(&mut m, &[AT_E1R, HLT0], VA + 0x123), 0);
    // ATTR = 0xff, PA = DATA, RES1 bit 11, SH = 0b11.
    assert_eq!(m.cpus[0].sys[table::PAR], 0xff << 56 | DATA | 1 << 11 | 3 << 7);
    // A write to the read-only page: F = 1, FST = permission level 3, bit 11 still set.
    assert_eq!(run(&mut m, &[AT_E1W, HLT0], VA + 0x2000), 0);
    assert_eq!(m.cpus[0].sys[table::PAR], 1 << 11 | 0x0f << 1 | 1);
    // EL0 read of an EL1-only page: permission fault.
    assert_eq!(run(&mut m, &[AT_E0R, HLT0], VA), 0);
    assert_eq!(m.cpus[0].sys[table::PAR], 1 << 11 | 0x0f << 1 | 1);
    // Device page: ATTR 0x00 and Outer Shareable.
    assert_eq!(run(&mut m, &[AT_E1R, HLT0], VA + 0x3000), 0);
    assert_eq!(m.cpus[0].sys[table::PAR], (DATA + 0x3000) | 1 << 11 | 2 << 7);
}

#[test]
fn granules_16k_and_64k_walk_from_the_right_level() {
    // 64K granule, T0SZ = 22 (42 bits): stride 13, start level 2; a level-2 table entry at
    // index VA>>29 to a level-3 table of 64 KiB pages.
    let mut c = Config::default();
    c.ram = vec![(RAM, 0x40_0000)];
    let mut m = Machine::new(c, firmware_config(&[], &[]).unwrap()).unwrap();
    let l2 = RAM + 0x10_0000;
    let l3 = RAM + 0x11_0000;
    let page = RAM + 0x20_0000;
    // Code at RAM through a level-2 entry for VA RAM (index RAM >> 29 = 2): a 512 MiB block.
    w64(&mut m, l2 + 2 * 8, RAM | BLOCK | AF | NORMAL);
    w64(&mut m, l2, l3 | VALID_TABLE);
    w64(&mut m, l3 + ((VA >> 16) & 0x1fff) * 8, page | PAGE | AF | NORMAL);
    w64(&mut m, page + 0xfff8, 0x6464);
    assert!(m.mem.host_write(VBAR + 0x200, &HLT1.to_le_bytes()));
    let cpu = &mut m.cpus[0];
    cpu.sys[table::MAIR] = 0xff << 8;
    cpu.sys[table::TCR] = 22 | 1 << 14 | 1 << 23 | 2 << 32;
    cpu.sys[table::TTBR0] = l2;
    cpu.sys[table::VBAR] = VBAR;
    cpu.sys[table::SCTLR] |= table::SCTLR_M;
    assert_eq!(run(&mut m, &[LDR, HLT0], VA + 0xfff8), 0);
    assert_eq!(m.cpus[0].x[1], 0x6464);

    // The same tables read as 16K granule (TG0 = 0b10), T0SZ = 28 (36 bits): stride 11, start
    // level 2, index VA >> 25. For the code at VA RAM that is entry 0x20 of the first table,
    // which is empty: the fetch takes a translation fault at level 2 (IFSC 0b000110), and so
    // does every vector fetch after it, until the budget ends.
    m.cpus[0].sys[table::TCR] = 28 | 2 << 14 | 1 << 23 | 2 << 32;
    m.cpus[0].tlb.flush();
    m.cpus[0].pc = RAM;
    m.cpus[0].x[0] = VA;
    assert_eq!(m.run(Some(0), 10), Reason::Budget);
    let e = m.cpus[0].sys[table::ESR];
    assert_eq!((e >> 26, e & 0x3f), (0x21, 0x06), "instruction abort, translation fault level 2");
}
