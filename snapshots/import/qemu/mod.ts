/**
 * Importer for QEMU migration streams (`migrate "exec:cat > file"`) of arm64 guests on QEMU's
 * `virt` machine: `importQemuStream(bytes) → Snapshot`.
 *
 * The container is parsed generically with the stream's own JSON vmdesc (stream.ts,
 * vmstate.ts); then device mappers turn `cpu`, `arm_gicv3` (+ `arm_gicv3_its`) or `arm_gic`
 * and the RAM blocks into the snapshot model. Facts the stream does not carry (RAM base,
 * num-irq, MPIDR layout under TCG) come from machine.ts. Anything the importer leaves out is
 * recorded in `source.extra` under "qemu_…" keys, never silently dropped.
 */
import type { CborValue } from "../../../cbor/mod.ts";
import { SnapshotError } from "../../errors.ts";
import {
  type MemoryRegion,
  regValue,
  setRegValue,
  type Snapshot,
  type VcpuState,
  type VgicState,
} from "../../model.ts";
import { validateSnapshot } from "../../validate.ts";
import { hex, sysreg } from "../../kvm/ids.ts";
import { type Accel, cpregList, detectAccel, importCpu } from "./cpu.ts";
import { importGicv2 } from "./gicv2.ts";
import { importGicv3 } from "./gicv3.ts";
import { GUEST_RAM_BLOCKS, machineFacts, tcgMpidr } from "./machine.ts";
import { fail } from "./reader.ts";
import {
  type DeviceSection,
  parseStream,
  parseStreamFrom,
  type QemuStream,
  type StreamOptions,
} from "./stream.ts";
import { Fields } from "./vmstate.ts";

export { QEMU_VM_FILE_MAGIC } from "./stream.ts";
export { MAX_VMDESC_BYTES } from "./vmdesc.ts";

export interface QemuImportOptions extends StreamOptions {
  /** Override the TCG/KVM detection (see cpu.ts detectAccel). */
  accel?: Accel;
  /** Import guest RAM (default true). */
  memory?: boolean;
}

/** True if `bytes` starts like a QEMU migration stream ("QEVM", version 3). */
export function looksLikeQemuStream(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && bytes[0] === 0x51 && bytes[1] === 0x45 && bytes[2] === 0x56 &&
    bytes[3] === 0x4d && bytes[4] === 0 && bytes[5] === 0 && bytes[6] === 0 && bytes[7] === 3;
}

/** SCR_EL3 is in the cpreg list only when the CPU has EL3 (virt with secure=on). */
const SCR_EL3 = sysreg(3, 6, 1, 1, 0);

/** GITS register offsets (IHI0069 §12.19) for the arm_gicv3_its fields. */
const ITS_ROWS: [number, string, number][] = [
  [0x0000, "ctlr", 1], // GITS_CTLR
  [0x0004, "iidr", 1], // GITS_IIDR
  [0x0080, "cbaser", 1], // GITS_CBASER
  [0x0088, "cwriter", 1], // GITS_CWRITER
  [0x0090, "creadr", 1], // GITS_CREADR
  [0x0100, "baser", 8], // GITS_BASER<n>, 8 bytes apart
];

/** Sections this importer maps (others are listed in source.extra). */
const MAPPED = new Set(["cpu", "arm_gicv3", "arm_gicv3_its", "arm_gic"]);

/** Sections this importer decodes; every other section is stepped over by its vmdesc size. */
const DECODED = new Set([...MAPPED, "timer"]);

function streamOptions(opts: QemuImportOptions): StreamOptions {
  // The machine (and so which RAM blocks are guest RAM) is only known once the configuration
  // record is read; virt is the only family, so its RAM block names say which pages to keep.
  return {
    ...opts,
    keepPages: opts.memory ?? true,
    keepBlock: opts.keepBlock ?? ((name) => GUEST_RAM_BLOCKS.has(name)),
    decode: opts.decode ?? ((idstr) => DECODED.has(idstr)),
  };
}

/** Imports a stream held whole in memory. */
export function importQemuStream(bytes: Uint8Array, opts: QemuImportOptions = {}): Snapshot {
  return toSnapshot(parseStream(bytes, streamOptions(opts)), opts);
}

/**
 * Imports a stream read chunk by chunk: memory is bounded by the pages kept (none with
 * `memory: false`) and the device state, not by the stream's size.
 */
export async function importQemuStreamFrom(
  chunks: AsyncIterable<Uint8Array>,
  opts: QemuImportOptions = {},
): Promise<Snapshot> {
  return toSnapshot(await parseStreamFrom(chunks, streamOptions(opts)), opts);
}

