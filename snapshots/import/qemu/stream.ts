/**
 * The QEMU migration stream container (migration/savevm.c, migration/ram.c): magic "QEVM" and
 * version 3, an optional CONFIGURATION record, iterative sections (RAM) as START/PART/END, device
 * sections as FULL, each optionally followed by a footer, then EOF and the JSON vmdesc. Device
 * payloads are read with the vmdesc (vmstate.ts); RAM records are parsed here. Everything is
 * bounds-checked; nothing is allocated from a length the stream declares before that many bytes
 * are known to be present.
 *
 * The parser reads the stream front to back through a sliding window (window.ts), so a stream
 * of any size is read with memory bounded by what is kept: RAM records are parsed as they
 * arrive; the device sections, which QEMU writes after the last RAM section
 * (qemu_savevm_state_complete_precopy: iterable sections end first, then every non-iterable
 * one), are buffered with the vmdesc that describes them, up to QEMU_BUDGETS.deviceStateBytes.
 */
import { QEMU_BUDGETS, type QemuBudgets } from "../../limits.ts";
import { Budget, fail, Reader } from "./reader.ts";
import { locateVmdesc, MAX_VMDESC_BYTES, parseVmdesc, type VmDesc } from "./vmdesc.ts";
import { QEMU_VM_SUBSECTION, readStruct, skipStruct, type VmsStruct } from "./vmstate.ts";
import { drive, driveSync, type Parse, Window } from "./window.ts";

/** migration/savevm.c: QEMU_VM_FILE_MAGIC and QEMU_VM_FILE_VERSION. */
export const QEMU_VM_FILE_MAGIC = 0x5145564d;
export const QEMU_VM_FILE_VERSION = 3;

/** Record types (migration/savevm.c). */
const REC = {
  EOF: 0x00,
  SECTION_START: 0x01,
  SECTION_PART: 0x02,
  SECTION_END: 0x03,
  SECTION_FULL: 0x04,
  CONFIGURATION: 0x07,
  COMMAND: 0x08,
  SECTION_FOOTER: 0x7e,
} as const;

/** RAM record flags, in the bits below the target page size (migration/ram.c, QEMU 7.2). */
const RAM = {
  FULL: 0x01,
  ZERO: 0x02,
  MEM_SIZE: 0x04,
  PAGE: 0x08,
  EOS: 0x10,
  CONTINUE: 0x20,
  XBZRLE: 0x40,
  HOOK: 0x80,
  COMPRESS_PAGE: 0x100,
  MULTIFD_FLUSH: 0x200,
} as const;

/** Machine names are short ("virt-7.2"); QEMU's own buffer for them is 256 bytes. */
const MAX_MACHINE_NAME = 256;
/** migration capabilities number about 20 in QEMU 7.2. */
const MAX_CAPABILITIES = 64;

export interface RamBlock {
  name: string;
  length: bigint;
  /** Offset in the block → page bytes; only non-zero pages of blocks that are kept. */
  pages: Map<bigint, Uint8Array>;
  /** Page indexes last sent non-zero, for blocks whose pages are not kept. */
  nonZero: Set<number>;
  /** Pages the stream sent at all (zero or not). */
  pagesSeen: number;
}

export interface QemuConfiguration {
  machine: string;
  targetPageBits?: number;
  capabilities: string[];
  uuid?: Uint8Array;
}

export interface DeviceSection {
  idstr: string;
  instanceId: number;
  version: number;
  /** Absent for sections stepped over by their vmdesc description (StreamOptions.decode). */
  state?: VmsStruct;
}

export interface QemuStream {
  configuration?: QemuConfiguration;
  pageSize: number;
  ram: RamBlock[];
  devices: DeviceSection[];
  vmdesc: VmDesc;
  vmdescBytes: number;
}

