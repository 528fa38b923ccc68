/**
 * Guests that drive the vGIC the way an OS does, on the wasm machine: GICv3 and GICv2 bring-up,
 * SGIs between vCPUs started with PSCI CPU_ON, taking and EOIing the interrupt, and IGROUPR
 * reading back differently under IIDR revisions 1, 2 and 3 (research §1.3).
 */
import { assertEquals } from "@std/assert";
import { AARCH64_BINUTILS, oracleTest, QEMU_SYSTEM } from "../support/oracle.ts";
import { assemble, boot, data64, dataWords, runOnQemu } from "./gic_timer_guest_support.ts";

/** Linux's gic_cpu_init, cut down: find this vCPU's redistributor by walking GICR_TYPER, put
 * its SGIs in group 1, give SGI 5 priority 0x80, enable it; PMR 0xf0 and group 1 on. Returns
 * the RD_base in x4 (0 if not found). */
const V3_CPU_UP = `
cpu_if_up:
  mrs   x3, mpidr_el1
  and   x3, x3, #0xffffff
  ldr   x4, =GICR
1:ldr   x5, [x4, #8]
  cmp   x3, x5, lsr #32
  b.eq  2f
  tbnz  x5, #4, 3f
  add   x4, x4, #0x20000
  b     1b
3:mov   x4, #0
  ret
2:add   x7, x4, #0x10000
  mov   w2, #-1
  str   w2, [x7, #0x80]
  mov   w2, #0x80
  strb  w2, [x7, #0x405]
  mov   w2, #(1 << 5)
  str   w2, [x7, #0x100]
  mov   x2, #0xf0
  msr   S3_0_C4_C6_0, x2
  mov   x2, #1
  msr   S3_0_C12_C12_7, x2
  isb
  ret
`;

const V3_SGI_GUEST = `
_start:
  adr   x0, vectors
  msr   vbar_el1, x0
  ldr   x9, =DATA
  ldr   x1, =GICD
  str   wzr, [x1]
1:ldr   w2, [x1]
  tbnz  w2, #31, 1b
  mov   w2, #0x12
  str   w2, [x1]
  ldr   w2, [x1]
  str   x2, [x9, #0x40]
  ldr   w2, [x1, #4]
  str   x2, [x9, #0x48]
  bl    cpu_if_up
  ldr   x0, =PSCI_CPU_ON
  mov   x1, #1
  adr   x2, secondary
  mov   x3, #0
  hvc   #0
  str   x0, [x9, #0x00]
2:ldr   x3, [x9, #0x08]
  cbz   x3, 2b
  ldr   x2, =0x05000002
  msr   S3_0_C12_C11_5, x2
  isb
3:ldr   x3, [x9, #0x10]
  cbz   x3, 3b
  b     finish

secondary:
  adr   x0, vectors
  msr   vbar_el1, x0
  ldr   x9, =DATA
  bl    cpu_if_up
  str   x4, [x9, #0x30]
  mrs   x2, S3_0_C12_C12_5
  str   x2, [x9, #0x18]
  msr   daifclr, #2
  mov   x2, #1
  str   x2, [x9, #0x08]
5:wfi
  b     5b
${V3_CPU_UP}
  .balign 2048
vectors:
  .skip 0x280
  mrs   x10, S3_0_C12_C12_0
  mrs   x11, S3_0_C12_C11_3
  str   x11, [x9, #0x20]
  msr   S3_0_C12_C12_1, x10
  mrs   x11, S3_0_C12_C11_3
  str   x11, [x9, #0x28]
  mrs   x11, mpidr_el1
  str   x11, [x9, #0x38]
  str   x10, [x9, #0x10]
  eret
  .ltorg
`;

