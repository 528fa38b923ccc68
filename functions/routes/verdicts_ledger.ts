/**
 * The ledger side of verdicts: storing an uploaded snapshot for later webhook runs, and reading
 * back the verdicts issued for a snapshot digest.
 */
import {
  decodeVerdict,
  encodeVerdictList,
  parseSign1,
  toHex,
  verdictToJSON,
} from "../../verdict/mod.ts";
import { readCapped } from "../body.ts";
import { MAX_PAGE, SHA256_HEX, type VerdictRecord } from "../ledger/mod.ts";
import { negotiate } from "../negotiate.ts";
import { Problem } from "../problem.ts";
import type { Param, RouteDef } from "../route.ts";
import type { Services } from "../services.ts";
import { offload } from "../offload.ts";
import { formatOf, SNAPSHOT_MEDIA_TYPES } from "../snapshot_input.ts";

export const DIGEST_PARAM: Param = {
  name: "digest",
  in: "path",
  required: true,
  description: "SHA-256 of the snapshot bytes as uploaded, lower-case hex",
  pattern: "^[0-9a-f]{64}$",
};

/** Page size of a listing when the caller names none. */
export const DEFAULT_PAGE = 20;

// Defined beside the route rows (a leaf module), so the routes that import it from here do not
// depend on this module's imports having finished loading.
import { TARGET_PATTERN } from "../route.ts";
export { TARGET_PATTERN };

/** Stores the bytes under their digest (insert-once) after checking they import. */
export async function storeSnapshot(
  s: Services,
  bytes: Uint8Array,
  contentType: string | undefined,
): Promise<{ sha256: string; created: boolean }> {
  await offload(s, "import", { bytes, contentType });
  const sha256 = toHex(
    new Uint8Array(await crypto.subtle.digest("SHA-256", new Uint8Array(bytes))),
  );
  const created = await (await s.ledger()).putSnapshot({
    sha256,
    contentType: contentType ?? "",
    bytes,
    storedAt: Math.floor(s.now().getTime() / 1000),
  });
  return { sha256, created };
}

/**
 * Decoded payloads by verdict digest. A ledger row never changes (insert-once, keyed by the
 * SHA-256 of its COSE bytes), so its decoded JSON can be kept: a listing decodes each verdict
 * once per process, not once per request. Bounded; the oldest entry goes first.
 */
const DECODED = new Map<string, unknown>();
const DECODED_MAX = 4096;

function decoded(r: VerdictRecord): unknown {
  let verdict = DECODED.get(r.sha256);
  if (verdict !== undefined) return verdict;
  try {
    verdict = verdictToJSON(decodeVerdict(parseSign1(r.cose).payload));
  } catch (e) {
    // The ledger holds what this service signed; an unreadable row is reported, not hidden.
    return { error: `stored verdict does not decode: ${(e as Error).message}` };
  }
  if (DECODED.size >= DECODED_MAX) DECODED.delete(DECODED.keys().next().value!);
  DECODED.set(r.sha256, verdict);
  return verdict;
}

/** The JSON view of a ledger row: the COSE bytes in base64 and their decoded payload. */
export function recordJSON(r: VerdictRecord): Record<string, unknown> {
  const verdict = decoded(r);
  return {
    sha256: r.sha256,
    targets: r.targets,
    status: r.status,
    issued_at: r.issuedAt,
    cose: btoa(Array.from(r.cose, (b) => String.fromCharCode(b)).join("")),
    verdict,
  };
}

