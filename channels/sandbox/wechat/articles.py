"""Emulated drafts (``draft/*``) and free publishing (``freepublish/*``): article limits,
WeChat's content filter, permanent-material covers, asynchronous publish jobs."""
from __future__ import annotations

import re
import secrets
from typing import TYPE_CHECKING, Any

from aiohttp import web

from channels.sandbox.wechat.htmlfilter import filter_article_html
from channels.sandbox.wechat.wire import UNICODE_ESCAPE, Failure, ok, read_json

if TYPE_CHECKING:
    from channels.sandbox.wechat.app import WechatEmulator
    from channels.sandbox.wechat.config import EmulatorConfig
    from channels.sandbox.wechat.state import State


class ArticleApi:
    """Mixed into :class:`channels.sandbox.wechat.api.Api` (which provides state and config)."""

    emu: WechatEmulator
    state: State
    config: EmulatorConfig

    # ------------------------------------------------------------------ drafts
    async def draft_add(self, request: web.Request) -> dict[str, Any]:
        raw = await request.read()
        if UNICODE_ESCAPE.search(raw):
            # The docs warn that \\uXXXX escapes arrive garbled: refuse them outright here.
            raise Failure(47001)
        data = await read_json(request)
        articles = data.get("articles")
        if not isinstance(articles, list) or not articles:
            raise Failure(47001)
        if len(articles) > 8:
            raise Failure(45008)
        stored = [self._article(a, single=len(articles) == 1) for a in articles]
        media_id = secrets.token_urlsafe(48)[:64]
        self.state.commit({"t": "draft", "media_id": media_id, "articles": stored, "at": self.emu.ts()})
        return {"media_id": media_id}

    def _article(self, a: Any, single: bool) -> dict[str, Any]:
        if not isinstance(a, dict) or not isinstance(a.get("title"), str) or not a["title"].strip():
            raise Failure(47001)
        title, content = a["title"], a.get("content")
        author, digest = a.get("author") or "", a.get("digest") or ""
        source = a.get("content_source_url") or ""
        if len(title) > 32:
            raise Failure(45003)
        if len(author) > 16:
            raise Failure(45110)
        if len(digest) > 128:
            raise Failure(45004)
        if not isinstance(content, str) or not content.strip():
            raise Failure(47001)
        if len(content) >= 20000 or len(content.encode("utf-8")) >= 1024 * 1024:
            raise Failure(45002)
        if len(source.encode("utf-8")) > 1024:
            raise Failure(47001)
        thumb = self.state.media.get(a.get("thumb_media_id") or "")
        if (a.get("article_type") or "news") == "news" and (
                thumb is None or thumb.get("temporary") or thumb["type"] not in ("image", "thumb")):
            raise Failure(40007)
        filtered, removed, images = filter_article_html(
            content, f"{self.config.public_url}/mmbiz/",
            ("https://mp.weixin.qq.com/", "http://mp.weixin.qq.com/", f"{self.config.public_url}/s/"))
        if single and not digest:
            text = re.sub(r"<[^>]+>", "", filtered)
            digest = re.sub(r"\s+", " ", text).strip()[:54]
        return {"title": title, "author": author, "digest": digest, "content": filtered,
                "content_source_url": source, "thumb_media_id": a.get("thumb_media_id") or "",
                "thumb_url": thumb["url"] if thumb else "",
                "need_open_comment": int(a.get("need_open_comment") or 0),
                "only_fans_can_comment": int(a.get("only_fans_can_comment") or 0),
                "removed": removed, "images": images, "sent_length": len(content)}

    @staticmethod
    def _news_item(article: dict[str, Any], url: str = "", deleted: bool = False) -> dict[str, Any]:
        keys = ("title", "author", "digest", "content", "content_source_url", "thumb_media_id",
                "thumb_url", "need_open_comment", "only_fans_can_comment")
        return {**{k: article[k] for k in keys}, "show_cover_pic": 0, "url": url, "is_deleted": deleted}

    async def draft_get(self, request: web.Request) -> dict[str, Any]:
        draft = self.state.drafts.get(str((await read_json(request)).get("media_id", "")))
        if draft is None:
            raise Failure(40007)
        return {"news_item": [self._news_item(a) for a in draft["articles"]]}

    async def draft_delete(self, request: web.Request) -> dict[str, Any]:
        media_id = str((await read_json(request)).get("media_id", ""))
        if media_id not in self.state.drafts:
            raise Failure(40007)
        self.state.commit({"t": "draft_delete", "media_id": media_id})
        return ok()

    async def draft_count(self, request: web.Request) -> dict[str, Any]:
        return {"total_count": len(self.state.drafts)}

    async def draft_batchget(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        offset, count = int(data.get("offset", 0)), int(data.get("count", 20))
        if not 1 <= count <= 20:
            raise Failure(47001)
        drafts = sorted(self.state.drafts.items(), key=lambda kv: -kv[1]["at"])
        page = drafts[offset:offset + count]
        no_content = bool(data.get("no_content"))
        items = [{"media_id": mid, "update_time": int(d["at"]), "content": {"news_item": [
            {k: v for k, v in self._news_item(a).items() if not (no_content and k == "content")}
            for a in d["articles"]]}} for mid, d in page]
        return {"total_count": len(drafts), "item_count": len(items), "item": items}

    # ------------------------------------------------------------------ free publish
    async def publish_submit(self, request: web.Request) -> dict[str, Any]:
        media_id = str((await read_json(request)).get("media_id", ""))
        draft = self.state.drafts.get(media_id)
        if draft is None:
            raise Failure(40007)
        if any(p.media_id == media_id and p.status == 1 for p in self.state.publications.values()):
            raise Failure(53503)
        publish_id = str(self.state.next_id("publish", 2247483647))
        msg_data_id = self.state.next_id("msg_data", 2247483647)
        self.state.commit({"t": "publish", "publish_id": publish_id, "media_id": media_id,
                           "articles": draft["articles"], "msg_data_id": msg_data_id, "at": self.emu.ts()})
        self.emu.schedule_completion(publish_id)
        return ok(publish_id=publish_id, msg_data_id=msg_data_id)

    def _publication(self, publish_id: Any) -> Any:
        pub = self.state.publications.get(str(publish_id))
        if pub is None or pub.kind != "publish":
            raise Failure(53600)
        return pub

    async def publish_get(self, request: web.Request) -> dict[str, Any]:
        pub = self._publication((await read_json(request)).get("publish_id", ""))
        body: dict[str, Any] = {"publish_id": pub.key, "publish_status": pub.status}
        if pub.status in (0, 5, 6):
            urls = [pub.url(self.config.public_url, i) for i in range(1, len(pub.articles) + 1)]
            body["article_id"] = pub.article_id
            body["article_detail"] = {"count": len(urls), "item": [
                {"idx": i, "article_url": u} for i, u in enumerate(urls, 1)]}
            body["fail_idx"] = []
        elif pub.status in (2, 3, 4):
            body["fail_idx"] = pub.fail_idx
        return body

    def _by_article(self, article_id: Any) -> Any:
        key = self.state.by_article.get(str(article_id or ""))
        if key is None:
            raise Failure(53600)
        return self.state.publications[key]

    async def publish_delete(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        pub = self._by_article(data.get("article_id"))
        index = int(data.get("index") or 0)
        if pub.kind != "publish" or not 0 <= index <= len(pub.articles):
            raise Failure(53600)
        self.state.commit({"t": "publish_delete", "article_id": pub.article_id, "index": index,
                           "at": self.emu.ts()})
        return ok()

    async def publish_getarticle(self, request: web.Request) -> dict[str, Any]:
        pub = self._by_article((await read_json(request)).get("article_id"))
        return {"news_item": [self._news_item(a, pub.url(self.config.public_url, i), i in pub.deleted)
                              for i, a in enumerate(pub.articles, 1)]}

    async def publish_batchget(self, request: web.Request) -> dict[str, Any]:
        data = await read_json(request)
        offset, count = int(data.get("offset", 0)), int(data.get("count", 20))
        if not 1 <= count <= 20:
            raise Failure(47001)
        done = sorted((p for p in self.state.publications.values()
                       if p.kind == "publish" and p.status == 0), key=lambda p: -(p.done_at or p.at))
        no_content = bool(data.get("no_content"))
        items = []
        for p in done[offset:offset + count]:
            news = [{k: v for k, v in self._news_item(a, p.url(self.config.public_url, i),
                                                      i in p.deleted).items()
                     if not (no_content and k == "content")} for i, a in enumerate(p.articles, 1)]
            items.append({"article_id": p.article_id, "update_time": int(p.done_at or p.at),
                          "content": {"news_item": news, "create_time": int(p.at),
                                      "update_time": int(p.done_at or p.at)}})
        return {"total_count": len(done), "item_count": len(items), "item": items}
