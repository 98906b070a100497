"""The website channel: a release (publish, correction or retraction) rebuilds the pages and
feeds it touches. Rebuilding is idempotent, so reconciling an unknown outcome is rebuilding again."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

from channels.base import Capabilities, ChannelContext, Job, Outcome, Purpose, Rendition, Result
from channels.registry import register
from channels.website.builder import BuildStats, SiteBuilder
from channels.website.search_index import PagefindIndexer
from content.files import FileStore
from content.views import ItemView

log = logging.getLogger("gongkai.website")

DONE = {Purpose.PUBLISH: "已发布到网站", Purpose.CORRECT: "网站已更新为更正后的版本",
        Purpose.RETRACT: "网站已撤下并显示撤回说明"}


@register("website")
class WebsiteChannel:
    name: ClassVar[str]
    label: ClassVar[str] = "网站"
    capabilities: ClassVar[Capabilities] = Capabilities(
        idempotent=True, bundle_atomic=True, retract=True, correct=True)

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx
        settings = ctx.settings
        data_dir = Path(ctx.data_dir).expanduser()
        self.site_dir = Path(settings.site_dir).expanduser() if settings.site_dir else data_dir / "site"
        self.files_dir = data_dir / "files"
        # Building the builder does no I/O, so previews (render) work before open().
        self.builder = SiteBuilder(ctx.store, ctx.renderer, self.site_dir, FileStore(self.files_dir),
                                   ctx.site_url, settings, clock=ctx.clock)
        self.indexer = PagefindIndexer(self.site_dir, settings.search_index_delay) \
            if settings.search_index else None
        self._pending: set[int] = set()
        self._waiters: list[asyncio.Future[BuildStats]] = []
        self._drainer: asyncio.Task | None = None

    async def open(self) -> None:
        """Make sure the site directory exists. The whole site is not built here: the bot calls
        :meth:`rebuild_all` at start when :meth:`needs_full_build` says so."""
        self.site_dir.mkdir(parents=True, exist_ok=True)
        if self.indexer is not None and not self.builder.is_empty() \
                and not (self.site_dir / "pagefind").exists():
            self.indexer.request()  # a site built before the search index existed

    async def close(self) -> None:
        """Drop a pending search-index run; every rebuild opens and closes its own session and
        files."""
        if self.indexer is not None:
            await self.indexer.close()

    def needs_full_build(self) -> bool:
        """True when the site directory has no home page yet (first start, or wiped)."""
        return self.builder.is_empty()

    async def rebuild_all(self) -> BuildStats:
        stats = await self.builder.rebuild_all()
        log.info("网站全量生成：写入 %d 个文件，%d 个未变，用时 %.1f 秒",
                 stats.written, stats.unchanged, stats.seconds)
        if self.indexer is not None:
            result = await self.indexer.index()
            log.info("站内搜索索引%s%s", result.outcome.label,
                     f"：{result.detail}" if result.detail else "")
        return stats

    def render(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[Rendition]:
        builder = self.builder
        return [Rendition(label=view.title,
                          text=builder.render_item(view, builder.preview_related(view, items)))
                for view in items]

    async def deliver(self, job: Job) -> Result:
        ids = [view.id for view in job.items]
        try:
            stats = await self._rebuild(ids)
        except OSError as exc:  # disk full, permissions, a vanished file; also a lost connection
            where = exc.filename or self.site_dir
            return Result(Outcome.RETRY,
                          f"生成网站文件失败（{where}）：{exc.strerror or exc}；"
                          f"请检查网站目录 {self.site_dir} 的磁盘空间和写入权限，系统将自动重试")
        urls = [self.builder.item_url(i) for i in ids]
        detail = (f"{DONE.get(job.purpose, '网站已更新')}：更新 {stats.written} 个文件"
                  f"（{stats.seconds * 1000:.0f} 毫秒）")
        return Result(Outcome.SENT, detail, receipt={"urls": urls})

    async def _rebuild(self, ids: list[int]) -> BuildStats:
        """Group rebuilds: deliveries that arrive while a rebuild runs share the next one, so a
        burst of releases costs a few rebuilds instead of one each."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[BuildStats] = loop.create_future()
        self._pending.update(ids)
        self._waiters.append(waiter)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain())
        return await waiter

    async def _drain(self) -> None:
        while self._waiters:
            ids, waiters = sorted(self._pending), self._waiters
            self._pending, self._waiters = set(), []
            try:
                stats = await self.builder.rebuild_for(ids)
            except Exception as exc:  # noqa: BLE001 - every waiter gets the same error
                for w in waiters:
                    if not w.done():
                        w.set_exception(exc)
            else:
                if self.indexer is not None and stats.written:
                    self.indexer.request()  # in the background, after a quiet period
                for w in waiters:
                    if not w.done():
                        w.set_result(stats)

    async def reconcile(self, job: Job) -> Result:
        return await self.deliver(job)