export const LEDGER_ROUTES: RouteDef[] = [
  {
    method: "post",
    path: "/v1/snapshots",
    operationId: "storeSnapshot",
    summary: "Store a snapshot for later validation (by webhook) without validating it now",
    description: "The body is checked to import, then kept under the SHA-256 of its exact " +
      "bytes. Webhook deliveries name snapshots by that digest.",
    tag: "snapshots",
    auth: true,
    costly: true,
    body: {
      required: true,
      description: "a snapshot in any format rollsafe reads",
      content: Object.fromEntries(
        SNAPSHOT_MEDIA_TYPES.map((m) => [m, { type: "string", format: "binary" }]),
      ),
    },
    responses: {
      "201": {
        description: "stored",
        content: { "application/json": { type: "object", required: ["sha256"] } },
      },
      "200": {
        description: "already stored",
        content: { "application/json": { type: "object", required: ["sha256"] } },
      },
    },
    problems: [
      "unauthorized",
      "bad-request",
      "payload-too-large",
      "unsupported-media-type",
      "invalid-snapshot",
      "budget-exceeded",
      "too-busy",
      "worker-lost",
      "ledger-unavailable",
    ],
    handle: async ({ c }, s) => {
      const ct = c.req.header("content-type");
      formatOf(ct); // 415 before reading a body that cannot be used
      const bytes = await readCapped(c.req.raw, s.config.limits.maxBodyBytes);
      const { sha256, created } = await storeSnapshot(s, bytes, ct);
      return Response.json(
        { sha256, size: bytes.length, created, verdicts: `/v1/verdicts/${sha256}` },
        { status: created ? 201 : 200, headers: { location: `/v1/verdicts/${sha256}` } },
      );
    },
  },
  {
    method: "get",
    path: "/v1/verdicts/{digest}",
    operationId: "verdictsForSnapshot",
    summary: "Verdicts issued for a snapshot, from the ledger, oldest first, a page at a time",
    description: "JSON by default (each COSE_Sign1 in base64 beside its decoded payload); " +
      "Accept: application/cbor gives a CBOR array of the COSE_Sign1 messages. At most `limit` " +
      `verdicts (default ${DEFAULT_PAGE}, at most ${MAX_PAGE}) per page; when more follow, ` +
      "`next` (and a Link header, rel=next) gives the next page's URL, whose cursor `after` is " +
      "the last digest of this page.",
    tag: "verdicts",
    listing: true,
    params: [
      DIGEST_PARAM,
      {
        name: "target",
        in: "query",
        description: "only verdicts covering this target id",
        pattern: TARGET_PATTERN,
      },
      {
        name: "limit",
        in: "query",
        description: `verdicts per page, 1 to ${MAX_PAGE} (default ${DEFAULT_PAGE})`,
        pattern: "^[1-9][0-9]{0,2}$",
      },
      {
        name: "after",
        in: "query",
        description: "cursor: the SHA-256 of the last verdict of the previous page",
        pattern: SHA256_HEX.source,
      },
    ],
    responses: {
      "200": {
        description: "one page of the verdicts",
        content: {
          "application/json": {
            type: "object",
            required: ["snapshot", "verdicts"],
            properties: {
              snapshot: { type: "string" },
              stored: { type: "boolean" },
              verdicts: { type: "array", items: { type: "object" } },
              next: { type: "string", description: "URL of the next page, when there is one" },
            },
          },
          "application/cbor": { type: "string", format: "binary" },
        },
      },
    },
    problems: ["bad-request", "not-found", "not-acceptable", "too-busy", "ledger-unavailable"],
    handle: async ({ c, path, query }, s) => {
      const kind = negotiate(c.req.header("accept"), ["application/json", "application/cbor"]);
      const limit = Number(query.limit?.[0] ?? DEFAULT_PAGE);
      if (limit > MAX_PAGE) {
        throw new Problem("bad-request", `query parameter limit: ${limit}; at most ${MAX_PAGE}`);
      }
      const target = query.target?.[0];
      const after = query.after?.[0];
      const ledger = await s.ledger();
      // One row more than the page says whether another page follows.
      const rows = await ledger.verdicts(path.digest, target, { after, limit: limit + 1 });
      const page = rows.slice(0, limit);
      const stored = await ledger.hasSnapshot(path.digest);
      if (page.length === 0 && after === undefined && !stored) {
        throw new Problem("not-found", `no snapshot or verdict with SHA-256 ${path.digest}`);
      }
      const next = rows.length > limit
        ? `/v1/verdicts/${path.digest}?` + new URLSearchParams([
          ...(target === undefined ? [] : [["target", target]]),
          ["limit", String(limit)],
          ["after", page[page.length - 1].sha256],
        ])
        : undefined;
      const headers: Record<string, string> = next === undefined
        ? {}
        : { link: `<${next}>; rel="next"` };
      if (kind === "application/cbor") {
        return new Response(encodeVerdictList(page.map((r) => r.cose)), {
          headers: { ...headers, "content-type": "application/cbor" },
        });
      }
      return Response.json({
        snapshot: path.digest,
        stored,
        verdicts: page.map(recordJSON),
        ...(next === undefined ? {} : { next }),
      }, { headers });
    },
  },
];
