/**
 * A restore plan from a Firecracker CPU fingerprint (`cpu-template-helper fingerprint dump`,
 * tests/fixtures/firecracker-fingerprints): a plain vCPU with PSCI 0.2, then every
 * register of the dump as KVM_SET_ONE_REG, in the dump's order. This is what a restore of that
 * register state onto another kernel asks of KVM (without the vGIC and memory).
 */
import { KVM_ARM_VCPU, type PlanOp, regSize } from "./plan.ts";

export interface FingerprintReg {
  id: bigint;
  value: bigint;
}

/** The registers of a fingerprint JSON text, values cut to each id's width. */
export function fingerprintRegs(text: string, where = "fingerprint"): FingerprintReg[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`${where}: not JSON (${(e as Error).message})`);
  }
  const mods = (doc as { guest_cpu_config?: { reg_modifiers?: unknown } })?.guest_cpu_config
    ?.reg_modifiers;
  if (!Array.isArray(mods)) throw new Error(`${where}: no guest_cpu_config.reg_modifiers array`);
  return mods.map((m, i) => {
    const at = `${where}: reg_modifiers[${i}]`;
    const { addr, bitmap } = m as { addr?: unknown; bitmap?: unknown };
    if (typeof addr !== "string" || !/^0x[0-9a-fA-F]{1,16}$/.test(addr)) {
      throw new Error(`${at}: addr ${JSON.stringify(addr)} is not a 64-bit hex id`);
    }
    // Firecracker writes values as "0b" + binary digits, most significant first.
    if (typeof bitmap !== "string" || !/^0b[01]{1,2048}$/.test(bitmap)) {
      throw new Error(`${at}: bitmap is not "0b" followed by binary digits`);
    }
    const id = BigInt(addr);
    const full = BigInt(bitmap);
    const bits = BigInt(regSize(id) * 8);
    const value = full & ((1n << bits) - 1n);
    if (value !== full) {
      throw new Error(`${at}: value of ${addr} has bits above the register's ${bits} bits`);
    }
    return { id, value };
  });
}

/** vcpu_init (PSCI 0.2) + SET_ONE_REG of every register, in order. */
export function fingerprintPlan(regs: FingerprintReg[]): PlanOp[] {
  return [
    { op: "vcpu_init", vcpu: 0, features: [KVM_ARM_VCPU.PSCI_0_2] },
    ...regs.map((r): PlanOp => ({ op: "set_one_reg", vcpu: 0, id: r.id, value: r.value })),
  ];
}

/** The Neoverse-N1 fingerprints committed under tests/fixtures, by host kernel. */
export const N1_FINGERPRINTS = ["5.10", "6.1", "6.18"].map((k) => ({
  name: `n1-${k.replace(".", "_")}`,
  path: new URL(
    `../tests/fixtures/firecracker-fingerprints/ARM_NEOVERSE_N1_${k}host.json`,
    import.meta.url,
  ).pathname,
}));
