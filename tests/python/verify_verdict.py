#!/usr/bin/python3
"""Independent verifier of rollsafe verdicts: Python cbor2 + cryptography, no rollsafe code.

It checks what `rollsafe verify` checks, written from the specifications rather than from the
TypeScript, so the two only agree if the bytes really follow them:
  COSE_Sign1 (RFC 9052 s4.2, tag 18), alg -8 or -19 (RFC 9053 s2.2, RFC 9864), no crit
  (label 2), kid looked up among the given public keys (the kid is recomputed from each key:
  hex of the first 16 bytes of SHA-256 of the raw key, "dev-" prefixed for development keys),
  Ed25519 over Sig_structure ["Signature1", protected, external_aad, payload] (RFC 9052 s4.4)
  with external_aad "rollsafe/verdict/v1"; then the payload: deterministic encoding (RFC 8949
  s4.2.1, compared with cbor2's canonical re-encoding), snapshot SHA-256, target, restorable.
With --dsse it checks a DSSE envelope instead (PAE per the DSSE protocol) with an in-toto
Statement v1 / test-result predicate.

Usage: verify_verdict.py FILE --key KEYFILE [--key ...] --snapshot FILE --target ID
                         [--accept-dev-key] [--dsse]
Prints one JSON object; exits 0 if everything holds, else the reason's code as in
cli/verify.ts (10 format/signature, 11 unknown key, 12 snapshot, 13 target, 17 development key),
3 for usage errors; once the message holds, the README's exit-code table judges the target:
2 not restorable or a breaking finding, 1 warnings (a notable finding or an ignored write).
"""
import argparse
import base64
import hashlib
import json
import sys

import cbor2
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

AAD = b"rollsafe/verdict/v1"
CONTENT_TYPE = "application/vnd.rollsafe.verdict+cbor"
CODES = {"bad-format": 10, "bad-signature": 10, "unknown-key": 11, "snapshot-mismatch": 12,
         "target-not-covered": 13, "not-restorable": 2, "breaking": 2, "warnings": 1,
         "dev-key-refused": 17}


class Refused(Exception):
    def __init__(self, reason, detail):
        super().__init__(detail)
        self.reason = reason


def kid_of(raw):
    return hashlib.sha256(raw).digest()[:16].hex()


def b64(text):
    text = text.replace("-", "+").replace("_", "/")
    return base64.b64decode(text + "=" * (-len(text) % 4))


def load_keys(path):
    """kid -> raw public key, from a JWK/JWKS (JSON) or COSE_Key/COSE_KeySet (CBOR) file."""
    data = open(path, "rb").read()
    keys = {}
    if data.lstrip().startswith(b"{"):
        doc = json.loads(data)
        for k in doc.get("keys", [doc]):
            assert k["kty"] == "OKP" and k["crv"] == "Ed25519", "not an Ed25519 JWK"
            raw = b64(k["x"])
            keys[k.get("kid", kid_of(raw))] = raw
    else:
        doc = cbor2.loads(data)
        for k in doc if isinstance(doc, list) else [doc]:
            assert k[1] == 1 and k[-1] == 6, "not an OKP Ed25519 COSE_Key"
            raw = k[-2]
            keys[k[2].decode() if 2 in k else kid_of(raw)] = raw
    for kid, raw in keys.items():
        assert len(raw) == 32, "Ed25519 public keys are 32 bytes"
        assert kid in (kid_of(raw), "dev-" + kid_of(raw)), "kid %s does not match its key" % kid
    return keys


def find_target(targets, name, id_of, profile_of):
    exact = [t for t in targets if id_of(t) == name]
    if exact:
        return exact[0]
    by_profile = [t for t in targets if profile_of(t) == name]
    if len(by_profile) == 1:
        return by_profile[0]
    raise Refused("target-not-covered", "no single target %r" % name)


