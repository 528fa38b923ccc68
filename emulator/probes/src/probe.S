// rollsafe guest probe: what a guest kernel can observe about its host, written to a buffer.
//
// Runs at EL1 with the MMU off (so every data access is Device-nGnRnE: keep them aligned), with
// DAIF masked, from a scratch region the runner chose. Position independent: it only uses
// PC-relative addresses and the parameter block at its own start (layout in ../layout.ts, PARAM),
// so the same bytes run on QEMU `virt` and on rollsafe's emulator.
//
// Each observation (one row of ../layout.ts, expanded by observations.inc, which build.ts
// generates) stores a 16-byte slot: the value, then a status (1 ok, 2 absent, or bit 63 | ESR_EL1
// when the access took a synchronous exception). The vector table below records such exceptions
// and skips the faulting instruction, so a CPU lacking a register, a missing GIC frame or an HVC
// with no hypervisor behind it (Arm ARM D1.3: HVC is UNDEFINED at EL1 without EL2) all become
// data instead of a crash.
//
// End: with a UART base set, the buffer is printed over the PL011 as hex between the lines
// "RSPROBE-BEGIN" and "RSPROBE-END"; then PSCI SYSTEM_OFF over HVC (DEN0022 §5.10, which makes
// QEMU exit and stops the emulator). If SYSTEM_OFF returns (no PSCI 0.2), the probe parks in WFI.
//
// Register use (callee-saved under SMCCC 1.1, so HVC calls keep them):
//   x28 result buffer      x27 image (parameter block) base     x26 flags
//   x25 GICD base          x24 GICR RD frame of this vCPU        x23 GICC base
//   x22 GICR SGI frame (x24 + 0x10000, or 0)                     x21 UART base
//   x19, x20 scratch that survives HVC
//   x18 status of the current observation (the vector handler overwrites it)
//   x16, x17 vector-handler scratch

        .include "observations.inc"

