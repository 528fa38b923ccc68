/**
 * The verdict for CI systems that speak in-toto: a DSSE envelope (github.com/secure-systems-lab/
 * dsse, envelope.md and protocol.md) around an in-toto Statement v1 with the test-result
 * predicate (github.com/in-toto/attestation, spec/v1/statement.md and
 * spec/predicates/test-result.md), signed with the same Ed25519 key as the COSE verdict.
 *
 * Mapping: subject = the snapshot (sha256 digest); result = PASSED / WARNED / FAILED for the
 * overall status pass / warn / fail; configuration = each target's kernel profile and host as
 * ResourceDescriptors with their digests; passed/warned/failedTests = target ids by status.
 * The subject's annotations carry the issue time, VMM, nonce and the dev_key mark.
 */
import { fromBase64, toBase64, toHex, utf8 } from "./bytes.ts";
import { DEV_KID_PREFIX, type Signer, type TrustedKey } from "./keys.ts";
import type { Status, Verdict } from "./model.ts";

export const DSSE_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const STATEMENT_TYPE = "https://in-toto.io/Statement/v1";
export const TEST_RESULT_PREDICATE = "https://in-toto.io/attestation/test-result/v0.1";

const RESULT: Record<Status, "PASSED" | "WARNED" | "FAILED"> = {
  pass: "PASSED",
  warn: "WARNED",
  fail: "FAILED",
};

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest?: Record<string, string>;
  annotations?: Record<string, unknown>;
}

export interface Statement {
  _type: typeof STATEMENT_TYPE;
  subject: ResourceDescriptor[];
  predicateType: typeof TEST_RESULT_PREDICATE;
  predicate: {
    result: "PASSED" | "WARNED" | "FAILED";
    configuration: ResourceDescriptor[];
    passedTests: string[];
    warnedTests: string[];
    failedTests: string[];
  };
}

export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the serialized statement. */
  payload: string;
  signatures: { keyid: string; sig: string }[];
}

/** Thrown when an envelope is malformed or its signature does not hold. */
export class DsseError extends Error {
  override name = "DsseError";
  constructor(
    readonly reason: "bad-format" | "unknown-key" | "bad-signature" | "dev-key-refused",
    message: string,
  ) {
    super(message);
  }
}

/**
 * PAE(type, body) = "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN as ASCII decimal of
 * the byte length (DSSE protocol.md, "Signature definition").
 */
