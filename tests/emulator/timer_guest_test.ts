/**
 * A guest arms the virtual timer (CNTV_CVAL_EL0), waits in WFI and takes PPI 27 through the
 * GICv3 at the counter value it asked for; the machine skips the idle time instead of executing
 * it. A second guest does the same with TVAL on the physical timer (PPI 30). The first program
 * also runs on QEMU's TCG timer and GIC as an independent check.
 */
import { assert, assertEquals, assertGreaterOrEqual, assertLess } from "@std/assert";
import { AARCH64_BINUTILS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { assemble, boot, data64, runOnQemu } from "./gic_timer_guest_support.ts";

/** Waits DELAY ticks on the timer selected by the CTL/CVAL/TVAL/counter encodings passed in. */
function timerGuest(
  t: { ctl: string; cval: string; tval: string; count: string; ppi: number },
): string {
  return `
  .equ DELAY, 1000000
_start:
  adr   x0, vectors
  msr   vbar_el1, x0
  ldr   x9, =DATA
  ldr   x1, =GICD
  mov   w2, #0x12
  str   w2, [x1]
  ldr   x4, =GICR
  add   x7, x4, #0x10000
  mov   w2, #-1
  str   w2, [x7, #0x80]
  mov   w2, #(1 << ${t.ppi})
  str   w2, [x7, #0x100]
  mov   x2, #0xf0
  msr   S3_0_C4_C6_0, x2
  mov   x2, #1
  msr   S3_0_C12_C12_7, x2
  isb
  mrs   x2, ${t.count}
  ldr   x3, =DELAY
  add   x3, x2, x3
  str   x3, [x9, #0x00]
  ${t.cval === "" ? `msr ${t.tval}, x3` : `msr ${t.cval}, x3`}
  mov   x2, #1
  msr   ${t.ctl}, x2
  isb
  msr   daifclr, #2
1:wfi
  ldr   x3, [x9, #0x10]
  cbz   x3, 1b
  b     finish

  .balign 2048
vectors:
  .skip 0x280
  mrs   x10, ${t.count}
  str   x10, [x9, #0x08]
  mrs   x10, ${t.ctl}
  str   x10, [x9, #0x18]
  mrs   x10, S3_0_C12_C12_0
  msr   ${t.ctl}, xzr
  msr   S3_0_C12_C12_1, x10
  str   x10, [x9, #0x10]
  eret
  .ltorg
`;
}

oracleTest({
  name: "timer guest: CNTV_CVAL + WFI wakes on PPI 27 at the programmed counter value",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const src = timerGuest({
      ctl: "cntv_ctl_el0",
      cval: "cntv_cval_el0",
      tval: "",
      count: "cntvct_el0",
      ppi: 27,
    });
    const m = await boot(await assemble(src), { vcpus: 1, gic: { model: 3 } });
    // A restored VM's counter: TIMER_CNT sets the virtual offset so CNTVCT starts at 123.
    assertEquals(m.setOneReg(0, 0x6030_0000_0013_df1an, 123n), 0, "KVM_REG_ARM_TIMER_CNT");
    const r = m.run(0, 1_000_000);
    assertEquals(r.reason, "system-off");
    assertEquals(data64(m, 0x10), 27n, "ICC_IAR1_EL1: the virtual timer PPI");
    const cval = data64(m, 0x00);
    const woke = data64(m, 0x08);
    assertGreaterOrEqual(woke, cval, "not before CVAL");
    assertLess(woke - cval, 200n, "within a few instructions of CVAL");
    assertEquals(data64(m, 0x18), 0b101n, "CNTV_CTL: ENABLE | ISTATUS in the handler");
    // The wait was skipped, not executed: far fewer instructions than ticks waited.
    assertLess(r.instructions, 1000n);
    assert(cval - 1_000_000n < 1000n, "armed right after a counter that started at 123");
  },
});

oracleTest({
  name: "timer guest: CNTP_TVAL + WFI wakes on PPI 30",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    // TVAL takes the delay directly; DATA+0 then records the delay, not the deadline.
    const src = timerGuest({
      ctl: "cntp_ctl_el0",
      cval: "",
      tval: "cntp_tval_el0",
      count: "cntpct_el0",
      ppi: 30,
    }).replace("add   x3, x2, x3", "mov   x5, x2").replace(
      "str   x3, [x9, #0x00]",
      "str   x5, [x9, #0x00]",
    );
    const m = await boot(await assemble(src), { vcpus: 1, gic: { model: 3 } });
    const r = m.run(0, 1_000_000);
    assertEquals(r.reason, "system-off");
    assertEquals(data64(m, 0x10), 30n, "ICC_IAR1_EL1: the physical timer PPI");
    const start = data64(m, 0x00);
    const woke = data64(m, 0x08);
    assertGreaterOrEqual(woke - start, 1_000_000n);
    assertLess(woke - start, 1_000_200n);
  },
});

oracleTest({
  name:
    "timer guest on QEMU virt (TCG): the same CNTV_CVAL program wakes on PPI 27, not before CVAL",
  needs: [AARCH64_BINUTILS, QEMU_SYSTEM],
  fn: async () => {
    const src = timerGuest({
      ctl: "cntv_ctl_el0",
      cval: "cntv_cval_el0",
      tval: "",
      count: "cntvct_el0",
      ppi: 27,
    });
    const w = await runOnQemu(await assemble(src, true), 3, 1);
    assertEquals(w[0x10 / 8], 27n);
    assertGreaterOrEqual(w[0x08 / 8], w[0x00 / 8]);
    assertEquals(w[0x18 / 8], 0b101n);
  },
});
