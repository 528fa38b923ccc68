/** Shared test inputs: the real Neoverse-N1 Firecracker fingerprints, and small vGIC snapshots. */
import { importFcFingerprint } from "../../snapshots/import/fc_fingerprint.ts";
import { newVcpu, type Snapshot, VCPU_FEATURE } from "../../snapshots/model.ts";
import { leToBig } from "../../snapshots/kvm/ids.ts";
import type { OperationResult } from "../../emulator/findings.ts";

export const FINGERPRINT_DIR = new URL(
  "../fixtures/firecracker-fingerprints/",
  import.meta.url,
);

/**
 * The fingerprint of a Neoverse `cpu` ("N1", "V1", "V2") on Amazon Linux host kernel `k` ("5.10",
 * "6.1", "6.18") as a snapshot.
 */
export function fingerprint(k: string, cpu: "N1" | "V1" | "V2" = "N1"): Snapshot {
  return importFcFingerprint(
    Deno.readTextFileSync(new URL(`ARM_NEOVERSE_${cpu}_${k}host.json`, FINGERPRINT_DIR)),
  );
}

export function fingerprintValues(k: string): Map<bigint, bigint> {
  const s = fingerprint(k);
  return new Map([...s.vcpus[0].registers].map(([id, b]) => [id, leToBig(b)]));
}

/** The operations that were not `ok`, as "<id or name> <outcome> <errno>" lines, sorted. */
export function problems(ops: OperationResult[]): string[] {
  return ops.filter((o) => o.outcome !== "ok").map((o) =>
    `${o.id ?? o.name} ${o.outcome}${o.errno ? ` ${o.errno}` : ""}`
  ).sort();
}

/**
 * A one- or two-vCPU snapshot with only vGIC state: what a VMM saves for the distributor,
 * redistributors and CPU interface (offsets from the GIC architecture spec IHI0069).
 */
export function vgicSnapshot(opts: {
  model: "v2" | "v3";
  dist: [number, number][];
  redist?: [number, number][];
  icc?: [number, bigint][];
  vcpus?: number;
  vmm?: string;
}): Snapshot {
  const vcpus = Array.from({ length: opts.vcpus ?? 1 }, (_, i) => {
    const v = newVcpu(0x80000000n | BigInt(i));
    v.features = [VCPU_FEATURE.PSCI_0_2];
    if (opts.redist) v.redist = new Map(opts.redist);
    if (opts.icc) v.icc = new Map(opts.icc);
    return v;
  });
  return {
    source: opts.vmm ? { vmm: opts.vmm, extra: new Map() } : undefined,
    vm: {
      vgic: { model: opts.model, nrIrqs: 128, dist: new Map(opts.dist), extra: new Map() },
      caps: [],
      smcccFilter: [],
      extra: new Map(),
    },
    vcpus,
    extra: new Map(),
  };
}
