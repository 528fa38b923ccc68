/**
 * Importer for Firecracker CPU fingerprints (`cpu-template-helper fingerprint dump` output).
 *
 * A fingerprint is the register state of one freshly initialised vCPU on a real host: every
 * KVM_GET_REG_LIST id with its value, as `reg_modifiers[{addr, bitmap}]` where `addr` is the
 * ONE_REG id in hex and `bitmap` is "0b" followed by the value in binary, most significant bit
 * first. Firecracker prints every bitmap 128 bits wide whatever the register's width, so the
 * upper bits must be zero. The dumps leave out PC, KVM_REG_ARM_TIMER_CNT and CNTPCT because they
 * change with elapsed time (Firecracker src/cpu-template-helper/src/template/dump/aarch64.rs).
 */
import { SnapshotError } from "../errors.ts";
import { type Snapshot, VCPU_FEATURE, type VcpuState } from "../model.ts";
import { bigToLe, hex, isArm64, leToBig, regSize, sysreg } from "../kvm/ids.ts";
import { regName } from "../kvm/names.ts";
import { validateSnapshot } from "../validate.ts";

const MPIDR_EL1 = sysreg(3, 0, 0, 0, 5);
const MIDR_EL1 = sysreg(3, 0, 0, 0, 0);
/** Fingerprint files are small JSON (about 60 KiB); refuse anything absurd before parsing. */
const MAX_FINGERPRINT_BYTES = 4 * 1024 * 1024;

function fail(code: string, where: string, detail: string): never {
  throw new SnapshotError(code, where, detail);
}

function field<T>(
  o: Record<string, unknown>,
  k: string,
  where: string,
  type: "string" | "object" | "array",
): T {
  const v = o[k];
  const actual = Array.isArray(v) ? "array" : v === null ? "null" : typeof v;
  if (actual !== type) {
    fail(
      "fingerprint/type",
      `${where}.${k}`,
      `expected ${type === "array" ? "an array" : `a ${type}`}`,
    );
  }
  return v as T;
}

/**
 * Where `b` stops being well-formed UTF-8 (RFC 3629 §4): the offset of the sequence, and
 * whether it is only cut short by the end of the input.
 */
function firstInvalidUtf8(b: Uint8Array): { at: number; truncated: boolean } {
  for (let i = 0; i < b.length;) {
    const c = b[i];
    const n = c < 0x80
      ? 1
      : c >= 0xc2 && c <= 0xdf
      ? 2
      : c >= 0xe0 && c <= 0xef
      ? 3
      : c >= 0xf0 && c <= 0xf4
      ? 4
      : 0;
    if (n === 0) return { at: i, truncated: false };
    // Second-byte ranges that exclude overlongs, surrogates and code points above U+10FFFF.
    const lo = c === 0xe0 ? 0xa0 : c === 0xf0 ? 0x90 : 0x80;
    const hi = c === 0xed ? 0x9f : c === 0xf4 ? 0x8f : 0xbf;
    for (let k = 1; k < n; k++) {
      const x = b[i + k];
      if (x === undefined) return { at: i, truncated: true };
      if (x < (k === 1 ? lo : 0x80) || x > (k === 1 ? hi : 0xbf)) {
        return { at: i, truncated: false };
      }
    }
    i += n;
  }
  return { at: b.length, truncated: true };
}

/** Parses fingerprint JSON text (or bytes) into a one-vCPU snapshot. Throws SnapshotError. */
export function importFcFingerprint(input: string | Uint8Array): Snapshot {
  if (input.length > MAX_FINGERPRINT_BYTES) {
    fail(
      "fingerprint/size",
      "$",
      `${input.length} bytes is above the ${MAX_FINGERPRINT_BYTES}-byte limit`,
    );
  }
  let text: string;
  try {
    // fatal: a byte sequence that is not UTF-8 is an error, never silently replaced by U+FFFD
    // (what was signed must be what was sent).
    text = typeof input === "string"
      ? input
      : new TextDecoder("utf-8", { fatal: true }).decode(input);
  } catch {
    const bytes = input as Uint8Array;
    const { at, truncated } = firstInvalidUtf8(bytes);
    fail(
      "fingerprint/utf8",
      `byte ${at}`,
      truncated
        ? "not UTF-8: the text ends inside a multi-byte sequence"
        : `not UTF-8: byte 0x${bytes[at].toString(16).padStart(2, "0")} starts no valid sequence`,
    );
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail("fingerprint/json", "$", `not JSON: ${(e as Error).message}`);
  }
  if (typeof doc !== "object" || doc === null || Array.isArray(doc)) {
    fail("fingerprint/type", "$", "expected a JSON object");
  }
  const top = doc as Record<string, unknown>;
  const cfg = field<Record<string, unknown>>(top, "guest_cpu_config", "$", "object");
  const mods = field<unknown[]>(cfg, "reg_modifiers", "$.guest_cpu_config", "array");

  // Firecracker initialises every vCPU with PSCI 0.2 (src/vmm/src/arch/aarch64/vcpu.rs, init):
  // the fingerprint's own vcpu_features lists template edits, not the base features.
  const vcpu: VcpuState = {
    mpidr: 0n,
    features: [VCPU_FEATURE.PSCI_0_2],
    registers: new Map(),
    extra: new Map(),
  };
  mods.forEach((m, i) => {
    const where = `$.guest_cpu_config.reg_modifiers[${i}]`;
    if (typeof m !== "object" || m === null) fail("fingerprint/type", where, "expected an object");
    const r = m as Record<string, unknown>;
    const addr = field<string>(r, "addr", where, "string");
    const bitmap = field<string>(r, "bitmap", where, "string");
    if (!/^0x[0-9a-fA-F]{1,16}$/.test(addr)) {
      fail("fingerprint/addr", `${where}.addr`, `"${addr}" is not a 64-bit hex id`);
    }
    const id = BigInt(addr);
    if (!isArm64(id)) {
      fail("fingerprint/addr", `${where}.addr`, `${hex(id)} is not a KVM_REG_ARM64 id`);
    }
    if (!/^0b[01]{1,2048}$/.test(bitmap)) {
      fail(
        "fingerprint/bitmap",
        `${where}.bitmap`,
        'expected "0b" and binary digits (a dump, not a template with x/_ wildcards)',
      );
    }
    const value = BigInt(bitmap);
    const width = regSize(id);
    if (value >> BigInt(width * 8) !== 0n) {
      fail(
        "fingerprint/bitmap",
        `${where}.bitmap`,
        `${regName(id)} is ${width * 8} bits wide but the value is ${hex(value)}`,
      );
    }
    if (vcpu.registers.has(id)) {
      fail("fingerprint/duplicate", `${where}.addr`, `${regName(id)} (${hex(id)}) appears twice`);
    }
    vcpu.registers.set(id, bigToLe(value, width));
  });
  const mpidr = vcpu.registers.get(MPIDR_EL1);
  vcpu.mpidr = mpidr ? leToBig(mpidr) : 0n;
  const midr = vcpu.registers.get(MIDR_EL1);

  const str = (k: string) => (typeof top[k] === "string" ? top[k] as string : undefined);
  const s: Snapshot = {
    source: {
      kernel: str("kernel_version"),
      vmm: "firecracker",
      vmmVersion: str("firecracker_version"),
      midr: midr ? leToBig(midr) : undefined,
      importer: "fc-fingerprint",
      extra: new Map(),
    },
    vm: { caps: [], smcccFilter: [], extra: new Map() },
    vcpus: [vcpu],
    extra: new Map(),
  };
  validateSnapshot(s);
  return s;
}
