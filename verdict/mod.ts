/**
 * The signed verdict: model, deterministic encoding, COSE_Sign1 signing and verification, keys,
 * and the JSON and DSSE/in-toto exports, and the judge (judge.ts: status and exit code). verdict/
 * depends on cbor/ only; the finding shapes it signs are its own (shapes.ts).
 *
 * Producing a verdict (what `rollsafe check --out` and the service do):
 *
 *   const signer = await loadSigner();                      // env key, else the dev key
 *   const verdict = buildVerdict({
 *     snapshot: await snapshotRef(snapshotBytes),
 *     source: { profile: await dataRef("linux-6.18", profileBytes), host: … },
 *     vmm: "firecracker",
 *     engine: await engineIdentity({ wasm: wasmBytes, probes: { gic: probeBytes },
 *                                    gitRevision: Deno.env.get("ROLLSAFE_GIT_REVISION") }),
 *     targets: [{ profile, host, restorable, operations, drift, reliance }],
 *     nonce,                                                // optional, from the caller
 *   }, { now: new Date() });
 *   const cose = await signVerdict(verdict, signer);        // write to --out
 *   // --json: the payload exactly as signed (dev_key stamped from the signer)
 *   console.log(JSON.stringify(verdictToJSON(unverifiedPayload(cose)), null, 2));
 *
 * Checking one (what `rollsafe verify` and the HTTP layer do):
 *
 *   const keys = await parsePublicKeys(await Deno.readFile("keys.jwks.json"), "keys.jwks.json");
 *   const r = await verifyVerdict(cose, { keys, snapshotBytes, target: "linux-6.1@neoverse-n1" });
 *   if (!r.ok) console.error(r.message), Deno.exit(r.code);
 *
 * Formats: the payload is a deterministic CBOR map (model.ts); the message is a tagged
 * COSE_Sign1 (RFC 9052 §4.2) with alg -8, content type VERDICT_CONTENT_TYPE and the kid in the
 * protected header, external AAD VERDICT_AAD. The kid is hex(SHA-256(public key)[0..16]), with
 * "dev-" for the development key (keys.ts). Key sources and env variables: keystore.ts.
 */
export {
  type DataRef,
  type EngineIdentity,
  type SnapshotRef,
  type Status,
  type Summary,
  type TargetVerdict,
  type Verdict,
  VERDICT_AAD,
  VERDICT_CONTENT_TYPE,
  VERDICT_FORMAT,
  VERDICT_VERSION,
} from "./model.ts";
export {
  type BuildOptions,
  buildVerdict,
  dataRef,
  engineIdentity,
  snapshotRef,
  summarise,
  type TargetInput,
  targetStatus,
  type VerdictInput,
} from "./build.ts";
export { decodeVerdict, encodeVerdict, encodeVerdictList, VERDICT_LIMITS } from "./codec.ts";
export {
  type Cause,
  exitCode,
  judge,
  type Judged,
  STATUS_RULES,
  STATUS_TABLE,
  type StatusRule,
  worst,
} from "./judge.ts";
export {
  COMPONENTS,
  type DriftFinding,
  ERRNOS,
  type FactSource,
  type OperationResult,
  type RelianceFinding,
  SEVERITIES,
  type Severity,
} from "./shapes.ts";
export { VerdictError } from "./schema.ts";
export { verdictToJSON } from "./json.ts";
export {
  ALG,
  checkSign1,
  COSE_SIGN1_TAG,
  CoseError,
  createSign1,
  HEADER,
  parseSign1,
  type Sign1,
  sigStructure,
} from "./cose.ts";
export {
  COSE_KEY,
  deriveKid,
  DEV_KID_PREFIX,
  generateKeyPair,
  KeyError,
  parsePublicKeys,
  pemDecode,
  pemEncode,
  type Signer,
  signerFromJwk,
  signerFromPkcs8,
  signerFromSeed,
  signerFromText,
  toCoseKey,
  toCoseKeySet,
  toJwk,
  toJwks,
  toPublicPem,
  type TrustedKey,
  trustedKey,
  trustedKeyOf,
} from "./keys.ts";
export {
  configDir,
  DEV_KEY_FILE,
  devPublicKey,
  devSigner,
  type Env,
  envTrustedKeys,
  insideRepository,
  loadSigner,
  type LoadSignerOptions,
  publishedKeys,
} from "./keystore.ts";
export { signVerdict, unverifiedPayload } from "./sign.ts";
export {
  CLOCK_SKEW_SECONDS,
  VERIFY_REASONS,
  type VerifyOptions,
  type VerifyReason,
  type VerifyResult,
  verifyVerdict,
} from "./verify.ts";
export {
  DSSE_PAYLOAD_TYPE,
  type DsseEnvelope,
  DsseError,
  pae,
  type ResourceDescriptor,
  type Statement,
  STATEMENT_TYPE,
  statementCovers,
  TEST_RESULT_PREDICATE,
  toDsse,
  toStatement,
  verifyDsse,
} from "./dsse.ts";
export { fromHex, sha256, toHex } from "./bytes.ts";
