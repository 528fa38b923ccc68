/** Names of vGIC register offsets (GIC architecture spec IHI0069, §12.9 and §12.11). */

type Row = [start: number, end: number, name: string, bytesPerReg: number];

/**
 * The identification block at 0xFFD0 of a distributor or redistributor frame (IHI0069 §12.1.3,
 * Table 12-2 ID registers): PIDR4..7, then PIDR0..3, then CIDR0..3, one word each.
 */
function idBlock(frame: string): Row[] {
  const names = [4, 5, 6, 7, 0, 1, 2, 3].map((n) => `PIDR${n}`).concat(
    [0, 1, 2, 3].map((n) => `CIDR${n}`),
  );
  return names.map((n, i): Row => [0xffd0 + 4 * i, 0xffd4 + 4 * i, `${frame}_${n}`, 4]);
}

const DIST: Row[] = [
  [0x0000, 0x0004, "GICD_CTLR", 4],
  [0x0004, 0x0008, "GICD_TYPER", 4],
  [0x0008, 0x000c, "GICD_IIDR", 4],
  [0x000c, 0x0010, "GICD_TYPER2", 4],
  [0x0010, 0x0014, "GICD_STATUSR", 4],
  [0x0080, 0x0100, "GICD_IGROUPR", 4],
  [0x0100, 0x0180, "GICD_ISENABLER", 4],
  [0x0180, 0x0200, "GICD_ICENABLER", 4],
  [0x0200, 0x0280, "GICD_ISPENDR", 4],
  [0x0280, 0x0300, "GICD_ICPENDR", 4],
  [0x0300, 0x0380, "GICD_ISACTIVER", 4],
  [0x0380, 0x0400, "GICD_ICACTIVER", 4],
  [0x0400, 0x0800, "GICD_IPRIORITYR", 4],
  [0x0800, 0x0c00, "GICD_ITARGETSR", 4],
  [0x0c00, 0x0d00, "GICD_ICFGR", 4],
  [0x0d00, 0x0d80, "GICD_IGRPMODR", 4],
  [0x0e00, 0x0f00, "GICD_NSACR", 4],
  [0x0f00, 0x0f04, "GICD_SGIR", 4],
  // GICv2 only (IHI0048B §4.3.16, §4.3.17).
  [0x0f10, 0x0f20, "GICD_CPENDSGIR", 4],
  [0x0f20, 0x0f30, "GICD_SPENDSGIR", 4],
  [0x6000, 0x8000, "GICD_IROUTER", 8],
  ...idBlock("GICD"),
];

const REDIST: [number, number, string, number][] = [
  [0x0000, 0x0004, "GICR_CTLR", 4],
  [0x0004, 0x0008, "GICR_IIDR", 4],
  [0x0008, 0x0010, "GICR_TYPER", 8],
  [0x0010, 0x0014, "GICR_STATUSR", 4],
  [0x0014, 0x0018, "GICR_WAKER", 4],
  [0x0070, 0x0078, "GICR_PROPBASER", 8],
  [0x0078, 0x0080, "GICR_PENDBASER", 8],
  [0x00a0, 0x00a8, "GICR_INVLPIR", 8],
  [0x00b0, 0x00b8, "GICR_INVALLR", 8],
  [0x00c0, 0x00c4, "GICR_SYNCR", 4],
  [0x10080, 0x10084, "GICR_IGROUPR0", 4],
  [0x10100, 0x10104, "GICR_ISENABLER0", 4],
  [0x10180, 0x10184, "GICR_ICENABLER0", 4],
  [0x10200, 0x10204, "GICR_ISPENDR0", 4],
  [0x10280, 0x10284, "GICR_ICPENDR0", 4],
  [0x10300, 0x10304, "GICR_ISACTIVER0", 4],
  [0x10380, 0x10384, "GICR_ICACTIVER0", 4],
  [0x10400, 0x10420, "GICR_IPRIORITYR", 4],
  [0x10c00, 0x10c08, "GICR_ICFGR", 4],
  [0x10d00, 0x10d04, "GICR_IGRPMODR0", 4],
  [0x10e00, 0x10e04, "GICR_NSACR", 4],
  ...idBlock("GICR"),
];

