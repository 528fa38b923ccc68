/**
 * The ledger side of verdicts: storing an uploaded snapshot for later webhook runs, and reading
 * back the verdicts issued for a snapshot digest.
 */
import { encodeDeterministic } from "../../cbor/mod.ts";
import { decodeVerdict, parseSign1, toHex, verdictToJSON } from "../../verdict/mod.ts";
import { readCapped } from "../body.ts";
import type { VerdictRecord } from "../ledger/mod.ts";
import { negotiate } from "../negotiate.ts";
import { Problem } from "../problem.ts";
import type { Param, RouteDef } from "../route.ts";
import type { Services } from "../services.ts";
import { formatOf, readSnapshot, SNAPSHOT_MEDIA_TYPES } from "../snapshot_input.ts";

export const DIGEST_PARAM: Param = {
  name: "digest",
  in: "path",
  required: true,
  description: "SHA-256 of the snapshot bytes as uploaded, lower-case hex",
  pattern: "^[0-9a-f]{64}$",
};

export const TARGET_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._+@:-]{0,127}$";

/** Stores the bytes under their digest (insert-once) after checking they import. */
export async function storeSnapshot(
  s: Services,
  bytes: Uint8Array,
  contentType: string | undefined,
): Promise<{ sha256: string; created: boolean }> {
  const format = formatOf(contentType);
  await readSnapshot(bytes, format, s.config.limits.maxBodyBytes);
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

/** The JSON view of a ledger row: the COSE bytes in base64 and their decoded payload. */
export function recordJSON(r: VerdictRecord): Record<string, unknown> {
  let verdict: unknown;
  try {
    verdict = verdictToJSON(decodeVerdict(parseSign1(r.cose).payload));
  } catch (e) {
    // The ledger holds what this service signed; an unreadable row is reported, not hidden.
    verdict = { error: `stored verdict does not decode: ${(e as Error).message}` };
  }
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
    summary: "Verdicts issued for a snapshot, from the ledger, oldest first",
    description: "JSON by default (each COSE_Sign1 in base64 beside its decoded payload); " +
      "Accept: application/cbor gives a CBOR array of the COSE_Sign1 messages.",
    tag: "verdicts",
    params: [
      DIGEST_PARAM,
      {
        name: "target",
        in: "query",
        description: "only verdicts covering this target id",
        pattern: TARGET_PATTERN,
      },
    ],
    responses: {
      "200": {
        description: "the verdicts",
        content: {
          "application/json": {
            type: "object",
            required: ["snapshot", "verdicts"],
            properties: {
              snapshot: { type: "string" },
              stored: { type: "boolean" },
              verdicts: { type: "array", items: { type: "object" } },
            },
          },
          "application/cbor": { type: "string", format: "binary" },
        },
      },
    },
    problems: ["bad-request", "not-found", "not-acceptable"],
    handle: async ({ c, path, query }, s) => {
      const kind = negotiate(c.req.header("accept"), ["application/json", "application/cbor"]);
      const ledger = await s.ledger();
      const rows = await ledger.verdicts(path.digest, query.target?.[0]);
      const stored = (await ledger.getSnapshot(path.digest)) !== undefined;
      if (rows.length === 0 && !stored) {
        throw new Problem("not-found", `no snapshot or verdict with SHA-256 ${path.digest}`);
      }
      if (kind === "application/cbor") {
        return new Response(encodeDeterministic(rows.map((r) => r.cose)), {
          headers: { "content-type": "application/cbor" },
        });
      }
      return Response.json({ snapshot: path.digest, stored, verdicts: rows.map(recordJSON) });
    },
  },
];