export interface StreamOptions {
  maxVmdescBytes?: number;
  /** Keep RAM page contents (default true); without it pages are parsed and counted only. */
  keepPages?: boolean;
  /** Cap on non-zero page bytes kept (default 256 MiB, the snapshot format's own byte cap). */
  maxPageBytes?: number;
  /**
   * Which blocks' pages are kept (default all). Pages of other blocks are only counted (a set
   * of page indexes), so flash and ROM blocks cost no page memory.
   */
  keepBlock?: (name: string) => boolean;
  /** Which device sections are decoded (default all); the rest are stepped over. */
  decode?: (idstr: string) => boolean;
  /** Work budgets (default QEMU_BUDGETS). */
  budgets?: Partial<QemuBudgets>;
}

/** Room asked for before a record: the largest RAM record is a 64 KiB page + name + header. */
const HEADROOM = 64 * 1024 + 512;

/** Parses a whole stream held in memory. */
export function parseStream(bytes: Uint8Array, opts: StreamOptions = {}): QemuStream {
  return driveSync(parseCore(Window.whole(bytes), opts));
}

/** Parses a stream read chunk by chunk (a file, stdin, a decompressor or an HTTP body). */
export function parseStreamFrom(
  chunks: AsyncIterable<Uint8Array>,
  opts: StreamOptions = {},
): Promise<QemuStream> {
  const w = new Window();
  return drive(parseCore(w, opts), w, chunks);
}

function* parseCore(w: Window, opts: StreamOptions): Parse<QemuStream> {
  const budget = new Budget({ ...QEMU_BUDGETS, ...opts.budgets });
  const maxVmdesc = opts.maxVmdescBytes ?? MAX_VMDESC_BYTES;
  yield 8;
  let r = w.reader();
  if (r.remaining < 8) {
    fail("qemu/truncated", "byte 0", `${r.remaining} bytes is too short for the QEVM header`);
  }
  const magic = r.be32("magic");
  if (magic !== QEMU_VM_FILE_MAGIC) {
    fail("qemu/magic", "byte 0", `not a QEMU migration stream (magic 0x${magic.toString(16)})`);
  }
  const version = r.be32("file version");
  if (version !== QEMU_VM_FILE_VERSION) {
    fail(
      "qemu/version",
      "byte 4",
      `stream version ${version} is not ${QEMU_VM_FILE_VERSION} (QEMU_VM_FILE_VERSION)`,
    );
  }
  w.commit(r);
  // A stream held whole is checked for its vmdesc first, so a cut stream says so at once.
  // (and its vmdesc, which QEMU 8.2+ use to describe the configuration, is known up front).
  const early = w.eof ? parseVmdesc(vmdescOf(w, maxVmdesc).json) : undefined;
  const out: QemuStream = {
    pageSize: 4096,
    ram: [],
    devices: [],
    vmdesc: undefined!,
    vmdescBytes: 0,
  };
  const iterative = new Map<number, string>();
  const ram = new RamParser(opts, budget, w.whole);
  let pageSizeSet = false;
  for (;;) {
    yield HEADROOM;
    r = w.reader();
    const at = r.pos;
    const type = r.u8("a record type (the stream ended before QEMU_VM_EOF)");
    if (type === REC.EOF || type === REC.SECTION_FULL) break;
    if (type === REC.CONFIGURATION) {
      if (r.abs(at) !== 8 || out.configuration) {
        fail("qemu/record", `byte ${r.abs(at)}`, "QEMU_VM_CONFIGURATION must come first, once");
      }
      out.configuration = readConfiguration(r, budget, early);
      const bits = out.configuration.targetPageBits;
      if (bits !== undefined) {
        if (bits < 10 || bits > 16) {
          fail(
            "qemu/configuration",
            `byte ${r.abs(at)}`,
            `target-page-bits ${bits} is not in 10..16`,
          );
        }
        out.pageSize = 1 << bits;
      }
      ram.setPageSize(out.pageSize, out.configuration.capabilities);
      pageSizeSet = true;
      w.commit(r);
      continue;
    }
    let sectionId: number;
    if (type === REC.SECTION_START) {
      sectionId = r.be32("section id");
      const idstr = r.str8("section idstr");
      r.be32(`instance id of ${idstr}`);
      const ver = r.be32(`version of ${idstr}`);
      if (idstr !== "ram") {
        fail(
          "qemu/unsupported",
          `byte ${r.abs(at)}`,
          `iterative section "${idstr}" is not supported (only "ram"): it cannot be skipped ` +
            "without knowing its format",
        );
      }
      if (ver !== 4) {
        fail(
          "qemu/version",
          `byte ${r.abs(at)}`,
          `ram section version ${ver} is not 4 (QEMU 2.0+)`,
        );
      }
      iterative.set(sectionId, idstr);
      if (!pageSizeSet) ram.setPageSize(out.pageSize, []);
    } else if (type === REC.SECTION_PART || type === REC.SECTION_END) {
      sectionId = r.be32("section id");
      if (iterative.get(sectionId) !== "ram") {
        fail(
          "qemu/record",
          `byte ${r.abs(at)}`,
          `section id ${sectionId} was not started as "ram"`,
        );
      }
    } else {
      fail(
        "qemu/record",
        `byte ${r.abs(at)}`,
        `unknown or unsupported record type 0x${type.toString(16)}` +
          (type === REC.COMMAND ? " (QEMU_VM_COMMAND: postcopy streams are not supported)" : ""),
      );
    }
    w.commit(r);
    const sectionAt = r.abs(at);
    // RAM records, as many as the window holds at a time.
    for (let done = false; !done;) {
      yield HEADROOM;
      r = w.reader();
      while (!done && (r.remaining >= HEADROOM || w.eof)) done = ram.record(r, sectionAt);
      w.commit(r);
    }
    yield HEADROOM;
    r = w.reader();
    footer(r, sectionId);
    w.commit(r);
  }
  // The device sections, EOF and the vmdesc: read whole, within the budget.
  const limit = budget.limits.deviceStateBytes + maxVmdesc + 5;
  yield limit + 1;
  if (w.available > limit) {
    fail(
      "qemu/budget",
      `byte ${w.offset}`,
      `more than ${limit} bytes follow the RAM sections (QEMU_BUDGETS.deviceStateBytes ` +
        `${budget.limits.deviceStateBytes} + the vmdesc cap)`,
    );
  }
  const loc = vmdescOf(w, maxVmdesc);
  const vmdesc = early ?? parseVmdesc(loc.json);
  out.vmdesc = vmdesc;
  out.vmdescBytes = loc.json.length;
  if (!pageSizeSet) out.pageSize = vmdesc.pageSize;
  const body = w.reader(loc.at);
  devices(body, out, vmdesc, opts, budget);
  out.ram = ram.blocks;
  return out;
}

