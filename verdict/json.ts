/**
 * The JSON rendering of a verdict, for people and CI logs: the same fields and names as the
 * CBOR payload, with digests as lower-case hex and the issue time also as RFC 3339 text.
 * It is a view, not a second format: only the COSE bytes are signed.
 */
import { toHex } from "./bytes.ts";
import type { DataRef, Verdict } from "./model.ts";

type Json = string | number | boolean | null | Json[] | { [k: string]: Json };

export function verdictToJSON(v: Verdict): { [k: string]: Json } {
  const ref = (r: DataRef) => ({ id: r.id, sha256: toHex(r.sha256) });
  const probes: { [k: string]: Json } = {};
  for (const [k, d] of Object.entries(v.engine.probes)) probes[k] = toHex(d);
  const out = {
    format: v.format,
    version: v.version,
    snapshot: { sha256: toHex(v.snapshot.sha256), size: v.snapshot.size },
    source: { profile: ref(v.source.profile), host: ref(v.source.host) },
    vmm: v.vmm,
    engine: {
      version: v.engine.version,
      git_revision: v.engine.git_revision,
      wasm_sha256: toHex(v.engine.wasm_sha256),
      probes,
    },
    targets: v.targets.map((t) => ({ ...t, profile: ref(t.profile), host: ref(t.host) })),
    summary: v.summary,
    issued_at: v.issued_at,
    issued_at_utc: new Date(v.issued_at * 1000).toISOString().replace(".000Z", "Z"),
    nonce: v.nonce,
    dev_key: v.dev_key,
  };
  // JSON.parse(JSON.stringify()) drops absent optional members and leaves plain data.
  return JSON.parse(JSON.stringify(out));
}
