"""Request signing of the two providers, written from the protocol reference (§4):

* Aliyun ``ACS3-HMAC-SHA256`` (signature V3, what the official SDK uses by default);
* Tencent Cloud ``TC3-HMAC-SHA256``.

Both are checked against the providers' published worked examples (tests/test_sms_signing.py).
The sandbox emulators verify with their own, separate code.
"""
from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from datetime import datetime, timezone
from urllib.parse import quote

ACS3 = "ACS3-HMAC-SHA256"
TC3 = "TC3-HMAC-SHA256"


def percent_encode(value: str) -> str:
    """RFC 3986 over UTF-8: only ``A-Za-z0-9-_.~`` stay literal (space → %20, * → %2A)."""
    return quote(value, safe="~")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def acs3_canonical_query(query: Mapping[str, str]) -> str:
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(query.items()))


def acs3_authorization(*, method: str, path: str, query: Mapping[str, str],
                       headers: Mapping[str, str], payload_hash: str, key_id: str,
                       secret: str) -> str:
    """The ``Authorization`` header value. ``headers`` are the headers to sign (lower-case names:
    host and every x-acs-* header); ``payload_hash`` is x-acs-content-sha256."""
    names = sorted(h.lower() for h in headers)
    values = {k.lower(): str(v).strip() for k, v in headers.items()}
    canonical_headers = "".join(f"{n}:{values[n]}\n" for n in names)
    signed = ";".join(names)
    canonical = "\n".join([method.upper(), path or "/", acs3_canonical_query(query),
                           canonical_headers, signed, payload_hash])
    to_sign = f"{ACS3}\n{sha256_hex(canonical.encode('utf-8'))}"
    signature = hmac.new(secret.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{ACS3} Credential={key_id},SignedHeaders={signed},Signature={signature}"


def acs3_date(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def tc3_signature(*, secret_key: str, service: str, timestamp: int, payload: bytes, host: str,
                  content_type: str = "application/json; charset=utf-8") -> str:
    """The hex signature of a POST with a JSON body (empty query; signed headers content-type
    and host). The date in the credential scope is the UTC date of ``timestamp``."""
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    canonical = (f"POST\n/\n\ncontent-type:{content_type.lower()}\nhost:{host.lower()}\n\n"
                 f"content-type;host\n{sha256_hex(payload)}")
    scope = f"{date}/{service}/tc3_request"
    to_sign = f"{TC3}\n{timestamp}\n{scope}\n{sha256_hex(canonical.encode('utf-8'))}"
    k_date = _hmac(("TC3" + secret_key).encode("utf-8"), date)
    k_service = _hmac(k_date, service)
    k_signing = _hmac(k_service, "tc3_request")
    return hmac.new(k_signing, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def tc3_authorization(*, secret_id: str, secret_key: str, service: str, timestamp: int,
                      payload: bytes, host: str,
                      content_type: str = "application/json; charset=utf-8") -> str:
    date = datetime.fromtimestamp(timestamp, timezone.utc).strftime("%Y-%m-%d")
    signature = tc3_signature(secret_key=secret_key, service=service, timestamp=timestamp,
                              payload=payload, host=host, content_type=content_type)
    return (f"{TC3} Credential={secret_id}/{date}/{service}/tc3_request, "
            f"SignedHeaders=content-type;host, Signature={signature}")