oracleTest({
  name: "gic guest: GICv3 SGI from vCPU 0 to a vCPU started with CPU_ON, taken and EOIed",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const m = await boot(await assemble(V3_SGI_GUEST), {
      vcpus: 2,
      powerOff: [1],
      gic: { model: 3 },
    });
    const r = m.run("all", 2_000_000);
    assertEquals(r.reason, "system-off");
    assertEquals(data64(m, 0x00), 0n, "CPU_ON returned SUCCESS");
    assertEquals(data64(m, 0x40), 0x52n, "GICD_CTLR: ARE_NS | DS | EnableGrp1");
    assertEquals(data64(m, 0x48), 0x0048_0007n, "GICD_TYPER: 256 INTIDs, 10 ID bits");
    assertEquals(data64(m, 0x30), 0x080a_0000n + 0x2_0000n, "vCPU 1 found its redistributor");
    assertEquals(data64(m, 0x18), 7n, "ICC_SRE_EL1 = SRE | DFB | DIB");
    assertEquals(data64(m, 0x38), 0x8000_0001n, "the handler ran on vCPU 1");
    assertEquals(data64(m, 0x10), 5n, "ICC_IAR1_EL1 gave SGI 5");
    assertEquals(data64(m, 0x20), 0x80n, "running priority while SGI 5 was active");
    assertEquals(data64(m, 0x28), 0xffn, "idle after EOI");
    // Nothing left active or pending on vCPU 1 (GICR_ISACTIVER0 / ISPENDR0 through the API).
    const rd1 = (off: bigint) => m.getDeviceAttr(5, (1n << 32n) | off);
    assertEquals(rd1(0x1_0300n), 0n);
    assertEquals(rd1(0x1_0200n), 0n);
  },
});

const V2_SGI_GUEST = `
_start:
  adr   x0, vectors
  msr   vbar_el1, x0
  ldr   x9, =DATA
  ldr   x1, =GICD
  mov   w2, #1
  str   w2, [x1]
  bl    gicc_up
  ldr   x0, =PSCI_CPU_ON
  mov   x1, #1
  adr   x2, secondary
  mov   x3, #0
  hvc   #0
  str   x0, [x9, #0x00]
  msr   daifclr, #2
1:wfi
  ldr   x3, [x9, #0x10]
  cbz   x3, 1b
  b     finish

secondary:
  ldr   x9, =DATA
  bl    gicc_up
  ldr   x1, =GICD
  ldr   w2, [x1, #0x800]
  str   x2, [x9, #0x30]
  ldr   w2, =((1 << 16) | 3)
  str   w2, [x1, #0xf00]
3:wfi
  b     3b

gicc_up:
  ldr   x1, =GICD
  mov   w2, #0xa0
  strb  w2, [x1, #0x403]
  ldr   x1, =GICC
  mov   w2, #0xf0
  str   w2, [x1, #0x4]
  mov   w2, #1
  str   w2, [x1]
  ret

  .balign 2048
vectors:
  .skip 0x280
  ldr   x1, =GICC
  ldr   w10, [x1, #0x0c]
  ldr   w11, [x1, #0x14]
  str   x11, [x9, #0x20]
  str   w10, [x1, #0x10]
  ldr   w11, [x1, #0x14]
  str   x11, [x9, #0x28]
  str   x10, [x9, #0x10]
  eret
  .ltorg
`;

oracleTest({
  name: "gic guest: GICv2 SGI through GICD_SGIR carries its source vCPU in GICC_IAR",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const m = await boot(await assemble(V2_SGI_GUEST), {
      vcpus: 2,
      powerOff: [1],
      gic: { model: 2, iidr: 0x4b00_243b },
    });
    const r = m.run("all", 2_000_000);
    assertEquals(r.reason, "system-off");
    assertEquals(data64(m, 0x00), 0n, "CPU_ON returned SUCCESS");
    assertEquals(data64(m, 0x30), 0x0202_0202n, "vCPU 1's banked ITARGETSR0");
    assertEquals(data64(m, 0x10), 1n << 10n | 3n, "GICC_IAR: SGI 3 from CPU 1");
    assertEquals(data64(m, 0x20), 0xa0n, "GICC_RPR while active");
    assertEquals(data64(m, 0x28), 0xffn, "GICC_RPR after EOI");
  },
});

