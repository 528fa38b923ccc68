// Guest "reset": configures nothing. What it sees before and after is the reset state KVM and
// QEMU give a fresh vCPU, so any change it reports comes from the restore alone.
        .include "common.S"

configure:
        ret

        .section .rodata
guest_name:
        .asciz  "reset"
