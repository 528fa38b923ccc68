/**
 * A large QEMU stream made on the fly, for memory-bound tests of the streaming importer: the
 * committed virt-gicv3-max-smp2 stream's header, configuration and device sections (real QEMU
 * bytes), around a RAM section rewritten for a big guest: one "mach-virt.ram" block of
 * `guestMiB`, the first `dirtyMiB` of it sent as non-zero pages (each page carries its own
 * offset, so none is zero) and the rest as zero-page records, in 64 MiB PART sections as QEMU's
 * iterations would. Records follow migration/ram.c (RAM_SAVE_FLAG_MEM_SIZE, PAGE, ZERO,
 * CONTINUE, EOS).
 *
 *   deno run -A tests/snapshots/big_stream.ts <guestMiB> <dirtyMiB>
 * imports such a stream in this process with guest memory dropped and prints the vCPU count,
 * the stream's size and the process's peak RSS (VmHWM) as JSON.
 */
import { importQemuStreamFrom } from "../../snapshots/import/qemu/mod.ts";
import { StreamBytes } from "./stream_support.ts";

const PAGE = 4096;
const committed = Deno.readFileSync(
  new URL("../fixtures/qemu/virt-gicv3-max-smp2.qemu", import.meta.url),
);

function find(needle: number[]): number {
  outer: for (let i = 0; i + needle.length <= committed.length; i++) {
    for (let k = 0; k < needle.length; k++) if (committed[i + k] !== needle[k]) continue outer;
    return i;
  }
  throw new Error("not found");
}
const te = new TextEncoder();
// SECTION_START "ram": 0x01, be32 id, 0x03 "ram".
const ramStart = find([0x03, ...te.encode("ram")]) - 5;
const ramId = new DataView(committed.buffer).getUint32(ramStart + 1);
// The first device section (arm_gicv3, FULL) and everything after it.
const tail = committed.subarray(find([0x09, ...te.encode("arm_gicv3")]) - 5);

const BLOCK = "mach-virt.ram";
const FLAG = { ZERO: 0x02n, MEM_SIZE: 0x04n, PAGE: 0x08n, EOS: 0x10n, CONTINUE: 0x20n };

export async function* bigStream(guestMiB: number, dirtyMiB: number): AsyncGenerator<Uint8Array> {
  const length = BigInt(guestMiB) << 20n;
  yield committed.subarray(0, ramStart);
  yield new StreamBytes().u8(0x01).be32(ramId).str8("ram").be32(0).be32(4)
    .be64(length | FLAG.MEM_SIZE).str8(BLOCK).be64(length).be64(FLAG.EOS).bytes();
  const pages = guestMiB * 256, dirty = dirtyMiB * 256, perSection = 64 * 256;
  let first = true;
  for (let p0 = 0; p0 < pages; p0 += perSection) {
    yield new StreamBytes().u8(0x02).be32(ramId).bytes();
    const zeros = new StreamBytes();
    for (let p = p0; p < Math.min(p0 + perSection, pages); p++) {
      const addr = BigInt(p) * BigInt(PAGE);
      const cont = first ? 0n : FLAG.CONTINUE;
      if (p < dirty) {
        // Header and page in one chunk, one page at a time: the generator holds almost nothing.
        const h = new StreamBytes().be64(addr | FLAG.PAGE | cont);
        if (first) h.str8(BLOCK);
        const head = h.bytes();
        const rec = new Uint8Array(head.length + PAGE);
        rec.set(head);
        new DataView(rec.buffer).setBigUint64(head.length, addr | 1n);
        yield rec;
      } else {
        zeros.be64(addr | FLAG.ZERO | cont);
        if (first) zeros.str8(BLOCK);
        zeros.u8(0);
      }
      first = false;
    }
    yield zeros.bytes();
    yield new StreamBytes().be64(FLAG.EOS).bytes();
  }
  yield new StreamBytes().u8(0x03).be32(ramId).be64(FLAG.EOS).bytes();
  yield tail;
}

if (import.meta.main) {
  const [guestMiB, dirtyMiB] = Deno.args.map(Number);
  let bytes = 0;
  const counted = async function* () {
    for await (const c of bigStream(guestMiB, dirtyMiB)) {
      bytes += c.length;
      yield c;
    }
  };
  const s = await importQemuStreamFrom(counted(), { memory: false });
  const hwm = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/self/status"))?.[1];
  console.log(JSON.stringify({ vcpus: s.vcpus.length, bytes, peakRssKiB: Number(hwm) }));
}
