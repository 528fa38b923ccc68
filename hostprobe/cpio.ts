/**
 * A cpio "newc" archive writer (the initramfs format the kernel unpacks; see the kernel's
 * Documentation/driver-api/early-userspace/buffer-format.rst). Enough for hostprobe's initramfs:
 * directories, regular files and character devices, all owned by root, mtime 0, so the same
 * inputs give the same bytes.
 */

export type CpioEntry =
  | { type: "dir"; path: string; mode?: number }
  | { type: "file"; path: string; data: Uint8Array; mode?: number }
  | { type: "chardev"; path: string; major: number; minor: number; mode?: number };

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFCHR = 0o020000;

function field(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new RangeError(`cpio: field value ${n} does not fit 8 hex digits`);
  }
  return n.toString(16).padStart(8, "0");
}

function pad4(n: number): number {
  return (4 - (n % 4)) % 4;
}

/** The archive bytes, entries in the order given, then the TRAILER!!! record. */
export function cpioNewc(entries: CpioEntry[]): Uint8Array {
  const enc = new TextEncoder();
  const parts: Uint8Array[] = [];
  let size = 0;
  const push = (b: Uint8Array) => {
    parts.push(b);
    size += b.length;
  };
  const record = (ino: number, mode: number, data: Uint8Array, name: string, rdev = [0, 0]) => {
    if (name.includes("\0") || name.startsWith("/")) {
      throw new Error(`cpio: bad path "${name}" (must be relative, without NUL)`);
    }
    const nameBytes = enc.encode(name + "\0");
    const header = "070701" + field(ino) + field(mode) + field(0) + field(0) + field(1) +
      field(0) + field(data.length) + field(0) + field(0) + field(rdev[0]) + field(rdev[1]) +
      field(nameBytes.length) + field(0);
    push(enc.encode(header));
    push(nameBytes);
    push(new Uint8Array(pad4(110 + nameBytes.length)));
    push(data);
    push(new Uint8Array(pad4(data.length)));
  };
  entries.forEach((e, i) => {
    const ino = i + 1;
    switch (e.type) {
      case "dir":
        record(ino, S_IFDIR | (e.mode ?? 0o755), new Uint8Array(), e.path);
        break;
      case "file":
        record(ino, S_IFREG | (e.mode ?? 0o644), e.data, e.path);
        break;
      case "chardev":
        record(ino, S_IFCHR | (e.mode ?? 0o600), new Uint8Array(), e.path, [e.major, e.minor]);
        break;
    }
  });
  record(0, 0, new Uint8Array(), "TRAILER!!!");
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
