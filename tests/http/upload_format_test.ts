/**
 * What a first upload meets (issue 15): the format comes from the body's first bytes when the
 * Content-Type says nothing (curl --data-binary, application/octet-stream), a Content-Type that
 * contradicts the body is named as such, a `+` sent unencoded in a target gets a hint, and the
 * JSON answer names its digests (snapshot_sha256, cose_sha256) and matches the OpenAPI
 * document's typed schema, checked here on real verdicts.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";
import { FINGERPRINTS, sha256Hex, testService } from "./helpers.ts";
import { openapiDocument } from "../../functions/openapi.ts";
import { ROUTES } from "../../functions/app.ts";

const QEMU = await Deno.readFile(
  new URL("../fixtures/qemu/virt-gicv3-max-smp2.qemu", import.meta.url),
);
const CBOR = await Deno.readFile(
  new URL("../../snapshots/samples/qemu-virt-gicv3-max-smp2.cbor", import.meta.url),
);
const FP = await Deno.readFile(FINGERPRINTS[2].url);
const Q = "target=linux-6.1@qemu-tcg-max&source=linux-6.1@qemu-tcg-max";

type Json = Record<string, unknown>;

/**
 * A small JSON Schema (2020-12 subset) checker: type, enum, pattern, required, properties,
 * additionalProperties, items, $ref into the document. Returns every violation with its path.
 */
function violations(schema: Json, value: unknown, doc: Json, path = "$"): string[] {
  if (typeof schema.$ref === "string") {
    const target = schema.$ref.replace(/^#\//, "").split("/").reduce(
      (o: unknown, k) => (o as Json)[k],
      doc,
    );
    return violations(target as Json, value, doc, path);
  }
  const out: string[] = [];
  if (schema.enum && !(schema.enum as unknown[]).includes(value)) {
    out.push(`${path}: ${JSON.stringify(value)} not in ${JSON.stringify(schema.enum)}`);
  }
  const t = schema.type;
  const kind: string = typeof value;
  const is = (ty: unknown): boolean =>
    ty === "object"
      ? typeof value === "object" && value !== null && !Array.isArray(value)
      : ty === "array"
      ? Array.isArray(value)
      : ty === "integer"
      ? Number.isInteger(value)
      : ty === "number"
      ? typeof value === "number"
      : (ty === "string" || ty === "boolean") && kind === ty;
  if (t !== undefined && !is(t)) return [...out, `${path}: not ${t}: ${JSON.stringify(value)}`];
  if (typeof value === "string" && typeof schema.pattern === "string") {
    if (!new RegExp(schema.pattern).test(value)) out.push(`${path}: ${value} !~ ${schema.pattern}`);
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((v, i) => out.push(...violations(schema.items as Json, v, doc, `${path}[${i}]`)));
  }
  if (t === "object") {
    const o = value as Json;
    const props = (schema.properties ?? {}) as Record<string, Json>;
    for (const r of (schema.required ?? []) as string[]) {
      if (!(r in o)) out.push(`${path}: missing ${r}`);
    }
    for (const [k, v] of Object.entries(o)) {
      if (props[k]) out.push(...violations(props[k], v, doc, `${path}.${k}`));
      else if (schema.additionalProperties === false) out.push(`${path}: unexpected ${k}`);
      else if (typeof schema.additionalProperties === "object") {
        out.push(...violations(schema.additionalProperties as Json, v, doc, `${path}.${k}`));
      }
    }
  }
  return out;
}

Deno.test("the schema checker finds what it must", () => {
  const doc = {
    components: {
      schemas: {
        X: {
          type: "object",
          additionalProperties: false,
          required: ["a"],
          properties: { a: { enum: [1] } },
        },
      },
    },
  };
  assertEquals(violations({ $ref: "#/components/schemas/X" }, { a: 1 }, doc), []);
  assertEquals(violations({ $ref: "#/components/schemas/X" }, { a: 2, b: 0 }, doc), [
    "$.a: 2 not in [1]",
    "$: unexpected b",
  ]);
});

