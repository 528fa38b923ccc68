// Shared part of the VMM referee's guest programs (hostprobe/vmm/guests/*.S include it).
//
// A guest runs at EL1, MMU off, on QEMU's `virt` board under KVM (`-cpu host`, one vCPU,
// -m 32), loaded with -kernel as an ELF at 0x40080000. It
//   1. finds out what it has (GIC architecture from GICD_PIDR2, pointer auth from
//      ID_AA64ISAR1/ISAR2, SVE from ID_AA64PFR0) and keeps the answer in x20,
//   2. runs its own `configure` (each guest program moves different state away from reset),
//   3. reads every observation below and prints it on the PL011 as `@@obs <name> <hex>`,
//      then `@@ready`, and spins reading the UART: the referee saves it here,
//   4. on receiving `r` (sent by the referee after the restore), reads everything again and
//      prints `@@after <name> <hex>` for each, `@@changed <name> <before> <after>` for every
//      value that differs from what it saw before the save, then `@@done`.
// A read the guest may not make (no GICv3 redistributor on GICv2, keys without pointer auth) is
// printed as `absent`; a read that traps (UNDEF) as `trap` (the exception handler skips it).
//
// Registers kept across the whole run (the restore brings them back): x19 phase (0 before the
// save, 1 after the restore), x20 feature flags, x28 "the last instruction trapped".

        .arch   armv8.3-a
        .arch_extension sve

        .equ    UART, 0x09000000        // virt: VIRT_UART (PL011)
        .equ    GICD, 0x08000000        // virt: VIRT_GIC_DIST
        .equ    GICC, 0x08010000        // virt: VIRT_GIC_CPU (GICv2)
        .equ    GICR, 0x080a0000        // virt: VIRT_GIC_REDIST (RD_base of vCPU 0)
        .equ    GICR_SGI, 0x080b0000    // its SGI_base frame
        .equ    STACK_TOP, 0x41000000
        .equ    SLOTS_BEFORE, 0x41800000
        .equ    SLOTS_AFTER, 0x41900000

        .equ    F_GICV3, 0              // flag bits in x20
        .equ    F_PAUTH, 1
        .equ    F_SVE, 2
        .equ    F_GICV2, 3

        .set    OBS_INDEX, 0

// ---- observation macros: each one read, one slot, one name ---------------------------------

// x3 = 1 when the value in x0 was read; `need` is a flag bit of x20 the read depends on (-1:
// always read). A skipped read branches to the local label 8 that OBS_END defines.
.macro  OBS_BEGIN need
        mov     x3, #0
        mov     x28, #0
  .if \need >= 0
        tbz     x20, #\need, 8f        // 8: is the label OBS_END places before emit
  .endif
.endm

.macro  OBS_END name
        mov     x3, #1
8:      adr     x1, .Lname\@
        mov     x2, #OBS_INDEX
        bl      emit
        .set    OBS_INDEX, OBS_INDEX + 1
        .pushsection .rodata
.Lname\@:
        .asciz  "\name"
        .popsection
.endm

.macro  OBS_SYS name, reg, need=-1
        OBS_BEGIN \need
        mrs     x0, \reg
        OBS_END \name
.endm

.macro  OBS_MMIO32 name, addr, need=-1
        OBS_BEGIN \need
        ldr     x4, =\addr
        ldr     w0, [x4]
        OBS_END \name
.endm

// An SMCCC/PSCI call over HVC (the conduit QEMU's virt board advertises under KVM); x0 back.
.macro  OBS_HVC name, fid, arg=0
        OBS_BEGIN -1
        ldr     x0, =\fid
        ldr     x1, =\arg
        mov     x2, #0
        mov     x3, #0
        hvc     #0
        OBS_END \name
.endm

// CCSIDR_EL1 for one CSSELR_EL1 value, when CLIDR_EL1 says that cache exists.
.macro  OBS_CCSIDR name, csselr
        OBS_BEGIN -1
        mov     x0, #\csselr
        bl      cache_exists
        cbz     x0, 8f
        mov     x0, #\csselr
        msr     csselr_el1, x0
        isb
        mrs     x0, ccsidr_el1
        OBS_END \name
.endm

// ---- entry ----------------------------------------------------------------------------------

        .text
        .global _start
