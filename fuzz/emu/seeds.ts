/**
 * Writes the libFuzzer seed inputs for fuzz/emu (`deno run -A fuzz/emu/seeds.ts`): machine
 * configurations as wasm/src/config.rs defines them (GICv3 and GICv2 boards, one and four
 * vCPUs), each followed by a few calls (register writes, a short run). Input layout: u16 record
 * count, the records (u64 key, a, b, little-endian), then the call stream harness.rs decodes.
 */
const KEY = {
  NVCPUS: 1,
  RAM: 2,
  CNTFRQ: 4,
  GIC_MODEL: 12,
  GIC_NR_IRQS: 13,
  GIC_DIST_BASE: 21,
  GIC_REDIST_BASE: 22,
  GIC_CPU_BASE: 23,
  UART: 29,
} as const;

function config(records: [number, bigint, bigint][]): Uint8Array {
  const out = new Uint8Array(2 + records.length * 24);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, records.length, true);
  records.forEach(([k, a, b], i) => {
    dv.setBigUint64(2 + i * 24, BigInt(k), true);
    dv.setBigUint64(10 + i * 24, a, true);
    dv.setBigUint64(18 + i * 24, b, true);
  });
  return out;
}

/** Calls: set X0 (core register 0) on vCPU 0, set PC to RAM, run 1000 instructions. */
function calls(): Uint8Array {
  const b: number[] = [];
  const u64 = (v: bigint) => {
    for (let i = 0n; i < 8n; i++) b.push(Number((v >> (8n * i)) & 0xffn));
  };
  b.push(0, 1, 2); // set_one_reg, vcpu 0 (index 1 - 1 wraps to the harness's vcpu mapping)
  u64(0x0000n); // core register offset 0 (X0)
  u64(0x1234n);
  b.push(0, 1, 2);
  u64(0x0040n); // PC (offset 0x40 in kvm_regs, in 32-bit words: regs[32] → 0x40)
  u64(0x4000_0000n);
  b.push(4, 1, 0xe8, 0x03); // run vCPU 0, budget 1000
  return new Uint8Array(b);
}

const RAM: [number, bigint, bigint] = [KEY.RAM, 0x4000_0000n, 0x10_0000n];
const seeds: Record<string, Uint8Array> = {
  "gicv3-smp1": config([[KEY.NVCPUS, 1n, 0n], RAM, [KEY.GIC_MODEL, 3n, 0n], [
    KEY.GIC_NR_IRQS,
    96n,
    0n,
  ], [KEY.CNTFRQ, 62_500_000n, 0n]]),
  "gicv3-smp4": config([
    [KEY.NVCPUS, 4n, 0n],
    RAM,
    [KEY.GIC_MODEL, 3n, 0n],
    [
      KEY.GIC_DIST_BASE,
      0x0800_0000n,
      0n,
    ],
    [KEY.GIC_REDIST_BASE, 0x080a_0000n, 0n],
    [KEY.UART, 0x0900_0000n, 0n],
  ]),
  "gicv2-smp2": config([[KEY.NVCPUS, 2n, 0n], RAM, [KEY.GIC_MODEL, 2n, 0n], [
    KEY.GIC_DIST_BASE,
    0x0800_0000n,
    0n,
  ], [KEY.GIC_CPU_BASE, 0x0801_0000n, 0n]]),
};

const dir = new URL("./corpus/", import.meta.url);
await Deno.mkdir(dir, { recursive: true });
for (const [name, cfg] of Object.entries(seeds)) {
  const c = calls();
  const all = new Uint8Array(cfg.length + c.length);
  all.set(cfg);
  all.set(c, cfg.length);
  await Deno.writeFile(new URL(`seed-${name}.bin`, dir), all);
}
