/**
 * One side of a drift run: an emulator machine configured as a target kernel on a host, holding
 * the guest's state as that kernel would after the restore. The restore model decides what the
 * kernel holds (accepted writes take the saved value; rejected and ignored writes leave the
 * target's own value); `adapter.ts` turns its evaluation into a DriftSide, and this file builds
 * the machine from it.
 */
import type { FactSource } from "../findings.ts";
import { Machine, type MachineConfig, type Range } from "../machine.ts";
import { PROBE_SCRATCH_SIZE, probeScratch } from "../probes/run.ts";

/** A state write the target kernel accepted, replayed into the machine. */
export type StateWrite =
  | { kind: "one-reg"; vcpu: number; id: bigint; value: bigint }
  | { kind: "device-attr"; group: number; attr: bigint; value: bigint }
  | { kind: "mp-state"; vcpu: number; state: "runnable" | "stopped" };

export interface DriftSide {
  /** Target id, e.g. "linux-6.1@neoverse-n1". */
  id: string;
  /** The machine as the target kernel creates it: ID registers, caches, GIC, firmware defaults. */
  config: MachineConfig;
  /** Accepted restore writes, in restore order. */
  writes: StateWrite[];
  /** Citations by rule topic (rules.ts), from the target's profile and host facts. */
  facts?: Record<string, FactSource>;
}

/** A write the emulator could not apply (it models less than KVM, e.g. FP/SIMD V registers). */
export interface SkippedWrite {
  write: StateWrite;
  errno: number;
}

export interface BuiltSide {
  machine: Machine;
  scratch: bigint;
  skipped: SkippedWrite[];
}

/** Guest-physical ranges the machine already uses (RAM, device windows, GIC frames). */
function used(c: MachineConfig): Range[] {
  const g = c.gic;
  const gic: Range[] = g
    ? [
      { base: g.distBase ?? 0x0800_0000n, size: 0x1_0000n },
      { base: g.redistBase ?? 0x080a_0000n, size: BigInt(c.vcpus) * 0x2_0000n },
      { base: g.cpuBase ?? 0x0801_0000n, size: 0x1_0000n },
    ]
    : [];
  return [...c.ram, ...(c.mmioWindows ?? []), ...gic];
}

/** Creates the machine for a side and replays its accepted writes. */
export async function buildSide(side: DriftSide): Promise<BuiltSide> {
  const scratch = probeScratch(used(side.config));
  const machine = await Machine.create({
    ...side.config,
    ram: [...side.config.ram, { base: scratch, size: PROBE_SCRATCH_SIZE }],
  });
  const skipped: SkippedWrite[] = [];
  for (const w of side.writes) {
    let rc = 0;
    switch (w.kind) {
      case "one-reg":
        rc = machine.setOneReg(w.vcpu, w.id, w.value);
        break;
      case "device-attr":
        rc = machine.setDeviceAttr(w.group, w.attr, w.value);
        break;
      case "mp-state":
        machine.setMpState(w.vcpu, w.state);
        break;
    }
    if (rc !== 0) skipped.push({ write: w, errno: rc });
  }
  return { machine, scratch, skipped };
}
