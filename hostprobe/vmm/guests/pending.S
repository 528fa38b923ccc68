// Guest "pending": other choices than "configured", and state in flight. Every interrupt it
// uses in group 1 and only group 1 enabled; different priorities and binary points; the
// physical timer armed in the past (CNTP_CVAL_EL0 = 0, so it has fired and PPI 30 is pending,
// held off by PSTATE.I) and SGI 3 sent to itself and left pending; the virtual timer off;
// other thread-register and key values; ZCR_EL1.LEN = 0 (128-bit vectors).
        .include "common.S"

configure:
        stp     x29, x30, [sp, #-16]!
        ldr     x0, =0x0123456789abcdef
        msr     tpidr_el0, x0
        ldr     x0, =0xfedcba9876543210
        msr     tpidr_el1, x0
        mov     x0, #0x77
        msr     contextidr_el1, x0
        tbz     x20, #F_PAUTH, 1f
        ldr     x0, =0x0badc0de0badc0de
        msr     s3_0_c2_c1_2, x0        // APIBKEYLO_EL1
        ldr     x0, =0x5eed5eed5eed5eed
        msr     s3_0_c2_c3_0, x0        // APGAKEYLO_EL1
1:      tbz     x20, #F_SVE, 2f
        msr     s3_0_c1_c2_0, xzr       // ZCR_EL1.LEN = 0
2:      adr     x1, gicv3_table
        adr     x2, gicv2_table
        bl      gic_writes
        tbz     x20, #F_GICV3, 3f
        mov     x0, #0x80
        msr     icc_pmr_el1, x0
        mov     x0, #3
        msr     icc_bpr1_el1, x0
        mov     x0, #1
        msr     icc_igrpen1_el1, x0
        isb
        ldr     x0, =(3 << 24) | 1      // ICC_SGI1R_EL1: SGI 3 to Aff0 = 0 of this cluster
        msr     icc_sgi1r_el1, x0
        b       4f
3:      ldr     x1, =GICD + 0xf00       // GICD_SGIR: SGI 3 to CPU interface 0
        ldr     w0, =(1 << 16) | 3
        str     w0, [x1]
4:      msr     cntp_cval_el0, xzr      // fires at once: ISTATUS = 1, PPI 30 pending
        mov     x0, #1
        msr     cntp_ctl_el0, x0
        isb
        ldp     x29, x30, [sp], #16
        ret

        .section .rodata
        .balign 8
gicv3_table:
        .quad   GICD + 0x0, 0x12        // GICD_CTLR: ARE, EnableGrp1 only
        .quad   GICD + 0x84, 0x0000ffff // IGROUPR1
        .quad   GICD + 0x420, 0x08182838 // IPRIORITYR8
        .quad   GICD + 0x104, 0xffff0000 // ISENABLER1
        .quad   GICR_SGI + 0x80, 0xffffffff // GICR_IGROUPR0: everything group 1
        .quad   GICR_SGI + 0x400, 0x80808080 // GICR_IPRIORITYR0
        .quad   GICR_SGI + 0x41c, 0x20202020 // GICR_IPRIORITYR7
        .quad   GICR_SGI + 0x100, 0x40000008 // GICR_ISENABLER0: SGI 3, PPI 30
        .quad   0, 0
gicv2_table:
        .quad   GICD + 0x0, 0x2         // GICD_CTLR: EnableGrp1 only
        .quad   GICD + 0x80, 0xffffffff // IGROUPR0 (banked): everything group 1
        .quad   GICD + 0x84, 0x0000ffff // IGROUPR1
        .quad   GICD + 0x41c, 0x20202020 // IPRIORITYR7
        .quad   GICD + 0x420, 0x08182838 // IPRIORITYR8
        .quad   GICD + 0x100, 0x40000008 // ISENABLER0
        .quad   GICD + 0x104, 0xffff0000 // ISENABLER1
        .quad   GICC + 0x4, 0x80        // GICC_PMR
        .quad   GICC + 0x8, 0x3         // GICC_BPR
        .quad   GICC + 0x0, 0x2         // GICC_CTLR: EnableGrp1
        .quad   0, 0
guest_name:
        .asciz  "pending"
