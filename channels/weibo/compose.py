"""The text of each microblog: rendered from ``content/templates/weibo/<kind>.j2``, cleaned of
``#话题#`` markers, and fitted to Weibo's limit by shortening the summary (then, only if that is
not enough, the title) — never by cutting a link."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from channels.base import LengthCheck, Purpose, Rendition
from channels.weibo.length import LIMIT, links, strip_topics, weibo_length
from content.render import Renderer
from content.views import FileView, ItemView

ELLIPSIS = "…"
SOFT_BREAKS = "，；、：,;:"
HARD_BREAKS = "。！？!?"
MIN_TITLE = 8  # a title is never shortened below this many characters
SUMMARY_SOURCE_MAX = 400  # characters of the body used when an item has no summary
RULE_NOTE = "汉字计 1 字，半角字符计 0.5 字，每个链接计 10 字"


@dataclass(frozen=True)
class Post:
    """One microblog as it will be sent."""

    item_id: int
    label: str
    text: str
    length: int
    limit: int
    pic: FileView | None
    notes: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()  # why it cannot be sent as it is
    shortened: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    def rendition(self, domain: str) -> Rendition:
        checks = [LengthCheck("微博字数", self.limit, self.length, "字", note=RULE_NOTE)]
        if any("安全域名" in p for p in self.problems):
            checks.append(LengthCheck("缺少安全域名链接", 0, 1, "处", note=f"安全域名 {domain or '未设置'}"))
        pic = f"配图：{self.pic.filename}" if self.pic else "无配图"
        return Rendition(self.label, self.text, tuple(checks), (*self.notes, pic, *self.problems))


def on_domain(url: str, domain: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return bool(domain) and (host == domain or host.endswith("." + domain))


class Composer:
    def __init__(self, renderer: Renderer, site_url: str, domain: str, limit: int = LIMIT) -> None:
        self.renderer = renderer
        self.site_url = site_url.rstrip("/")
        self.domain = domain
        self.limit = limit

    def page_url(self, item_id: int) -> str:
        return f"{self.site_url}/items/{item_id}.html"

    def posts(self, items: tuple[ItemView, ...], purpose: Purpose) -> list[Post]:
        """A bundle's posts in sending order: the policy first, then each interpretation (the
        release stores its items policy first; the order is enforced here as well)."""
        ordered = sorted(items, key=lambda v: (v.kind == "interpretation", ))
        return [self.post(view, purpose) for view in ordered]

    def post(self, view: ItemView, purpose: Purpose = Purpose.PUBLISH) -> Post:
        template = "correct" if purpose is Purpose.CORRECT else view.kind
        policy_url = self.page_url(view.interprets[0]) if view.interprets else ""
        if purpose is Purpose.CORRECT:
            summary = view.correction_note or "对原文内容进行了更正"
        else:
            summary = view.summary or view.plain_body[:SUMMARY_SOURCE_MAX]
        summary = re.sub(r"\s+", " ", summary).strip()

        def render(title: str, summary: str) -> str:
            raw = self.renderer.item("weibo", template, "j2", item=view, title=title, summary=summary,
                                     url=self.page_url(view.id), policy_url=policy_url,
                                     purpose=purpose.value)
            text = re.sub(r"[ \t]+\n", "\n", raw.strip())
            return re.sub(r"\n{3,}", "\n\n", text)

        text, notes, shortened = self._fit(render, view.title, summary)
        text, topics = strip_topics(text)
        if topics:
            notes.append("已去掉话题标记：" + "、".join(f"#{t}#" for t in topics) + "（分享接口不允许话题）")
        length = weibo_length(text)
        problems = []
        if length > self.limit:
            problems.append(f"微博正文 {length} 字，超过 {self.limit} 字上限（摘要、标题已缩到最短仍超出；"
                            "请缩短标题或模板中的固定文字）")
        if not any(on_domain(u, self.domain) for u in links(text)):
            problems.append(f"正文中没有安全域名 {self.domain or '（未设置）'} 下的链接，微博会拒绝发送"
                            "（修正：设 [channels.weibo] safe_domain 为网站域名，或让 web.base_url 使用该域名）")
        kind = "更正" if purpose is Purpose.CORRECT else view.kind_label
        return Post(view.id, f"{kind}：{view.title}", text, length, self.limit, view.cover,
                    tuple(notes), tuple(problems), shortened)

    # ------------------------------------------------------------------------------- fitting
    def _measure(self, text: str) -> int:
        return weibo_length(strip_topics(text)[0])

    def _fit(self, render: Callable[[str, str], str], title: str,
             summary: str) -> tuple[str, list[str], bool]:
        text = render(title, summary)
        if self._measure(text) <= self.limit:
            return text, [], False
        notes: list[str] = []
        if summary:
            keep = self._longest(lambda k: render(title, _cut(summary, k)), len(summary))
            if keep is not None:
                cut = _cut(summary, _nice_break(summary, keep))
                if self._measure(render(title, cut)) > self.limit:
                    cut = _cut(summary, keep)
                notes.append(f"摘要已缩短：保留 {len(cut.rstrip(ELLIPSIS))}/{len(summary)} 字")
                return render(title, cut), notes, True
            notes.append("摘要已全部删去")
        keep = self._longest(lambda k: render(_cut(title, k), ""), len(title), floor=MIN_TITLE)
        if keep is None:
            return render(_cut(title, min(MIN_TITLE, len(title))), ""), notes, True
        notes.append(f"标题已缩短：保留 {keep}/{len(title)} 字")
        return render(_cut(title, keep), ""), notes, True

    def _longest(self, make: Callable[[int], str], size: int, floor: int = 0) -> int | None:
        """The largest k in [floor, size) whose text fits, or None. Length grows with k, so a
        binary search finds it in a few renders."""
        lo, hi, best = floor, size - 1, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if self._measure(make(mid)) <= self.limit:
                best, lo = mid, mid + 1
            else:
                hi = mid - 1
        return best


def _cut(text: str, keep: int) -> str:
    """The first ``keep`` characters and an ellipsis ("" when nothing is kept)."""
    if keep >= len(text):
        return text
    head = text[:keep].rstrip(" " + SOFT_BREAKS)
    if not head or head[-1] in HARD_BREAKS:  # nothing left, or a whole sentence
        return head
    return head + ELLIPSIS


def _nice_break(text: str, keep: int, reach: int = 12) -> int:
    """Prefer to cut just after a punctuation mark a little before ``keep``."""
    for k in range(keep, max(keep - reach, 0), -1):
        if text[k - 1] in SOFT_BREAKS + HARD_BREAKS:
            return k
    return keep