_start:
        ldr     x0, =STACK_TOP
        mov     sp, x0
        adr     x0, vectors
        msr     vbar_el1, x0
        ldr     x0, =(3 << 20) | (3 << 16)      // CPACR_EL1: FPEN and ZEN, no traps
        msr     cpacr_el1, x0
        isb
        mov     x19, #0
        mov     x28, #0
        bl      detect
        adr     x1, s_guest
        bl      puts
        adr     x1, guest_name
        bl      puts
        bl      newline
        bl      configure
        bl      observe
        adr     x1, s_ready
        bl      puts
1:      bl      getc                    // the referee saves the guest while it waits here
        cmp     x0, #'r'
        b.ne    1b
        mov     x19, #1
        bl      observe
        adr     x1, s_done
        bl      puts
2:      wfe
        b       2b

// x20 = feature flags
detect:
        mov     x20, #0
        ldr     x1, =GICD + 0xffe8      // GICD_PIDR2.ArchRev: 3 or 4 = GICv3/v4, 2 = GICv2
        mov     x0, #0                  // stays 0 if the read traps
        ldr     w0, [x1]
        ubfx    x0, x0, #4, #4
        cmp     x0, #3
        b.lt    1f
        orr     x20, x20, #(1 << F_GICV3)
        b       2f
1:      orr     x20, x20, #(1 << F_GICV2)   // KVM's vGICv2 reads PIDR2 as 0: v2 by elimination
2:      mrs     x0, id_aa64isar1_el1    // APA [7:4], API [11:8], GPA [27:24], GPI [31:28]
        ldr     x1, =0xff000ff0
        tst     x0, x1
        b.ne    3f
        mrs     x0, s3_0_c0_c6_2        // ID_AA64ISAR2_EL1: GPA3 [11:8], APA3 [15:12]
        tst     x0, #0xff00
        b.eq    4f
3:      orr     x20, x20, #(1 << F_PAUTH)
4:      mrs     x0, id_aa64pfr0_el1     // SVE [35:32]
        ubfx    x0, x0, #32, #4
        cbz     x0, 5f
        orr     x20, x20, #(1 << F_SVE)
5:      ret

// x0 = CSSELR value → x0 = 1 if CLIDR_EL1 describes that cache (Ctype per level, 3 bits)
cache_exists:
        mrs     x1, clidr_el1
        lsr     x2, x0, #1              // level - 1
        add     x2, x2, x2, lsl #1      // * 3
        lsr     x1, x1, x2
        and     x1, x1, #7              // Ctype: 1 I, 2 D, 3 separate I+D, 4 unified
        tbnz    x0, #0, 1f
        sub     x1, x1, #2              // data/unified: 2, 3 or 4
        cmp     x1, #2
        cset    x0, ls
        ret
1:      cmp     x1, #1                  // instruction: 1 or 3
        ccmp    x1, #3, #4, ne
        cset    x0, eq
        ret

