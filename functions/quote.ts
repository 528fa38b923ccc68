/**
 * Quoting client input in error text. A detail may show what was wrong, but input bytes reach
 * it only escaped and bounded: printable ASCII stays, everything else (control characters,
 * terminal escapes, bidi overrides, any non-ASCII) becomes \xNN or \u{…}, and at most `max`
 * characters of the input are shown, with the total length when it was cut.
 */
export function quote(text: string, max = 80): string {
  const chars = Array.from(text.slice(0, max * 2)).slice(0, max);
  let out = "";
  for (const ch of chars) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else if (cp < 0x100) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += `\\u{${cp.toString(16)}}`;
  }
  const cut = chars.length < Array.from(text).length;
  return `"${out}"${cut ? `… (${text.length} characters)` : ""}`;
}

/** Bytes quoted the same way (each byte as a Latin-1 character, so nothing is decoded). */
export function quoteBytes(bytes: Uint8Array, max = 32): string {
  return quote(String.fromCharCode(...bytes.subarray(0, max)), max) +
    (bytes.length > max ? `… (${bytes.length} bytes)` : "");
}
