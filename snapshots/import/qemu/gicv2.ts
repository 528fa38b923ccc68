/**
 * "arm_gic" (hw/intc/arm_gic_common.c vmstate_gic, version 12 in QEMU 7.2) → KVM vGICv2 state.
 * QEMU keeps per-interrupt state as CPU bitmasks (enabled/pending/active/level/group: bit n for
 * CPU n; SPIs use ALL_CPU_MASK) and converts it for KVM in hw/intc/arm_gic_kvm.c
 * (kvm_arm_gic_put with translate_enabled/pending/active/group/trigger/priority/targets and
 * translate_sgisource); this module does the same conversion into register words.
 *
 * Interrupts 0..31 are banked per CPU in the GICv2 distributor. KVM reads and writes the bank of
 * the vCPU named in the attribute; the snapshot's `vm.vgic.dist` holds vCPU 0's bank (as a VMM
 * saving with cpuid 0 sees it) and every vCPU's bank is also kept in that vCPU's
 * `extra["gicv2_dist_banked"]` (offset → word).
 */
import { Fields, type VmsStruct } from "./vmstate.ts";
import { fail } from "./reader.ts";

const GIC_INTERNAL = 32;
const GIC_NR_SGIS = 16;
const ALL_CPU_MASK = 0xffn;

/** GICv2 distributor offsets (IHI0048B §4.1.2). */
const GICD = {
  CTLR: 0x000,
  TYPER: 0x004,
  IIDR: 0x008,
  IGROUPR: 0x080,
  ISENABLER: 0x100,
  ISPENDR: 0x200,
  ISACTIVER: 0x300,
  IPRIORITYR: 0x400,
  ITARGETSR: 0x800,
  ICFGR: 0xc00,
  SPENDSGIR: 0xf20,
} as const;

/** GICv2 CPU-interface offsets (IHI0048B §4.1.3), as KVM_DEV_ARM_VGIC_GRP_CPU_REGS takes them. */
const GICC = { CTLR: 0x00, PMR: 0x04, BPR: 0x08, ABPR: 0x1c, APR: 0xd0 } as const;

interface IrqState {
  enabled: bigint;
  pending: bigint;
  active: bigint;
  level: bigint;
  edge: bigint;
  group: bigint;
}

/** One bit per interrupt: [offset, test(irq state, CPU mask)] (arm_gic_kvm.c translate_*). */
const BITMAPS: [number, (s: IrqState, cm: bigint) => boolean][] = [
  [GICD.IGROUPR, (s, cm) => (s.group & cm) !== 0n],
  [GICD.ISENABLER, (s, cm) => (s.enabled & cm) !== 0n],
  // gic_test_pending: the latch, or a level-triggered interrupt whose line is high.
  [GICD.ISPENDR, (s, cm) => (s.pending & cm) !== 0n || (s.edge === 0n && (s.level & cm) !== 0n)],
  [GICD.ISACTIVER, (s, cm) => (s.active & cm) !== 0n],
];

export interface Gicv2Import {
  dist: Map<number, number>;
  banked: Map<number, number>[];
  gicc: Map<number, number>[];
}

export interface Gicv2Options {
  numIrq: number;
  vcpus: number;
  tcg: boolean;
  /** virt passes has-security-extensions = secure (hw/arm/virt.c create_gic). */
  securityExtn: boolean;
}

