/**
 * Media types the service answers with that are HTTP's business, not the verdict's: the verdict
 * knows its COSE content type (verdict/model.ts VERDICT_CONTENT_TYPE, inside the signed header);
 * how a whole message is labelled on the wire is decided here.
 */

/** Media type of a whole COSE_Sign1 message (RFC 9052 §2, the cose-type parameter). */
export const COSE_SIGN1_MEDIA_TYPE = 'application/cose; cose-type="cose-sign1"';