/** Writes 0x0000ffff to GICD_IGROUPR1 and reads it back; reads GICD_IIDR; on GICv3 (param at
 * DATA+0x100) also GICR_CTLR of vCPU 0. */
const IGROUPR_GUEST = `
_start:
  ldr   x9, =DATA
  ldr   x1, =GICD
  ldr   w2, [x1, #8]
  str   x2, [x9, #0x00]
  mov   w2, #0xffff
  str   w2, [x1, #0x84]
  ldr   w2, [x1, #0x84]
  str   x2, [x9, #0x08]
  ldr   x3, [x9, #0x100]
  cbz   x3, 1f
  ldr   x1, =GICR
  ldr   w2, [x1]
  str   x2, [x9, #0x10]
1:b     finish
`;

const REVISIONS: {
  model: 2 | 3;
  rev: number;
  mode: "writable" | "raz-wi" | "rao-wi";
  igroupr: bigint;
  gicrCtlr?: bigint;
}[] = [
  { model: 3, rev: 1, mode: "rao-wi", igroupr: 0xffff_ffffn, gicrCtlr: 0n },
  { model: 3, rev: 2, mode: "writable", igroupr: 0xffffn, gicrCtlr: 0n },
  { model: 3, rev: 3, mode: "writable", igroupr: 0xffffn, gicrCtlr: 0x6n },
  { model: 2, rev: 1, mode: "raz-wi", igroupr: 0n },
  { model: 2, rev: 2, mode: "writable", igroupr: 0xffffn },
  { model: 2, rev: 3, mode: "writable", igroupr: 0xffffn },
];

for (const c of REVISIONS) {
  oracleTest({
    name: `gic guest: GICv${c.model} IIDR revision ${c.rev}: IGROUPR reads back 0x${
      c.igroupr.toString(16)
    }`,
    needs: [AARCH64_BINUTILS],
    fn: async () => {
      const iidr = 0x4b00_043b | c.rev << 12;
      const m = await boot(await assemble(IGROUPR_GUEST), {
        vcpus: 1,
        gic: { model: c.model, iidr, groupMode: c.mode },
      });
      m.writeMemory(0x4001_0100n, new Uint8Array([c.model === 3 ? 1 : 0, 0, 0, 0, 0, 0, 0, 0]));
      assertEquals(m.run(0, 100_000).reason, "system-off");
      assertEquals(data64(m, 0x00), BigInt(iidr));
      assertEquals(data64(m, 0x08), c.igroupr);
      if (c.gicrCtlr !== undefined) assertEquals(data64(m, 0x10), c.gicrCtlr);
    },
  });
}

oracleTest({
  name:
    "gic guest: a userspace GICD_IIDR revision 2 write on a revision 3 vGIC is what the guest sees",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const m = await boot(await assemble(IGROUPR_GUEST), { vcpus: 1, gic: { model: 3 } });
    m.writeMemory(0x4001_0100n, new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]));
    // KVM_DEV_ARM_VGIC_GRP_DIST_REGS, GICD_IIDR: revision 2, everything else unchanged.
    assertEquals(m.setDeviceAttr(1, 0x8n, 0x4b00_243bn), 0);
    // Revision 1 and a different ProductID are refused with -EINVAL.
    assertEquals(m.setDeviceAttr(1, 0x8n, 0x4b00_143bn), -22);
    assertEquals(m.setDeviceAttr(1, 0x8n, 0x4c00_243bn), -22);
    assertEquals(m.run(0, 100_000).reason, "system-off");
    assertEquals(data64(m, 0x00), 0x4b00_243bn);
    assertEquals(data64(m, 0x10), 0n, "GICR_CTLR without IR/CES at revision 2");
    assertEquals(data64(m, 0x08), 0xffffn, "groups still guest-configurable");
  },
});

