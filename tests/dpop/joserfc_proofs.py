"""DPoP proofs signed with Python's joserfc, for tests/dpop.rs: a second third-party
implementation, for the algorithms the Node helper does not cover (RS256, ES384).

Same protocol as proofs.mjs: one JSON request per line on stdin, one JSON answer per
line on stdout, {"ready": true} first. Keys: "rs" (RS256, 2048 bits), "es384" (P-384).
"""
import base64
import hashlib
import json
import sys
import time
import uuid

from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey

KEYS = {
    "rs": ("RS256", RSAKey.generate_key(2048)),
    "es384": ("ES384", ECKey.generate_key("P-384")),
}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def proof(request):
    alg, key = KEYS[request["key"]]
    public = {k: v for k, v in key.as_dict(private=False).items() if k not in ("kid",)}
    claims = {
        "jti": str(uuid.uuid4()),
        "htm": request["htm"],
        "htu": request["htu"],
        "iat": int(time.time()) + int(request.get("clockOffset") or 0),
    }
    if request.get("accessToken"):
        claims["ath"] = b64(hashlib.sha256(request["accessToken"].encode()).digest())
    if request.get("nonce"):
        claims["nonce"] = request["nonce"]
    header = {"typ": "dpop+jwt", "alg": alg, "jwk": public}
    token = jwt.encode(header, claims, key, algorithms=[alg])
    return {"proof": token, "jkt": key.thumbprint()}


print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    if not line.strip():
        continue
    try:
        print(json.dumps(proof(json.loads(line))), flush=True)
    except Exception as error:  # reported to the test, which fails on it
        print(json.dumps({"error": repr(error)}), flush=True)
