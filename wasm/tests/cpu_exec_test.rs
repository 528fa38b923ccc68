//! Execution tests through the machine (instruction words from GNU as 2.40, source alongside):
//! loops and flags, exclusives, stop reasons (HLT, WFI, MMIO, PSCI
//! SYSTEM_OFF), PSCI CPU_ON of a second vCPU, deterministic time across WFI, the PMU cycle
//! counter, configured cache geometry, KVM ONE_REG ids, and random words that must never panic.

use rollsafe_emu::config::Config;
use rollsafe_emu::devices::firmware_config;
use rollsafe_emu::kvm_ids::{self, ENOENT, EOPNOTSUPP};
use rollsafe_emu::machine::{Machine, Reason};

const RAM: u64 = 0x4000_0000;
const PC: u64 = 0x6030_0000_0010_0040;
const PSTATE: u64 = 0x6030_0000_0010_0042;

fn x(n: u64) -> u64 {
    0x6030_0000_0010_0000 | 2 * n
}

fn machine(cfg: impl FnOnce(&mut Config)) -> Machine {
    let mut c = Config::default();
    c.ram = vec![(RAM, 0x10_0000)];
    cfg(&mut c);
    Machine::new(c, firmware_config(&[], &[]).unwrap()).unwrap()
}

fn load(m: &mut Machine, at: u64, words: &[u32]) {
    let bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert!(m.mem.host_write(at, &bytes));
}

fn reg(m: &Machine, v: usize, id: u64) -> u64 {
    kvm_ids::get(m, v, id).unwrap()
}

#[test]
fn loop_with_flags_sums_5_to_1() {
    // movz x0,#5; movz x1,#0; 1: add x1,x1,x0; subs x0,x0,#1; b.ne 1b; hlt #0
    let mut m = machine(|_| {});
    load(&mut m, RAM, &[0xd28000a0, 0xd2800001, 0x8b000021, 0xf1000400, 0x54ffffc1, 0xd4400000]);
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 1000), Reason::Hlt);
    assert_eq!(reg(&m, 0, x(1)), 15);
    assert_eq!(reg(&m, 0, PSTATE) >> 28, 0b0110, "Z and C from the last SUBS 1-1");
    assert_eq!(m.cpus[0].icount, 2 + 5 * 3 + 1);
}

#[test]
fn store_exclusive_succeeds_once_per_load_exclusive() {
    // ldxr x1,[x0]; add x1,x1,#1; stxr w2,x1,[x0]; stxr w3,x1,[x0]; hlt #0
    let mut m = machine(|_| {});
    load(&mut m, RAM, &[0xc85f7c01, 0x91000421, 0xc8027c01, 0xc8037c01, 0xd4400000]);
    load(&mut m, RAM + 0x100, &[41, 0]);
    kvm_ids::set(&mut m, 0, x(0), RAM + 0x100).unwrap();
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 100), Reason::Hlt);
    assert_eq!((reg(&m, 0, x(2)), reg(&m, 0, x(3))), (0, 1));
    assert_eq!(m.mem.read(RAM + 0x100, 3), Some(42));
}

#[test]
fn wfi_with_nothing_pending_stops_and_timer_deadline_moves_the_clock() {
    // wfi; hlt #0
    let mut m = machine(|_| {});
    load(&mut m, RAM, &[0xd503207f, 0xd4400000]);
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 100), Reason::Wfi);
    assert_eq!(m.phys_now(), 1, "one instruction retired, one tick");

    // mrs x0,cntvct_el0; add x0,x0,#1000; msr cntv_cval_el0,x0; mov x1,#1;
    // msr cntv_ctl_el0,x1; wfi; mrs x2,cntvct_el0; hlt #0
    let mut m = machine(|_| {});
    load(&mut m, RAM, &[0xd53be040, 0x910fa000, 0xd51be340, 0xd2800021, 0xd51be321, 0xd503207f, 0xd53be042, 0xd4400000]);
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    let r = m.run(Some(0), 100);
    // The PPI is not enabled in the GIC, so the line cannot wake the vCPU: the clock jumps to the
    // deadline (count 1000 from the MRS at count 0), then the run stops waiting.
    assert_eq!(r, Reason::Wfi);
    assert_eq!(m.phys_now(), 1000);
}

#[test]
fn psci_cpu_on_starts_the_second_vcpu_and_system_off_stops() {
    // ldr x0,=CPU_ON64; mov x1,#1; adr x2,1f; mov x3,#0x77; hvc #0; mov x19,x0; hlt #0;
    // 2: wfi; b 2b; 1: mov x20,x0; ldr x0,=SYSTEM_OFF; hvc #0; (literal pool)
    let mut m = machine(|c| {
        c.nvcpus = 2;
        c.power_off = vec![1];
    });
    load(
        &mut m,
        RAM,
        &[
            0x58000180, 0xd2800021, 0x100000e2, 0xd2800ee3, 0xd4000002, 0xaa0003f3, 0xd4400000, 0xd503207f, 0x17ffffff,
            0xaa0003f4, 0x58000080, 0xd4000002, 0xc4000003, 0x00000000, 0x84000008, 0x00000000,
        ],
    );
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(None, 1000), Reason::Hlt);
    assert_eq!(m.stop.vcpu, 0);
    assert_eq!(reg(&m, 0, x(19)), 0, "CPU_ON returned SUCCESS");
    assert_eq!(m.run(None, 1000), Reason::SystemOff);
    assert_eq!(m.stop.vcpu, 1);
    assert_eq!(reg(&m, 1, x(20)), 0x77, "context id in x0 of the new vCPU");
    assert_eq!(reg(&m, 1, PSTATE), 0x3c5, "EL1h, DAIF masked");
}

