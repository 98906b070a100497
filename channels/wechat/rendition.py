"""What one item becomes as a WeChat article: title, author, digest, HTML content, the
"阅读原文" link and the cover — with the platform's limits checked. Pure: no network, so
``post preview`` shows exactly what will be sent (before images are uploaded).

The title rule (shown by ``post preview``): a title of more than 32 characters is shortened by

1. removing a leading "关于" together with a trailing document-type word ("的通知", "的意见", …),
2. and, if it is still too long, keeping the first 31 characters and adding "…".

The full title then opens the article's content, so nothing is lost. The digest is the item's
summary (or the start of its text), at most 128 characters. The content comes from the
``wechat/<kind>.html`` template; scripts and tags WeChat does not support are removed, links
that leave WeChat are turned into plain text (readers use "阅读原文"), images from the item are
kept to be uploaded through ``media/uploadimg`` and images from elsewhere are dropped."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import unescape

import nh3

from channels.base import LengthCheck
from channels.wechat.config import WechatSettings
from content.render import Renderer
from content.views import ItemView

TITLE_LIMIT = 32
DIGEST_LIMIT = 128
AUTHOR_LIMIT = 16
CONTENT_LIMIT = 20000
TITLE_RULE = ("标题超过 32 字时：先去掉开头的“关于”及结尾的文种词（如“的通知”）；仍超过时保留前 31 字加“…”；"
              "完整标题放在正文开头")
GENRES = ("的实施意见", "的指导意见", "的通知", "的公告", "的通告", "的意见", "的决定", "的批复",
          "的办法", "的方案", "的规定", "的报告", "的函", "的通报")
TAGS = {"a", "b", "blockquote", "br", "code", "em", "figcaption", "figure", "h2", "h3", "h4",
        "h5", "hr", "i", "img", "li", "ol", "p", "pre", "section", "span", "strong", "sub", "sup",
        "table", "tbody", "td", "th", "thead", "tr", "u", "ul"}
ATTRIBUTES = {"*": {"style"}, "a": {"href"}, "img": {"src", "alt"},
              "td": {"colspan", "rowspan"}, "th": {"colspan", "rowspan"}}
LINK = re.compile(r"<a\b([^>]*)>(.*?)</a>", re.DOTALL)
IMG = re.compile(r"<img\b[^>]*>")
SRC = re.compile(r'\bsrc="([^"]*)"')
HREF = re.compile(r'\bhref="([^"]*)"')
LOCAL_FILE = "/files/"


def shorten_title(title: str) -> tuple[str, str]:
    """The title as sent, and how it was shortened ("" when it fits)."""
    title = re.sub(r"\s+", " ", title).strip()
    if len(title) <= TITLE_LIMIT:
        return title, ""
    short, removed = title, ""
    if short.startswith("关于"):
        for genre in GENRES:
            if short.endswith(genre):
                short, removed = short[2:-len(genre)], genre
                break
    if len(short) <= TITLE_LIMIT:
        return short, f"原标题 {len(title)} 字，已去掉开头的“关于”和结尾的“{removed}”"
    return short[:TITLE_LIMIT - 1] + "…", f"原标题 {len(title)} 字，已截为前 31 字加“…”"


def make_digest(item: ItemView) -> str:
    text = re.sub(r"\s+", " ", item.summary or item.plain_body).strip()
    return text if len(text) <= DIGEST_LIMIT else text[:DIGEST_LIMIT - 1] + "…"


@dataclass(frozen=True)
class Correction:
    note: str
    original_url: str  # the article being corrected, "" if it was never on WeChat
    original_title: str


@dataclass(frozen=True)
class Article:
    item_id: int
    title: str
    full_title: str
    author: str
    digest: str
    html: str  # cleaned; item images still as /files/<name> until uploaded
    source_url: str
    cover: str | None  # a file name in the file store, or None for the configured default
    images: tuple[str, ...]  # file names referenced by the content
    notes: tuple[str, ...] = ()
    checks: tuple[LengthCheck, ...] = field(default=())

    def with_images(self, urls: dict[str, str]) -> str:
        """The content with each item image pointing at its uploadimg URL."""
        def swap(match: re.Match[str]) -> str:
            tag = match.group(0)
            src = SRC.search(tag)
            if src is None or not src.group(1).startswith(LOCAL_FILE):
                return tag
            name = src.group(1)[len(LOCAL_FILE):]
            return tag.replace(src.group(0), f'src="{urls[name]}"') if name in urls else tag

        return IMG.sub(swap, self.html)


def clean(html: str, keep_links: frozenset[str] = frozenset()) -> tuple[str, tuple[str, ...], list[str]]:
    """Sanitise for WeChat: (html, notes for staff, local image file names)."""
    notes: list[str] = []
    html = nh3.clean(html, tags=TAGS, attributes=ATTRIBUTES, url_schemes={"http", "https"},
                     link_rel=None, strip_comments=True)
    dropped_links = 0

    def link(match: re.Match[str]) -> str:
        nonlocal dropped_links
        href = HREF.search(match.group(1))
        if href and unescape(href.group(1)) in keep_links:
            return match.group(0)
        dropped_links += 1
        return match.group(2)

    html = LINK.sub(link, html)
    if dropped_links:
        notes.append(f"正文中的 {dropped_links} 个外部链接已改为文字（微信文章不支持外链，读者可点“阅读原文”）")
    images: list[str] = []
    dropped_images = 0

    def image(match: re.Match[str]) -> str:
        nonlocal dropped_images
        src = SRC.search(match.group(0))
        if src and src.group(1).startswith(LOCAL_FILE) and "/" not in src.group(1)[len(LOCAL_FILE):]:
            images.append(src.group(1)[len(LOCAL_FILE):])
            return match.group(0)
        dropped_images += 1
        return ""

    html = IMG.sub(image, html)
    if dropped_images:
        notes.append(f"{dropped_images} 张外部图片已去掉（微信只显示通过 uploadimg 上传的图片）")
    return html, tuple(notes), list(dict.fromkeys(images))


def build(item: ItemView, renderer: Renderer, settings: WechatSettings, site_url: str,
          correction: Correction | None = None) -> Article:
    title, how = shorten_title(item.title)
    notes = [f"标题：{how}。{TITLE_RULE}"] if how else []
    author = (settings.author or item.department)[:AUTHOR_LIMIT]
    if not settings.author and len(item.department) > AUTHOR_LIMIT:
        notes.append(f"作者（发布部门）超过 {AUTHOR_LIMIT} 字，已截断")
    source_url = f"{site_url.rstrip('/')}/{item.path}"
    rendered = renderer.item("wechat", item.kind, "html", item=item, body=item.body_html,
                             show_full_title=bool(how), correction=correction, source_url=source_url,
                             published=renderer.local(item.published_at, "%Y-%m-%d") if item.published_at else "")
    keep = frozenset({correction.original_url}) if correction and correction.original_url else frozenset()
    html, cleaning_notes, images = clean(rendered, keep)
    notes += cleaning_notes
    cover = item.cover.name if item.cover else None
    default = "配置的默认封面" if settings.default_cover else "自动生成的默认封面"
    notes.append(f"封面：{'稿件图片 ' + item.cover.filename if item.cover else default}"
                 "（转为不超过 64 KB 的 JPEG 缩略图）")
    digest = make_digest(item)
    checks = (
        LengthCheck("标题", TITLE_LIMIT, len(title), note=f"原标题 {len(item.title)} 字" if how else ""),
        LengthCheck("作者", AUTHOR_LIMIT, len(author)),
        LengthCheck("摘要", DIGEST_LIMIT, len(digest)),
        LengthCheck("正文", CONTENT_LIMIT - 1, len(html), unit="字符",
                    note="图片上传后地址会变长" if images else ""),
    )
    return Article(item.id, title, item.title, author, digest, html, source_url, cover,
                   tuple(images), tuple(notes), checks)


def payload(article: Article, thumb_media_id: str, image_urls: dict[str, str], *,
            open_comment: bool, single: bool) -> dict:
    """One entry of draft/add's ``articles``."""
    return {
        "article_type": "news", "title": article.title, "author": article.author,
        "digest": article.digest if single else "", "content": article.with_images(image_urls),
        "content_source_url": article.source_url, "thumb_media_id": thumb_media_id,
        "need_open_comment": int(open_comment), "only_fans_can_comment": 0,
    }