Deno.test("upload: generic Content-Types and none let the first bytes decide", async () => {
  const t = await testService();
  try {
    for (
      const [name, body, type] of [
        ["QEMU stream as octet-stream", QEMU, "application/octet-stream"],
        ["QEMU stream as curl --data-binary sends it", QEMU, "application/x-www-form-urlencoded"],
        ["CBOR snapshot as octet-stream", CBOR, "application/octet-stream"],
        ["fingerprint as form", FP, "application/x-www-form-urlencoded"],
        ["QEMU stream without a type", QEMU, undefined],
      ] as const
    ) {
      const q = name.startsWith("fingerprint") ? "target=amzn2023-6.1@neoverse-n1" : Q;
      const headers: Record<string, string> = { accept: "application/json" };
      if (type) headers["content-type"] = type;
      const r = await t.app.request(`/v1/verdicts?${q}`, { method: "POST", body: body, headers });
      assertEquals(r.status, 200, `${name}: ${await r.clone().text()}`);
      const j = await r.json();
      assertEquals(j.snapshot_sha256, await sha256Hex(body), name);
    }
  } finally {
    await t.close();
  }
});

Deno.test("upload: a Content-Type the body contradicts is a 415 naming both", async () => {
  const t = await testService();
  try {
    for (
      const [body, type, says] of [
        [
          QEMU,
          "application/cbor",
          'the body looks like a QEMU migration stream ("QEVM"); Content-Type says application/cbor (a rollsafe CBOR snapshot)',
        ],
        [
          FP,
          "application/vnd.qemu.migration",
          "the body looks like a Firecracker CPU fingerprint (JSON); Content-Type says application/vnd.qemu.migration",
        ],
        [
          CBOR,
          "application/json",
          "the body looks like a rollsafe CBOR snapshot; Content-Type says application/json",
        ],
      ] as const
    ) {
      const r = await t.app.request(`/v1/verdicts?${Q}`, {
        method: "POST",
        body,
        headers: { "content-type": type },
      });
      assertEquals(r.status, 415);
      const p = await r.json();
      assertEquals(p.type, "/problems/unsupported-media-type");
      assertStringIncludes(p.detail, says);
    }
  } finally {
    await t.close();
  }
});

Deno.test("JSON answer: snapshot_sha256, cose_sha256 and a verdict matching the OpenAPI schema", async () => {
  const t = await testService();
  try {
    const doc = openapiDocument(ROUTES) as Json;
    const schema = (((doc.paths as Json)["/v1/verdicts"] as Json).post as Json).responses as Json;
    const json = ((schema["200"] as Json).content as Json)["application/json"] as Json;
    let drift = 0, ops = 0;
    for (
      const [body, q] of [
        [FP, "target=amzn2023-6.1@neoverse-n1&target=amzn2-5.10@neoverse-n1&nonce=n1"],
        [QEMU, `${Q}&target=linux-5.10@qemu-tcg-max`],
      ] as const
    ) {
      const r = await t.app.request(`/v1/verdicts?${q}`, {
        method: "POST",
        body,
        headers: { accept: "application/json", "content-type": "application/octet-stream" },
      });
      assertEquals(r.status, 200);
      const j = await r.json();
      assertEquals(violations(json.schema as Json, j, doc), []);
      const cose = Uint8Array.from(atob(j.cose), (c) => c.charCodeAt(0));
      assertEquals(j.cose_sha256, await sha256Hex(cose));
      assertEquals(j.ledger, `/v1/verdicts/${j.snapshot_sha256}`);
      for (const tv of j.verdict.targets) {
        drift += tv.drift.length;
        ops += tv.operations.length;
      }
    }
    // The check covered real findings, not empty arrays.
    assert(drift > 0 && ops > 0, `drift ${drift}, operations ${ops}`);
  } finally {
    await t.close();
  }
});

Deno.test("a target whose + arrived as a space gets the %2B hint", async () => {
  const t = await testService();
  try {
    const r = await t.app.request(
      "/v1/verdicts?target=linux-6.1+iidr-fix@neoverse-n1",
      { method: "POST", body: FP, headers: { "content-type": "application/json" } },
    );
    assert(r.status === 400 || r.status === 422, String(r.status));
    assertStringIncludes((await r.json()).detail, "%2B");
  } finally {
    await t.close();
  }
});
