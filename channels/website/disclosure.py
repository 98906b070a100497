"""The standard 政府信息公开 pages (guide, system, statutory proactive content, annual report,
on-request disclosure): Markdown from the settings or the shipped default text."""
from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from channels.website.config import DisclosurePages
from content.markup import to_html

DIR = "xxgk/"
INDEX = DIR + "index.html"


@dataclass(frozen=True)
class Entry:
    key: str    # the field of DisclosurePages and the name of the default text
    slug: str   # the page's file name under xxgk/
    title: str

    @property
    def path(self) -> str:
        return f"{DIR}{self.slug}.html"


ENTRIES = (
    Entry("guide", "zhinan", "政府信息公开指南"),
    Entry("system", "zhidu", "政府信息公开制度"),
    Entry("proactive", "fdzdgknr", "法定主动公开内容"),
    Entry("annual_report", "nianbao", "政府信息公开年报"),
    Entry("on_request", "ysqgk", "依申请公开"),
)


@dataclass(frozen=True)
class Page:
    entry: Entry
    html: str


def markdown_of(entry: Entry, pages: DisclosurePages) -> str:
    value = getattr(pages, entry.key).strip()
    if not value:
        return (files("content") / "templates" / "website" / "disclosure" / f"{entry.key}.md") \
            .read_text(encoding="utf-8")
    if value.endswith(".md") and "\n" not in value:
        return Path(value).expanduser().read_text(encoding="utf-8")
    return value


def load(pages: DisclosurePages, owner: str) -> list[Page]:
    """Every page's sanitised HTML, ``{{owner}}`` replaced by the site owner."""
    return [Page(e, to_html(markdown_of(e, pages).replace("{{owner}}", owner))) for e in ENTRIES]
