/**
 * A multipart/form-data upload (RFC 7578) for POST /v1/verdicts: the snapshot plus the caller's
 * own kernel profiles and hosts (design.md: "Users must be able to supply their own profile or
 * host in the request"). Parts:
 *
 *   snapshot  exactly one; its own Content-Type picks the importer (absent: recognised)
 *   profile   zero or more, each a profile file as JSON (emulator/profiles/schema.ts)
 *   host      zero or more, each a host file as JSON
 *
 * The body has already been read under the byte cap; this only splits it, by hand rather than
 * through Request.formData(), which reports a part without a Content-Type as
 * application/octet-stream (and so as a native snapshot) where the upload said nothing.
 */
import { MAX_USER_FILES } from "./pipeline.ts";
import { Problem } from "./problem.ts";
import { quote } from "./quote.ts";

export interface MultipartUpload {
  bytes: Uint8Array;
  contentType?: string;
  profiles: string[];
  hosts: string[];
}

const PARTS = new Set(["snapshot", "profile", "host"]);

export function isMultipart(contentType: string | undefined): boolean {
  return contentType?.split(";")[0].trim().toLowerCase() === "multipart/form-data";
}

/** Most parts one body may have: the snapshot and the user files pipeline.ts accepts. */
export const MAX_PARTS = 1 + 2 * MAX_USER_FILES;
/** Longest header block of one part, in bytes. */
const MAX_PART_HEADER = 4096;

const enc = new TextEncoder();
const dec = new TextDecoder("utf-8", { fatal: true });

/** The boundary parameter of the Content-Type (RFC 2046 §5.1.1: 1 to 70 characters). */
function boundaryOf(contentType: string): string {
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))\s*(?:;|$)/i.exec(contentType);
  if (!m) {
    throw new Problem(
      "bad-request",
      "multipart/form-data Content-Type without a boundary parameter of 1 to 70 characters",
    );
  }
  return m[1] ?? m[2];
}

function indexOf(hay: Uint8Array, needle: Uint8Array, from: number): number {
  const first = needle[0];
  const last = hay.length - needle.length;
  for (let i = hay.indexOf(first, from); i !== -1 && i <= last; i = hay.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && hay[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

interface Part {
  name: string;
  /** The part's own Content-Type; undefined when the part has none. */
  contentType?: string;
  bytes: Uint8Array;
}

/**
 * Splits the body at its boundary (RFC 7578, RFC 2046 §5.1). Each step moves forward through
 * bytes that are there; the number of parts and the size of each header block are capped.
 */
export function splitParts(body: Uint8Array, contentType: string): Part[] {
  const delim = enc.encode(`\r\n--${boundaryOf(contentType)}`);
  // The first delimiter may open the body without the CRLF before it.
  const start = indexOf(body, delim.subarray(2), 0);
  if (start !== 0 && (start === -1 || indexOf(body, delim, 0) === -1)) {
    throw new Problem("bad-request", "multipart/form-data body: the boundary does not open it");
  }
  const parts: Part[] = [];
  let at = start + delim.length - 2;
  for (;;) {
    if (body[at] === 0x2d && body[at + 1] === 0x2d) return parts; // "--": the close delimiter
    // Transport padding, then CRLF ends the delimiter line.
    while (body[at] === 0x20 || body[at] === 0x09) at++;
    if (body[at] !== 0x0d || body[at + 1] !== 0x0a) {
      throw new Problem(
        "bad-request",
        `multipart/form-data body: bad delimiter line at byte ${at}`,
      );
    }
    at += 2;
    if (parts.length === MAX_PARTS) {
      throw new Problem("bad-request", `multipart body has more than ${MAX_PARTS} parts`);
    }
    const headEnd = indexOf(body.subarray(0, at + MAX_PART_HEADER + 4), enc.encode("\r\n\r\n"), at);
    const blankFirst = body[at] === 0x0d && body[at + 1] === 0x0a;
    if (headEnd === -1 && !blankFirst) {
      throw new Problem(
        "bad-request",
        `multipart part ${parts.length}: no end of its headers within ${MAX_PART_HEADER} bytes`,
      );
    }
    const headers = blankFirst ? "" : latin1(body.subarray(at, headEnd));
    at = blankFirst ? at + 2 : headEnd + 4;
    const end = indexOf(body, delim, at);
    if (end === -1) {
      throw new Problem("bad-request", `multipart part ${parts.length}: no closing boundary`);
    }
    parts.push({ ...partHeaders(headers, parts.length), bytes: body.subarray(at, end) });
    at = end + delim.length;
  }
}

function latin1(b: Uint8Array): string {
  let s = "";
  for (const x of b) s += String.fromCharCode(x);
  return s;
}

function partHeaders(block: string, index: number): { name: string; contentType?: string } {
  let name: string | undefined;
  let contentType: string | undefined;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon <= 0) {
      throw new Problem("bad-request", `multipart part ${index}: header line ${quote(line, 60)}`);
    }
    const field = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (field === "content-disposition") {
      const m = /^form-data\s*;/i.test(value) ? /;\s*name="([^"]{1,64})"/i.exec(value) : null;
      if (!m) {
        throw new Problem(
          "bad-request",
          `multipart part ${index}: Content-Disposition ${
            quote(value, 60)
          } is not form-data with a name`,
        );
      }
      name = m[1];
    } else if (field === "content-type") {
      contentType = value;
    }
  }
  if (name === undefined) {
    throw new Problem("bad-request", `multipart part ${index}: no Content-Disposition name`);
  }
  return { name, contentType };
}

function text(p: Part): string {
  try {
    return dec.decode(p.bytes);
  } catch {
    throw new Problem("bad-request", `multipart part "${p.name}": not UTF-8 text`);
  }
}

export function parseMultipart(body: Uint8Array, contentType: string): Promise<MultipartUpload> {
  const parts = splitParts(body, contentType);
  for (const p of parts) {
    if (!PARTS.has(p.name)) {
      throw new Problem(
        "bad-request",
        `multipart part ${quote(p.name, 40)} is not one of: snapshot, profile, host`,
      );
    }
  }
  const snaps = parts.filter((p) => p.name === "snapshot");
  if (snaps.length !== 1) {
    throw new Problem(
      "bad-request",
      `multipart body needs exactly one snapshot part, got ${snaps.length}`,
    );
  }
  const type = snaps[0].contentType;
  return Promise.resolve({
    bytes: snaps[0].bytes,
    // No Content-Type of its own: the importer recognises the bytes (sniffFormat).
    contentType: type === undefined || type === "" ? undefined : type,
    profiles: parts.filter((p) => p.name === "profile").map(text),
    hosts: parts.filter((p) => p.name === "host").map(text),
  });
}
