/**
 * Accept-header negotiation (RFC 9110 §12.5.1): the offered media type with the highest quality
 * the client gives it, ties broken by the server's order. No Accept header means the first offer.
 * Nothing acceptable is a 406 naming what the resource offers.
 */
import { Problem } from "./problem.ts";

interface Range {
  type: string;
  sub: string;
  q: number;
  /** Specificity: 2 for type/sub, 1 for type/*, 0 for *\/*. */
  spec: number;
}

function parseAccept(header: string): Range[] {
  const out: Range[] = [];
  for (const part of header.split(",")) {
    const [range, ...params] = part.trim().split(";");
    const [type, sub] = range.trim().toLowerCase().split("/");
    if (!type || !sub) continue;
    let q = 1;
    for (const p of params) {
      const [k, v] = p.trim().split("=");
      if (k?.trim().toLowerCase() === "q") q = Number(v);
    }
    if (!Number.isFinite(q)) q = 0;
    out.push({ type, sub, q, spec: type === "*" ? 0 : sub === "*" ? 1 : 2 });
  }
  return out;
}

function quality(ranges: Range[], offer: string): number {
  const [type, sub] = offer.split(";")[0].trim().toLowerCase().split("/");
  let best: Range | undefined;
  for (const r of ranges) {
    const hit = (r.type === "*" || r.type === type) && (r.sub === "*" || r.sub === sub);
    if (hit && (best === undefined || r.spec > best.spec)) best = r;
  }
  return best?.q ?? 0;
}

/** The offer to answer with. */
export function negotiate(accept: string | null | undefined, offers: readonly string[]): string {
  if (!accept || accept.trim() === "") return offers[0];
  const ranges = parseAccept(accept);
  let pick: string | undefined;
  let pickQ = 0;
  for (const o of offers) {
    const q = quality(ranges, o);
    if (q > pickQ) [pick, pickQ] = [o, q];
  }
  if (pick === undefined) {
    throw new Problem(
      "not-acceptable",
      `Accept "${accept.slice(0, 200)}" matches none of: ${offers.join(", ")}`,
    );
  }
  return pick;
}