#[test]
fn pmu_cycle_counter_counts_retired_instructions() {
    // mov x0,#1; msr pmcr_el0,x0; mov x0,#0x80000000; msr pmcntenset_el0,x0; nop; nop; nop;
    // mrs x1,pmccntr_el0; hlt #0
    let mut m = machine(|c| c.pmcr_n = 6);
    load(&mut m, RAM, &[0xd2800020, 0xd51b9c00, 0xd2b00000, 0xd51b9c20, 0xd503201f, 0xd503201f, 0xd503201f, 0xd53b9d01, 0xd4400000]);
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 100), Reason::Hlt);
    assert_eq!(reg(&m, 0, x(1)), 3, "counting starts after the PMCNTENSET write: 3 NOPs");
    assert_eq!(m.cpus[0].pmcr >> 11 & 0x1f, 6);
}

#[test]
fn cache_geometry_and_ids_come_from_the_configuration() {
    // mov x0,#2; msr csselr_el1,x0; isb; mrs x1,ccsidr_el1; mrs x2,midr_el1; mrs x3,mpidr_el1; hlt
    let mut m = machine(|c| {
        c.ccsidr = vec![(2, 0x7003_e01a)];
        c.sysregs = vec![(0xc000, 0x413f_d0c1)]; // MIDR_EL1: Neoverse N1 r3p1
    });
    load(&mut m, RAM, &[0xd2800040, 0xd51a0000, 0xd5033fdf, 0xd5390001, 0xd5380002, 0xd53800a3, 0xd4400000]);
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 100), Reason::Hlt);
    assert_eq!(reg(&m, 0, x(1)), 0x7003_e01a);
    assert_eq!(reg(&m, 0, x(2)), 0x413f_d0c1);
    assert_eq!(reg(&m, 0, x(3)), 0x8000_0000, "KVM's default MPIDR for vCPU 0");
    // The same values through KVM ids: the CCSIDR demux and ARM64_SYS_REG(3,0,0,0,0).
    assert_eq!(reg(&m, 0, 0x6020_0000_0011_0002), 0x7003_e01a);
    assert_eq!(reg(&m, 0, 0x6030_0000_0013_c000), 0x413f_d0c1);
}

#[test]
fn unmodelled_mmio_stops_the_run_with_a_reason() {
    // str w1,[x0]; hlt — x0 in a UART window nobody models
    let mut m = machine(|c| c.mmio_windows = vec![(0x0900_0000, 0x1000)]);
    load(&mut m, RAM, &[0xb9000001, 0xd4400000]);
    kvm_ids::set(&mut m, 0, x(0), 0x0900_0000).unwrap();
    kvm_ids::set(&mut m, 0, x(1), 0x41).unwrap();
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 100), Reason::Mmio);
    assert_eq!((m.stop.addr, m.stop.size, m.stop.write, m.stop.value), (0x0900_0000, 4, true, 0x41));
    assert_eq!(reg(&m, 0, PC), RAM, "the access did not execute");
}

#[test]
fn one_reg_ids_follow_kvm() {
    let mut m = machine(|_| {});
    assert_eq!(kvm_ids::get(&m, 0, 0x6030_0000_0013_ffff), Err(ENOENT), "unknown sysreg");
    assert_eq!(kvm_ids::get(&m, 0, 0x6040_0000_0010_0054), Err(EOPNOTSUPP), "V0 (U128): no FP");
    assert_eq!(kvm_ids::set(&mut m, 0, PSTATE, 0x3c9), Err(-22), "EL2h is not a vCPU mode here");
    assert_eq!(kvm_ids::get(&m, 0, 0x6030_0000_0014_0000), Ok(0x1_0003), "PSCI version FW reg");
    // TIMER_CVAL (3,3,14,0,2) and TIMER_CNT (3,3,14,3,2) are swapped in KVM's id space.
    kvm_ids::set(&mut m, 0, 0x6030_0000_0013_df02, 12345).unwrap();
    assert_eq!(kvm_ids::get(&m, 0, 0x6030_0000_0013_df02), Ok(12345));
    assert_eq!(m.timers[0].virt.cval, 12345, "TIMER_CVAL is CNTV_CVAL_EL0");
    assert_eq!(kvm_ids::get(&m, 0, 0x6030_0000_0013_c002), Err(ENOENT), "reserved ID space CRm=0 op2=2");
    assert_eq!(kvm_ids::get(&m, 0, 0x6030_0000_0013_c03f), Ok(0), "ID space CRm=7 op2=7 is RAZ");
}

