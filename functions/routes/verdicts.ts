/**
 * POST /v1/verdicts: upload a snapshot, name targets, get the signed verdict back. The query is
 * checked (and the targets resolved) before the body is read, and the body is read under the
 * streamed byte cap, so a bad request costs no upload and a large one no memory.
 */
import { verdictToJSON } from "../../verdict/mod.ts";
import { COSE_SIGN1_MEDIA_TYPE } from "../media.ts";
import { readCapped } from "../body.ts";
import { negotiate } from "../negotiate.ts";
import { checkTargets, vmmOf } from "../pipeline.ts";
import { offload } from "../offload.ts";
import type { RouteDef } from "../route.ts";
import { formatOf, SNAPSHOT_MEDIA_TYPES } from "../snapshot_input.ts";
import { isMultipart, parseMultipart } from "../multipart.ts";
import { TARGET_PATTERN } from "./verdicts_ledger.ts";

const JSON_VERDICT = {
  type: "object",
  additionalProperties: false,
  required: ["verdict", "cose", "snapshot_sha256", "cose_sha256", "ledger"],
  properties: {
    verdict: { $ref: "#/components/schemas/Verdict" },
    cose: { type: "string", contentEncoding: "base64", description: "the COSE_Sign1 bytes" },
    snapshot_sha256: {
      type: "string",
      pattern: "^[0-9a-f]{64}$",
      description:
        "SHA-256 of the uploaded snapshot bytes: the ledger key (GET /v1/verdicts/{sha256})",
    },
    cose_sha256: {
      type: "string",
      pattern: "^[0-9a-f]{64}$",
      description: "SHA-256 of the COSE_Sign1 bytes: this verdict's id in the ledger listing",
    },
    ledger: { type: "string", description: "where the verdicts for this snapshot are listed" },
  },
};

export const VERDICT_ROUTES: RouteDef[] = [{
  method: "post",
  path: "/v1/verdicts",
  operationId: "issueVerdict",
  summary: "Validate a snapshot against targets and sign the verdict",
  description: "Restorability (the VMM's restore sequence against each target's acceptance " +
    "rules), guest-visible drift and reliance, signed as COSE_Sign1 (Ed25519) and recorded in " +
    "the ledger under the snapshot's SHA-256 and each target.",
  tag: "verdicts",
  auth: true,
  costly: true,
  params: [
    {
      name: "target",
      in: "query",
      required: true,
      repeated: true,
      description:
        "<profile>[+<variant>…]@<host>, e.g. linux-6.1@neoverse-n1; repeat for several. In a query " +
        "string a literal + means a space, so write a variant's + as %2B: " +
        "target=linux-6.1%2Biidr-fix@neoverse-n1 (curl: --data-urlencode with -G, or %2B by hand)",
      pattern: TARGET_PATTERN,
      hint: (v) =>
        v.includes(" ")
          ? `a + in a query string arrives as a space: write the variant's + as %2B (target=${
            v.replaceAll(" ", "%2B")
          })`
          : undefined,
    },
    {
      name: "vmm",
      in: "query",
      description: "VMM flavour whose restore order is replayed (qemu, firecracker, …)",
      pattern: "^[a-z0-9-]{1,32}$",
    },
    {
      name: "source",
      in: "query",
      description: "the target the snapshot was taken on, when the snapshot does not say",
      pattern: TARGET_PATTERN,
    },
    {
      name: "nonce",
      in: "query",
      description: "text echoed in the signed verdict, so a caller can tell a fresh one",
      pattern: "^[\\x20-\\x7e]{1,128}$",
    },
  ],
  body: {
    required: true,
    description: "the snapshot: a specific Content-Type names the format and must match the " +
      "body's first bytes; application/octet-stream, application/x-www-form-urlencoded (curl " +
      "--data-binary's default) or none let the bytes decide. Or multipart/form-data with a " +
      "snapshot part and the caller's own profile and host parts (JSON) that targets may name",
    content: {
      ...Object.fromEntries(
        SNAPSHOT_MEDIA_TYPES.map((m) => [m, { type: "string", format: "binary" }]),
      ),
      "multipart/form-data": {
        type: "object",
        required: ["snapshot"],
        properties: {
          snapshot: { type: "string", format: "binary" },
          profile: { type: "array", items: { type: "string" } },
          host: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
  responses: {
    "200": {
      description: "the signed verdict (overall status in summary.status)",
      content: {
        [COSE_SIGN1_MEDIA_TYPE]: { type: "string", format: "binary" },
        "application/json": JSON_VERDICT,
      },
    },
  },
  problems: [
    "unauthorized",
    "bad-request",
    "not-acceptable",
    "payload-too-large",
    "unsupported-media-type",
    "invalid-snapshot",
    "unknown-target",
    "invalid-profile",
    "too-many-targets",
    "budget-exceeded",
    "source-required",
    "too-busy",
    "not-configured",
    "ledger-unavailable",
  ],
  handle: async ({ c, query }, s) => {
    const kind = negotiate(c.req.header("accept"), [COSE_SIGN1_MEDIA_TYPE, "application/json"]);
    const contentType = c.req.header("content-type");
    const multipart = isMultipart(contentType);
    // Everything knowable from the headers is checked before the upload is read (a multipart
    // upload may define the profiles its targets name, so its targets wait for the body).
    if (!multipart) {
      checkTargets(query.target, s.config.limits.maxTargets);
      formatOf(contentType);
    }
    vmmOf(query.vmm?.[0]);
    const body = await readCapped(c.req.raw, s.config.limits.maxBodyBytes);
    const upload = multipart
      ? await parseMultipart(body, contentType!)
      : { bytes: body, contentType, profiles: [], hosts: [] };
    const issued = await offload(s, "issue", {
      ...upload,
      targets: query.target,
      vmm: query.vmm?.[0],
      source: query.source?.[0],
      nonce: query.nonce?.[0],
    });
    const headers = {
      "x-rollsafe-status": issued.verdict.summary.status,
      "x-rollsafe-snapshot": issued.snapshot,
      location: `/v1/verdicts/${issued.snapshot}`,
    };
    if (kind === COSE_SIGN1_MEDIA_TYPE) {
      return new Response(issued.cose, { headers: { ...headers, "content-type": kind } });
    }
    return Response.json({
      verdict: verdictToJSON(issued.verdict),
      cose: btoa(Array.from(issued.cose, (b) => String.fromCharCode(b)).join("")),
      snapshot_sha256: issued.snapshot,
      cose_sha256: issued.sha256,
      ledger: `/v1/verdicts/${issued.snapshot}`,
    }, { headers });
  },
}];