/** The vmdesc record at the end of what the window holds (the whole rest of the stream). */
function vmdescOf(w: Window, max: number): { at: number; json: Uint8Array } {
  const held = w.held();
  const loc = locateVmdesc(held, max);
  if (!loc) {
    fail(
      "qemu/vmdesc-missing",
      `byte ${w.offset + held.length}`,
      "no JSON vmdesc (0x06, be32 length, JSON) ends the stream; streams from machines with " +
        "suppress-vmdesc or from postcopy cannot be read, and a cut stream loses it first",
    );
  }
  return { at: w.start + loc.at, json: loc.json };
}

/** The FULL device sections up to QEMU_VM_EOF, each read (or stepped over) with the vmdesc. */
function devices(
  body: Reader,
  out: QemuStream,
  vmdesc: VmDesc,
  opts: StreamOptions,
  budget: Budget,
): void {
  let nextDevice = 0;
  for (;;) {
    const at = body.pos;
    const type = body.u8("a record type (the stream ended before QEMU_VM_EOF)");
    if (type === REC.EOF) {
      if (body.remaining !== 0) {
        fail(
          "qemu/trailing",
          `byte ${body.abs(at)}`,
          `QEMU_VM_EOF is followed by ${body.remaining} byte(s) before the vmdesc`,
        );
      }
      break;
    }
    if (type !== REC.SECTION_FULL) {
      fail(
        "qemu/record",
        `byte ${body.abs(at)}`,
        `record type 0x${type.toString(16)} after the device sections began ` +
          "(QEMU writes every iterative section before the first device section)",
      );
    }
    const sectionId = body.be32("section id");
    const idstr = body.str8("section idstr");
    const instanceId = body.be32(`instance id of ${idstr}`);
    const ver = body.be32(`version of ${idstr}`);
    const desc = vmdesc.devices[nextDevice];
    const where = `${idstr}[${instanceId}]`;
    if (!desc) {
      fail(
        "qemu/vmdesc-mismatch",
        `byte ${body.abs(at)}`,
        `section ${where} has no entry in vmdesc (it lists ${vmdesc.devices.length} devices)`,
      );
    }
    // A legacy section's version is its SaveVMHandlers version_id, which vmdesc omits.
    const verOk = desc.oldStyle || desc.version === ver;
    if (desc.name !== idstr || desc.instanceId !== instanceId || !verOk) {
      fail(
        "qemu/vmdesc-mismatch",
        `byte ${body.abs(at)}`,
        `section ${where} version ${ver} does not match vmdesc.devices[${nextDevice}] ` +
          `(${desc.name}[${desc.instanceId}] ${
            desc.oldStyle ? "legacy, no version" : `version ${desc.version}`
          })`,
      );
    }
    nextDevice++;
    const section: DeviceSection = { idstr, instanceId, version: ver };
    if (opts.decode?.(idstr) ?? true) section.state = readStruct(body, desc, where, budget);
    else skipStruct(body, desc, where);
    out.devices.push(section);
    footer(body, sectionId);
  }
  if (nextDevice !== vmdesc.devices.length) {
    fail(
      "qemu/vmdesc-mismatch",
      `byte ${body.abs(body.pos)}`,
      `vmdesc describes ${vmdesc.devices.length} devices but the stream has ${nextDevice}`,
    );
  }
}

