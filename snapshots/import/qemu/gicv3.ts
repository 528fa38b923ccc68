/**
 * "arm_gicv3" (hw/intc/arm_gicv3_common.c vmstate_gicv3, shared by TCG's arm-gicv3 and
 * kvm-arm-gicv3) → KVM vGICv3 state: distributor words at their KVM_DEV_ARM_VGIC_GRP_DIST_REGS
 * offsets, redistributor words at GRP_REDIST_REGS offsets (RD frame, SGI frame at +0x10000) and
 * CPU-interface registers at their GRP_CPU_SYSREGS encodings, converted the way QEMU's own KVM
 * backend writes them (hw/intc/arm_gicv3_kvm.c kvm_arm_gicv3_put).
 */
import type { Fields, VmsStruct } from "./vmstate.ts";
import { Fields as F } from "./vmstate.ts";
import { fail } from "./reader.ts";
import { sysregEncoding } from "../../kvm/ids.ts";

/** GIC_INTERNAL: SGIs and PPIs live in the redistributors, not in the distributor's view. */
const GIC_INTERNAL = 32;

/** Distributor offsets (GIC architecture spec IHI0069, §12.9). */
const GICD = {
  CTLR: 0x0000,
  TYPER: 0x0004,
  IIDR: 0x0008,
  IGROUPR: 0x0080,
  ISENABLER: 0x0100,
  ISPENDR: 0x0200,
  ISACTIVER: 0x0300,
  IPRIORITYR: 0x0400,
  ICFGR: 0x0c00,
  IGRPMODR: 0x0d00,
  IROUTER: 0x6000,
} as const;

/** One bit per interrupt: [GICD offset, vmstate bitmap field]. */
const DIST_BITMAPS: [number, string][] = [
  [GICD.IGROUPR, "group"],
  [GICD.ISENABLER, "enabled"],
  [GICD.ISPENDR, "pending"], // the pending latch, as kvm_dist_putbmp(GICD_ISPENDR, s->pending)
  [GICD.ISACTIVER, "active"],
  [GICD.IGRPMODR, "grpmod"],
];

/** Redistributor offsets (IHI0069 §12.10, §12.11); SGI_base frame at +0x10000. */
const GICR = {
  CTLR: 0x0000,
  WAKER: 0x0014,
  PROPBASER: 0x0070,
  PENDBASER: 0x0078,
  IGROUPR0: 0x10080,
  ISENABLER0: 0x10100,
  ISPENDR0: 0x10200,
  ISACTIVER0: 0x10300,
  IPRIORITYR: 0x10400,
  ICFGR0: 0x10c00,
  ICFGR1: 0x10c04,
  IGRPMODR0: 0x10d00,
} as const;

/** [GICR offset, 32-bit vmstate field of arm_gicv3_cpu]. */
const REDIST_WORDS: [number, string][] = [
  [GICR.CTLR, "gicr_ctlr"],
  [GICR.WAKER, "gicr_waker"],
  [GICR.IGROUPR0, "gicr_igroupr0"],
  [GICR.ISENABLER0, "gicr_ienabler0"],
  [GICR.ISPENDR0, "gicr_ipendr0"],
  [GICR.ISACTIVER0, "gicr_iactiver0"],
  [GICR.IGRPMODR0, "gicr_igrpmodr0"],
];

/** QEMU's bank indexes (include/hw/intc/arm_gicv3_common.h): GICV3_G0 0, G1 1, G1NS 2; NS 1. */
const G0 = 0, G1NS = 2, NS = 1;

const icc = (crm: number, op2: number) => sysregEncoding(3, 0, 12, crm, op2);
/** CPU-interface registers: [encoding, value] from one arm_gicv3_cpu element (ARM ARM C5.2). */
const ICC_ROWS: [string, number, (c: CpuIf) => bigint][] = [
  ["ICC_PMR_EL1", sysregEncoding(3, 0, 4, 6, 0), (c) => c.pmr],
  ["ICC_BPR0_EL1", icc(8, 3), (c) => c.bpr[G0]],
  ["ICC_BPR1_EL1", icc(12, 3), (c) => c.bpr[G1NS]],
  ["ICC_CTLR_EL1", icc(12, 4), (c) => c.ctlr[NS]],
  ["ICC_SRE_EL1", icc(12, 5), (c) => c.sre],
  ["ICC_IGRPEN0_EL1", icc(12, 6), (c) => c.igrpen[G0]],
  ["ICC_IGRPEN1_EL1", icc(12, 7), (c) => c.igrpen[G1NS]],
];

