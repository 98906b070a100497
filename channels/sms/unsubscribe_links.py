"""The one-click unsubscribe link: ``/unsubscribe?t=<token>``, where the token carries the
subscriber's row id and a MAC of (id, number) under a key derived from ``unsubscribe_secret``.

The number itself is never in the link: the token is written in letters only (the "modhex"
alphabet), so not even a digit of it can be read off a shared or logged URL. Binding the MAC to the
number as well as the id means a link never works for another number that later gets the same row
id (SQLite may reuse the id of a purged subscriber)."""
from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

LETTERS = "cbdefghijklnrtuv"  # 16 letters, one per nibble (YubiKey's modhex alphabet)
MAC_BYTES = 12
KEY_LABEL = b"gongkai/sms/unsubscribe-link/v2"


@dataclass(frozen=True)
class LinkToken:
    subscriber_id: int
    mac: bytes


def _key(secret: str) -> bytes:
    return hmac.new(secret.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def _id_bytes(subscriber_id: int) -> bytes:
    return subscriber_id.to_bytes(max(1, (subscriber_id.bit_length() + 7) // 8), "big")


def _mac(secret: str, subscriber_id: int, address: str) -> bytes:
    message = _id_bytes(subscriber_id) + b"|" + address.encode("utf-8")
    return hmac.new(_key(secret), message, hashlib.sha256).digest()[:MAC_BYTES]


def make_token(secret: str, subscriber_id: int, address: str) -> str:
    raw = _id_bytes(subscriber_id) + _mac(secret, subscriber_id, address)
    return "".join(LETTERS[b >> 4] + LETTERS[b & 15] for b in raw)


def parse_token(token: str) -> LinkToken | None:
    """The id a token names, if it is well formed (not yet proof of anything)."""
    if not 2 * (MAC_BYTES + 1) <= len(token) <= 2 * (MAC_BYTES + 8) or len(token) % 2:
        return None
    try:
        raw = bytes(LETTERS.index(token[i]) << 4 | LETTERS.index(token[i + 1]) for i in range(0, len(token), 2))
    except ValueError:
        return None
    ident = raw[:-MAC_BYTES]
    if ident[0] == 0 and len(ident) > 1:
        return None  # not the one spelling make_token writes
    return LinkToken(int.from_bytes(ident, "big"), raw[-MAC_BYTES:])


def token_matches(secret: str, token: LinkToken, address: str) -> bool:
    return bool(secret) and hmac.compare_digest(token.mac, _mac(secret, token.subscriber_id, address))