/** QEMU_VM_SECTION_FOOTER (0x7e, be32 section id), sent when send-section-footer is on. */
function footer(r: Reader, sectionId: number): void {
  if (r.remaining === 0 || r.bytes[r.pos] !== REC.SECTION_FOOTER) return;
  const at = r.pos;
  r.u8("footer");
  const id = r.be32("footer section id");
  if (id !== sectionId) {
    fail(
      "qemu/footer",
      `byte ${r.abs(at)}`,
      `footer names section ${id} but section ${sectionId} ended`,
    );
  }
}

/**
 * vmstate_configuration (migration/savevm.c): be32 length + machine name, then subsections.
 * QEMU 7.2 does not describe it in vmdesc, so its known subsections are a table here; 8.2+
 * describe it, and a subsection outside the table is read with that description when the
 * vmdesc is already known (a stream held whole; a stream read as it arrives has its vmdesc only
 * at the end).
 */
function readConfiguration(r: Reader, budget: Budget, vmdesc?: VmDesc): QemuConfiguration {
  const at = r.pos;
  const len = r.be32("machine name length");
  if (len > MAX_MACHINE_NAME) {
    fail("qemu/configuration", `byte ${r.abs(at)}`, `machine name length ${len} is above 256`);
  }
  const machine = new TextDecoder().decode(r.take(len, "machine name"));
  const cfg: QemuConfiguration = { machine, capabilities: [] };
  while (r.remaining > 0 && r.bytes[r.pos] === QEMU_VM_SUBSECTION) {
    const subAt = r.pos;
    r.u8("subsection marker");
    const name = r.str8("configuration subsection name");
    const version = r.be32(`version of ${name}`);
    if (name === "configuration/target-page-bits") {
      cfg.targetPageBits = r.be32("target-page-bits");
    } else if (name === "configuration/capabilities") {
      const n = r.be32("capability count");
      if (n > MAX_CAPABILITIES) {
        fail(
          "qemu/configuration",
          `byte ${r.abs(subAt)}`,
          `${n} capabilities is above ${MAX_CAPABILITIES}`,
        );
      }
      for (let i = 0; i < n; i++) cfg.capabilities.push(r.str8(`capability ${i}`));
    } else if (name === "configuration/uuid") {
      cfg.uuid = r.take(16, "configuration uuid");
    } else if (vmdesc?.configuration?.subsections.some((d) => d.vmsdName === name)) {
      const d = vmdesc.configuration.subsections.find((d) => d.vmsdName === name)!;
      readStruct(r, d, name, budget);
    } else {
      fail(
        "qemu/configuration",
        `byte ${r.abs(subAt)}`,
        `unknown configuration subsection "${name}" version ${version}` +
          (vmdesc ? "" : " (a stream read as it arrives cannot use the vmdesc for it)"),
      );
    }
  }
  return cfg;
}

