"""What WeChat does to article HTML, as the emulator models it: scripts and unsupported tags are
removed, and images that were not uploaded through media/uploadimg are filtered out. The filter
counts what it removed, so tests can check that the adapter sent nothing WeChat would drop.

Its own allow-list, independent of the bot's sanitiser; the result is shown on the follower
page, so only allow-listed tags and attributes survive and every text and value is escaped."""
from __future__ import annotations

from collections import Counter
from html import escape
from html.parser import HTMLParser

ALLOWED = {
    "a", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h1", "h2", "h3", "h4",
    "h5", "h6", "hr", "i", "img", "li", "ol", "p", "pre", "section", "span", "strong", "sub",
    "sup", "table", "tbody", "td", "th", "thead", "tr", "u", "ul",
}
VOID = {"br", "hr", "img"}
DROP_WITH_CONTENT = {"script", "style", "iframe", "object", "embed", "noscript", "template",
                     "form", "textarea", "select", "svg", "math"}
ATTRIBUTES = {"*": {"style"}, "a": {"href"}, "img": {"src", "alt", "data-src"},
              "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}


class _Filter(HTMLParser):
    def __init__(self, image_prefix: str, link_prefixes: tuple[str, ...]) -> None:
        super().__init__(convert_charrefs=True)
        self.image_prefix = image_prefix
        self.link_prefixes = link_prefixes
        self.out: list[str] = []
        self.removed: Counter[str] = Counter()
        self.images: list[str] = []
        self._skip_depth = 0
        self._open: list[tuple[str, bool]] = []  # (tag, written to the output)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self._skip_depth:
            if tag in DROP_WITH_CONTENT:
                self._skip_depth += 1
            return
        if tag in DROP_WITH_CONTENT:
            self.removed[f"<{tag}>"] += 1
            self._skip_depth = 1
            return
        if tag not in ALLOWED:
            self.removed[f"<{tag}>"] += 1
            return
        kept = []
        allowed = ATTRIBUTES.get(tag, set()) | ATTRIBUTES["*"]
        for name, value in attrs:
            value = value or ""
            if name.startswith("on"):
                self.removed["事件属性"] += 1
                continue
            if name not in allowed:
                continue
            if name == "style" and any(bad in value.lower() for bad in ("url(", "expression", "javascript")):
                self.removed["样式中的外部资源"] += 1
                continue
            kept.append((name, value))
        if tag == "img":
            src = dict(kept).get("src", "")
            if not src.startswith(self.image_prefix):
                self.removed["非 uploadimg 图片"] += 1
                return
            self.images.append(src)
        if tag == "a":
            href = dict(kept).get("href", "")
            if not href.startswith(self.link_prefixes):
                self.removed["外部链接"] += 1
                self._open.append(("a", False))  # keep the text, drop the link
                return
        rendered = "".join(f' {n}="{escape(v, quote=True)}"' for n, v in kept)
        self.out.append(f"<{tag}{rendered}>")
        if tag not in VOID:
            self._open.append((tag, True))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self._open and self._open[-1][0] == tag:
            self.handle_endtag(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._skip_depth:
            if tag in DROP_WITH_CONTENT:
                self._skip_depth -= 1
            return
        if tag in VOID or tag not in ALLOWED:
            return
        if any(name == tag for name, _ in self._open):
            while self._open:
                name, written = self._open.pop()
                if written:
                    self.out.append(f"</{name}>")
                if name == tag:
                    break

    def handle_data(self, data: str) -> None:
        if not self._skip_depth:
            self.out.append(escape(data, quote=False))

    def handle_comment(self, data: str) -> None:
        return

    def close(self) -> None:
        super().close()
        while self._open:
            name, written = self._open.pop()
            if written:
                self.out.append(f"</{name}>")


def filter_article_html(html: str, image_prefix: str,
                        link_prefixes: tuple[str, ...] = ("https://mp.weixin.qq.com/",
                                                          "http://mp.weixin.qq.com/"),
                        ) -> tuple[str, dict[str, int], list[str]]:
    """The HTML as WeChat would keep it, what was removed (by kind), and the images kept."""
    parser = _Filter(image_prefix, link_prefixes)
    parser.feed(html)
    parser.close()
    return "".join(parser.out), dict(parser.removed), parser.images
