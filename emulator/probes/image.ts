/**
 * The committed probe binary and its parameter block. A runner takes a copy, fills in where the
 * result buffer and the GIC frames are (`withParams`), and loads it at any 4 KiB-aligned address:
 * the code is position independent and the vector table is 2 KiB aligned within the image.
 */
import { decodeBase64 } from "./base64.ts";
import { PROBE_IMAGE_BASE64 } from "./bin/probe_image.ts";
import { FLAG, PARAM, PARAM_MAGIC, PARAM_VERSION, RESULT_SIZE } from "./layout.ts";

/** Where the probe finds things; addresses are guest-physical (the probe runs with the MMU off). */
export interface ProbeParams {
  /** Result buffer, 8-byte aligned, RESULT_SIZE bytes, outside the guest's memory. */
  results: bigint;
  /** The GIC the machine has; selects register offsets (GICD_PIDR2) and which rows apply. */
  gic: "v2" | "v3" | "none";
  gicd?: bigint;
  /** This vCPU's redistributor RD frame (GICv3). */
  gicr?: bigint;
  /** GICv2 CPU interface. */
  gicc?: bigint;
  /** PL011 base: when set the probe also prints the buffer there (for QEMU). */
  uart?: bigint;
}

/** Image alignment a loader must respect (ADR reach is fine anywhere; VBAR needs 2 KiB). */
export const IMAGE_ALIGN = 0x1000;

let cached: Uint8Array | undefined;

/** A fresh copy of the committed probe image (bin/probe.bin). */
export function probeImage(): Uint8Array {
  cached ??= decodeBase64(PROBE_IMAGE_BASE64);
  return cached.slice();
}

/** A copy of the image with its parameter block filled in. */
export function withParams(p: ProbeParams, image: Uint8Array = probeImage()): Uint8Array {
  const out = image.slice();
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  if (dv.getUint32(PARAM.MAGIC, true) !== PARAM_MAGIC) {
    throw new Error(`probe image: no parameter block at offset ${PARAM.MAGIC} (magic missing)`);
  }
  if (dv.getUint32(PARAM.VERSION, true) !== PARAM_VERSION) {
    throw new Error(
      `probe image: parameter block version ${dv.getUint32(PARAM.VERSION, true)}, ` +
        `this runner knows ${PARAM_VERSION}`,
    );
  }
  if (p.results % 8n !== 0n) {
    throw new Error(`probe results address 0x${p.results.toString(16)}: not 8-byte aligned`);
  }
  const flags = p.gic === "v3" ? FLAG.GICV3 : p.gic === "v2" ? FLAG.GICV2 : 0;
  dv.setUint32(PARAM.FLAGS, flags, true);
  dv.setBigUint64(PARAM.RESULTS, p.results, true);
  dv.setBigUint64(PARAM.GICD, p.gic === "none" ? 0n : p.gicd ?? 0n, true);
  dv.setBigUint64(PARAM.GICR, p.gic === "v3" ? p.gicr ?? 0n : 0n, true);
  dv.setBigUint64(PARAM.GICC, p.gic === "v2" ? p.gicc ?? 0n : 0n, true);
  dv.setBigUint64(PARAM.UART, p.uart ?? 0n, true);
  return out;
}

export { RESULT_SIZE };
