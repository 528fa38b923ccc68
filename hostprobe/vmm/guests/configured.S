// Guest "configured": moves the state a real OS sets up away from reset, the usual way.
// Interrupt groups split per interrupt (SPIs 36-39, 44-47, ... in group 1, SGIs and the virtual
// timer PPI 27 in group 1), priorities, edge-triggered SPIs, enables; a virtual timer armed
// 2^40 ticks ahead (unmasked, PSTATE.I keeps it from being taken); thread registers;
// pointer-auth keys; ZCR_EL1.LEN = 1 (256-bit vectors).
        .include "common.S"

configure:
        stp     x29, x30, [sp, #-16]!
        ldr     x0, =0x7e57a00000000e00
        msr     tpidr_el0, x0
        ldr     x0, =0x7e57b00000000e01
        msr     tpidrro_el0, x0
        ldr     x0, =0x7e57c00000000e11
        msr     tpidr_el1, x0
        mov     x0, #0x1234
        msr     contextidr_el1, x0
        mov     x0, #3                  // CNTKCTL_EL1: EL0PCTEN | EL0VCTEN
        msr     cntkctl_el1, x0
        mrs     x0, cntvct_el0
        mov     x1, #1
        add     x0, x0, x1, lsl #40
        msr     cntv_cval_el0, x0
        mov     x0, #1                  // ENABLE, IMASK clear
        msr     cntv_ctl_el0, x0
        tbz     x20, #F_PAUTH, 1f
        ldr     x0, =0x1111222233334444
        msr     s3_0_c2_c1_0, x0        // APIAKEYLO_EL1
        ldr     x0, =0x5555666677778888
        msr     s3_0_c2_c1_1, x0        // APIAKEYHI_EL1
        ldr     x0, =0x99990000aaaabbbb
        msr     s3_0_c2_c1_2, x0        // APIBKEYLO_EL1
        ldr     x0, =0xccccddddeeeeffff
        msr     s3_0_c2_c2_0, x0        // APDAKEYLO_EL1
        ldr     x0, =0x0123012301230123
        msr     s3_0_c2_c2_2, x0        // APDBKEYLO_EL1
        ldr     x0, =0x4567456745674567
        msr     s3_0_c2_c3_0, x0        // APGAKEYLO_EL1
1:      tbz     x20, #F_SVE, 2f
        mov     x0, #1
        msr     s3_0_c1_c2_0, x0        // ZCR_EL1.LEN = 1
2:      adr     x1, gicv3_table
        adr     x2, gicv2_table
        bl      gic_writes
        tbz     x20, #F_GICV3, 3f
        mov     x0, #0xf0
        msr     icc_pmr_el1, x0
        mov     x0, #2
        msr     icc_bpr1_el1, x0
        mov     x0, #1
        msr     icc_bpr0_el1, x0
        mov     x0, #1
        msr     icc_igrpen0_el1, x0
        msr     icc_igrpen1_el1, x0
        isb
3:      ldp     x29, x30, [sp], #16
        ret

        .section .rodata
        .balign 8
gicv3_table:
        .quad   GICD + 0x0, 0x13        // GICD_CTLR: ARE, EnableGrp1, EnableGrp0
        .quad   GICD + 0x84, 0xf0f0f0f0 // IGROUPR1
        .quad   GICD + 0x420, 0xa0908070 // IPRIORITYR8
        .quad   GICD + 0xc08, 0xaaaa0000 // ICFGR2: SPIs 40-47 edge
        .quad   GICD + 0x104, 0x0000ffff // ISENABLER1
        .quad   GICR_SGI + 0x80, 0x0800ffff // GICR_IGROUPR0: SGIs, PPI 27
        .quad   GICR_SGI + 0x400, 0x10203040 // GICR_IPRIORITYR0
        .quad   GICR_SGI + 0x41c, 0x50607080 // GICR_IPRIORITYR7
        .quad   GICR_SGI + 0x100, 0x08000003 // GICR_ISENABLER0: SGI 0, 1, PPI 27
        .quad   0, 0
gicv2_table:
        .quad   GICD + 0x0, 0x3         // GICD_CTLR: EnableGrp0, EnableGrp1
        .quad   GICD + 0x80, 0x0800ffff // IGROUPR0 (banked): SGIs, PPI 27
        .quad   GICD + 0x84, 0xf0f0f0f0 // IGROUPR1
        .quad   GICD + 0x41c, 0x50607080 // IPRIORITYR7
        .quad   GICD + 0x420, 0xa0908070 // IPRIORITYR8
        .quad   GICD + 0x820, 0x01010101 // ITARGETSR8
        .quad   GICD + 0xc08, 0xaaaa0000 // ICFGR2
        .quad   GICD + 0x100, 0x08000003 // ISENABLER0
        .quad   GICD + 0x104, 0x0000ffff // ISENABLER1
        .quad   GICC + 0x4, 0xf0        // GICC_PMR
        .quad   GICC + 0x8, 0x2         // GICC_BPR
        .quad   GICC + 0x0, 0x3         // GICC_CTLR: EnableGrp0, EnableGrp1
        .quad   0, 0
guest_name:
        .asciz  "configured"
