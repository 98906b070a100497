"""How long an SMS is and how many billed messages it makes (reference §5).

Length = characters of ``【signature】`` (brackets included) + characters of the rendered template;
every character counts 1. Up to 70 characters is one message; longer texts are split into
67-character parts (UCS-2: 140 bytes / 2 = 70, minus the 6-byte concatenation header → 67).
"""
from __future__ import annotations

import math
import re

SINGLE = 70
PART = 67
MAX_CHARS = 500
#: Characters providers refuse or garble in templates: 【】 inside the content, and
#: Tencent's list of risky symbols. Astral characters (emoji) count differently per provider.
FORBIDDEN = set("【】¥★※☞✓")
URL = re.compile(r"(https?://|www\.)|([a-z0-9-]+\.)+(com|cn|net|org|gov|edu|info|top|xyz)(/|\b)", re.I)


def full_text(sign_name: str, content: str) -> str:
    return f"【{sign_name}】{content}"


def segments(text: str) -> int:
    n = len(text)
    if n == 0:
        return 0
    return 1 if n <= SINGLE else math.ceil(n / PART)


def forbidden_characters(text: str) -> list[str]:
    found = [ch for ch in text if ch in FORBIDDEN or ord(ch) > 0xFFFF]
    return list(dict.fromkeys(found + (["^_^"] if "^_^" in text else [])))


def has_url(text: str) -> bool:
    return bool(URL.search(text))
