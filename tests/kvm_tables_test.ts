/**
 * The wasm crate and the TypeScript side name the same KVM ids and GIC registers in two
 * languages; this test reads the Rust sources as text and requires the two tables to agree:
 *
 * - wasm/src/kvm_ids.rs: the ONE_REG id layout (arch, size, coprocessor fields) against
 *   snapshots/kvm/ids.ts;
 * - wasm/src/timer.rs: KVM's timer ids (KVM_REG_ARM_TIMER_*, PTIMER_*) against snapshots/kvm
 *   names.ts (with KVM's swapped TIMER_CNT / TIMER_CVAL encodings on both sides);
 * - wasm/src/gic/{dist,redist,gicc}.rs: each register-map row's name and offset against
 *   emulator/kvm/gicnames.ts, the names the restore model and the drift findings use.
 */
import { assert, assertEquals } from "@std/assert";
import { COPROC, KVM_REG_ARM64, KVM_REG_SIZE, KVM_REG_SIZE_SHIFT } from "../snapshots/kvm/ids.ts";
import { regId } from "../snapshots/kvm/names.ts";
import { distName, giccName, redistName } from "../emulator/kvm/gicnames.ts";

const rust = (path: string) => Deno.readTextFile(new URL(`../wasm/src/${path}`, import.meta.url));

/** `const NAME: u64|u32 = <expr>;` rows, evaluated (hex/decimal literals, names, `|`, `<<`, `+`). */
function rustConsts(text: string): Map<string, bigint> {
  const out = new Map<string, bigint>();
  const value = (term: string): bigint => {
    const t = term.trim().replace(/^\((.*)\)$/, "$1");
    if (/^(0x[0-9a-f_]+|\d[\d_]*)$/i.test(t)) return BigInt(t.replaceAll("_", ""));
    if (out.has(t)) return out.get(t)!;
    throw new Error(`cannot evaluate ${JSON.stringify(t)}`);
  };
  const expr = (e: string): bigint =>
    e.split("|").map((or) => {
      const plus = or.split("+").map((p) => {
        const [a, b] = p.split("<<");
        return b === undefined ? value(a) : value(a) << value(b);
      });
      return plus.reduce((x, y) => x + y, 0n);
    }).reduce((x, y) => x | y, 0n);
  for (
    const m of text.matchAll(/^\s*(?:pub\s+)?const\s+([A-Z0-9_]+):\s*u(?:64|32)\s*=\s*([^;]+);/gm)
  ) {
    if (/\(|enc/.test(m[2].replace(/^\s*\(([^()]*)\)\s*$/, "$1"))) continue; // calls: not a row
    out.set(m[1], expr(m[2]));
  }
  return out;
}

Deno.test("ONE_REG id layout: wasm/src/kvm_ids.rs = snapshots/kvm/ids.ts", async () => {
  const c = rustConsts(await rust("kvm_ids.rs"));
  const size = (code: bigint) => code << KVM_REG_SIZE_SHIFT;
  const want: [string, bigint][] = [
    ["KVM_REG_ARM64", KVM_REG_ARM64],
    ["KVM_REG_SIZE_U32", size(KVM_REG_SIZE.U32)],
    ["KVM_REG_SIZE_U64", size(KVM_REG_SIZE.U64)],
    ["KVM_REG_SIZE_U128", size(KVM_REG_SIZE.U128)],
    ["KVM_REG_ARM_CORE", BigInt(COPROC.CORE) << 16n],
    ["KVM_REG_ARM_DEMUX", BigInt(COPROC.DEMUX) << 16n],
    ["KVM_REG_ARM64_SYSREG", BigInt(COPROC.SYSREG) << 16n],
    ["KVM_REG_ARM_FW", BigInt(COPROC.FW) << 16n],
    ["KVM_REG_ARM_FW_FEAT_BMAP", BigInt(COPROC.FW_FEAT_BMAP) << 16n],
  ];
  assertEquals(want.map(([n]) => [n, c.get(n)]), want);
});

Deno.test("KVM timer ids: wasm/src/timer.rs = snapshots/kvm/names.ts (swapped CNT/CVAL both sides)", async () => {
  const c = rustConsts(await rust("timer.rs"));
  const kvm = [...c.keys()].filter((n) => n.startsWith("KVM_REG_ARM_"));
  assertEquals(kvm.length, 6, `timer ids found: ${kvm.join(", ")}`);
  assertEquals(kvm.map((n) => [n, c.get(n)]), kvm.map((n) => [n, regId(n)]));
  // The swap itself: KVM_REG_ARM_TIMER_CNT carries CNTV_CVAL_EL0's encoding (op2 2, CRm 3).
  assertEquals(c.get("KVM_REG_ARM_TIMER_CNT")! & 0xffffn, 0xdf1an);
});

/** Register-map rows of a wasm GIC frame: [name, offset]. */
async function rows(file: string): Promise<[string, number][]> {
  const text = await rust(`gic/${file}`);
  const consts = rustConsts(text);
  return [...text.matchAll(/Region::(?:per_irq|named|private)\(\s*"([^"]+)",\s*([^,]+),/g)].map(
    (m) => {
      const off = m[2].split("+").map((t) => {
        const s = t.trim();
        return consts.get(s) ?? BigInt(s.replaceAll("_", ""));
      }).reduce((a, b) => a + b, 0n);
      return [m[1], Number(off)];
    },
  );
}

/**
 * Rows the two sides name differently on purpose: the wasm register map covers the whole ID block
 * (PIDR4..7, PIDR0..3, CIDR0..3) with one row; the TypeScript names each register, the first
 * being PIDR4.
 */
const ID_BLOCK: Record<string, string> = { GICD_IDREGS: "GICD_PIDR4", GICR_IDREGS: "GICR_PIDR4" };

Deno.test("GIC register maps: wasm/src/gic rows = emulator/kvm/gicnames.ts names at their offsets", async () => {
  const frames: [string, (off: number) => string][] = [
    ["dist.rs", distName],
    ["redist.rs", redistName],
    ["gicc.rs", giccName],
  ];
  const bad: string[] = [];
  let compared = 0;
  for (const [file, nameAt] of frames) {
    for (const [name, off] of await rows(file)) {
      // "GICD_CTLR..TYPER2" and "GICR_IPRIORITYR0..7" start with the register at the offset.
      const first = ID_BLOCK[name] ?? name.split("..")[0];
      const ts = nameAt(off);
      compared++;
      if (ts !== first && ts !== `${first}0` && !ts.startsWith(first)) {
        bad.push(`${file} ${name} at 0x${off.toString(16)}: TypeScript says ${ts}`);
      }
    }
  }
  assert(compared >= 40, `only ${compared} rows read: the row pattern no longer matches`);
  assertEquals(bad, []);
});
