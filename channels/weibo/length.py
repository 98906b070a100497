"""How long Weibo says a text is, and the text clean-ups statuses/share needs.

The counting rule (the one Weibo's own publisher box applies to the 140-字 limit):

* Work in "bytes" where a character whose code point is at most U+0080 counts 1 and any other
  character counts 2 (a character outside the Basic Multilingual Plane, e.g. an emoji, is two
  UTF-16 units and so counts 4). The length in 字 is the byte total divided by 2, rounded up:
  a Chinese character is 1 字, an ASCII letter, digit, space or half-width mark is half a 字.
* A link (``http://`` or ``https://`` followed by a host with at least one dot and the URL
  characters ``-A-Za-z0-9_$.+!*()/,:;@&=?~#%``) is replaced by a t.cn short link when posted, so
  it counts as 20 bytes (10 字) whatever its length, as long as it is at most 140 bytes long; a
  longer link counts its length minus 120 bytes. A link that already is a t.cn short link counts
  as its own characters, and so does a weibo.com / weibo.cn link of at most 41 bytes.
* Windows line ends count as one character (``\\r\\n`` → ``\\n``).

Examples: "政务公开" = 4; "Weibo" = 3 (5 half-width → 2.5 → 3); "政务 https://www.gov.cn/x.html"
= 2 + 0.5 + 10 = 12.5 → 13.
"""
from __future__ import annotations

import math
import re

LIMIT = 140
SHORT_LINK_BYTES = 20  # http://t.cn/xxxxxxxx
LONG_LINK_FROM = 140  # bytes: links longer than this count (bytes - 120)
OWN_DOMAIN_MAX = 41  # weibo.com links up to this many bytes count as themselves

#: A link as Weibo recognises it (host labels may contain hyphens).
LINK = re.compile(r"https?://[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[-A-Za-z0-9]*[A-Za-z0-9])?)+"
                  r"[-A-Za-z0-9_$.+!*()/,:;@&=?~#%]*")
#: A topic marker, ``#话题#``: statuses/share refuses texts containing one.
TOPIC = re.compile(r"#([^#\s][^#\n]{0,63}?)#")


def _bytes(text: str) -> int:
    total = 0
    for ch in text:
        code = ord(ch)
        total += 1 if code <= 0x80 else (4 if code > 0xFFFF else 2)
    return total


def _link_bytes(url: str) -> int:
    size = _bytes(url)
    host = url.split("://", 1)[1].split("/", 1)[0].split(":", 1)[0].lower()
    if host == "t.cn":
        return size
    if host in ("weibo.com", "weibo.cn", "www.weibo.com") and size <= OWN_DOMAIN_MAX:
        return size
    return SHORT_LINK_BYTES if size <= LONG_LINK_FROM else size - LONG_LINK_FROM + SHORT_LINK_BYTES


def weibo_length(text: str) -> int:
    """The length of ``text`` in 字 as Weibo counts it (see the module docstring)."""
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return 0
    total = 0
    pos = 0
    for match in LINK.finditer(text):
        total += _bytes(text[pos:match.start()]) + _link_bytes(match.group())
        pos = match.end()
    total += _bytes(text[pos:])
    return math.ceil(total / 2)


def links(text: str) -> list[str]:
    return LINK.findall(text)


def strip_topics(text: str) -> tuple[str, list[str]]:
    """Remove ``#话题#`` markers outside links, keeping the words. Returns the text and the
    topics whose markers were removed."""
    removed: list[str] = []

    def unmark(part: str) -> str:
        def keep(m: re.Match[str]) -> str:
            removed.append(m.group(1))
            return m.group(1)

        return TOPIC.sub(keep, part)

    out: list[str] = []
    pos = 0
    for match in LINK.finditer(text):
        out.append(unmark(text[pos:match.start()]))
        out.append(match.group())
        pos = match.end()
    out.append(unmark(text[pos:]))
    result = "".join(out)
    if removed and has_topic(result):  # "#甲##乙#" leaves nothing behind, "#甲#乙#" might
        result, more = strip_topics(result)
        removed += more
    return result, removed


def has_topic(text: str) -> bool:
    return bool(TOPIC.search(LINK.sub(" ", text)))
