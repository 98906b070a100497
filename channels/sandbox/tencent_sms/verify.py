"""TC3-HMAC-SHA256 as Tencent Cloud's gateway checks it, written from the protocol reference
(§4.2) for the emulator alone. The canonical request uses the headers the client says it
signed, with the values received (Host as sent: the SDK signs ``127.0.0.1:PORT``)."""
from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass

_HEAD = re.compile(r"^TC3-HMAC-SHA256\s+Credential=([^/]+)/(\d{4}-\d{2}-\d{2})/([\w-]+)/tc3_request,\s*"
                   r"SignedHeaders=([\w;-]+),\s*Signature=([0-9a-f]{64})$")


@dataclass(frozen=True)
class Tc3Header:
    secret_id: str
    date: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str


def parse(authorization: str) -> Tc3Header | None:
    m = _HEAD.match(authorization.strip())
    if not m:
        return None
    return Tc3Header(m.group(1), m.group(2), m.group(3), tuple(m.group(4).split(";")), m.group(5))


def _mac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).digest()


def expected_signature(*, secret_key: str, head: Tc3Header, method: str, query: str,
                       headers: dict[str, str], payload: bytes, timestamp: str) -> str:
    """``headers`` maps lower-case names to received values."""
    canonical_headers = "".join(f"{h}:{headers.get(h, '').strip().lower()}\n" for h in head.signed_headers)
    canonical = "\n".join([method.upper(), "/", query, canonical_headers, ";".join(head.signed_headers),
                           hashlib.sha256(payload).hexdigest()])
    scope = f"{head.date}/{head.service}/tc3_request"
    to_sign = "\n".join(["TC3-HMAC-SHA256", timestamp, scope,
                         hashlib.sha256(canonical.encode("utf-8")).hexdigest()])
    key = _mac(_mac(_mac(("TC3" + secret_key).encode("utf-8"), head.date), head.service), "tc3_request")
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
