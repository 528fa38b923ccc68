/**
 * libvirt save images (`virsh save`, `managedsave`): libvirt's header, the domain XML (and a
 * cookie), then the QEMU migration stream, compressed as the header says
 * (src/qemu/qemu_saveimage.h, libvirt 9.0):
 *
 *   struct _virQEMUSaveHeader {
 *     char magic[16];        "LibvirtQemudSave" ("LibvirtQemudPart" while being written)
 *     uint32_t version;      2 (1 had no cookie)
 *     uint32_t data_len;     bytes of XML + cookie (+ zero padding) after the header
 *     uint32_t was_running;
 *     uint32_t compressed;   virQEMUSaveFormat: 0 raw, 1 gzip, 2 bzip2, 3 xz, 4 lzop, 5 zstd
 *     uint32_t cookieOffset;
 *     uint32_t unused[14];
 *   };                       92 bytes, host byte order (libvirt swaps when version reads
 *                            byte-reversed: qemuSaveImageBswapHeader)
 *
 * The XML is NUL-terminated inside data_len. It is read only for the machine type and CPU
 * model (kept as source metadata) with plain text matching, never an XML parser, so entity
 * expansion ("XML bombs") cannot happen; its size is capped.
 */
import { SnapshotError } from "../errors.ts";
import type { Chunks, Compression, Peekable } from "./source.ts";

export const LIBVIRT_MAGIC = "LibvirtQemudSave";
export const LIBVIRT_PARTIAL = "LibvirtQemudPart";
const HEADER_BYTES = 92;
/** Largest XML + cookie accepted: real domain XML is a few KiB. */
export const MAX_LIBVIRT_DATA = 4 * 1024 * 1024;

/** virQEMUSaveFormat values and what rollsafe does with each. */
const FORMATS: (Compression | "raw" | "bzip2" | "lzop")[] = [
  "raw",
  "gzip",
  "bzip2",
  "xz",
  "lzop",
  "zstd",
];

export interface LibvirtSave {
  version: number;
  wasRunning: boolean;
  format: string;
  /** From the domain XML: <type machine='…'>, <cpu><model>…</model>, <name>. */
  machine?: string;
  cpuModel?: string;
  cpuMode?: string;
  domain?: string;
  xmlBytes: number;
}

const fail = (code: string, where: string, detail: string): never => {
  throw new SnapshotError(code, where, detail);
};

export function looksLikeLibvirt(head: Uint8Array): boolean {
  const m = new TextDecoder().decode(head.subarray(0, 16));
  return m === LIBVIRT_MAGIC || m === LIBVIRT_PARTIAL;
}

/**
 * Reads the header and XML off `input`; returns the metadata and the compression of the QEMU
 * stream that follows (the rest of `input`).
 */
export async function readLibvirtHeader(
  input: Peekable,
): Promise<{ save: LibvirtSave; compression: Compression | "raw" }> {
  const head = await input.peek(HEADER_BYTES);
  const magic = new TextDecoder().decode(head.subarray(0, 16));
  if (magic === LIBVIRT_PARTIAL) {
    fail(
      "libvirt/partial",
      "byte 0",
      `"${LIBVIRT_PARTIAL}": libvirt had not finished writing this save image (it writes the ` +
        "final magic last), so the QEMU stream in it is incomplete",
    );
  }
  if (head.length < HEADER_BYTES) {
    fail(
      "libvirt/truncated",
      `byte ${head.length}`,
      `a libvirt save header is ${HEADER_BYTES} bytes; the input has ${head.length}`,
    );
  }
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  // Host byte order: version 2 reads as 0x02000000 from a big-endian host.
  let le = true;
  let version = dv.getUint32(16, true);
  if (version > 0xffff) {
    le = false;
    version = dv.getUint32(16, false);
  }
  if (version !== 1 && version !== 2) {
    fail("libvirt/version", "byte 16", `save image version ${version} is not 1 or 2`);
  }
  const dataLen = dv.getUint32(20, le);
  const wasRunning = dv.getUint32(24, le) !== 0;
  const formatNo = dv.getUint32(28, le);
  const format = FORMATS[formatNo];
  if (format === undefined) {
    fail("libvirt/format", "byte 28", `save image format ${formatNo} is not one libvirt defines`);
  }
  if (dataLen > MAX_LIBVIRT_DATA) {
    fail(
      "libvirt/xml-size",
      "byte 20",
      `domain XML and cookie of ${dataLen} bytes are above the ${MAX_LIBVIRT_DATA}-byte cap`,
    );
  }
  const all = await input.peek(HEADER_BYTES + dataLen);
  if (all.length < HEADER_BYTES + dataLen) {
    fail(
      "libvirt/truncated",
      `byte ${all.length}`,
      `the header declares ${dataLen} bytes of domain XML; the input ends after ${
        all.length - HEADER_BYTES
      }`,
    );
  }
  const data = all.subarray(HEADER_BYTES);
  const nul = data.indexOf(0);
  const xmlBytes = data.subarray(0, nul < 0 ? data.length : nul);
  let xml: string;
  try {
    xml = new TextDecoder("utf-8", { fatal: true }).decode(xmlBytes);
  } catch {
    return fail("libvirt/xml", `byte ${HEADER_BYTES}`, "the domain XML is not valid UTF-8");
  }
  if (!/^\s*<domain[\s>]/.test(xml)) {
    fail("libvirt/xml", `byte ${HEADER_BYTES}`, "the header is not followed by a <domain> XML");
  }
  input.skip(HEADER_BYTES + dataLen);
  const save: LibvirtSave = {
    version,
    wasRunning,
    format,
    machine: attr(xml, /<type\b[^>]*\bmachine=['"]([^'"]{1,128})['"]/),
    cpuModel: attr(xml, /<cpu\b[^>]*>[\s\S]{0,4096}?<model\b[^>]*>([^<]{1,128})<\/model>/),
    cpuMode: attr(xml, /<cpu\b[^>]*\bmode=['"]([^'"]{1,64})['"]/),
    domain: attr(xml, /<name>([^<]{1,256})<\/name>/),
    xmlBytes: xmlBytes.length,
  };
  if (format === "bzip2" || format === "lzop") {
    fail(
      "libvirt/format",
      "byte 28",
      `the QEMU stream in this save image is ${format}-compressed, which rollsafe does not ` +
        `decompress; run '${format === "bzip2" ? "bzip2" : "lzop"} -dc' on the bytes after ` +
        `byte ${HEADER_BYTES + dataLen}`,
    );
  }
  return { save, compression: format as Compression | "raw" };
}

function attr(xml: string, re: RegExp): string | undefined {
  return re.exec(xml)?.[1]?.trim();
}

export type { Chunks };
