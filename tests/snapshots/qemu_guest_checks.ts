/**
 * What tests/fixtures/qemu/guest.S leaves in each vCPU, checked against an imported snapshot.
 * The guest read every GIC register it wrote back into general-purpose registers, so each GIC
 * word the importer derives from QEMU's vmstate is compared with what QEMU's own MMIO and
 * system-register model returned to the guest.
 */
import { assert, assertEquals } from "@std/assert";
import {
  core,
  CORE_OFFSET,
  hex,
  KVM_REG_SIZE,
  regValue,
  type Snapshot,
  sveFfr,
  sveP,
  sveZ,
  sysreg,
  sysregEncoding,
  VCPU_FEATURE,
  type VcpuState,
} from "../../snapshots/mod.ts";
import { hasIts, startedVcpus, type StreamSpec } from "../fixtures/qemu/make.ts";

const x = (v: VcpuState, n: number) => regValue(v, core(CORE_OFFSET.x(n)))!;
const u32 = (v: bigint) => Number(v & 0xffff_ffffn);

/** KVM id of the virtual timer's compare value (swapped ABI, see snapshots/kvm/names.ts). */
export const KVM_REG_ARM_TIMER_CVAL = sysreg(3, 3, 14, 0, 2);
export const KVM_REG_ARM_TIMER_CNT = sysreg(3, 3, 14, 3, 2);