interface CpuIf {
  ctlr: bigint[];
  pmr: bigint;
  bpr: bigint[];
  apr: bigint[];
  igrpen: bigint[];
  sre: bigint;
}

export interface Gicv3Import {
  dist: Map<number, number>;
  redist: Map<number, number>[];
  icc: Map<number, bigint>[];
  /** The stream came from a QEMU with the bitmap-offset bug (see importGicv3). */
  shiftBug: boolean;
}

export interface Gicv3Options {
  numIrq: number;
  /** TCG: add GICD_IIDR and GICD_TYPER as QEMU's emulated GIC reports them. */
  tcg: boolean;
  /** The emulated GIC's has-lpi property (machine.ts MachineFacts.tcgLpis). */
  lpis: boolean;
  vcpus: number;
}

const u32 = (v: bigint) => Number(v & 0xffff_ffffn);

export function importGicv3(f: Fields, o: Gicv3Options): Gicv3Import {
  const dist = new Map<number, number>();
  const gicdCtlr = f.num("gicd_ctlr");
  dist.set(GICD.CTLR, u32(gicdCtlr));
  if (o.tcg) {
    // hw/intc/arm_gicv3_dist.c gicd_readl (QEMU 7.2): GICD_IIDR = gicv3_iidr() = 0x43b (ARM as
    // implementer, revision 0); GICD_TYPER = No1N (bit 25) | A3V (24) | DVIS (18, revision 4
    // only) | IDbits 0xf (23:19) | LPIS (17) | SecurityExtn (10, when GICD_CTLR.DS is 0) |
    // ITLinesNumber ((num_irq - 32) / 32 - 1).
    dist.set(GICD.IIDR, 0x43b);
    const ds = (gicdCtlr >> 6n) & 1n;
    const itLines = (o.numIrq - GIC_INTERNAL) / 32 - 1;
    dist.set(
      GICD.TYPER,
      ((1 << 25) | (1 << 24) | (0xf << 19) | ((o.lpis ? 1 : 0) << 17) |
        ((ds ? 0 : 1) << 10) | itLines) >>> 0,
    );
  }
  // Older QEMUs saved the KVM GIC's bitmaps one 32-bit word too high (external interrupt 32 at
  // bit 64). Streams from fixed QEMUs carry the arm_gicv3/gicd_no_migration_shift_bug
  // subsection (true); without it QEMU moves every bitmap down one word on load
  // (hw/intc/arm_gicv3_common.c gicv3_gicd_no_migration_shift_bug_post_load), and so do we.
  const fixed = f.sub("arm_gicv3/gicd_no_migration_shift_bug")?.num(
    "gicd_no_migration_shift_bug",
  );
  const shift = fixed === 1n ? 0 : 1;
  const bitmap = (name: string) => {
    const w = f.nums(name, 32);
    return shift ? [...w.slice(1), 0n] : w;
  };
  for (const [off, name] of DIST_BITMAPS) {
    const words = bitmap(name);
    for (let irq = GIC_INTERNAL; irq < o.numIrq; irq += 32) {
      dist.set(off + irq / 8, u32(words[irq / 32]));
    }
  }
  const prio = f.nums("gicd_ipriority", 1020);
  for (let irq = GIC_INTERNAL; irq < o.numIrq; irq += 4) {
    dist.set(GICD.IPRIORITYR + irq, bytesToWord(prio, irq));
  }
  // kvm_dist_put_edge_trigger: two bits per interrupt, bit 1 set for edge-triggered.
  const edge = bitmap("edge_trigger");
  for (let irq = GIC_INTERNAL; irq < o.numIrq; irq += 16) {
    dist.set(GICD.ICFGR + irq / 4, icfgr(edge[irq >> 5], irq & 31));
  }
  // 64-bit GICD_IROUTER<n> as two 32-bit halves, as KVM's uaccess and QEMU's
  // kvm_arm_gicv3_put write it.
  const route = f.nums("gicd_irouter", 1020);
  for (let irq = GIC_INTERNAL; irq < o.numIrq; irq++) {
    dist.set(GICD.IROUTER + 8 * irq, u32(route[irq]));
    dist.set(GICD.IROUTER + 8 * irq + 4, u32(route[irq] >> 32n));
  }

  const cpus = f.structs("cpu");
  if (cpus.length !== o.vcpus) {
    fail(
      "qemu/gic",
      `${f.s.where}.cpu`,
      `the GIC holds ${cpus.length} CPU interfaces but the stream has ${o.vcpus} vCPUs`,
    );
  }
  const redist: Map<number, number>[] = [];
  const iccs: Map<number, bigint>[] = [];
  for (const s of cpus) {
    const [r, c] = importCpu(s, o.tcg);
    redist.push(r);
    iccs.push(c);
  }
  return { dist, redist, icc: iccs, shiftBug: shift === 1 };
}

