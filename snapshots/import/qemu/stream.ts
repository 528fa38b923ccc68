/**
 * The QEMU migration stream container (migration/savevm.c, migration/ram.c; research/peers.md
 * §3.1): magic "QEVM" and version 3, an optional CONFIGURATION record, iterative sections (RAM)
 * as START/PART/END, device sections as FULL, each optionally followed by a footer, then EOF and
 * the JSON vmdesc. Device payloads are read with the vmdesc (vmstate.ts); RAM records are parsed
 * here. Everything is bounds-checked; nothing is allocated from a length the stream declares
 * before that many bytes are known to be present.
 */
import { fail, Reader } from "./reader.ts";
import { locateVmdesc, MAX_VMDESC_BYTES, parseVmdesc, type VmDesc } from "./vmdesc.ts";
import { QEMU_VM_SUBSECTION, readStruct, type VmsStruct } from "./vmstate.ts";

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
  /** Offset in the block → page bytes (a view into the stream); only non-zero pages. */
  pages: Map<bigint, Uint8Array>;
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
  state: VmsStruct;
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
   * Which blocks count toward maxPageBytes (default all). Pages are views into the stream,
   * not copies, so only blocks that will become snapshot memory need the cap.
   */
  capBlock?: (name: string) => boolean;
}

export function parseStream(bytes: Uint8Array, opts: StreamOptions = {}): QemuStream {
  const r = new Reader(bytes);
  if (bytes.length < 8) {
    fail("qemu/truncated", "byte 0", `${bytes.length} bytes is too short for the QEVM header`);
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
  const loc = locateVmdesc(bytes, opts.maxVmdescBytes ?? MAX_VMDESC_BYTES);
  if (!loc) {
    fail(
      "qemu/vmdesc-missing",
      `byte ${bytes.length}`,
      "no JSON vmdesc (0x06, be32 length, JSON) ends the stream; streams from machines with " +
        "suppress-vmdesc or from postcopy cannot be read, and a cut stream loses it first",
    );
  }
  const vmdesc = parseVmdesc(loc.json);
  // The stream proper must end exactly where the vmdesc record starts.
  const body = new Reader(bytes, 8, loc.at);
  const out: QemuStream = {
    pageSize: vmdesc.pageSize,
    ram: [],
    devices: [],
    vmdesc,
    vmdescBytes: loc.json.length,
  };
  const iterative = new Map<number, string>();
  const ram = new RamParser(opts);
  let nextDevice = 0;
  for (;;) {
    const at = body.pos;
    const type = body.u8("a record type (the stream ended before QEMU_VM_EOF)");
    if (type === REC.EOF) {
      if (body.remaining !== 0) {
        fail(
          "qemu/trailing",
          `byte ${at}`,
          `QEMU_VM_EOF is followed by ${body.remaining} byte(s) before the vmdesc`,
        );
      }
      break;
    }
    if (type === REC.CONFIGURATION) {
      if (at !== 8 || out.configuration) {
        fail("qemu/record", `byte ${at}`, "QEMU_VM_CONFIGURATION must come first, once");
      }
      out.configuration = readConfiguration(body, vmdesc);
      const bits = out.configuration.targetPageBits;
      if (bits !== undefined) {
        if (bits < 10 || bits > 16) {
          fail("qemu/configuration", `byte ${at}`, `target-page-bits ${bits} is not in 10..16`);
        }
        out.pageSize = 1 << bits;
      }
      ram.setPageSize(out.pageSize, out.configuration.capabilities);
      continue;
    }
    if (type === REC.SECTION_START || type === REC.SECTION_FULL) {
      const sectionId = body.be32("section id");
      const idstr = body.str8("section idstr");
      const instanceId = body.be32(`instance id of ${idstr}`);
      const ver = body.be32(`version of ${idstr}`);
      if (type === REC.SECTION_START) {
        if (idstr !== "ram") {
          fail(
            "qemu/unsupported",
            `byte ${at}`,
            `iterative section "${idstr}" is not supported (only "ram"): it cannot be skipped ` +
              "without knowing its format",
          );
        }
        if (ver !== 4) {
          fail("qemu/version", `byte ${at}`, `ram section version ${ver} is not 4 (QEMU 2.0+)`);
        }
        iterative.set(sectionId, idstr);
        if (!out.configuration) ram.setPageSize(out.pageSize, []);
        ram.records(body, at);
      } else {
        const desc = vmdesc.devices[nextDevice];
        const where = `${idstr}[${instanceId}]`;
        if (!desc) {
          fail(
            "qemu/vmdesc-mismatch",
            `byte ${at}`,
            `section ${where} has no entry in vmdesc (it lists ${vmdesc.devices.length} devices)`,
          );
        }
        // A legacy section's version is its SaveVMHandlers version_id, which vmdesc omits.
        const verOk = desc.oldStyle || desc.version === ver;
        if (desc.name !== idstr || desc.instanceId !== instanceId || !verOk) {
          fail(
            "qemu/vmdesc-mismatch",
            `byte ${at}`,
            `section ${where} version ${ver} does not match vmdesc.devices[${nextDevice}] ` +
              `(${desc.name}[${desc.instanceId}] ${
                desc.oldStyle ? "legacy, no version" : `version ${desc.version}`
              })`,
          );
        }
        nextDevice++;
        out.devices.push({
          idstr,
          instanceId,
          version: ver,
          state: readStruct(body, desc, where),
        });
      }
      footer(body, sectionId);
      continue;
    }
    if (type === REC.SECTION_PART || type === REC.SECTION_END) {
      const sectionId = body.be32("section id");
      if (iterative.get(sectionId) !== "ram") {
        fail("qemu/record", `byte ${at}`, `section id ${sectionId} was not started as "ram"`);
      }
      ram.records(body, at);
      footer(body, sectionId);
      continue;
    }
    fail(
      "qemu/record",
      `byte ${at}`,
      `unknown or unsupported record type 0x${type.toString(16)}` +
        (type === REC.COMMAND ? " (QEMU_VM_COMMAND: postcopy streams are not supported)" : ""),
    );
  }
  if (nextDevice !== vmdesc.devices.length) {
    fail(
      "qemu/vmdesc-mismatch",
      `byte ${body.pos}`,
      `vmdesc describes ${vmdesc.devices.length} devices but the stream has ${nextDevice}`,
    );
  }
  out.ram = ram.blocks;
  return out;
}

/** QEMU_VM_SECTION_FOOTER (0x7e, be32 section id), sent when send-section-footer is on. */
function footer(r: Reader, sectionId: number): void {
  if (r.remaining === 0 || r.bytes[r.pos] !== REC.SECTION_FOOTER) return;
  const at = r.pos;
  r.u8("footer");
  const id = r.be32("footer section id");
  if (id !== sectionId) {
    fail("qemu/footer", `byte ${at}`, `footer names section ${id} but section ${sectionId} ended`);
  }
}

/**
 * vmstate_configuration (migration/savevm.c): be32 length + machine name, then subsections.
 * QEMU 7.2 does not describe it in vmdesc, so its subsections are a table here; 8.2+ describe
 * it and the description is used instead.
 */
function readConfiguration(r: Reader, vmdesc: VmDesc): QemuConfiguration {
  const at = r.pos;
  const len = r.be32("machine name length");
  if (len > MAX_MACHINE_NAME) {
    fail("qemu/configuration", `byte ${at}`, `machine name length ${len} is above 256`);
  }
  const machine = new TextDecoder().decode(r.take(len, "machine name"));
  const cfg: QemuConfiguration = { machine, capabilities: [] };
  while (r.remaining > 0 && r.bytes[r.pos] === QEMU_VM_SUBSECTION) {
    const subAt = r.pos;
    r.u8("subsection marker");
    const name = r.str8("configuration subsection name");
    const version = r.be32(`version of ${name}`);
    const described = vmdesc.configuration?.subsections.find((s) => s.vmsdName === name);
    if (name === "configuration/target-page-bits") {
      cfg.targetPageBits = r.be32("target-page-bits");
    } else if (name === "configuration/capabilities") {
      const n = r.be32("capability count");
      if (n > MAX_CAPABILITIES) {
        fail(
          "qemu/configuration",
          `byte ${subAt}`,
          `${n} capabilities is above ${MAX_CAPABILITIES}`,
        );
      }
      for (let i = 0; i < n; i++) cfg.capabilities.push(r.str8(`capability ${i}`));
    } else if (name === "configuration/uuid") {
      cfg.uuid = r.take(16, "configuration uuid");
    } else if (described) {
      readStruct(r, described, name);
    } else {
      fail(
        "qemu/configuration",
        `byte ${subAt}`,
        `unknown configuration subsection "${name}" version ${version}`,
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
  private readonly capBlock: (name: string) => boolean;

  constructor(opts: StreamOptions) {
    this.keep = opts.keepPages ?? true;
    this.maxBytes = opts.maxPageBytes ?? 256 * 1024 * 1024;
    this.capBlock = opts.capBlock ?? (() => true);
  }

  setPageSize(size: number, capabilities: string[]): void {
    this.pageSize = size;
    // x-ignore-shared adds each block's guest address to the MEM_SIZE list.
    this.ignoreShared = capabilities.includes("x-ignore-shared");
  }

  records(r: Reader, sectionAt: number): void {
    const mask = BigInt(this.pageSize - 1);
    for (;;) {
      const at = r.pos;
      const word = r.be64(`RAM record header (section at byte ${sectionAt})`);
      const flags = Number(word & mask);
      const addr = word & ~mask;
      if (flags & RAM.EOS) {
        if (flags !== RAM.EOS) this.bad(at, flags, "EOS combined with other flags");
        return;
      }
      const kind = flags & ~RAM.CONTINUE;
      if (kind === RAM.MEM_SIZE) {
        this.memSize(r, addr, at);
        continue;
      }
      if (kind === RAM.MULTIFD_FLUSH) continue;
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
      if (kind === RAM.ZERO) {
        // ram_handle_compressed: the page is filled with this byte (always 0 from QEMU 7.2).
        const fill = r.u8("zero-page fill byte");
        this.store(block, addr, fill === 0 ? undefined : new Uint8Array(this.pageSize).fill(fill));
      } else {
        const page = r.take(this.pageSize, `page at 0x${addr.toString(16)} of "${block.name}"`);
        this.store(block, addr, page.some((b) => b !== 0) ? page : undefined);
      }
    }
  }

  private store(block: RamBlock, addr: bigint, page: Uint8Array | undefined): void {
    const capped = this.capBlock(block.name);
    const old = block.pages.get(addr);
    if (old) {
      if (capped) this.keptBytes -= old.length;
      block.pages.delete(addr);
    }
    if (!page || !this.keep) return;
    if (capped) this.keptBytes += page.length;
    if (this.keptBytes > this.maxBytes) {
      fail(
        "qemu/ram-size",
        `RAM block "${block.name}"`,
        `non-zero guest pages exceed the ${this.maxBytes}-byte limit`,
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
      const b: RamBlock = { name, length, pages: new Map(), pagesSeen: 0 };
      this.blocks.push(b);
      this.byName.set(name, b);
      left -= length;
    }
  }

  private bad(at: number, flags: number, why: string): never {
    fail("qemu/ram", `byte ${at}`, `RAM record flags 0x${flags.toString(16)}: ${why}`);
  }
}