function toSnapshot(stream: QemuStream, opts: QemuImportOptions): Snapshot {
  const keep = opts.memory ?? true;
  const machine = stream.configuration?.machine;
  if (machine === undefined) {
    fail("qemu/configuration", "byte 8", "the stream has no configuration section (machine)");
  }
  const facts = machineFacts(machine);
  const extra = new Map<CborValue, CborValue>();
  extra.set("qemu_machine", machine);

  const cpus = stream.devices.filter((d) => d.idstr === "cpu");
  if (cpus.length === 0) fail("qemu/cpu", "$", "the stream has no cpu section");
  cpus.forEach((d, i) => {
    if (d.instanceId !== i) {
      fail("qemu/cpu", `cpu[${d.instanceId}]`, `cpu sections are not numbered 0..n-1 (${i})`);
    }
  });
  const lists = cpus.map((d) => cpregList(new Fields(d.state!)));
  const accel = opts.accel ?? detectAccel(lists[0]);
  extra.set("qemu_accel", accel);
  extra.set(
    "qemu_accel_from",
    opts.accel ? "option" : "cpreg list (KVM lists carry FW/DEMUX ids, TCG lists never do)",
  );
  const secure = lists[0].some(([id]) => id === SCR_EL3);

  const gic3 = one(stream.devices, "arm_gicv3");
  const gic2 = one(stream.devices, "arm_gic");
  const its = one(stream.devices, "arm_gicv3_its");
  if (gic3 && gic2) fail("qemu/gic", "arm_gic", "the stream has both a GICv2 and a GICv3");
  const gicVersion = gic2 ? 2 : 3;

  let dropped = 0;
  const duplicates = new Set<bigint>();
  let sve = false;
  const vcpus: VcpuState[] = cpus.map((d, i) => {
    const r = importCpu(new Fields(d.state!), accel, lists[i]);
    dropped += r.droppedAarch32;
    for (const id of r.droppedCoreDuplicates) duplicates.add(id);
    sve ||= r.sve;
    // KVM streams list MPIDR_EL1 (KVM's reset value); TCG's list leaves it out (a computed
    // register with no raw state), so derive it as the virt machine did.
    r.vcpu.mpidr = r.listedMpidr ?? tcgMpidr(i, facts.clusterSize(gicVersion));
    return r.vcpu;
  });
  extra.set("qemu_dropped_aarch32_regs", dropped);
  if (duplicates.size > 0) {
    extra.set(
      "qemu_dropped_core_duplicates",
      [...duplicates].map((id) =>
        `${hex(id)}: KVM has this register only as a core register, set from the vfp state`
      ),
    );
  }
  if (lists.every((l) => !l.some(([id]) => id === sysreg(3, 0, 0, 0, 5)))) {
    extra.set(
      "qemu_mpidr",
      `computed from the vCPU index: hw/arm/virt.c virt_cpu_mp_affinity (clusters of ${
        facts.clusterSize(gicVersion)
      }) with bit 31 set (target/arm/helper.c mpidr_read_val)`,
    );
  }
  if (accel === "tcg") {
    const count = tcgVirtualCount(stream.devices, vcpus[0]);
    if (count !== undefined) {
      for (const v of vcpus) setRegValue(v, KVM_REG_ARM_TIMER_CNT, count);
    }
    extra.set(
      "qemu_timer",
      "TCG does not migrate CNTVCT_EL0/CNTPCT_EL0 as raw registers (ARM_CP_NO_RAW); " +
        (count === undefined
          ? "no timer section, so no KVM_REG_ARM_TIMER_CNT"
          : "KVM_REG_ARM_TIMER_CNT is derived from the stopped virtual clock (timer section " +
            "cpu_clock_offset) as target/arm/helper.c gt_get_countervalue counts it") +
        "; CNTV_CVAL_EL0 is stored under KVM_REG_ARM_TIMER_CVAL; no KVM_REG_ARM_PTIMER_CNT",
    );
  }
  if (sve) {
    extra.set(
      "qemu_sve_state",
      "Z0..Z31 (U2048), P0..P15 and FFR (U256) from cpu/vfp + cpu/sve, as QEMU's KVM backend " +
        "writes an SVE vCPU (target/arm/kvm64.c kvm_arch_put_sve; no V0..V31). " +
        "KVM_REG_ARM64_SVE_VLS is not in the stream: the destination QEMU sets it from its own " +
        "-cpu sve properties before KVM_ARM_VCPU_FINALIZE",
    );
  }

  let vgic: VgicState | undefined;
  if (gic3) {
    const g = importGicv3(new Fields(gic3.state!), {
      numIrq: facts.numIrq,
      tcg: accel === "tcg",
      lpis: accel === "tcg" ? facts.tcgLpis : its !== undefined,
      vcpus: vcpus.length,
    });
    vgic = { model: "v3", nrIrqs: facts.numIrq, dist: g.dist, extra: new Map() };
    if (g.shiftBug) {
      extra.set(
        "qemu_gicv3_shift_bug",
        "no arm_gicv3/gicd_no_migration_shift_bug subsection: the distributor bitmaps were " +
          "moved down 32 bits, as QEMU's post_load does for streams from QEMUs with that bug",
      );
    }
    vcpus.forEach((v, i) => {
      v.redist = g.redist[i];
      v.icc = g.icc[i];
    });
    if (its) {
      const f = new Fields(its.state!);
      vgic.its = new Map();
      for (const [off, name, n] of ITS_ROWS) {
        f.nums(name, n).forEach((v, k) => vgic!.its!.set(off + 8 * k, v));
      }
      // QEMU's emulated ITS answers GITS_IIDR with gicv3_iidr() = 0x43b and migrates the field
      // unused (0); only KVM's ITS state fills it (hw/intc/arm_gicv3_its.c its_readl).
      if (accel === "tcg") vgic.its.set(0x0004, 0x43bn);
    }
  } else if (gic2) {
    const g = importGicv2(new Fields(gic2.state!), {
      numIrq: facts.numIrq,
      vcpus: vcpus.length,
      tcg: accel === "tcg",
      securityExtn: secure,
    });
    vgic = { model: "v2", nrIrqs: facts.numIrq, dist: g.dist, extra: new Map() };
    vcpus.forEach((v, i) => {
      v.gicc = g.gicc[i];
      v.extra.set("gicv2_dist_banked", g.banked[i] as unknown as CborValue);
    });
  }
  if (vgic && accel === "kvm") {
    extra.set(
      "qemu_gic_id_regs",
      "GICD_IIDR and GICD_TYPER left out: a KVM stream's GIC reports the source kernel's " +
        "values, which QEMU neither saves nor restores",
    );
  }

  const memory: MemoryRegion[] = [];
  const other = new Map<CborValue, CborValue>();
  for (const b of stream.ram) {
    const base = facts.ramBase.get(b.name);
    if (base === undefined) {
      other.set(
        b.name,
        new Map<CborValue, CborValue>([
          ["size", b.length],
          ["nonzero_pages", b.nonZero.size],
        ]),
      );
      continue;
    }
    if (!keep) continue;
    memory.push({
      base,
      size: b.length,
      pageSize: stream.pageSize,
      pages: new Map([...b.pages].sort((x, y) => (x[0] < y[0] ? -1 : 1))),
      name: b.name,
      extra: new Map(),
    });
  }
  extra.set("qemu_ram_blocks_not_imported", other);
  extra.set(
    "qemu_sections_not_mapped",
    [...new Set(stream.devices.filter((d) => !MAPPED.has(d.idstr)).map((d) => d.idstr))],
  );

  const s: Snapshot = {
    source: {
      vmm: "qemu",
      vmmVersion: facts.version,
      importer: "qemu-stream",
      extra,
    },
    vm: { vgic, caps: [], smcccFilter: [], extra: new Map() },
    vcpus,
    memory: keep ? memory : undefined,
    extra: new Map(),
  };
  try {
    validateSnapshot(s);
  } catch (e) {
    if (e instanceof SnapshotError) {
      throw new SnapshotError(e.code, e.where, `imported state is not valid: ${e.detail}`);
    }
    throw e;
  }
  return s;
}

