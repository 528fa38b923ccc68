/**
 * Decoding a probe's result buffer into named observations (layout in layout.ts). A buffer that
 * was not written by this layout (wrong magic, version, slot count or layout digest) or a probe
 * that did not finish is an error that says which field and why, never a silent partial answer.
 */
import {
  HEADER_SIZE,
  layoutDigest,
  RESULT,
  RESULT_MAGIC,
  RESULT_SIZE,
  RESULT_VERSION,
  type Slot,
  SLOT_SIZE,
  SLOTS,
  STATE_DONE,
  STATUS,
} from "./layout.ts";

export type ObservationStatus =
  | { kind: "ok" }
  | { kind: "absent" }
  | { kind: "not-run" }
  /** The access took a synchronous exception at EL1; `esr` is ESR_EL1 (EC in bits 31:26). */
  | { kind: "exception"; esr: bigint };

export interface Observation {
  slot: Slot;
  /** The value read (0 unless status is ok). */
  value: bigint;
  status: ObservationStatus;
}

export interface ProbeResults {
  /** Synchronous exceptions the rows provoked (each one is also in a slot's status). */
  syncExceptions: number;
  /** Interrupts or SErrors taken despite DAIF masked. */
  asyncExceptions: number;
  /** By slot name, in buffer order. */
  observations: Map<string, Observation>;
}

export class ProbeResultError extends Error {
  override name = "ProbeResultError";
}

function status(raw: bigint): ObservationStatus {
  if (raw === STATUS.OK) return { kind: "ok" };
  if (raw === STATUS.ABSENT) return { kind: "absent" };
  if (raw === STATUS.NOT_RUN) return { kind: "not-run" };
  if ((raw & STATUS.EXCEPTION_BIT) !== 0n) {
    return { kind: "exception", esr: raw & ~STATUS.EXCEPTION_BIT };
  }
  throw new ProbeResultError(`probe result: unknown slot status 0x${raw.toString(16)}`);
}

/** Decodes a result buffer of at least RESULT_SIZE bytes. */
export function decodeResults(bytes: Uint8Array): ProbeResults {
  if (bytes.length < RESULT_SIZE) {
    throw new ProbeResultError(
      `probe result: ${bytes.length} bytes, the layout needs ${RESULT_SIZE}`,
    );
  }
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const u32 = (off: number) => dv.getUint32(off, true);
  const expect = (field: string, off: number, want: number) => {
    const got = u32(off);
    if (got !== want) {
      throw new ProbeResultError(
        `probe result header ${field} (offset 0x${off.toString(16)}): 0x${got.toString(16)}, ` +
          `expected 0x${want.toString(16)}` +
          (field === "MAGIC" ? " (the probe never started, or wrote elsewhere)" : ""),
      );
    }
  };
  expect("MAGIC", RESULT.MAGIC, RESULT_MAGIC);
  expect("VERSION", RESULT.VERSION, RESULT_VERSION);
  expect("SLOTS", RESULT.SLOTS, SLOTS.length);
  expect("SIZE", RESULT.SIZE, RESULT_SIZE);
  expect("DIGEST", RESULT.DIGEST, layoutDigest());
  if (u32(RESULT.STATE) !== STATE_DONE) {
    throw new ProbeResultError(
      `probe result header STATE: ${u32(RESULT.STATE)}, the probe did not finish ` +
        `(stopped before its last row)`,
    );
  }
  const observations = new Map<string, Observation>();
  for (const slot of SLOTS) {
    observations.set(slot.name, {
      slot,
      value: dv.getBigUint64(slot.offset, true),
      status: status(dv.getBigUint64(slot.offset + 8, true)),
    });
  }
  return {
    syncExceptions: u32(RESULT.SYNC_EXCEPTIONS),
    asyncExceptions: u32(RESULT.ASYNC_EXCEPTIONS),
    observations,
  };
}

/** ESR_EL1.EC values the probe provokes (Arm ARM D24.2.40, ESR_EL1). */
const EXCEPTION_CLASS: Record<number, string> = {
  0x00: "UNDEF",
  0x07: "FP/SIMD trap",
  0x16: "HVC",
  0x18: "trapped",
  0x19: "SVE trap",
  0x24: "data abort (lower EL)",
  0x25: "data abort",
};

/** A short text for an observation: "0x…", "absent", "not run", or "UNDEF (ESR 0x…)". */
export function showObservation(o: Observation): string {
  switch (o.status.kind) {
    case "ok":
      return `0x${o.value.toString(16)}`;
    case "absent":
      return "absent";
    case "not-run":
      return "not run";
    case "exception": {
      const ec = Number((o.status.esr >> 26n) & 0x3fn);
      const what = EXCEPTION_CLASS[ec] ?? `EC 0x${ec.toString(16)}`;
      return `${what} (ESR_EL1 0x${o.status.esr.toString(16)})`;
    }
  }
}

export { HEADER_SIZE, SLOT_SIZE };
