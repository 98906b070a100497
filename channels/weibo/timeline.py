"""Finding one of our posts on the account's timeline, to settle a post whose response was lost
or that Weibo refused as a duplicate.

Weibo replaces every link in a post with a t.cn short link, so texts are compared with their
links (and whitespace) removed; a post in doubt must also be no older than the moment its
intent was recorded (less a little clock skew)."""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime, timedelta

from channels.weibo.api import Status
from channels.weibo.length import LINK

SKEW = timedelta(minutes=2)
ANY_LINK = re.compile(r"https?://\S+")


def comparable(text: str) -> str:
    text = unicodedata.normalize("NFKC", text)
    text = ANY_LINK.sub("", LINK.sub("", text))
    return re.sub(r"\s+", "", text)


def find(statuses: list[Status], text: str, since: datetime | None = None) -> Status | None:
    want = comparable(text)
    for status in statuses:
        if since is not None and status.created_at is not None and status.created_at < since - SKEW:
            continue
        if comparable(status.text) == want:
            return status
    return None