const KVM_REG_ARM_TIMER_CNT = sysreg(3, 3, 14, 3, 2);
const CNTFRQ_EL0 = sysreg(3, 3, 14, 0, 0);
const CNTVOFF_EL2 = sysreg(3, 4, 14, 0, 3);

/**
 * The guest's virtual count when a TCG VM was stopped. QEMU stops QEMU_CLOCK_VIRTUAL on vm_stop
 * and saves its value in ns as the "timer" section's cpu_clock_offset (softmmu/cpu-timers.c
 * cpu_disable_ticks, vmstate_timers). The generic timer counts it in periods of
 * 1e9 / CNTFRQ ns, rounded down (target/arm/helper.c gt_get_countervalue,
 * gt_cntfrq_period_ns), less CNTVOFF_EL2 when the CPU has EL2.
 */
function tcgVirtualCount(devices: DeviceSection[], v0: VcpuState): bigint | undefined {
  const timer = devices.find((d) => d.idstr === "timer");
  if (!timer) return undefined;
  const f = new Fields(timer.state!);
  const ns = f.num("cpu_clock_offset");
  const hz = regValue(v0, CNTFRQ_EL0);
  if (hz === undefined || hz === 0n || ns >> 63n) {
    fail(
      "qemu/timer",
      `timer[0].cpu_clock_offset (byte ${f.field("cpu_clock_offset").at})`,
      `cannot derive the virtual count from clock ${ns} ns and CNTFRQ_EL0 ${hz}`,
    );
  }
  const period = 1_000_000_000n > hz ? 1_000_000_000n / hz : 1n;
  const count = ns / period - (regValue(v0, CNTVOFF_EL2) ?? 0n);
  return count < 0n ? count + (1n << 64n) : count;
}

function one(devices: DeviceSection[], idstr: string): DeviceSection | undefined {
  const found = devices.filter((d) => d.idstr === idstr);
  if (found.length > 1) fail("qemu/gic", idstr, `${found.length} "${idstr}" sections`);
  return found[0];
}
