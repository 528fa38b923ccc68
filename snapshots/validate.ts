/**
 * Structural rules a snapshot must satisfy beyond its CDDL types. They run on every decode and
 * before every encode, so an importer cannot write what a reader would refuse.
 */
import { SnapshotError } from "./errors.ts";
import { MAX_VCPUS } from "./limits.ts";
import type { Snapshot, VcpuState } from "./model.ts";
import {
  hex,
  isArm64,
  KVM_REG_SIZE,
  KVM_REG_SIZE_MASK,
  KVM_REG_SIZE_SHIFT,
  regSize,
} from "./kvm/ids.ts";
import { regName } from "./kvm/names.ts";

function fail(code: string, where: string, detail: string): never {
  throw new SnapshotError(code, where, detail);
}

/** KVM_DEV_ARM_VGIC_GRP_NR_IRQS accepts 64..1024 in steps of 32 (arm-vgic-v3.rst). */
const NR_IRQS_MIN = 64;
const NR_IRQS_MAX = 1024;
/** Frame sizes: distributor 64 KiB, redistributor RD + SGI frames 128 KiB, GICv2 GICC 8 KiB. */
const DIST_SPAN = 0x1_0000;
const REDIST_SPAN = 0x2_0000;
const GICC_SPAN = 0x2000;
const PAGE_SIZES = [4096, 16384, 65536];
/** KVM_ARM_VCPU_INIT carries features[7] words of 32 bits. */
const MAX_FEATURE_BIT = 7 * 32;

export function validateSnapshot(s: Snapshot): void {
  if (s.vcpus.length === 0) fail("vcpu/count", "$.vcpus", "a snapshot needs at least one vCPU");
  if (s.vcpus.length > MAX_VCPUS) {
    fail("vcpu/count", "$.vcpus", `${s.vcpus.length} vCPUs is above KVM's maximum of ${MAX_VCPUS}`);
  }
  const mpidrs = new Map<bigint, number>();
  s.vcpus.forEach((v, i) => {
    const where = `$.vcpus[${i}]`;
    const prev = mpidrs.get(v.mpidr);
    if (prev !== undefined) {
      fail("vcpu/mpidr", `${where}.mpidr`, `MPIDR ${hex(v.mpidr)} is also vcpus[${prev}]'s`);
    }
    mpidrs.set(v.mpidr, i);
    validateVcpu(v, where);
  });
  validateGic(s);
  validateMemory(s);
}

/**
 * What an imported snapshot must carry to mean anything: register state on every vCPU. A vCPU
 * with none gives the restore replay nothing to write, so every target would "pass" vacuously;
 * such input is refused as such rather than signed. This runs on import (importSnapshot), not on
 * every decode, so the codec still round-trips partial snapshots that tools build step by step.
 */
export function checkMeaning(s: Snapshot): void {
  s.vcpus.forEach((v, i) => {
    if (v.registers.size === 0) {
      fail(
        "snapshot/empty",
        `$.vcpus[${i}].registers`,
        "no register state: a restore would write nothing to this vCPU, so there is nothing to check",
      );
    }
  });
}

function validateVcpu(v: VcpuState, where: string): void {
  const seen = new Set<number>();
  v.features.forEach((b, i) => {
    if (b >= MAX_FEATURE_BIT) {
      fail(
        "vcpu/features",
        `${where}.features[${i}]`,
        `feature bit ${b} is beyond the ${MAX_FEATURE_BIT} bits of kvm_vcpu_init`,
      );
    }
    if (seen.has(b)) {
      fail("vcpu/features", `${where}.features[${i}]`, `feature bit ${b} is listed twice`);
    }
    seen.add(b);
  });
  for (const [id, data] of v.registers) {
    const at = `${where}.registers[${hex(id)}]`;
    if (!isArm64(id)) {
      fail("reg/arch", at, "not a KVM_REG_ARM64 id (bits 63..56 must be 0x60)");
    }
    const sizeField = (id & KVM_REG_SIZE_MASK) >> KVM_REG_SIZE_SHIFT;
    if (sizeField > KVM_REG_SIZE.U2048) {
      fail("reg/size", at, `size field ${sizeField} is beyond KVM_REG_SIZE_U2048`);
    }
    const width = regSize(id);
    if (data.length !== width) {
      fail(
        "reg/size",
        at,
        `${
          regName(id)
        } is ${width} byte(s) wide (from its id) but ${data.length} byte(s) were given`,
      );
    }
  }
}

function checkOffsets(
  m: Map<number, unknown> | undefined,
  where: string,
  span: number,
  align: number,
  what: string,
): void {
  if (!m) return;
  for (const off of m.keys()) {
    if (off % align !== 0) {
      fail("vgic/offset", `${where}[${hex(off)}]`, `${what} offset is not ${align}-byte aligned`);
    }
    if (off >= span) {
      fail(
        "vgic/offset",
        `${where}[${hex(off)}]`,
        `${what} offset is beyond the ${hex(span)}-byte frame`,
      );
    }
  }
}

