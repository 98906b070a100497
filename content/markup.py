"""Markdown → sanitised HTML."""
from __future__ import annotations

import re

import markdown as md
import nh3

ALLOWED_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "div",
    "dl", "dt", "em", "figcaption", "figure", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins",
    "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align", "scope"},
    "abbr": {"title"},
}
EXTENSIONS = ["tables", "sane_lists", "fenced_code", "attr_list"]

_HEADING = re.compile(r"<(/?)h1([ >])")


def to_html(text: str) -> str:
    """Render Markdown and keep only safe tags. Level-1 headings become level 2, because the
    page template owns the one ``<h1>`` (the item title) and headings must stay in order."""
    html = md.markdown(text, extensions=EXTENSIONS, output_format="html")
    html = _HEADING.sub(r"<\1h2\2", html)
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel="noopener noreferrer",
    )


def plain_text(html: str) -> str:
    """The visible text of sanitised HTML, whitespace collapsed."""
    text = nh3.clean(html, tags=set())
    text = (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&#39;", "'").replace("&amp;", "&"))
    return re.sub(r"\s+", " ", text).strip()
