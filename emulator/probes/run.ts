/**
 * Runs the probe on one vCPU of an emulator machine and decodes what it observed.
 *
 * The probe needs a scratch RAM region the guest does not use (image, then the result buffer):
 * `probeScratch` picks one above every RAM region and device window the machine has, and the
 * machine configuration must include it as RAM. The vCPU is redirected there at EL1h with DAIF
 * masked and the MMU off (SCTLR_EL1.{M,A,EE,WXN} cleared): run it on a copy of the guest's vCPU,
 * since its registers, CSSELR, IGROUPR scratch writes and timer reads are the probe's, not the
 * guest's.
 */
import { type Machine, type Range, REG } from "../machine.ts";
import { IMAGE_ALIGN, probeImage, type ProbeParams, withParams } from "./image.ts";
import { RESULT_SIZE } from "./layout.ts";
import { decodeResults, type ProbeResults } from "./results.ts";

/** Size of the scratch region: image (≤ 48 KiB) then the result buffer. */
export const PROBE_SCRATCH_SIZE = 0x1_0000n;
const RESULTS_OFFSET = 0xc000n;
/** Far more than the probe's ~2,500 instructions; a run that needs more is a bug. */
export const PROBE_BUDGET = 1_000_000n;

/** SCTLR_EL1 (Arm ARM D24.2.146): M (bit 0), A (1), WXN (19), EE (25). */
const SCTLR_EL1 = REG.sys(3, 0, 1, 0, 0);
const SCTLR_CLEAR = (1n << 0n) | (1n << 1n) | (1n << 19n) | (1n << 25n);
/** PSTATE for EL1h (M[3:0] = 0b0101) with D, A, I, F masked. */
const PSTATE_EL1H_MASKED = 0x3c5n;

export class ProbeRunError extends Error {
  override name = "ProbeRunError";
}

/** A 64 KiB-aligned scratch base above everything in `used` (RAM and device windows). */
export function probeScratch(used: Range[]): bigint {
  let top = 0x4000_0000n;
  for (const r of used) if (r.base + r.size > top) top = r.base + r.size;
  const align = 0x1_0000n;
  return (top + align - 1n) / align * align;
}

export interface ProbeTarget extends Omit<ProbeParams, "results" | "uart"> {
  /** Scratch base (IMAGE_ALIGN-aligned, PROBE_SCRATCH_SIZE bytes of RAM nobody else uses). */
  scratch: bigint;
}

/** Runs the probe on `vcpu` and returns the decoded result buffer. */
export function runProbe(machine: Machine, vcpu: number, t: ProbeTarget): ProbeResults {
  if (t.scratch % BigInt(IMAGE_ALIGN) !== 0n) {
    throw new ProbeRunError(
      `probe scratch 0x${t.scratch.toString(16)}: not ${IMAGE_ALIGN}-byte aligned`,
    );
  }
  const results = t.scratch + RESULTS_OFFSET;
  const image = withParams({ ...t, results }, probeImage());
  if (BigInt(image.length) > RESULTS_OFFSET) {
    throw new ProbeRunError(`probe image of ${image.length} bytes overlaps its result buffer`);
  }
  machine.writeMemory(t.scratch, image);
  machine.writeMemory(results, new Uint8Array(RESULT_SIZE));
  const set = (id: bigint, v: bigint, what: string) => {
    const rc = machine.setOneReg(vcpu, id, v);
    if (rc !== 0) throw new ProbeRunError(`probe on vCPU ${vcpu}: cannot set ${what} (${rc})`);
  };
  const sctlr = machine.tryGetOneReg(vcpu, SCTLR_EL1);
  set(SCTLR_EL1, (sctlr.value ?? 0n) & ~SCTLR_CLEAR, "SCTLR_EL1");
  set(REG.PSTATE, PSTATE_EL1H_MASKED, "PSTATE");
  set(REG.PC, t.scratch, "PC");
  machine.setMpState(vcpu, "runnable");
  const r = machine.run(vcpu, PROBE_BUDGET);
  // SYSTEM_OFF is the probe's normal end; without PSCI 0.2 it parks in WFI after finishing.
  if (r.reason !== "system-off" && r.reason !== "wfi") {
    throw new ProbeRunError(
      `probe on vCPU ${vcpu} stopped with "${r.reason}" at 0x${r.address.toString(16)} ` +
        `after ${r.instructions} instructions, before PSCI SYSTEM_OFF`,
    );
  }
  return decodeResults(machine.readMemory(results, RESULT_SIZE));
}