const GICC: [number, number, string, number][] = [
  [0x0000, 0x0004, "GICC_CTLR", 4],
  [0x0004, 0x0008, "GICC_PMR", 4],
  [0x0008, 0x000c, "GICC_BPR", 4],
  [0x001c, 0x0020, "GICC_ABPR", 4],
  [0x00d0, 0x00e0, "GICC_APR", 4],
  [0x00fc, 0x0100, "GICC_IIDR", 4],
];

const ITS: [number, number, string, number][] = [
  [0x0000, 0x0004, "GITS_CTLR", 4],
  [0x0004, 0x0008, "GITS_IIDR", 4],
  [0x0008, 0x0010, "GITS_TYPER", 8],
  [0x0080, 0x0088, "GITS_CBASER", 8],
  [0x0088, 0x0090, "GITS_CWRITER", 8],
  [0x0090, 0x0098, "GITS_CREADR", 8],
  [0x0100, 0x0140, "GITS_BASER", 8],
];

function lookup(table: [number, number, string, number][], off: number, prefix: string): string {
  for (const [s, e, name, w] of table) {
    if (off >= s && off < e) {
      const n = (off - s) / w;
      const half = (off - s) % w ? "[hi]" : "";
      return e - s > w ? `${name}${Math.floor(n)}${half}` : `${name}${half}`;
    }
  }
  return `${prefix}+0x${off.toString(16)}`;
}

export const distName = (off: number) => lookup(DIST, off, "GICD");
export const redistName = (off: number) => lookup(REDIST, off, "GICR");
export const giccName = (off: number) => lookup(GICC, off, "GICC");
export const itsName = (off: number) => lookup(ITS, off, "GITS");

/** GICv3 CPU-interface registers KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS accepts (vgic-sys-reg-v3.c). */
export const ICC_REGS: [enc: number, name: string][] = [
  [(3 << 14) | (0 << 11) | (4 << 7) | (6 << 3) | 0, "ICC_PMR_EL1"],
  [(3 << 14) | (0 << 11) | (12 << 7) | (8 << 3) | 3, "ICC_BPR0_EL1"],
  ...[0, 1, 2, 3].map((n) =>
    [(3 << 14) | (0 << 11) | (12 << 7) | (8 << 3) | (4 + n), `ICC_AP0R${n}_EL1`] as [number, string]
  ),
  ...[0, 1, 2, 3].map((n) =>
    [(3 << 14) | (0 << 11) | (12 << 7) | (9 << 3) | n, `ICC_AP1R${n}_EL1`] as [number, string]
  ),
  [(3 << 14) | (0 << 11) | (12 << 7) | (12 << 3) | 3, "ICC_BPR1_EL1"],
  [(3 << 14) | (0 << 11) | (12 << 7) | (12 << 3) | 4, "ICC_CTLR_EL1"],
  [(3 << 14) | (0 << 11) | (12 << 7) | (12 << 3) | 5, "ICC_SRE_EL1"],
  [(3 << 14) | (0 << 11) | (12 << 7) | (12 << 3) | 6, "ICC_IGRPEN0_EL1"],
  [(3 << 14) | (0 << 11) | (12 << 7) | (12 << 3) | 7, "ICC_IGRPEN1_EL1"],
];

const ICC_BY_ENC = new Map(ICC_REGS);

export function iccName(enc: number): string | undefined {
  return ICC_BY_ENC.get(enc);
}

export function iccEnc(name: string): number {
  for (const [e, n] of ICC_REGS) if (n === name) return e;
  throw new Error(`no ICC register ${name}`);
}
