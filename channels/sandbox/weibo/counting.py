"""The emulator's own reading of the rules statuses/share checks a text against (written from the
protocol reference, independently of the adapter):

* length: half-width units (U+0000–U+0080 = 1, other BMP characters = 2, characters beyond the
  BMP = 4); every http(s) link counts 20 units when it is at most 140 units long, else its
  length − 120 (t.cn links, and weibo.com/weibo.cn links up to 41 units, count as written);
  the total is halved and rounded up; the limit is 140;
* topics: ``#…#`` pairs are refused by the share API;
* the safe domain: at least one link must point at the app's bound domain (or a subdomain).
"""
from __future__ import annotations

import re
from urllib.parse import urlsplit

URL = re.compile(r"https?://[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)+[\w$.+!*()/,:;@&=?~#%-]*", re.ASCII)
TOPIC = re.compile(r"#[^#\s][^#\n]*?#")


def units(text: str) -> int:
    return sum(1 if ord(c) <= 0x80 else 2 if ord(c) <= 0xFFFF else 4 for c in text)


def url_units(url: str) -> int:
    n = units(url)
    host = (urlsplit(url).hostname or "").lower()
    if host == "t.cn" or (host in ("weibo.com", "weibo.cn", "www.weibo.com") and n <= 41):
        return n
    return 20 if n <= 140 else n - 120


def weibo_chars(text: str) -> int:
    text = text.replace("\r\n", "\n")
    if text.strip() == "":
        return 0
    found = list(URL.finditer(text))
    plain = URL.sub("", text)
    total = units(plain) + sum(url_units(m.group(0)) for m in found)
    return (total + 1) // 2


def urls(text: str) -> list[str]:
    return [m.group(0) for m in URL.finditer(text)]


def has_topic(text: str) -> bool:
    return bool(TOPIC.search(URL.sub(" ", text)))


def on_domains(url: str, domains: tuple[str, ...]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == d or host.endswith("." + d) for d in domains if d)


def skeleton(text: str) -> str:
    """What is left when links, spaces and punctuation are removed: posts with the same
    skeleton but different wording around it are "similar" (20017)."""
    return "".join(c for c in URL.sub("", text) if c.isalnum())