def verify_cose(data, keys, snapshot_digest, target, accept_dev):
    msg = cbor2.loads(data)
    if not isinstance(msg, cbor2.CBORTag) or msg.tag != 18:
        raise Refused("bad-format", "not a tag-18 COSE_Sign1")
    if not isinstance(msg.value, list) or len(msg.value) != 4:
        raise Refused("bad-format", "COSE_Sign1 is not a 4-array")
    prot, unprot, payload, sig = msg.value
    if not (isinstance(prot, bytes) and isinstance(unprot, dict) and isinstance(payload, bytes)
            and isinstance(sig, bytes) and len(sig) == 64):
        raise Refused("bad-format", "COSE_Sign1 item types")
    header = cbor2.loads(prot)
    if not isinstance(header, dict):
        raise Refused("bad-format", "protected header is not a map")
    if 2 in header or 2 in unprot:
        raise Refused("bad-format", "crit present")
    if header.get(1) not in (-8, -19):
        raise Refused("bad-format", "alg %r" % header.get(1))
    if header.get(3) != CONTENT_TYPE:
        raise Refused("bad-format", "content type %r" % header.get(3))
    kid = header.get(4)
    if not isinstance(kid, bytes):
        raise Refused("bad-format", "kid is not a byte string")
    kid = kid.decode()
    dev = kid.startswith("dev-")
    if dev and not accept_dev:
        raise Refused("dev-key-refused", "development key " + kid)
    if kid not in keys:
        raise Refused("unknown-key", "kid " + kid)
    to_be_signed = cbor2.dumps(["Signature1", prot, AAD, payload])
    try:
        Ed25519PublicKey.from_public_bytes(keys[kid]).verify(sig, to_be_signed)
    except InvalidSignature:
        raise Refused("bad-signature", "Ed25519 signature does not verify")
    v = cbor2.loads(payload)
    if cbor2.dumps(v, canonical=True) != payload:
        raise Refused("bad-format", "payload is not deterministically encoded")
    if v.get("format") != "rollsafe.verdict" or v.get("version") != 1:
        raise Refused("bad-format", "not a rollsafe verdict v1")
    if v["dev_key"] is not dev:
        raise Refused("bad-format", "dev_key disagrees with the kid")
    if v["snapshot"]["sha256"] != snapshot_digest:
        raise Refused("snapshot-mismatch", "verdict is for snapshot " + v["snapshot"]["sha256"].hex())
    t = find_target(v["targets"], target, lambda t: t["id"], lambda t: t["profile"]["id"])
    if not t["restorable"]:
        raise Refused("not-restorable", "not restorable on " + t["id"])
    findings = t["drift"] + t["reliance"]
    if any(f["severity"] == "breaking" for f in findings):
        raise Refused("breaking", "a breaking guest-visible change on " + t["id"])
    if any(f["severity"] == "notable" for f in findings) or \
            any(o["outcome"] == "ignored" for o in t["operations"]):
        raise Refused("warnings", "restorable with warnings on " + t["id"])
    return {"kid": kid, "target": t["id"], "status": t["status"],
            "summary": v["summary"]["status"], "issued_at": v["issued_at"],
            "nonce": v.get("nonce"), "dev_key": dev}


def verify_dsse(data, keys, snapshot_digest, target, accept_dev):
    env = json.loads(data)
    ptype = env["payloadType"]
    if ptype != "application/vnd.in-toto+json":
        raise Refused("bad-format", "payloadType " + ptype)
    body = base64.b64decode(env["payload"])
    pae = b"DSSEv1 %d %s %d %s" % (len(ptype.encode()), ptype.encode(), len(body), body)
    s = env["signatures"][0]
    kid = s["keyid"]
    if kid.startswith("dev-") and not accept_dev:
        raise Refused("dev-key-refused", "development key " + kid)
    if kid not in keys:
        raise Refused("unknown-key", "keyid " + kid)
    try:
        Ed25519PublicKey.from_public_bytes(keys[kid]).verify(base64.b64decode(s["sig"]), pae)
    except InvalidSignature:
        raise Refused("bad-signature", "DSSE signature does not verify")
    st = json.loads(body)
    if st["_type"] != "https://in-toto.io/Statement/v1" or \
            st["predicateType"] != "https://in-toto.io/attestation/test-result/v0.1":
        raise Refused("bad-format", "not an in-toto test-result statement")
    if st["subject"][0]["digest"]["sha256"] != snapshot_digest.hex():
        raise Refused("snapshot-mismatch", "statement is about another snapshot")
    profiles = [c for c in st["predicate"]["configuration"] if c["name"].startswith("profile:")]
    t = find_target(profiles, target, lambda c: c["annotations"]["target"],
                    lambda c: c["name"][len("profile:"):])
    if not t["annotations"]["restorable"]:
        raise Refused("not-restorable", "not restorable on " + t["annotations"]["target"])
    if t["annotations"]["status"] == "fail":
        raise Refused("breaking", "a breaking guest-visible change on " + t["annotations"]["target"])
    if t["annotations"]["status"] == "warn":
        raise Refused("warnings", "restorable with warnings on " + t["annotations"]["target"])
    return {"kid": kid, "target": t["annotations"]["target"], "result": st["predicate"]["result"]}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--key", action="append", required=True)
    ap.add_argument("--snapshot", required=True)
    ap.add_argument("--target", required=True)
    ap.add_argument("--accept-dev-key", action="store_true")
    ap.add_argument("--dsse", action="store_true")
    a = ap.parse_args()
    keys = {}
    try:
        for path in a.key:
            keys.update(load_keys(path))
        data = open(a.file, "rb").read()
        digest = hashlib.sha256(open(a.snapshot, "rb").read()).digest()
    except (OSError, ValueError, KeyError, TypeError, AssertionError,
            cbor2.CBORDecodeError) as e:
        print(json.dumps({"ok": False, "reason": "usage", "detail": repr(e)}))
        return 3
    check = verify_dsse if a.dsse else verify_cose
    try:
        out = check(data, keys, digest, a.target, a.accept_dev_key)
    except Refused as e:
        print(json.dumps({"ok": False, "reason": e.reason, "detail": str(e)}))
        return CODES[e.reason]
    except (ValueError, KeyError, TypeError, AttributeError, UnicodeDecodeError,
            cbor2.CBORDecodeError) as e:
        print(json.dumps({"ok": False, "reason": "bad-format", "detail": repr(e)}))
        return 10
    print(json.dumps(dict(ok=True, **out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