export function pae(payloadType: string, body: Uint8Array): Uint8Array<ArrayBuffer> {
  const type = utf8.encode(payloadType);
  const head = utf8.encode(`DSSEv1 ${type.length} ${payloadType} ${body.length} `);
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export function toStatement(v: Verdict, opts: { dev: boolean }): Statement {
  const byStatus = (s: Status) => v.targets.filter((t) => t.status === s).map((t) => t.id);
  return {
    _type: STATEMENT_TYPE,
    subject: [{
      name: "snapshot",
      digest: { sha256: toHex(v.snapshot.sha256) },
      annotations: {
        size: v.snapshot.size,
        vmm: v.vmm,
        issued_at: new Date(v.issued_at * 1000).toISOString().replace(".000Z", "Z"),
        ...(v.nonce !== undefined ? { nonce: v.nonce } : {}),
        dev_key: opts.dev,
        engine: v.engine.version,
      },
    }],
    predicateType: TEST_RESULT_PREDICATE,
    predicate: {
      result: RESULT[v.summary.status],
      configuration: v.targets.flatMap((t) => [
        {
          name: `profile:${t.profile.id}`,
          digest: { sha256: toHex(t.profile.sha256) },
          annotations: { target: t.id, restorable: t.restorable, status: t.status },
        },
        {
          name: `host:${t.host.id}`,
          digest: { sha256: toHex(t.host.sha256) },
          annotations: { target: t.id },
        },
      ]),
      passedTests: byStatus("pass"),
      warnedTests: byStatus("warn"),
      failedTests: byStatus("fail"),
    },
  };
}

/** The verdict as a DSSE envelope with an in-toto Statement, signed by `signer`. */
export async function toDsse(v: Verdict, signer: Signer): Promise<DsseEnvelope> {
  const body = utf8.encode(JSON.stringify(toStatement(v, { dev: signer.dev })));
  const sig = await signer.sign(pae(DSSE_PAYLOAD_TYPE, body));
  return {
    payloadType: DSSE_PAYLOAD_TYPE,
    payload: toBase64(body),
    signatures: [{ keyid: signer.kid, sig: toBase64(sig) }],
  };
}

/**
 * Verifies an envelope: the payload type, a signature by a trusted key (by keyid; development
 * keys only with acceptDevKey), and a Statement with the test-result predicate. Returns the
 * statement and the kid that verified; throws DsseError otherwise.
 */
export async function verifyDsse(
  envelope: unknown,
  opts: { keys: readonly TrustedKey[]; acceptDevKey?: boolean },
): Promise<{ statement: Statement; kid: string }> {
  const e = envelope as Partial<DsseEnvelope>;
  if (typeof e !== "object" || e === null) {
    throw new DsseError("bad-format", "envelope is not a JSON object");
  }
  if (e.payloadType !== DSSE_PAYLOAD_TYPE) {
    throw new DsseError(
      "bad-format",
      `payloadType is ${JSON.stringify(e.payloadType)}, not ${DSSE_PAYLOAD_TYPE}`,
    );
  }
  if (typeof e.payload !== "string") {
    throw new DsseError("bad-format", "payload is not base64 text");
  }
  if (!Array.isArray(e.signatures) || e.signatures.length === 0) {
    throw new DsseError("bad-format", "envelope has no signatures");
  }
  let body: Uint8Array;
  try {
    body = fromBase64(e.payload, "payload");
  } catch (x) {
    throw new DsseError("bad-format", (x as Error).message);
  }
  const signed = pae(DSSE_PAYLOAD_TYPE, body);
  let why: DsseError | undefined;
  for (const s of e.signatures) {
    if (typeof s?.keyid !== "string" || typeof s?.sig !== "string") {
      why ??= new DsseError("bad-format", "a signature lacks keyid or sig text");
      continue;
    }
    if (s.keyid.startsWith(DEV_KID_PREFIX) && !opts.acceptDevKey) {
      why ??= new DsseError("dev-key-refused", `signed with development key ${s.keyid}`);
      continue;
    }
    const key = opts.keys.find((k) => k.kid === s.keyid);
    if (!key) {
      why ??= new DsseError("unknown-key", `keyid ${s.keyid} is not a trusted key`);
      continue;
    }
    let sig: Uint8Array<ArrayBuffer>;
    try {
      sig = fromBase64(s.sig, "sig");
    } catch (x) {
      why ??= new DsseError("bad-format", (x as Error).message);
      continue;
    }
    if (sig.length !== 64 || !(await crypto.subtle.verify("Ed25519", key.key, sig, signed))) {
      why = new DsseError("bad-signature", `signature by ${s.keyid} does not verify`);
      continue;
    }
    let statement: Statement;
    try {
      statement = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch (x) {
      throw new DsseError("bad-format", `payload is not UTF-8 JSON: ${(x as Error).message}`);
    }
    if (statement?._type !== STATEMENT_TYPE || statement.predicateType !== TEST_RESULT_PREDICATE) {
      throw new DsseError(
        "bad-format",
        "payload is not an in-toto Statement v1 with the test-result predicate",
      );
    }
    const dev = statement.subject?.[0]?.annotations?.dev_key;
    if (dev !== key.dev) {
      throw new DsseError("bad-format", `statement dev_key ${dev} disagrees with keyid ${s.keyid}`);
    }
    return { statement, kid: s.keyid };
  }
  throw why!;
}

/** True if the statement is about the snapshot with this SHA-256. */
export function statementCovers(statement: Statement, snapshotSha256: Uint8Array): boolean {
  const want = toHex(snapshotSha256);
  return statement.subject.some((s) => s.digest?.sha256 === want);
}
