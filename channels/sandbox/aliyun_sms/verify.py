"""The Aliyun gateway's signature checks, written from the protocol reference (§4.1) for the
emulator alone: ACS3-HMAC-SHA256 (signature V3, the SDK's default) and RPC v1 HMAC-SHA1
(``SignatureVersion=1.0``, the SDK's ``signature_algorithm='v2'``).

Each check returns None when the request is good, or the gateway's error code and message."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

_V3_HEAD = re.compile(r"^ACS3-HMAC-SHA256\s+Credential=([^,]+),SignedHeaders=([^,]+),Signature=([0-9a-f]+)$")


@dataclass(frozen=True)
class Denied:
    status: int
    code: str
    message: str


def rfc3986(text: str) -> str:
    # quote() leaves "-_.~" and alphanumerics alone and encodes everything else, * included.
    return quote(text.encode("utf-8"), safe="-_.~")


# ---------------------------------------------------------------------------------- RPC v1
def rpc_v1_string_to_sign(method: str, params: Mapping[str, str]) -> str:
    pairs = sorted((k, v) for k, v in params.items() if k != "Signature")
    canonical = "&".join(rfc3986(k) + "=" + rfc3986(v) for k, v in pairs)
    return "&".join((method.upper(), rfc3986("/"), rfc3986(canonical)))


def rpc_v1_signature(method: str, params: Mapping[str, str], secret: str) -> str:
    key = (secret + "&").encode("utf-8")
    digest = hmac.new(key, rpc_v1_string_to_sign(method, params).encode("utf-8"), hashlib.sha1).digest()
    return base64.b64encode(digest).decode("ascii")


# ---------------------------------------------------------------------------------- ACS3
@dataclass(frozen=True)
class V3Header:
    key_id: str
    signed_headers: tuple[str, ...]
    signature: str


def parse_v3(authorization: str) -> V3Header | None:
    m = _V3_HEAD.match(authorization.strip())
    if not m:
        return None
    return V3Header(m.group(1), tuple(m.group(2).split(";")), m.group(3))


def v3_signature(method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str],
                 signed: tuple[str, ...], secret: str) -> str:
    """``headers`` maps lower-case names to the values received."""
    lines = [method.upper(), path or "/"]
    lines.append("&".join(f"{rfc3986(k)}={rfc3986(v)}" for k, v in sorted(query.items())))
    lines.append("".join(f"{h}:{headers.get(h, '').strip()}\n" for h in signed))
    lines.append(";".join(signed))
    lines.append(headers.get("x-acs-content-sha256", ""))
    canonical = "\n".join(lines)
    string_to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    return hmac.new(secret.encode("utf-8"), string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