// ---- Observation macros (one call per row, generated into OBSERVATIONS) ----------------------

        .macro  STORE off
        str     x0, [x28, #\off]
        str     x18, [x28, #(\off + 8)]
        .endm

        // MRS of a system register.
        .macro  OBS_MRS off, reg
        mov     x0, #0
        mov     x18, #1
        mrs     x0, \reg
        STORE   \off
        .endm

        // CCSIDR_EL1 of the cache CSSELR_EL1 = sel selects.
        .macro  OBS_CCSIDR off, sel
        mov     x0, #\sel
        msr     csselr_el1, x0
        isb
        OBS_MRS \off, ccsidr_el1
        .endm

        // 32-bit load from frame `base` at offset v2 (GICv2 flag) or v3 (GICv3 flag); -1: none.
        .macro  OBS_MMIO32 off, base, v2, v3
        mov     x0, #0
        mov     x18, #STATUS_ABSENT
        cbz     \base, 8f
        tbnz    w26, #FLAG_GICV3_BIT, 7f
        tbz     w26, #FLAG_GICV2_BIT, 8f
        .if \v2 >= 0
        mov     x18, #1
        mov     x1, #\v2
        ldr     w0, [\base, x1]
        .endif
        b       8f
7:
        .if \v3 >= 0
        mov     x18, #1
        mov     x1, #\v3
        ldr     w0, [\base, x1]
        .endif
8:
        STORE   \off
        .endm

        // GICD_IGROUPR<n>, when n <= GICD_TYPER.ITLinesNumber.
        .macro  OBS_IGROUPR off, n
        mov     x0, #0
        mov     x18, #STATUS_ABSENT
        cbz     x25, 8f
        ldr     w1, [x25, #4]
        and     w1, w1, #0x1f
        cmp     w1, #\n
        b.lo    8f
        mov     x18, #1
        ldr     w0, [x25, #(0x80 + 4 * \n)]
8:
        STORE   \off
        .endm

        // Write `pattern` to a group register, read it back, write the original back.
        // target 0: GICD_IGROUPR<ITLinesNumber> (the last SPI word); 1: GICR_IGROUPR0.
        .macro  OBS_GROUP_WRITE off, target, pattern
        mov     x0, #0
        mov     x18, #STATUS_ABSENT
        .if \target == 0
        cbz     x25, 8f
        ldr     w1, [x25, #4]
        ands    w1, w1, #0x1f
        b.eq    8f
        add     x2, x25, #0x80
        add     x2, x2, x1, lsl #2
        .else
        cbz     x22, 8f
        tbz     w26, #FLAG_GICV3_BIT, 8f
        add     x2, x22, #0x80
        .endif
        mov     x18, #1
        mov     x3, #0
        ldr     w3, [x2]
        movz    w4, #(\pattern & 0xffff)
        movk    w4, #((\pattern >> 16) & 0xffff), lsl #16
        str     w4, [x2]
        ldr     w0, [x2]
        str     w3, [x2]
8:
        STORE   \off
        .endm

        // HVC #0, w0 = fid, x1 = arg; keep x0 (n = 1) or x0..x3 (n = 4), zeroed on exception.
        .macro  OBS_HVC off, fid, arg, n
        movz    x0, #(\fid & 0xffff)
        movk    x0, #((\fid >> 16) & 0xffff), lsl #16
        movz    x1, #(\arg & 0xffff)
        movk    x1, #((\arg >> 16) & 0xffff), lsl #16
        mov     x2, #0
        mov     x3, #0
        mov     x18, #1
        hvc     #0
        cmp     x18, #1
        csel    x0, x0, xzr, eq
        csel    x1, x1, xzr, eq
        csel    x2, x2, xzr, eq
        csel    x3, x3, xzr, eq
        STORE   \off
        .if \n == 4
        str     x1, [x28, #(\off + 16)]
        str     x18, [x28, #(\off + 24)]
        str     x2, [x28, #(\off + 32)]
        str     x18, [x28, #(\off + 40)]
        str     x3, [x28, #(\off + 48)]
        str     x18, [x28, #(\off + 56)]
        .endif
        .endm

        .text
        .global _start
_start:
        b       entry
        .ascii  "RSPB"                          // PARAM.MAGIC
        .word   PARAM_VERSION                   // PARAM.VERSION
        .word   0                               // PARAM.FLAGS
        .quad   0                               // PARAM.RESULTS
        .quad   0                               // PARAM.GICD
        .quad   0                               // PARAM.GICR
        .quad   0                               // PARAM.GICC
        .quad   0                               // PARAM.UART
        .quad   0                               // reserved
entry:
        msr     daifset, #0xf
        adr     x27, _start
        adr     x0, vectors
        msr     vbar_el1, x0
        isb
        ldr     w26, [x27, #P_FLAGS]
        ldr     x28, [x27, #P_RESULTS]
        ldr     x25, [x27, #P_GICD]
        ldr     x24, [x27, #P_GICR]
        ldr     x23, [x27, #P_GICC]
        ldr     x21, [x27, #P_UART]
        mov     x22, #0
        cbz     x24, 1f
        add     x22, x24, #0x10, lsl #12
1:
        // Header: magic, version, slot count, state=running, counters, size, layout digest.
        movz    w0, #(RESULT_MAGIC & 0xffff)
        movk    w0, #(RESULT_MAGIC >> 16), lsl #16
        str     w0, [x28, #0x00]
        mov     w0, #RESULT_VERSION
        str     w0, [x28, #0x04]
        mov     w0, #SLOT_COUNT
        str     w0, [x28, #0x08]
        mov     w0, #1
        str     w0, [x28, #0x0c]
        str     wzr, [x28, #0x10]
        str     wzr, [x28, #0x14]
        movz    w0, #(RESULT_SIZE & 0xffff)
        movk    w0, #(RESULT_SIZE >> 16), lsl #16
        str     w0, [x28, #0x18]
        movz    w0, #(LAYOUT_DIGEST & 0xffff)
        movk    w0, #(LAYOUT_DIGEST >> 16), lsl #16
        str     w0, [x28, #0x1c]

        OBSERVATIONS

        mov     w0, #2                          // STATE_DONE
        str     w0, [x28, #0x0c]
        cbz     x21, exit
        bl      dump
exit:
        movz    x0, #0x0008
        movk    x0, #0x8400, lsl #16            // PSCI SYSTEM_OFF
        hvc     #0
park:
        wfi
        b       park

// ---- Hex dump over the PL011 (data register at +0x00, flags at +0x18, TXFF = bit 5) ----------

dump:
        mov     x20, x30
        adr     x19, begin_msg
        bl      puts
        mov     x19, #0                         // byte index
        ldr     w7, [x28, #0x18]                // RESULT.SIZE
2:
        cmp     x19, x7
        b.hs    4f
        ldrb    w0, [x28, x19]
        lsr     w0, w0, #4
        bl      puthex
        ldrb    w0, [x28, x19]
        and     w0, w0, #0xf
        bl      puthex
        add     x19, x19, #1
        tst     x19, #31
        b.ne    2b
        mov     w0, #'\n'
        bl      putc
        b       2b
4:
        adr     x19, end_msg
        bl      puts
        mov     x30, x20
        ret

puthex:                                         // w0 = nibble
        cmp     w0, #10
        add     w1, w0, #'0'
        add     w2, w0, #('a' - 10)
        csel    w0, w1, w2, lo
putc:                                           // w0 = byte; clobbers w6
        ldr     w6, [x21, #0x18]
        tbnz    w6, #5, putc
        strb    w0, [x21]
        ret

puts:                                           // x19 = NUL-terminated string; clobbers x5
        mov     x5, x30
3:
        ldrb    w0, [x19], #1
        cbz     w0, 5f
        bl      putc
        b       3b
5:
        mov     x30, x5
        ret

begin_msg:
        .asciz  "\nRSPROBE-BEGIN\n"
end_msg:
        .asciz  "\nRSPROBE-END\n"

// ---- Vector table (Arm ARM D1.10.2: 16 entries of 0x80 bytes, 2 KiB aligned) ---------------

        .balign 0x800
vectors:
        .rept   4
        b       sync_exception                  // Synchronous
        .balign 0x80
        b       async_exception                 // IRQ
        .balign 0x80
        b       async_exception                 // FIQ
        .balign 0x80
        b       async_exception                 // SError
        .balign 0x80
        .endr

// Record ESR_EL1 as the observation's status and resume after the instruction that trapped
// (for UNDEF, trapped MRS and data aborts ELR_EL1 is that instruction, Arm ARM D1.10.1).
sync_exception:
        mrs     x18, esr_el1
        orr     x18, x18, #(1 << 63)
        ldr     w16, [x28, #0x10]
        add     w16, w16, #1
        str     w16, [x28, #0x10]
        mrs     x16, elr_el1
        add     x16, x16, #4
        msr     elr_el1, x16
        eret

// An interrupt despite DAIF: count it and return with everything masked again.
async_exception:
        ldr     w16, [x28, #0x14]
        add     w16, w16, #1
        str     w16, [x28, #0x14]
        mrs     x16, spsr_el1
        orr     x16, x16, #0x3c0
        msr     spsr_el1, x16
        eret