function importCpu(s: VmsStruct, tcg: boolean): [Map<number, number>, Map<number, bigint>] {
  const c = new F(s);
  const r = new Map<number, number>();
  for (const [off, name] of REDIST_WORDS) r.set(off, u32(c.num(name)));
  const prop = c.num("gicr_propbaser"), pend = c.num("gicr_pendbaser");
  r.set(GICR.PROPBASER, u32(prop));
  r.set(GICR.PROPBASER + 4, u32(prop >> 32n));
  r.set(GICR.PENDBASER, u32(pend));
  r.set(GICR.PENDBASER + 4, u32(pend >> 32n));
  const prio = c.nums("gicr_ipriorityr", 32);
  for (let irq = 0; irq < 32; irq += 4) r.set(GICR.IPRIORITYR + irq, bytesToWord(prio, irq));
  const edge = c.num("edge_trigger");
  r.set(GICR.ICFGR0, icfgr(edge, 0));
  r.set(GICR.ICFGR1, icfgr(edge, 16));

  // ICC_SRE_EL1: QEMU's emulated CPU interface always reads 0x7 (SRE, DFB, DIB; hw/intc/
  // arm_gicv3_cpuif.c icc_sre_read) and leaves the migrated field at 0, so a TCG stream's
  // field is not what the guest saw. For KVM the field is the kernel's value; it is only sent
  // when it is not 0x7 (arm_gicv3_cpu/sre_el1 .needed; post_load restores 0x7 without it).
  const sent = c.sub("arm_gicv3_cpu/sre_el1")?.num("icc_sre_el1");
  const sre = tcg ? 7n : sent ?? 7n;
  const cpu: CpuIf = {
    ctlr: c.nums("icc_ctlr_el1", 2),
    pmr: c.num("icc_pmr_el1"),
    bpr: c.nums("icc_bpr", 3),
    apr: c.nums("icc_apr", 12),
    igrpen: c.nums("icc_igrpen", 3),
    sre,
  };
  const regs = new Map<number, bigint>();
  for (const [, enc, get] of ICC_ROWS) regs.set(enc, get(cpu));
  // Active-priority registers: as many as ICC_CTLR_EL1.PRIbits allows (kvm_arm_gicv3_put:
  // 7 bits → 4, 6 bits → 2, else 1); icc_apr is [3][4] flattened (group-major).
  const priBits = Number((cpu.ctlr[NS] >> 8n) & 7n) + 1;
  const nApr = priBits === 7 ? 4 : priBits === 6 ? 2 : 1;
  for (let n = 0; n < nApr; n++) {
    regs.set(icc(8, 4 + n), cpu.apr[G0 * 4 + n]); // ICC_AP0R<n>_EL1 (3,0,12,8,4+n)
    regs.set(icc(9, n), cpu.apr[G1NS * 4 + n]); // ICC_AP1R<n>_EL1 (3,0,12,9,n)
  }
  return [r, regs];
}

/** Four priority bytes, lowest INTID in the low byte (GICD_IPRIORITYR byte layout). */
function bytesToWord(b: bigint[], first: number): number {
  return (Number(b[first]) | (Number(b[first + 1]) << 8) | (Number(b[first + 2]) << 16) |
    (Number(b[first + 3]) << 24)) >>> 0;
}

/** GICD_ICFGR word for 16 interrupts from an edge bitmap word starting at bit `from`. */
export function icfgr(edgeWord: bigint, from: number): number {
  let v = 0;
  for (let i = 0; i < 16; i++) if ((edgeWord >> BigInt(from + i)) & 1n) v |= 2 << (2 * i);
  return v >>> 0;
}