export function importGicv2(f: Fields, o: Gicv2Options): Gicv2Import {
  const cpuCtlr = f.nums("cpu_ctlr");
  const ncpu = cpuCtlr.length; // GIC_NCPU of this QEMU build (8 in 7.2)
  if (o.vcpus > ncpu) {
    fail("qemu/gic", `${f.s.where}.cpu_ctlr`, `${o.vcpus} vCPUs but the GIC has ${ncpu} slots`);
  }
  const irqs: IrqState[] = f.structs("irq_state").map((s: VmsStruct) => {
    const e = new Fields(s);
    return {
      enabled: e.num("enabled"),
      pending: e.num("pending"),
      active: e.num("active"),
      level: e.num("level"),
      edge: e.num("edge_trigger"),
      group: e.num("group"),
    };
  });
  if (irqs.length < o.numIrq) {
    fail("qemu/gic", `${f.s.where}.irq_state`, `${irqs.length} entries, fewer than ${o.numIrq}`);
  }
  const target = f.nums("irq_target");
  const prio1 = f.nums("priority1", GIC_INTERNAL * ncpu); // [irq][cpu]
  const prio2 = f.nums("priority2");
  const sgiPending = f.nums("sgi_pending", GIC_NR_SGIS * ncpu); // [sgi][cpu]
  const pmr = f.nums("priority_mask", ncpu);
  const bpr = f.nums("bpr", ncpu);
  const abpr = f.nums("abpr", ncpu);
  const apr = f.nums("apr", 4 * ncpu); // [n][cpu]
  const prio = (irq: number, cpu: number) =>
    irq < GIC_INTERNAL ? prio1[irq * ncpu + cpu] : prio2[irq - GIC_INTERNAL];

  /** The distributor as CPU `cpu` sees it, for interrupts [from, to). */
  const view = (cpu: number, from: number, to: number, out: Map<number, number>) => {
    const cmOf = (irq: number) => (irq < GIC_INTERNAL ? 1n << BigInt(cpu) : ALL_CPU_MASK);
    for (const [off, test] of BITMAPS) {
      for (let irq = from; irq < to; irq += 32) {
        let w = 0;
        for (let i = 0; i < 32; i++) if (test(irqs[irq + i], cmOf(irq + i))) w |= 1 << i;
        out.set(off + irq / 8, w >>> 0);
      }
    }
    for (let irq = from; irq < to; irq += 4) {
      let p = 0, t = 0;
      for (let i = 0; i < 4; i++) {
        p |= Number(prio(irq + i, cpu)) << (8 * i);
        // ITARGETSR0-7 (INTIDs 0..31) are read-only and name the reading CPU (IHI0048B
        // 4.3.12; KVM's vgic-mmio-v2 returns BIT(vcpu_id)); SPIs keep QEMU's irq_target.
        const t8 = irq + i < GIC_INTERNAL ? 1n << BigInt(cpu) : target[irq + i] & 0xffn;
        t |= Number(t8) << (8 * i);
      }
      out.set(GICD.IPRIORITYR + irq, p >>> 0);
      out.set(GICD.ITARGETSR + irq, t >>> 0);
    }
    for (let irq = from; irq < to; irq += 16) {
      let c = 0;
      for (let i = 0; i < 16; i++) if (irqs[irq + i].edge) c |= 2 << (2 * i);
      out.set(GICD.ICFGR + irq / 4, c >>> 0);
    }
    if (from === 0) {
      // GICD_SPENDSGIR<n>: byte i = source-CPU mask of SGI 4n+i pending on this CPU.
      for (let n = 0; n < 4; n++) {
        let w = 0;
        for (let i = 0; i < 4; i++) w |= Number(sgiPending[(4 * n + i) * ncpu + cpu]) << (8 * i);
        out.set(GICD.SPENDSGIR + 4 * n, w >>> 0);
      }
    }
  };

  const dist = new Map<number, number>();
  const ctlr = f.num("ctlr");
  dist.set(GICD.CTLR, Number(ctlr));
  if (o.tcg) {
    // hw/intc/arm_gic.c gic_dist_readb (QEMU 7.2): GICD_TYPER = ITLinesNumber
    // (num_irq / 32 - 1) | CPUNumber (num_cpu - 1) << 5 | SecurityExtn << 10 (virt's GICv2 has
    // security extensions only with secure=on); GICD_IIDR = 0x43b (ARM, revision 0).
    const sec = o.securityExtn ? 1 : 0;
    dist.set(GICD.TYPER, ((o.numIrq / 32 - 1) | ((o.vcpus - 1) << 5) | (sec << 10)) >>> 0);
    dist.set(GICD.IIDR, 0x43b);
  }
  view(0, GIC_INTERNAL, o.numIrq, dist);
  const banked: Map<number, number>[] = [];
  const gicc: Map<number, number>[] = [];
  for (let cpu = 0; cpu < o.vcpus; cpu++) {
    const b = new Map<number, number>();
    view(cpu, 0, GIC_INTERNAL, b);
    banked.push(b);
    const c = new Map<number, number>();
    c.set(GICC.CTLR, Number(cpuCtlr[cpu]));
    c.set(GICC.PMR, Number(pmr[cpu] & 0xffn));
    c.set(GICC.BPR, Number(bpr[cpu] & 7n));
    c.set(GICC.ABPR, Number(abpr[cpu] & 7n));
    for (let n = 0; n < 4; n++) c.set(GICC.APR + 4 * n, Number(apr[n * ncpu + cpu]) >>> 0);
    gicc.push(c);
  }
  for (const [off, v] of banked[0]) dist.set(off, v);
  return { dist, banked, gicc };
}