oracleTest({
  name: "gic guest: GICv2 userspace IGROUPR writes count only after a GICD_IIDR write",
  needs: [AARCH64_BINUTILS],
  fn: async () => {
    const image = await assemble(`
_start:
  ldr   x9, =DATA
  ldr   x1, =GICD
  ldr   w2, [x1, #0x84]
  str   x2, [x9, #0x00]
  b     finish
`);
    for (const iidrFirst of [false, true]) {
      const m = await boot(image, { vcpus: 1, gic: { model: 2, iidr: 0x4b00_343b } });
      if (iidrFirst) assertEquals(m.setDeviceAttr(1, 0x8n, 0x4b00_343bn), 0);
      // A restore writes the saved groups; KVM accepts the write either way.
      assertEquals(m.setDeviceAttr(1, 0x84n, 0x00ff_00ffn), 0);
      assertEquals(m.run(0, 100_000).reason, "system-off");
      assertEquals(
        data64(m, 0x00),
        iidrFirst ? 0x00ff_00ffn : 0n,
        `IIDR written first: ${iidrFirst}`,
      );
    }
  },
});

/** Data-page words both implementations must agree on, by byte offset. */
function agree(qemu: bigint[], wasm: bigint[], offsets: number[]): void {
  for (const off of offsets) {
    assertEquals(wasm[off / 8], qemu[off / 8], `data word at +0x${off.toString(16)}`);
  }
}

oracleTest({
  name:
    "gic guest on QEMU virt (TCG GICv3) acknowledges, prioritises and EOIs the SGI as the wasm machine does",
  needs: [AARCH64_BINUTILS, QEMU_SYSTEM],
  fn: async () => {
    const qemu = await runOnQemu(await assemble(V3_SGI_GUEST, true), 3, 2);
    const m = await boot(await assemble(V3_SGI_GUEST), {
      vcpus: 2,
      powerOff: [1],
      gic: { model: 3 },
    });
    assertEquals(m.run("all", 2_000_000).reason, "system-off");
    // CPU_ON result, IAR, SRE, RPR active/idle, redistributor found, MPIDR, GICD_CTLR.
    agree(qemu, dataWords(m), [0x00, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40]);
    // GICD_TYPER is where the models part (QEMU hw/intc/arm_gicv3_dist.c vs KVM vgic-mmio-v3.c): QEMU has LPIs, 16 ID
    // bits, A3V and No1N; KVM without an ITS has none of them.
    assertEquals(qemu[0x48 / 8], 0x037a_0007n);
    assertEquals(dataWords(m)[0x48 / 8], 0x0048_0007n);
  },
});

oracleTest({
  name:
    "gic guest on QEMU virt (TCG GICv2): GICD_SGIR, GICC_IAR source and RPR as the wasm machine",
  needs: [AARCH64_BINUTILS, QEMU_SYSTEM],
  fn: async () => {
    const qemu = await runOnQemu(await assemble(V2_SGI_GUEST, true), 2, 2);
    const m = await boot(await assemble(V2_SGI_GUEST), {
      vcpus: 2,
      powerOff: [1],
      gic: { model: 2, iidr: 0x4b00_243b },
    });
    assertEquals(m.run("all", 2_000_000).reason, "system-off");
    agree(qemu, dataWords(m), [0x00, 0x10, 0x20, 0x28, 0x30]);
  },
});

oracleTest({
  name:
    "gic guest on QEMU virt: IGROUPR is writable as at KVM revisions 2/3; GICD_IIDR is QEMU's 0x43b",
  needs: [AARCH64_BINUTILS, QEMU_SYSTEM],
  fn: async () => {
    for (const gic of [2, 3] as const) {
      const qemu = await runOnQemu(await assemble(IGROUPR_GUEST, true), gic, 1);
      assertEquals(qemu[0], 0x43bn, `GICv${gic} GICD_IIDR`);
      assertEquals(qemu[1], 0xffffn, `GICv${gic} IGROUPR1 read-back`);
    }
  },
});

/** One vCPU, IRQs masked, polling the CPU interface: SPIs 40/41/42 at priorities 0x80/0x40/0x20
 * show acknowledge order, preemption by group priority, HPPIR, EOI with and without EOImode, and
 * ICC_DIR. Then two registers where KVM and QEMU differ: a 0xff priority read back and
 * ICC_CTLR_EL1 (PRIbits). */