/** RAM section records (migration/ram.c ram_load_precopy, QEMU 7.2). */
class RamParser {
  readonly blocks: RamBlock[] = [];
  private byName = new Map<string, RamBlock>();
  private current?: RamBlock;
  private pageSize = 4096;
  private ignoreShared = false;
  private keptBytes = 0;
  private readonly keep: boolean;
  private readonly maxBytes: number;
  private readonly keepBlock: (name: string) => boolean;
  /** One shared page per non-zero fill byte (pages are never written after import). */
  private fills = new Map<number, Uint8Array>();

  constructor(opts: StreamOptions, private budget: Budget, private viewsStable: boolean) {
    this.keep = opts.keepPages ?? true;
    this.maxBytes = opts.maxPageBytes ?? 256 * 1024 * 1024;
    this.keepBlock = opts.keepBlock ?? (() => true);
  }

  setPageSize(size: number, capabilities: string[]): void {
    this.pageSize = size;
    // x-ignore-shared adds each block's guest address to the MEM_SIZE list.
    this.ignoreShared = capabilities.includes("x-ignore-shared");
  }

  /** Parses one record; true at RAM_SAVE_FLAG_EOS (the end of this section's records). */
  record(r: Reader, sectionAt: number): boolean {
    const mask = BigInt(this.pageSize - 1);
    const at = r.abs(r.pos);
    const word = r.be64(`RAM record header (section at byte ${sectionAt})`);
    const flags = Number(word & mask);
    const addr = word & ~mask;
    if (flags & RAM.EOS) {
      if (flags !== RAM.EOS) this.bad(at, flags, "EOS combined with other flags");
      return true;
    }
    const kind = flags & ~RAM.CONTINUE;
    if (kind === RAM.MEM_SIZE) {
      this.memSize(r, addr, at);
      return false;
    }
    if (kind === RAM.MULTIFD_FLUSH) return false;
    if (kind !== RAM.ZERO && kind !== RAM.PAGE) {
      this.bad(
        at,
        flags,
        kind & (RAM.COMPRESS_PAGE | RAM.XBZRLE | RAM.HOOK)
          ? "compressed, XBZRLE or RDMA pages are not supported"
          : "not a RAM record this importer knows",
      );
    }
    let block: RamBlock | undefined;
    if (flags & RAM.CONTINUE) {
      block = this.current;
      if (!block) this.bad(at, flags, "RAM_SAVE_FLAG_CONTINUE before any block was named");
    } else {
      const name = r.str8("RAM block name");
      block = this.byName.get(name);
      if (!block) {
        fail("qemu/ram", `byte ${at}`, `page for RAM block "${name}" not in the MEM_SIZE list`);
      }
      this.current = block;
    }
    if (addr + BigInt(this.pageSize) > block.length) {
      fail(
        "qemu/ram",
        `byte ${at}`,
        `page at offset 0x${addr.toString(16)} is outside RAM block "${block.name}" ` +
          `(0x${block.length.toString(16)} bytes)`,
      );
    }
    block.pagesSeen++;
    const keep = this.keep && this.keepBlock(block.name);
    if (kind === RAM.ZERO) {
      // ram_handle_compressed: the page is filled with this byte (always 0 from QEMU 7.2).
      const fill = r.u8("zero-page fill byte");
      if (fill !== 0) this.budget.spend("nonZeroFills", 1, () => `byte ${at}`);
      this.store(block, addr, fill === 0 ? undefined : this.fillPage(fill), keep, at);
    } else if (keep) {
      const page = r.take(this.pageSize, `page at 0x${addr.toString(16)} of "${block.name}"`);
      if (!isZero(page)) {
        // A view is safe only while the caller's whole buffer backs the window.
        this.store(block, addr, this.viewsStable ? page : page.slice(), keep, at);
      } else this.store(block, addr, undefined, keep, at);
    } else {
      // Pages not kept are not copied; guest RAM that is dropped is not even looked at.
      const page = r.take(this.pageSize, `page at 0x${addr.toString(16)} of "${block.name}"`);
      const counted = this.keepBlock(block.name) ? undefined : !isZero(page);
      this.store(block, addr, counted ? page : undefined, false, at);
    }
    return false;
  }

