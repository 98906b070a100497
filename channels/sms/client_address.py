"""The address of the client behind the page, for the per-client limits and the consent record.

Behind ``n`` proxies we run, each proxy appends the address it received the request from to
``X-Forwarded-For``; so the n-th entry from the right is the address our outermost proxy saw, and
everything left of it was written by the client and proves nothing. With no trusted proxy the
header is ignored and the peer address of the connection is used."""
from __future__ import annotations

import ipaddress
from collections.abc import Sequence

MAX_LENGTH = 100


def client_address(remote: str | None, forwarded_for: Sequence[str], trusted_proxies: int) -> str:
    """``forwarded_for``: every ``X-Forwarded-For`` header of the request, in order."""
    peer = (remote or "unknown")[:MAX_LENGTH]
    if trusted_proxies <= 0:
        return peer
    entries = [e.strip() for header in forwarded_for for e in header.split(",") if e.strip()]
    if len(entries) < trusted_proxies:
        return peer  # the request did not come through all our proxies
    seen = entries[-trusted_proxies]
    try:
        return str(ipaddress.ip_address(seen))
    except ValueError:
        return peer  # not an address: our proxy did not write it