#[test]
fn random_words_execute_without_panicking() {
    // Random words at EL1 with vectors in RAM: every outcome must be architectural.
    let mut s = 0x9e37_79b9_7f4a_7c15u64;
    let mut m = machine(|c| c.ram = vec![(0, 0x1_0000), (RAM, 0x10_0000)]);
    for round in 0..200 {
        let words: Vec<u32> = (0..1024)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                s as u32
            })
            .collect();
        load(&mut m, RAM, &words);
        for r in 0..31 {
            kvm_ids::set(&mut m, 0, x(r), RAM + (r * 64)).unwrap();
        }
        kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
        kvm_ids::set(&mut m, 0, PSTATE, if round % 2 == 0 { 0x3c5 } else { 0 }).unwrap();
        let _ = m.run(Some(0), 2000);
    }
}

#[test]
fn a_guest_store_over_decoded_code_takes_effect() {
    // adr x0,1f; ldr w1,2f; mov x6,#2; 1: mov x5,#1; subs x6,x6,#1; b.eq 4f; str w1,[x0];
    // b 1b; 4: hlt #0; 2: (data) mov x5,#2
    let mut m = machine(|_| {});
    load(&mut m, RAM, &[0x10000060, 0x18000101, 0xd2800046, 0xd2800025, 0xf10004c6, 0x54000060, 0xb9000001, 0x17fffffc, 0xd4400000, 0xd2800045]);
    kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
    assert_eq!(m.run(Some(0), 100), Reason::Hlt);
    assert_eq!(reg(&m, 0, x(5)), 2, "the second pass executes the stored instruction");
}

/// Two vCPUs increment one word 1000 times each with LDXR/STXR, switched every 7 instructions
/// (mid-sequence): no update is lost, and two identical runs end in identical states.
#[test]
fn exclusives_across_vcpus_and_deterministic_scheduling() {
    // mov x2,#1000; 1: ldxr x1,[x0]; add x1,x1,#1; stxr w3,x1,[x0]; cbnz w3,1b; subs x2,x2,#1;
    // b.ne 1b; 2: wfi; b 2b
    let run = || {
        let mut m = machine(|c| {
            c.nvcpus = 2;
            c.slice = 7;
        });
        load(&mut m, RAM, &[0xd2807d02, 0xc85f7c01, 0x91000421, 0xc8037c01, 0x35ffffa3, 0xf1000442, 0x54ffff61, 0xd503207f, 0x17ffffff]);
        for v in 0..2 {
            kvm_ids::set(&mut m, v, x(0), RAM + 0x800).unwrap();
            kvm_ids::set(&mut m, v, PC, RAM).unwrap();
        }
        let r = m.run(None, 1_000_000);
        (r, m.mem.read(RAM + 0x800, 3), m.cpus[0].icount, m.cpus[1].icount, m.phys_now())
    };
    let a = run();
    assert_eq!((a.0, a.1), (Reason::Wfi, Some(2000)));
    assert_eq!(a, run());
}

#[test]
fn smc_at_el1_follows_the_kernel_generation() {
    // ldr x0,=PSCI_VERSION; smc #0; mov x19,x0; ldr x0,=PSCI_VERSION; smc #1; mov x20,x0; hlt
    let prog = [0x58000100, 0xd4000003, 0xaa0003f3, 0x580000a0, 0xd4000023, 0xaa0003f4, 0xd4400000, 0, 0x84000000, 0];
    for (smccc, want19) in [(true, 0x1_0003u64), (false, u64::MAX)] {
        let mut m = machine(|c| c.smc_smccc = smccc);
        load(&mut m, RAM, &prog);
        kvm_ids::set(&mut m, 0, PC, RAM).unwrap();
        assert_eq!(m.run(Some(0), 100), Reason::Hlt);
        assert_eq!(reg(&m, 0, x(19)), want19, "SMC #0, smccc={}", smccc);
        assert_eq!(reg(&m, 0, x(20)), u64::MAX, "SMC #1 is reserved: NOT_SUPPORTED");
    }
}

#[test]
fn hostile_boundary_input_gives_error_codes() {
    let mut s = 0x1234_5678_9abc_def1u64;
    let mut next = || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    // Random configuration records: parse errors, never panics.
    for _ in 0..10_000 {
        let key = next() % 32;
        let mut blob = Vec::new();
        for w in [key, next(), next()] {
            blob.extend_from_slice(&w.to_le_bytes());
        }
        blob.truncate(24 - (next() % 2) as usize * 5);
        let _ = Config::parse(&blob);
    }
    // Random ONE_REG ids and values (arm64 class, every size and coprocessor field).
    let mut m = machine(|c| c.nvcpus = 2);
    for _ in 0..100_000 {
        let id = 0x6000_0000_0000_0000 | (next() & 0x00f0_0000_001f_ffff);
        let v = next() as usize % 3;
        let val = next();
        let _ = kvm_ids::get(&m, v, id);
        let _ = kvm_ids::set(&mut m, v, id, val);
        let _ = kvm_ids::set_bytes(&mut m, v, id, &val.to_le_bytes());
    }
}
