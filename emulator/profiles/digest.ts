/**
 * Content digests of profiles and hosts, bound into the signed verdict: SHA-256 over canonical
 * JSON (object keys sorted by UTF-16 code units, no whitespace; RFC 8785's ordering for the
 * ASCII keys used here).
 */
import { createHash } from "node:crypto";
import type { Json } from "./types.ts";

export function canonicalJson(v: Json): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  const keys = Object.keys(v).filter((k) => v[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(v[k])}`).join(",")}}`;
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text, "utf8").digest("hex");
}
