"""Reading the built static site as an inspector's crawler does: each HTML page's links, the
dates it shows, its publish-date field and its visible text. Standard library only
(``html.parser``): the pages are our own well-formed output."""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRS = {("a", "href"), ("link", "href"), ("img", "src"), ("script", "src"),
              ("source", "src"), ("iframe", "src")}
SKIP_TEXT = {"script", "style", "noscript"}
PUBLISH_LABELS = ("发布时间", "发布日期")


@dataclass(frozen=True)
class Page:
    path: str  # relative to the site dir, with / separators
    title: str  # the first <h1>
    redirect: bool  # a meta-refresh page (a moved address)
    times: tuple[datetime, ...]  # every <time datetime> with a time of day, aware
    links: tuple[str, ...]
    publish_field: bool  # the page has a 发布时间 field
    publish_dated: bool  # … and it holds a date
    text: str
    rows: int  # table rows and list items of entries (<time> inside them)

    @property
    def newest(self) -> datetime | None:
        return max(self.times, default=None)


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.title = ""
        self.redirect = False
        self.times: list[datetime] = []
        self.links: list[str] = []
        self.text: list[str] = []
        self.publish_field = False
        self.publish_dated = False
        self._skip = 0
        self._h1: list[str] | None = None
        self._dt: list[str] | None = None
        self._last_dt = ""
        self._in_dd = False
        self.rows = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        for name, value in values.items():
            if (tag, name) in LINK_ATTRS and value:
                self.links.append(value)
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.redirect = True
        elif tag in SKIP_TEXT:
            self._skip += 1
        elif tag == "h1" and not self.title:
            self._h1 = []
        elif tag == "dt":
            self._dt = []
        elif tag == "dd":
            self._in_dd = True
        elif tag == "time":
            when = _instant(values.get("datetime", ""))
            if when is not None:
                self.times.append(when)
                self.rows += 1
            if self._in_dd and self._last_dt in PUBLISH_LABELS and values.get("datetime"):
                self.publish_dated = True

    def handle_endtag(self, tag: str) -> None:
        if tag in SKIP_TEXT and self._skip:
            self._skip -= 1
        elif tag == "h1" and self._h1 is not None:
            self.title, self._h1 = "".join(self._h1).strip(), None
        elif tag == "dt" and self._dt is not None:
            self._last_dt, self._dt = "".join(self._dt).strip(), None
            if self._last_dt in PUBLISH_LABELS:
                self.publish_field = True
        elif tag == "dd":
            self._in_dd = False
            self._last_dt = ""

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        self.text.append(data)
        if self._h1 is not None:
            self._h1.append(data)
        if self._dt is not None:
            self._dt.append(data)


def _instant(value: str) -> datetime | None:
    """A ``datetime`` attribute with a time of day (2026-11-20T10:00+0800); a bare date such as
    a 成文日期 is not a publication instant."""
    if "T" not in value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.astimezone(timezone.utc) if when.tzinfo else None


def parse(path: str, html: str) -> Page:
    parser = _Parser()
    parser.feed(html)
    parser.close()
    return Page(path=path, title=parser.title, redirect=parser.redirect, times=tuple(parser.times),
                links=tuple(parser.links), publish_field=parser.publish_field,
                publish_dated=parser.publish_dated, text=" ".join("".join(parser.text).split()),
                rows=parser.rows)


def pages(site: Path) -> Iterator[Page]:
    """Every HTML page of the site, in path order (the search index's own files excluded)."""
    for folder, dirs, files in os.walk(site):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d != "pagefind")
        for name in sorted(files):
            if name.endswith(".html"):
                full = Path(folder) / name
                rel = full.relative_to(site).as_posix()
                yield parse(rel, full.read_text(encoding="utf-8", errors="replace"))


def resolve(site: Path, page: str, href: str, base_url: str) -> str | None:
    """The site-relative path an internal link points to, or None for an external link (another
    host, mailto:, javascript:, a bare #fragment)."""
    href = href.strip()
    if not href or href.startswith("#"):
        return None
    parts = urlsplit(href)
    base = urlsplit(base_url)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return None
    if parts.netloc and (parts.scheme, parts.netloc) != (base.scheme, base.netloc) and \
            parts.netloc != base.netloc:
        return None
    path = unquote(parts.path)
    if parts.netloc or path.startswith("/"):
        prefix = base.path.rstrip("/")
        if prefix and path.startswith(prefix):
            path = path[len(prefix):]
        target = path.lstrip("/")
    else:
        target = os.path.normpath(os.path.join(os.path.dirname(page), path)).replace(os.sep, "/")
        if target == ".":
            target = ""
    if target.startswith("../"):
        return target  # above the site root: broken
    if not target or target.endswith("/") or path.endswith("/"):
        target = target.rstrip("/") + "/index.html" if target.strip("/") else "index.html"
    return target


def exists(site: Path, target: str) -> bool:
    if target.startswith("../"):
        return False
    full = site / target
    return full.is_file() or (full.is_dir() and (full / "index.html").is_file())

