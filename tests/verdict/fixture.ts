/**
 * Realistic verdict inputs for the signing-layer tests, built from literal restore results until
 * the validate pipeline produces them: a Firecracker snapshot from a 6.1 host checked against an
 * upstream 5.10 kernel (OSLSR_EL1 refused, IGROUPR writes ignored) and a 6.18 kernel (clean).
 * Digests are SHA-256 of real bytes given here, so the Python oracle can recompute them.
 */
import type { OperationResult } from "../../emulator/findings.ts";
import { type VerdictInput } from "../../verdict/build.ts";
import { sha256 } from "../../verdict/bytes.ts";

const text = new TextEncoder();

/** Stand-in snapshot bytes: what matters to the signing layer is that they are exact bytes. */
export const SNAPSHOT = text.encode(
  "rollsafe-test-snapshot v1\nvcpu0 0x603000000013c08c OSLSR_EL1 0xa\nGICD_IIDR 0x0300043b\n",
);
export const OTHER_SNAPSHOT = text.encode("another snapshot, one byte different: 0xb\n");

export const PROFILE_510 = text.encode('{"id":"linux-5.10","kernel":"5.10.0"}\n');
export const PROFILE_618 = text.encode('{"id":"linux-6.18","kernel":"6.18.0"}\n');
export const PROFILE_61 = text.encode('{"id":"linux-6.1","kernel":"6.1.0"}\n');
export const HOST_N1 = text.encode('{"id":"neoverse-n1","midr":"0x413fd0c1"}\n');
export const WASM = text.encode("\0asm\x01\0\0\0 stand-in module bytes");
export const PROBE_GIC = text.encode("probe gic_iidr: d53800a0 d65f03c0");

const ok = (id: string, name: string, value: string): OperationResult => ({
  op: "KVM_SET_ONE_REG",
  vcpu: 0,
  id,
  name,
  value,
  component: "vcpu",
  outcome: "ok",
  reason: "the target accepts the register with this value",
});

/** The restore of the snapshot on linux-5.10: one refusal, one silent no-op, the rest ok. */
export const OPS_510: OperationResult[] = [
  ok("0x6030000000138010", "MDSCR_EL1", "0x0"),
  {
    op: "KVM_SET_ONE_REG",
    vcpu: 0,
    id: "0x603000000013c08c",
    name: "OSLSR_EL1",
    value: "0xa",
    component: "vcpu",
    outcome: "failed",
    errno: "ENOENT",
    reason: "linux-5.10 does not expose OSLSR_EL1 through ONE_REG (added in 5.17)",
    source: { cite: "linux d134998838ac", confidence: "I" },
  },
  {
    op: "KVM_SET_DEVICE_ATTR",
    attr: "1:0x80",
    name: "GICD_IGROUPR0",
    value: "0xffffffff",
    component: "vgic",
    outcome: "ignored",
    reason: "GICD_IIDR revision below 2: IGROUPR writes from userspace are ignored",
    source: { cite: "linux d53c2c29ae0d", confidence: "V" },
  },
  ok("0x603000000013df1a", "CNTVOFF_EL2", "0x0"),
];

export const OPS_618: OperationResult[] = [
  ok("0x6030000000138010", "MDSCR_EL1", "0x0"),
  ok("0x603000000013c08c", "OSLSR_EL1", "0xa"),
];

export async function sampleInput(over: Partial<VerdictInput> = {}): Promise<VerdictInput> {
  return {
    snapshot: { sha256: await sha256(SNAPSHOT), size: SNAPSHOT.length },
    source: {
      profile: { id: "linux-6.1", sha256: await sha256(PROFILE_61) },
      host: { id: "neoverse-n1", sha256: await sha256(HOST_N1) },
    },
    vmm: "firecracker",
    engine: {
      version: "0.1.0",
      git_revision: "b222056c0ffee00000000000000000000000cafe",
      wasm_sha256: await sha256(WASM),
      probes: { gic_iidr: await sha256(PROBE_GIC) },
    },
    targets: [
      {
        profile: { id: "linux-5.10", sha256: await sha256(PROFILE_510) },
        host: { id: "neoverse-n1", sha256: await sha256(HOST_N1) },
        restorable: false,
        operations: OPS_510,
        drift: [{
          what: "GICD_IIDR",
          source: "0x0300043b",
          target: "0x0100043b",
          severity: "breaking",
          explanation: "revision 3 becomes 1: IGROUPR is no longer guest-configurable",
          fact: { cite: "linux d53c2c29ae0d", confidence: "V" },
        }],
        reliance: [{
          kind: "interrupt-groups",
          vcpu: 0,
          severity: "breaking",
          explanation: "the guest moved SPIs 32-63 to group 0; the target resets them to group 1",
        }],
      },
      {
        profile: { id: "linux-6.18", sha256: await sha256(PROFILE_618) },
        host: { id: "neoverse-n1", sha256: await sha256(HOST_N1) },
        restorable: true,
        operations: OPS_618,
        drift: [{
          what: "ID_AA64MMFR3_EL1",
          source: "0x0",
          target: "0x0",
          severity: "info",
          explanation: "register newly exposed; value identical",
        }],
      },
    ],
    nonce: "ci-run-4711",
    ...over,
  };
}

/** A fixed clock: 2026-11-21T00:00:00Z. */
export const NOW = new Date(Date.UTC(2026, 10, 21, 0, 0, 0));

/** RFC 8032 §7.1 TEST 1 secret key (seed). */
export const RFC8032_SEED_1 = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

/** The smallest realistic verdict, for the pinned-bytes vector: one target, one refusal. */
export async function minimalInput(): Promise<VerdictInput> {
  const full = await sampleInput();
  return {
    snapshot: full.snapshot,
    source: full.source,
    vmm: "firecracker",
    engine: { version: "0.1.0", wasm_sha256: full.engine.wasm_sha256 },
    targets: [{
      profile: full.targets[0].profile,
      host: full.targets[0].host,
      restorable: false,
      operations: [OPS_510[1]],
    }],
  };
}