  private fillPage(fill: number): Uint8Array {
    let p = this.fills.get(fill);
    if (!p) this.fills.set(fill, p = new Uint8Array(this.pageSize).fill(fill));
    return p;
  }

  private store(
    block: RamBlock,
    addr: bigint,
    page: Uint8Array | undefined,
    keep: boolean,
    at: number,
  ): void {
    if (!keep) {
      // Number, not BigInt, division: this runs per record (offsets past 2^53 only blur a count).
      const index = Math.floor(Number(addr) / this.pageSize);
      if (page) block.nonZero.add(index);
      else block.nonZero.delete(index);
      return;
    }
    const old = block.pages.get(addr);
    if (old) {
      this.keptBytes -= old.length;
      block.pages.delete(addr);
    }
    if (!page) return;
    this.keptBytes += page.length;
    if (this.keptBytes > this.maxBytes) {
      fail(
        "qemu/ram-size",
        `RAM block "${block.name}" (byte ${at})`,
        `non-zero guest pages exceed the ${this.maxBytes}-byte limit kept in memory ` +
          "(import without guest memory: rollsafe import --no-memory)",
      );
    }
    block.pages.set(addr, page);
  }

  /** RAM_SAVE_FLAG_MEM_SIZE: the block list, u8 name length + name + be64 length each. */
  private memSize(r: Reader, total: bigint, at: number): void {
    let left = total;
    while (left > 0n) {
      const name = r.str8("RAM block name");
      const length = r.be64(`length of RAM block "${name}"`);
      if (this.ignoreShared) r.be64(`address of RAM block "${name}"`);
      if (length === 0n || length > left) {
        fail(
          "qemu/ram",
          `byte ${at}`,
          `RAM block "${name}" length 0x${length.toString(16)} does not fit the 0x${
            total.toString(16)
          }-byte total`,
        );
      }
      if (this.byName.has(name)) {
        fail("qemu/ram", `byte ${at}`, `RAM block "${name}" is listed twice`);
      }
      const b: RamBlock = { name, length, pages: new Map(), nonZero: new Set(), pagesSeen: 0 };
      this.blocks.push(b);
      this.byName.set(name, b);
      left -= length;
    }
  }

  private bad(at: number, flags: number, why: string): never {
    fail("qemu/ram", `byte ${at}`, `RAM record flags 0x${flags.toString(16)}: ${why}`);
  }
}

/** True if every byte is 0 (4 bytes at a time where the page is 4-byte aligned). */
export function isZero(page: Uint8Array): boolean {
  if (page.byteOffset % 4 === 0 && page.length % 4 === 0) {
    const w = new Uint32Array(page.buffer, page.byteOffset, page.length / 4);
    for (let i = 0; i < w.length; i++) if (w[i] !== 0) return false;
    return true;
  }
  for (let i = 0; i < page.length; i++) if (page[i] !== 0) return false;
  return true;
}