const PRIORITY_GUEST = `
_start:
  ldr   x9, =DATA
  ldr   x1, =GICD
  mov   w2, #0x12
  str   w2, [x1]
  mov   w2, #-1
  str   w2, [x1, #0x84]
  str   xzr, [x1, #0x6140]
  str   xzr, [x1, #0x6148]
  str   xzr, [x1, #0x6150]
  mov   w2, #0x80
  strb  w2, [x1, #0x428]
  mov   w2, #0x40
  strb  w2, [x1, #0x429]
  mov   w2, #0x20
  strb  w2, [x1, #0x42a]
  mov   w2, #0x700
  str   w2, [x1, #0x104]
  mov   x2, #0xf0
  msr   S3_0_C4_C6_0, x2
  mov   x2, #1
  msr   S3_0_C12_C12_7, x2
  isb
  mov   w2, #0x300
  str   w2, [x1, #0x204]
  dsb   sy
  isb
  mrs   x3, S3_0_C12_C12_0
  str   x3, [x9, #0x00]
  mrs   x3, S3_0_C12_C11_3
  str   x3, [x9, #0x08]
  mrs   x3, S3_0_C12_C12_0
  str   x3, [x9, #0x10]
  mrs   x3, S3_0_C12_C12_2
  str   x3, [x9, #0x18]
  mov   w2, #0x400
  str   w2, [x1, #0x204]
  dsb   sy
  isb
  mrs   x3, S3_0_C12_C12_0
  str   x3, [x9, #0x20]
  msr   S3_0_C12_C12_1, x3
  isb
  mrs   x3, S3_0_C12_C11_3
  str   x3, [x9, #0x28]
  mov   x3, #41
  msr   S3_0_C12_C12_1, x3
  mrs   x4, S3_0_C12_C12_4
  orr   x4, x4, #2
  msr   S3_0_C12_C12_4, x4
  isb
  mrs   x3, S3_0_C12_C12_0
  str   x3, [x9, #0x30]
  msr   S3_0_C12_C12_1, x3
  isb
  mrs   x4, S3_0_C12_C11_3
  str   x4, [x9, #0x38]
  ldr   w4, [x1, #0x304]
  str   x4, [x9, #0x40]
  msr   S3_0_C12_C11_1, x3
  isb
  ldr   w4, [x1, #0x304]
  str   x4, [x9, #0x48]
  mov   w2, #0xff
  strb  w2, [x1, #0x42b]
  ldrb  w4, [x1, #0x42b]
  str   x4, [x9, #0x50]
  mrs   x4, S3_0_C12_C12_4
  str   x4, [x9, #0x58]
  b     finish
`;

oracleTest({
  name:
    "gic guest on QEMU virt (TCG GICv3): priorities, preemption, HPPIR, EOImode and DIR as the wasm machine",
  needs: [AARCH64_BINUTILS, QEMU_SYSTEM],
  fn: async () => {
    const qemu = await runOnQemu(await assemble(PRIORITY_GUEST, true), 3, 1);
    const m = await boot(await assemble(PRIORITY_GUEST), { vcpus: 1, gic: { model: 3 } });
    assertEquals(m.run(0, 100_000).reason, "system-off");
    const wasm = dataWords(m);
    agree(qemu, wasm, [0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x40, 0x48]);
    assertEquals(wasm.slice(0, 10), [41n, 0x40n, 1023n, 40n, 42n, 0x40n, 40n, 0xffn, 0x100n, 0n]);
    // KVM keeps five priority bits (VGIC_PRI_BITS); QEMU's distributor keeps all eight.
    assertEquals(wasm[0x50 / 8], 0xf8n);
    assertEquals(qemu[0x50 / 8], 0xffn);
    // ICC_CTLR_EL1: the wasm machine has KVM's five virtual priority bits (PRIbits = 4), EOImode
    // now set, A3V.
    assertEquals(wasm[0x58 / 8], 0x8402n);
  },
});