export function checkGuest(s: Snapshot, spec: StreamSpec): void {
  assertEquals(s.vcpus.length, spec.smp, "vCPU count");
  assertEquals(s.vm.vgic?.model, spec.gic === 3 ? "v3" : "v2");
  const started = startedVcpus(spec.smp);
  s.vcpus.forEach((v, i) => {
    const at = `vcpu ${i}`;
    // virt: clusters of 16 (GICv3) or 8 (GICv2) vCPUs, bit 31 RES1.
    const cluster = spec.gic === 3 ? 16 : 8;
    const aff = (Math.floor(i / cluster) << 8) | (i % cluster);
    assertEquals(v.mpidr, 0x8000_0000n | BigInt(aff), `${at} mpidr`);
    if (i >= started) {
      assertEquals(v.mpState, 1, `${at} never started: KVM_MP_STATE_STOPPED`);
      return;
    }
    assertEquals(v.mpState, 0, `${at} runnable`);
    assertEquals(x(v, 0), BigInt(i), `${at} x0 = index`);
    assertEquals(v.mpidr, x(v, 19), `${at} mpidr equals what the guest read`);
    const pc = regValue(v, core(CORE_OFFSET.PC))!;
    assert(pc >= x(v, 29) && pc < x(v, 29) + 12n, `${at} PC ${hex(pc)} in the spin loop`);
    assert(pc > 0x4008_0000n && pc < 0x4008_1000n, `${at} PC ${hex(pc)} inside the guest`);
    assertEquals(regValue(v, core(CORE_OFFSET.PSTATE))! & 0xfn, 5n, `${at} EL1h`);
    assertEquals(regValue(v, sysreg(3, 0, 13, 0, 4)), 0x7e57_0000_0000_0000n + BigInt(i));
    assertEquals(regValue(v, sysreg(3, 3, 13, 0, 2)), 0x1000n + BigInt(i), `${at} TPIDR_EL0`);
    assertEquals(regValue(v, sysreg(3, 0, 13, 0, 1)), 0x40n + BigInt(i), `${at} CONTEXTIDR`);
    const vbar = regValue(v, sysreg(3, 0, 12, 0, 0))!;
    assert(vbar > pc && (vbar & 0x7ffn) === 0n, `${at} VBAR_EL1 ${hex(vbar)}`);
    assertEquals(regValue(v, core(CORE_OFFSET.SP)), 0x40f0_0000n + 0x100n * BigInt(i), "SP_EL0");
    assertEquals(regValue(v, core(CORE_OFFSET.SP_EL1)), 0x40e0_0000n - 0x1000n * BigInt(i));
    assertEquals(regValue(v, core(CORE_OFFSET.ELR_EL1)), 0x4000_1230n + BigInt(i), "ELR_EL1");
    assertEquals(regValue(v, core(CORE_OFFSET.spsr(0))), 0x3c5n | (BigInt(i) << 28n), "SPSR");
    const v1 = (0xabcd_ef01_2345_6789n << 64n) | (0x1111_1111_1111_1111n * BigInt(i + 1));
    if (v.features.includes(VCPU_FEATURE.SVE)) {
      // An SVE vCPU carries Z0..Z31, P0..P15, FFR (as QEMU's KVM backend writes them), no V regs;
      // writing V1 (a 128-bit write) zeroed Z1's upper bits, and the guest never used P or FFR.
      assertEquals(regValue(v, sveZ(1, 0)), v1, `${at} Z1 = V1 zero-extended`);
      assertEquals(regValue(v, core(CORE_OFFSET.v(1), KVM_REG_SIZE.U128)), undefined, "no V1");
      for (let n = 0; n < 16; n++) assertEquals(regValue(v, sveP(n, 0)), 0n, `${at} P${n}`);
      assertEquals(regValue(v, sveFfr(0)), 0n, `${at} FFR`);
    } else {
      assertEquals(regValue(v, core(CORE_OFFSET.v(1), KVM_REG_SIZE.U128)), v1, `${at} V1`);
      assertEquals(regValue(v, sveZ(1, 0)), undefined, `${at} no Z1 without SVE`);
    }
    assertEquals(regValue(v, core(CORE_OFFSET.FPCR, KVM_REG_SIZE.U32)), x(v, 8), `${at} FPCR`);
    assertEquals(regValue(v, core(CORE_OFFSET.FPSR, KVM_REG_SIZE.U32)), x(v, 7), `${at} FPSR`);
    assertEquals(regValue(v, KVM_REG_ARM_TIMER_CVAL), 0xc0ff_0000_0000_0000n + BigInt(i));
    // The guest kept storing CNTVCT_EL0 until QEMU stopped it: the imported KVM_REG_ARM_TIMER_CNT
    // (derived from the stopped virtual clock) is at or after the last value it stored, and
    // close to it (62.5 MHz, so 31,250,000 ticks is half a second).
    const flags = s.memory!.find((m) => m.name === "mach-virt.ram")!.pages.get(0xc0_0000n)!;
    const seen = new DataView(flags.buffer, flags.byteOffset).getBigUint64(0x300 + 8 * i, true);
    const cnt = regValue(v, KVM_REG_ARM_TIMER_CNT)!;
    assert(cnt >= seen && cnt - seen < 31_250_000n, `${at} TIMER_CNT ${cnt}, guest saw ${seen}`);
    if (spec.gic === 3) {
      const r = v.redist!, c = v.icc!;
      assertEquals(r.get(0x10080), u32(x(v, 10)), `${at} GICR_IGROUPR0`);
      assertEquals(r.get(0x10080), 0x5a5a_0000 + i, `${at} GICR_IGROUPR0 as written`);
      assertEquals(r.get(0x10100), u32(x(v, 11)), `${at} GICR_ISENABLER0`);
      assertEquals(r.get(0x10408), u32(x(v, 12)), `${at} GICR_IPRIORITYR2`);
      assertEquals(r.get(0x10c04), u32(x(v, 18)), `${at} GICR_ICFGR1`);
      assertEquals(r.get(0x14), u32(x(v, 17)), `${at} GICR_WAKER`);
      const flags = s.memory!.find((m) => m.name === "mach-virt.ram")!.pages.get(0xc0_0000n)!;
      const ctlr = new DataView(flags.buffer, flags.byteOffset).getUint32(0x200 + 8 * i, true);
      assertEquals(r.get(0x0), ctlr, `${at} GICR_CTLR`);
      assertEquals(c.get(sysregEncoding(3, 0, 4, 6, 0)), x(v, 13), `${at} ICC_PMR_EL1`);
      assertEquals(c.get(sysregEncoding(3, 0, 12, 12, 3)), x(v, 14), `${at} ICC_BPR1_EL1`);
      assertEquals(c.get(sysregEncoding(3, 0, 12, 12, 7)), x(v, 15), `${at} ICC_IGRPEN1_EL1`);
      assertEquals(c.get(sysregEncoding(3, 0, 12, 12, 4)), x(v, 16), `${at} ICC_CTLR_EL1`);
      assertEquals(c.get(sysregEncoding(3, 0, 12, 12, 5)), x(v, 30), `${at} ICC_SRE_EL1`);
    } else {
      const b = v.extra.get("gicv2_dist_banked") as Map<number, number>;
      const c = v.gicc!;
      assertEquals(b.get(0x80), u32(x(v, 10)), `${at} GICD_IGROUPR0 (banked)`);
      assertEquals(b.get(0x80), 0x5a5a_0000 + i, `${at} GICD_IGROUPR0 as written`);
      assertEquals(b.get(0x100), u32(x(v, 11)), `${at} GICD_ISENABLER0 (banked)`);
      assertEquals(b.get(0x408), u32(x(v, 12)), `${at} GICD_IPRIORITYR2 (banked)`);
      if (spec.smp > 1) {
        assertEquals(b.get(0x800), u32(x(v, 18)), `${at} GICD_ITARGETSR0 (banked)`);
      } else {
        // A uniprocessor GICv2 makes ITARGETSR RAZ/WI (IHI0048B 4.3.12) and QEMU's does, but
        // KVM's vGIC keeps BIT(vcpu_id) for private interrupts: the snapshot holds KVM's view.
        assertEquals(x(v, 18), 0n, "QEMU: ITARGETSR0 reads as zero with one CPU");
        assertEquals(b.get(0x800), 0x0101_0101, `${at} GICD_ITARGETSR0 as KVM holds it`);
      }
      assertEquals(c.get(0x04), u32(x(v, 13)), `${at} GICC_PMR`);
      assertEquals(c.get(0x08), u32(x(v, 14)), `${at} GICC_BPR`);
      assertEquals(c.get(0x00), u32(x(v, 15)), `${at} GICC_CTLR`);
      assertEquals(c.get(0x1c), u32(x(v, 16)), `${at} GICC_ABPR`);
      assertEquals(c.get(0xd0), u32(x(v, 17)), `${at} GICC_APR0`);
    }
  });
  // Distributor, programmed by vCPU 0.
  const d = s.vm.vgic!.dist, v0 = s.vcpus[0];
  assertEquals(d.get(0x4), u32(x(v0, 20)), "GICD_TYPER as QEMU reports it");
  assertEquals(d.get(0x8), u32(x(v0, 21)), "GICD_IIDR as QEMU reports it");
  assertEquals(d.get(0x8), 0x43b, "GICD_IIDR of QEMU 7.2's GIC");
  assertEquals(d.get(0x0), u32(x(v0, 22)), "GICD_CTLR");
  assertEquals(d.get(0x84), u32(x(v0, 23)), "GICD_IGROUPR1");
  assertEquals(d.get(0x84), 0xa5a5_5a5a, "GICD_IGROUPR1 as written");
  assertEquals(d.get(0x420), u32(x(v0, 24)), "GICD_IPRIORITYR8");
  assertEquals(d.get(0x104), u32(x(v0, 25)), "GICD_ISENABLER1");
  assertEquals(d.get(0xc08), u32(x(v0, 27)), "GICD_ICFGR2");
  assertEquals(d.get(0x204), u32(x(v0, 28)), "GICD_ISPENDR1");
  if (spec.gic === 3) {
    // The last redistributor's GICR_TYPER, which vCPU 0 stored in guest memory: its
    // Affinity_Value (63:32) is the MPIDR affinity QEMU gave the last vCPU, started or not.
    const ram = s.memory!.find((m) => m.name === "mach-virt.ram")!;
    const page = ram.pages.get(0xc0_0000n)!;
    const view = new DataView(page.buffer, page.byteOffset, page.byteLength);
    const typer = view.getBigUint64(0x100, true);
    assertEquals(view.getBigUint64(0x108, true), BigInt(spec.smp), "redistributor count");
    assertEquals(typer >> 32n, s.vcpus[spec.smp - 1].mpidr & 0xff_ffffn, "last vCPU's affinity");
    // The ITS registers vCPU 0 programmed and read back (GITS_CBASER, GITS_BASER0, GITS_IIDR,
    // GITS_CTLR), against the imported ITS map.
    if (hasIts(spec)) {
      const its = s.vm.vgic!.its!;
      assertEquals(its.get(0x80), view.getBigUint64(0x110, true), "GITS_CBASER");
      assertEquals(its.get(0x80), 0x8000_0000_40d0_0000n, "GITS_CBASER as written");
      assertEquals(its.get(0x100), view.getBigUint64(0x118, true), "GITS_BASER0");
      assertEquals(its.get(0x4), view.getBigUint64(0x120, true), "GITS_IIDR");
      assertEquals(its.get(0x0), view.getBigUint64(0x128, true), "GITS_CTLR");
    } else {
      assertEquals(s.vm.vgic!.its, undefined, "-M virt,its=off: no ITS state");
    }
    assertEquals(d.get(0x6000 + 8 * 40), u32(x(v0, 26)), "GICD_IROUTER40 low half");
    assertEquals(d.get(0x6000 + 8 * 40 + 4), u32(x(v0, 26) >> 32n), "GICD_IROUTER40 high half");
  } else {
    if (spec.smp > 1) {
      assertEquals(d.get(0x820), u32(x(v0, 26)), "GICD_ITARGETSR8");
    } else {
      // As above; QEMU's uniprocessor reset targets every interrupt at CPU 0
      // (hw/intc/arm_gic_common.c arm_gic_common_reset) and its KVM backend writes that.
      assertEquals(x(v0, 26), 0n, "QEMU: ITARGETSR8 reads as zero with one CPU");
      assertEquals(d.get(0x820), 0x0101_0101, "GICD_ITARGETSR8 as QEMU's KVM backend writes it");
    }
  }
}