function validateGic(s: Snapshot): void {
  const g = s.vm.vgic;
  if (g) {
    if (g.nrIrqs < NR_IRQS_MIN || g.nrIrqs > NR_IRQS_MAX || g.nrIrqs % 32 !== 0) {
      fail(
        "vgic/nr-irqs",
        "$.vm.vgic.nr_irqs",
        `${g.nrIrqs} is not in 64..1024 in steps of 32 (KVM_DEV_ARM_VGIC_GRP_NR_IRQS)`,
      );
    }
    checkOffsets(g.dist, "$.vm.vgic.dist", DIST_SPAN, 4, "distributor");
    checkOffsets(g.its, "$.vm.vgic.its", DIST_SPAN, 4, "ITS");
  }
  // Per-vCPU GIC state must be present for every vCPU or for none, and match the model.
  const perVcpu = ["redist", "icc", "gicc", "level"] as const;
  for (const key of perVcpu) {
    const holders = s.vcpus.map((v) => v[key] !== undefined);
    const n = holders.filter(Boolean).length;
    if (n === 0) continue;
    const where = (i: number) => `$.vcpus[${i}].${key}`;
    if (!g) {
      fail(
        "vgic/missing",
        where(holders.indexOf(true)),
        `${key} state is present but $.vm.vgic is not`,
      );
    }
    if (n !== s.vcpus.length) {
      fail(
        "vgic/vcpu-count",
        where(holders.indexOf(false)),
        `${key} state is present for ${n} of ${s.vcpus.length} vCPUs`,
      );
    }
    if (g.model === "v2" && (key === "redist" || key === "icc")) {
      fail("vgic/model", where(0), `${key} is GICv3 state but the vGIC is v2`);
    }
    if (g.model === "v3" && key === "gicc") {
      fail("vgic/model", where(0), "gicc is GICv2 state but the vGIC is v3");
    }
  }
  s.vcpus.forEach((v, i) => {
    checkOffsets(v.redist, `$.vcpus[${i}].redist`, REDIST_SPAN, 4, "redistributor");
    checkOffsets(v.gicc, `$.vcpus[${i}].gicc`, GICC_SPAN, 4, "GICv2 CPU interface");
    for (const enc of v.icc?.keys() ?? []) {
      if (enc >> 16 !== 0 || enc >> 14 !== 3) {
        fail(
          "vgic/icc",
          `$.vcpus[${i}].icc[${hex(enc)}]`,
          "not an op0=3 system-register encoding (KVM_DEV_ARM_VGIC_GRP_CPU_SYSREGS)",
        );
      }
    }
    for (const intid of v.level?.keys() ?? []) {
      if (intid % 32 !== 0 || (g && intid >= g.nrIrqs)) {
        fail(
          "vgic/level",
          `$.vcpus[${i}].level[${intid}]`,
          `vINTID ${intid} is not a multiple of 32 below nr_irqs`,
        );
      }
    }
  });
}

function validateMemory(s: Snapshot): void {
  const spans: { base: bigint; end: bigint; i: number }[] = [];
  (s.memory ?? []).forEach((r, i) => {
    const where = `$.memory[${i}]`;
    if (!PAGE_SIZES.includes(r.pageSize)) {
      fail("memory/page-size", `${where}.page_size`, `${r.pageSize} is not 4096, 16384 or 65536`);
    }
    const ps = BigInt(r.pageSize);
    if (r.base % ps !== 0n) {
      fail("memory/align", `${where}.base`, `${hex(r.base)} is not page aligned`);
    }
    if (r.size === 0n || r.size % ps !== 0n) {
      fail("memory/size", `${where}.size`, `${r.size} is not a non-zero multiple of the page size`);
    }
    for (const [off, page] of r.pages) {
      const at = `${where}.pages[${hex(off)}]`;
      if (off % ps !== 0n || off >= r.size) {
        fail("memory/page", at, "offset is not a page inside the region");
      }
      if (page.length !== r.pageSize) {
        fail("memory/page", at, `page holds ${page.length} bytes, not ${r.pageSize}`);
      }
    }
    spans.push({ base: r.base, end: r.base + r.size, i });
  });
  spans.sort((a, b) => (a.base < b.base ? -1 : a.base > b.base ? 1 : 0));
  for (let k = 1; k < spans.length; k++) {
    if (spans[k].base < spans[k - 1].end) {
      fail("memory/overlap", `$.memory[${spans[k].i}]`, `overlaps memory[${spans[k - 1].i}]`);
    }
  }
}
