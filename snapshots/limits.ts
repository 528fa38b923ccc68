/**
 * Limits applied to every snapshot before and while it is decoded. Callers pass their own
 * (the HTTP layer has a smaller byte cap than the CLI); these are the defaults.
 */
import type { DecodeLimits } from "../cbor/mod.ts";

export const SNAPSHOT_LIMITS: DecodeLimits = {
  /** 256 MiB: guest memory is sparse, so real snapshots with memory are far smaller. */
  maxBytes: 256 * 1024 * 1024,
  /** The format nests 5 deep (snapshot → vcpus → vcpu → registers → value); leave headroom. */
  maxDepth: 16,
  /** 512 vCPUs × ~700 registers × 2 items fits, and pages are one item each. */
  maxItems: 2_000_000,
  /** The format uses no tags. */
  allowedTags: [],
};

/** The most vCPUs a snapshot may describe (KVM_MAX_VCPUS on arm64 is 512). */
export const MAX_VCPUS = 512;

/**
 * Work budgets for the QEMU stream importer (snapshots/import/qemu/). A stream's vmdesc declares
 * array lengths and field lists; these cap the work they can ask for, so a small stream cannot
 * make the importer loop or allocate far beyond its own size. Each is named in the error
 * ("qemu/budget") when hit. Real QEMU 7.2 `virt` streams use a small fraction of each (see
 * tests/snapshots/qemu_budget_test.ts).
 */
export const QEMU_BUDGETS = {
  /**
   * Field elements decoded over every section the importer decodes (cpu, GIC, ITS, timer).
   * Real virt streams decode about 4,000 plus 550 per GICv3 vCPU (5,204 for 2 vCPUs, 8,516
   * for 8; GICv2 12,070 for 2), so 512 vCPUs need about 300,000. Sections it does not map are
   * stepped over by their described size without visiting their elements.
   */
  fieldElements: 1_000_000,
  /**
   * Of those, elements of 0 bytes: they cost no stream bytes, so only this bounds them
   * (issue 18: a struct array of 0-byte fields is array_len × fields of work for free). Real
   * streams have none in the decoded sections.
   */
  zeroByteElements: 4096,
  /**
   * RAM zero-page records whose fill byte is not 0 (ram_handle_compressed fills the page with
   * it; QEMU itself always sends 0). Each shares one page per fill value, and there may be at
   * most this many.
   */
  nonZeroFills: 1 << 20,
  /** Bytes of device state after the RAM sections (buffered whole to read with the vmdesc). */
  deviceStateBytes: 256 * 1024 * 1024,
} as const;

export type QemuBudgets = { -readonly [K in keyof typeof QEMU_BUDGETS]: number };