// emit: x0 value, x1 name, x2 slot index, x3 1 = read (0 = absent); x28 = 1 if it trapped.
// Phase 0 stores to SLOTS_BEFORE and prints @@obs; phase 1 stores to SLOTS_AFTER, prints
// @@after and, when value or state differ from before, @@changed.
emit:
        stp     x29, x30, [sp, #-48]!
        stp     x21, x22, [sp, #16]
        stp     x23, x24, [sp, #32]
        cbz     x28, 1f
        mov     x3, #2                  // state: 0 absent, 1 read, 2 trapped
        mov     x0, #0
        mov     x28, #0
1:      mov     x21, x0
        mov     x22, x1
        mov     x23, x3
        ldr     x4, =SLOTS_BEFORE
        ldr     x5, =SLOTS_AFTER
        cmp     x19, #0
        csel    x4, x4, x5, eq
        add     x4, x4, x2, lsl #4
        stp     x21, x23, [x4]
        ldr     x24, =SLOTS_BEFORE
        add     x24, x24, x2, lsl #4
        adr     x1, s_obs
        cbz     x19, 2f
        adr     x1, s_after
2:      bl      puts
        mov     x1, x22
        bl      puts
        bl      space
        mov     x0, x21
        mov     x1, x23
        bl      putval
        bl      newline
        cbz     x19, 9f
        ldp     x6, x7, [x24]           // before: value, state
        cmp     x6, x21
        ccmp    x7, x23, #0, eq
        b.eq    9f
        adr     x1, s_changed
        bl      puts
        mov     x1, x22
        bl      puts
        bl      space
        ldp     x0, x1, [x24]
        bl      putval
        bl      space
        mov     x0, x21
        mov     x1, x23
        bl      putval
        bl      newline
9:      ldp     x23, x24, [sp, #32]
        ldp     x21, x22, [sp, #16]
        ldp     x29, x30, [sp], #48
        ret

// x0 value, x1 state → hex, `absent` or `trap`
putval:
        cmp     x1, #1
        b.eq    puthex
        adr     x1, s_absent
        b.lt    puts
        adr     x1, s_trap
        b       puts

// ---- PL011 ----------------------------------------------------------------------------------

putc:                                   // w0
        ldr     x9, =UART
1:      ldr     w10, [x9, #0x18]        // UARTFR.TXFF
        tbnz    w10, #5, 1b
        strb    w0, [x9]
        ret

getc:                                   // → x0
        ldr     x9, =UART
1:      ldr     w10, [x9, #0x18]        // UARTFR.RXFE
        tbnz    w10, #4, 1b
        ldr     w0, [x9]
        and     x0, x0, #0xff
        ret

puts:                                   // x1 = NUL-terminated string
        mov     x11, x30
        mov     x12, x1
1:      ldrb    w0, [x12], #1
        cbz     w0, 2f
        bl      putc
        b       1b
2:      ret     x11

puthex:                                 // x0, as 0x + 16 digits
        mov     x11, x30
        mov     x12, x0
        mov     x0, #'0'
        bl      putc
        mov     x0, #'x'
        bl      putc
        mov     x13, #60
1:      lsr     x0, x12, x13
        and     x0, x0, #0xf
        cmp     x0, #10
        add     x14, x0, #'0'
        add     x0, x0, #('a' - 10)
        csel    x0, x14, x0, lt
        bl      putc
        subs    x13, x13, #4
        b.ge    1b
        ret     x11

space:
        mov     x0, #' '
        b       putc

newline:
        mov     x0, #'\n'
        b       putc

// ---- what every guest observes --------------------------------------------------------------

observe:
        stp     x29, x30, [sp, #-16]!
        // identification and features
        OBS_SYS MIDR_EL1, midr_el1
        OBS_SYS MPIDR_EL1, mpidr_el1
        OBS_SYS REVIDR_EL1, revidr_el1
        OBS_SYS ID_AA64PFR0_EL1, s3_0_c0_c4_0
        OBS_SYS ID_AA64PFR1_EL1, s3_0_c0_c4_1
        OBS_SYS ID_AA64ZFR0_EL1, s3_0_c0_c4_4
        OBS_SYS ID_AA64SMFR0_EL1, s3_0_c0_c4_5
        OBS_SYS ID_AA64DFR0_EL1, s3_0_c0_c5_0
        OBS_SYS ID_AA64DFR1_EL1, s3_0_c0_c5_1
        OBS_SYS ID_AA64ISAR0_EL1, s3_0_c0_c6_0
        OBS_SYS ID_AA64ISAR1_EL1, s3_0_c0_c6_1
        OBS_SYS ID_AA64ISAR2_EL1, s3_0_c0_c6_2
        OBS_SYS ID_AA64MMFR0_EL1, s3_0_c0_c7_0
        OBS_SYS ID_AA64MMFR1_EL1, s3_0_c0_c7_1
        OBS_SYS ID_AA64MMFR2_EL1, s3_0_c0_c7_2
        OBS_SYS ID_AA64MMFR3_EL1, s3_0_c0_c7_3
        OBS_SYS ID_PFR0_EL1, s3_0_c0_c1_0
        OBS_SYS ID_DFR0_EL1, s3_0_c0_c1_2
        OBS_SYS ID_ISAR0_EL1, s3_0_c0_c2_0
        OBS_SYS ID_MMFR0_EL1, s3_0_c0_c1_4
        OBS_SYS CTR_EL0, ctr_el0
        OBS_SYS DCZID_EL0, dczid_el0
        OBS_SYS AIDR_EL1, aidr_el1
        OBS_SYS CLIDR_EL1, clidr_el1
        OBS_CCSIDR CCSIDR_L1D, 0
        OBS_CCSIDR CCSIDR_L1I, 1
        OBS_CCSIDR CCSIDR_L2, 2
        OBS_CCSIDR CCSIDR_L2I, 3
        OBS_CCSIDR CCSIDR_L3, 4
        OBS_CCSIDR CCSIDR_L4, 6
        // firmware over HVC
        OBS_HVC PSCI_VERSION, 0x84000000
        OBS_HVC SMCCC_VERSION, 0x80000000
        OBS_HVC PSCI_FEATURES.CPU_SUSPEND, 0x8400000a, 0xc4000001
        OBS_HVC PSCI_FEATURES.SYSTEM_SUSPEND, 0x8400000a, 0xc400000e
        OBS_HVC PSCI_FEATURES.SYSTEM_RESET2, 0x8400000a, 0xc4000012
        OBS_HVC PSCI_FEATURES.SYSTEM_OFF2, 0x8400000a, 0xc4000015
        OBS_HVC PSCI_FEATURES.PSCI_FEATURES, 0x8400000a, 0x8400000a
        OBS_HVC SMCCC_ARCH_FEATURES.WORKAROUND_1, 0x80000001, 0x80008000
        OBS_HVC SMCCC_ARCH_FEATURES.WORKAROUND_2, 0x80000001, 0x80007fff
        OBS_HVC SMCCC_ARCH_FEATURES.WORKAROUND_3, 0x80000001, 0x80003fff
        OBS_HVC SMCCC_ARCH_FEATURES.SOC_ID, 0x80000001, 0x80000002
        OBS_HVC TRNG_VERSION, 0x84000050
        OBS_HVC KVM_VENDOR_HYP_FEATURES, 0x86000000
        // timers and thread registers
        OBS_SYS CNTFRQ_EL0, cntfrq_el0
        OBS_SYS CNTKCTL_EL1, cntkctl_el1
        OBS_SYS CNTV_CTL_EL0, cntv_ctl_el0
        OBS_SYS CNTV_CVAL_EL0, cntv_cval_el0
        OBS_SYS CNTP_CTL_EL0, cntp_ctl_el0
        OBS_SYS CNTP_CVAL_EL0, cntp_cval_el0
        OBS_SYS TPIDR_EL0, tpidr_el0
        OBS_SYS TPIDRRO_EL0, tpidrro_el0
        OBS_SYS TPIDR_EL1, tpidr_el1
        OBS_SYS CONTEXTIDR_EL1, contextidr_el1
        // pointer-auth keys and SVE, where the vCPU has them
        OBS_SYS APIAKEYLO_EL1, s3_0_c2_c1_0, F_PAUTH
        OBS_SYS APIAKEYHI_EL1, s3_0_c2_c1_1, F_PAUTH
        OBS_SYS APIBKEYLO_EL1, s3_0_c2_c1_2, F_PAUTH
        OBS_SYS APDAKEYLO_EL1, s3_0_c2_c2_0, F_PAUTH
        OBS_SYS APDBKEYLO_EL1, s3_0_c2_c2_2, F_PAUTH
        OBS_SYS APGAKEYLO_EL1, s3_0_c2_c3_0, F_PAUTH
        OBS_SYS ZCR_EL1, s3_0_c1_c2_0, F_SVE
        OBS_BEGIN F_SVE
        rdvl    x0, #1                  // the vector length in bytes the guest really has
        OBS_END SVE_VL_BYTES
        // distributor (both GIC versions)
        OBS_MMIO32 GICD_CTLR, GICD + 0x0
        OBS_MMIO32 GICD_TYPER, GICD + 0x4
        OBS_MMIO32 GICD_IIDR, GICD + 0x8
        OBS_MMIO32 GICD_PIDR2, GICD + 0xffe8
        OBS_MMIO32 GICD_IGROUPR0, GICD + 0x80, F_GICV2
        OBS_MMIO32 GICD_IGROUPR1, GICD + 0x84
        OBS_MMIO32 GICD_ISENABLER0, GICD + 0x100, F_GICV2
        OBS_MMIO32 GICD_ISENABLER1, GICD + 0x104
        OBS_MMIO32 GICD_ISPENDR0, GICD + 0x200, F_GICV2
        OBS_MMIO32 GICD_ISPENDR1, GICD + 0x204
        OBS_MMIO32 GICD_IPRIORITYR7, GICD + 0x41c, F_GICV2
        OBS_MMIO32 GICD_IPRIORITYR8, GICD + 0x420
        OBS_MMIO32 GICD_ITARGETSR8, GICD + 0x820, F_GICV2
        OBS_MMIO32 GICD_ICFGR2, GICD + 0xc08
        // GICv2 CPU interface
        OBS_MMIO32 GICC_CTLR, GICC + 0x0, F_GICV2
        OBS_MMIO32 GICC_PMR, GICC + 0x4, F_GICV2
        OBS_MMIO32 GICC_BPR, GICC + 0x8, F_GICV2
        OBS_MMIO32 GICC_ABPR, GICC + 0x1c, F_GICV2
        OBS_MMIO32 GICC_IIDR, GICC + 0xfc, F_GICV2
        // GICv3 redistributor and CPU interface
        OBS_MMIO32 GICR_CTLR, GICR + 0x0, F_GICV3
        OBS_MMIO32 GICR_IIDR, GICR + 0x4, F_GICV3
        OBS_MMIO32 GICR_TYPER_LO, GICR + 0x8, F_GICV3
        OBS_MMIO32 GICR_TYPER_HI, GICR + 0xc, F_GICV3
        OBS_MMIO32 GICR_WAKER, GICR + 0x14, F_GICV3
        OBS_MMIO32 GICR_IGROUPR0, GICR_SGI + 0x80, F_GICV3
        OBS_MMIO32 GICR_ISENABLER0, GICR_SGI + 0x100, F_GICV3
        OBS_MMIO32 GICR_ISPENDR0, GICR_SGI + 0x200, F_GICV3
        OBS_MMIO32 GICR_IPRIORITYR0, GICR_SGI + 0x400, F_GICV3
        OBS_MMIO32 GICR_IPRIORITYR7, GICR_SGI + 0x41c, F_GICV3
        OBS_MMIO32 GICR_ICFGR1, GICR_SGI + 0xc04, F_GICV3
        OBS_SYS ICC_SRE_EL1, icc_sre_el1, F_GICV3
        OBS_SYS ICC_CTLR_EL1, icc_ctlr_el1, F_GICV3
        OBS_SYS ICC_PMR_EL1, icc_pmr_el1, F_GICV3
        OBS_SYS ICC_BPR0_EL1, icc_bpr0_el1, F_GICV3
        OBS_SYS ICC_BPR1_EL1, icc_bpr1_el1, F_GICV3
        OBS_SYS ICC_IGRPEN0_EL1, icc_igrpen0_el1, F_GICV3
        OBS_SYS ICC_IGRPEN1_EL1, icc_igrpen1_el1, F_GICV3
        ldp     x29, x30, [sp], #16
        ret

// ---- exceptions: a trapping read is skipped and reported as `trap` --------------------------

        .balign 2048
vectors:
        .rept   16
        b       skip_insn
        .balign 128
        .endr
skip_insn:
        mrs     x9, elr_el1
        add     x9, x9, #4
        msr     elr_el1, x9
        mov     x28, #1
        eret

        .ltorg

        .section .rodata
s_guest:    .asciz "@@guest "
s_ready:    .asciz "@@ready\n"
s_done:     .asciz "@@done\n"
s_obs:      .asciz "@@obs "
s_after:    .asciz "@@after "
s_changed:  .asciz "@@changed "
s_absent:   .asciz "absent"
s_trap:     .asciz "trap"
        .text

// ---- helpers for the guests' configure --------------------------------------------------------

// Write a table of 32-bit MMIO values: .quad address, .quad value; address 0 ends it.
// Waits for GICD_CTLR.RWP after each write to the distributor's control register.
mmio_writes:
        ldp     x2, x3, [x1], #16
        cbz     x2, 2f
        str     w3, [x2]
        ldr     x4, =GICD
        cmp     x2, x4
        b.ne    mmio_writes
1:      ldr     w5, [x4]
        tbnz    w5, #31, 1b
        b       mmio_writes
2:      ret

// GICv3: clear GICR_WAKER.ProcessorSleep and wait for ChildrenAsleep to drop (the
// redistributor must be awake before its SGI/PPI state means anything to the guest).
gicr_wake:                              // keeps x1 and x2 (gic_writes' tables)
        ldr     x4, =GICR + 0x14
        ldr     w0, [x4]
        bic     w0, w0, #2
        str     w0, [x4]
1:      ldr     w0, [x4]
        tbnz    w0, #2, 1b
        ret

// x1 = GICv3 table, x2 = GICv2 table: the one matching the GIC the guest found
gic_writes:
        tbz     x20, #F_GICV3, 1f
        mov     x29, x30
        bl      gicr_wake
        mov     x30, x29
        b       mmio_writes
1:      mov     x1, x2
        b       mmio_writes
