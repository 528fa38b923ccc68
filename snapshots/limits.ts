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
