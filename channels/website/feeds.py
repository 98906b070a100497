"""RSS 2.0 and Atom 1.0 feeds of a scope (the site, a column, the gazette) with feedgen.

Byte-stable between builds: the feed's ``updated``/``lastBuildDate`` come from the content (the
newest entry, or the newest retraction in the scope), never from the clock. Entry ids are the
item page URLs. Gotchas (protocols.md §6): RSS takes its channel ``<link>`` from the last
``link()`` call, so ``alternate`` goes last; feedgen emits ``rel="hub"`` only in Atom, so RSS gets
it through a small extension; every datetime is timezone-aware.
"""
from __future__ import annotations

from html import escape
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

import nh3
from feedgen.ext.base import BaseEntryExtension, BaseExtension
from feedgen.feed import FeedGenerator
from feedgen.util import xml_elem

from content.kinds import ItemState
from content.markup import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from content.views import ItemView

ATOM_NS = "http://www.w3.org/2005/Atom"
#: The stamp of an empty feed with no retraction either: any constant keeps the bytes stable.
EPOCH = datetime(2000, 1, 1, tzinfo=timezone.utc)
GENERATOR = "Gongkai"


@dataclass(frozen=True)
class FeedSpec:
    title: str
    description: str
    page_url: str   # the scope's HTML page (alternate link, Atom feed id)
    rss_url: str
    atom_url: str
    owner: str      # feed-level author
    hub: str = ""   # WebSub hub, advertised when set


@dataclass(frozen=True)
class FeedBytes:
    rss: bytes
    atom: bytes


def published(view: ItemView) -> datetime:
    """First publication: what readers saw as the entry's date."""
    return view.first_published_at or view.published_at or EPOCH


def updated(view: ItemView) -> datetime:
    """The correction time for corrected items, else the publication time."""
    if view.state == ItemState.CORRECTED and view.published_at:
        return view.published_at
    return published(view)


def stamp(views: Sequence[ItemView], retracted_at: datetime | None) -> datetime:
    times = [updated(v) for v in views]
    if retracted_at is not None:
        times.append(retracted_at)
    return max(times, default=EPOCH)


def sanitise(html: str) -> str:
    attributes = {**ALLOWED_ATTRIBUTES, "a": ALLOWED_ATTRIBUTES["a"] | {"download"}}
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=attributes,
                     url_schemes={"http", "https", "mailto", "tel"}, link_rel="noopener noreferrer")


def build(spec: FeedSpec, views: Sequence[ItemView], *, item_url: Callable[[ItemView], str],
          entry_html: Callable[[ItemView], str], retracted_at: datetime | None = None) -> FeedBytes:
    """Both feeds for ``views`` (newest first, live items only)."""
    fg = FeedGenerator()
    fg.load_extension("dc", atom=False, rss=True)  # dc:creator: RSS <author> needs an e-mail
    if spec.hub:
        fg.register_extension("websub", _hub_extension(spec.hub), _NoEntryExtension,
                              atom=False, rss=True)
    fg.id(spec.page_url)
    fg.title(spec.title)
    fg.description(spec.description)
    fg.subtitle(spec.description)
    fg.author({"name": spec.owner})
    fg.language("zh-CN")
    fg.generator(GENERATOR)
    fg.updated(stamp(views, retracted_at))
    for view in views:
        _entry(fg, view, item_url(view), entry_html(view))

    fg.link(href=spec.atom_url, rel="self", type="application/atom+xml")
    if spec.hub:
        fg.link(href=spec.hub, rel="hub")
    fg.link(href=spec.page_url, rel="alternate", type="text/html")
    atom = fg.atom_str(pretty=True)

    fg.link(href=spec.rss_url, rel="self", type="application/rss+xml", replace=True)
    fg.link(href=spec.page_url, rel="alternate", type="text/html")  # last: RSS <link>
    rss = fg.rss_str(pretty=True)
    return FeedBytes(rss=rss, atom=atom)


def _entry(fg: FeedGenerator, view: ItemView, url: str, html: str) -> None:
    fe = fg.add_entry(order="append")
    fe.guid(url, permalink=True)  # also the Atom <id>
    fe.title(view.title)
    fe.link(href=url, rel="alternate", type="text/html")
    fe.published(published(view))
    fe.updated(updated(view))
    author = view.issuer or view.department
    if author:
        fe.author({"name": author})
        fe.dc.dc_creator(author)
    for term in dict.fromkeys(t for t in (view.column, view.kind_label) if t):
        fe.category(term=term, label=term)
    for first in view.follows:  # a follow-up says which item it follows (that page has the timeline)
        html = f'<p>本条为后续信息：<a href="{url.rsplit("/", 1)[0]}/{first}.html">查看前序信息及时间线</a></p>' + html
    if view.follows:
        fe.category(term="后续信息", label="后续信息")
    fe.content(sanitise(html), type="html")
    text = view.excerpt or view.title
    # also the RSS <description>, which readers take as HTML: the plain text goes in escaped
    fe.summary(escape(text, quote=False), type="html")


class _NoEntryExtension(BaseEntryExtension):
    pass


def _hub_extension(hub: str) -> type[BaseExtension]:
    class HubLink(BaseExtension):
        """Adds ``<atom:link rel="hub">`` to the RSS channel (feedgen writes it only in Atom)."""

        def extend_rss(self, rss_feed):  # noqa: ANN001, ANN201 - feedgen's signature
            channel = rss_feed[0]
            xml_elem(f"{{{ATOM_NS}}}link", channel, href=hub, rel="hub")
            return rss_feed

    return HubLink
