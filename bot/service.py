"""Wiring: settings → store, calendar, renderer, review rules, channels, ticker, runner, web."""
from __future__ import annotations

import asyncio
import importlib
import logging
import os
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from bot.errors import StoreUnavailable
from bot.settings import Settings
from channels import catalogue
from channels.base import Channel, ChannelContext, Reach
from channels.registry import REGISTRY
from content.checks import CheckRules
from content.clock import Clock, SystemClock
from content.db import (Store, check_reachable, secure_sqlite, short_error, sqlite_path, stored_heads,
                        upgrade_if_needed)
from content.errors import InputError
from content.files import FileStore
from content.models import ReleaseItem
from content.private import private_dir, private_tree
from content.review_chain import Chains
from content.render import Renderer
from schedules.calendar import WorkdayCalendar

if TYPE_CHECKING:
    from bot.runner import Runner
    from bot.webhook_sender import WebhookSender
    from schedules import releases
    from schedules.ticker import Ticker, TickerHealth

log = logging.getLogger("gongkai")
SHIPPED_DATA = Path(__file__).resolve().parent.parent / "content" / "data"
SOON = timedelta(minutes=10)  # a release due within this needs a running scheduler now




def sandbox_token(data_dir: Path) -> str:
    """The secret the sandbox emulators' admin endpoints (fault injection, state, drills)
    require: made once per data directory, kept in ``<data_dir>/sandbox/admin-token`` (0600)."""
    path = data_dir / "sandbox" / "admin-token"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"admin-token.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_urlsafe(24))
    try:
        os.link(tmp, path)  # atomic, and never replaces a token another process made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return path.read_text().strip()


def no_store(settings: Settings, where: str) -> str:
    """Why a command other than run and db upgrade will not make a store, and what to do."""
    return (f"没有找到内容库：{where}（配置来自 {settings.source or '内置默认配置'}）"
            "（修正：在含 config.toml 的文件夹中运行，或加 --config 配置文件，或设置环境变量 "
            "GONGKAI_CONFIG；要在这里新建内容库，请先运行 gongkai db upgrade 或 gongkai run）")


@dataclass
class Service:
    settings: Settings
    store: Store
    clock: Clock
    renderer: Renderer
    calendar: WorkdayCalendar
    files: FileStore
    rules: CheckRules
    _channels: dict[str, Channel] | None = None
    _built: dict[str, Channel] = field(default_factory=dict)
    runner: Runner | None = None
    ticker: Ticker | None = None
    webhooks: WebhookSender | None = None
    _tasks: list[asyncio.Task] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _opened: bool = False

    @classmethod
    async def create(cls, settings: Settings, *, clock: Clock | None = None,
                     migrate: bool = True, create: bool = True) -> Service:
        """Everything the commands need, with the store reachable and migrated. With ``create``
        false, a store that does not exist yet (no SQLite file, or a database without the
        schema) is refused rather than made. Raises :class:`StoreUnavailable` or
        :class:`InputError` with a message naming the fix."""
        sqlite = sqlite_path(settings.database_url)
        if not create and sqlite is not None and not sqlite.exists():
            raise StoreUnavailable(no_store(settings, str(sqlite)))
        private_dir(settings.data_path)
        private_dir(settings.data_path / "sandbox")
        private_tree(settings.data_path / "sandbox")
        if sqlite is not None:
            secure_sqlite(sqlite)
        store = Store.open(settings.database_url)
        try:
            await check_reachable(store)
        except Exception as exc:  # noqa: BLE001
            await store.close()
            raise StoreUnavailable(
                f"bot.database_url: 无法连接数据库（{short_error(exc)}）"
                "（修正：检查数据库是否运行、地址与权限，或删去该项使用内置 SQLite）") from exc
        if not create and not await stored_heads(store):
            await store.close()
            raise StoreUnavailable(no_store(settings, str(sqlite) if sqlite else
                                            settings.database_url.rsplit("@", 1)[-1]))
        if migrate:
            await upgrade_if_needed(store)
        calendar = WorkdayCalendar.load(Path(settings.calendar.data_file)
                                        if settings.calendar.data_file else None)
        review = settings.review
        rules = CheckRules.from_files(
            Path(review.negative_list) if review.negative_list else SHIPPED_DATA / "negative_list.txt",
            tuple(review.sensitive_words),
            Path(review.sensitive_words_file) if review.sensitive_words_file
            else SHIPPED_DATA / "sensitive_words.txt")
        renderer = Renderer(settings.tz, Path(settings.templates.dir) if settings.templates.dir else None)
        service = cls(settings, store, clock or SystemClock(), renderer, calendar,
                      FileStore(settings.files_path), rules)
        return service

    @property
    def chains(self) -> Chains:
        """The review chain of each kind, from ``[review.chains]``."""
        return Chains.from_config(self.settings.review.chains)

    @property
    def channels(self) -> dict[str, Channel]:
        """The enabled channels, built on first use (commands that never touch a channel do not
        pay for importing the adapters)."""
        if self._channels is None:
            self._channels = {name: self.channel(name) for name in self.enabled_channel_names()}
        return self._channels

    def channel(self, name: str) -> Channel:
        """One enabled channel, built (and its adapter imported) only when first asked for."""
        if self._channels is not None and name in self._channels:
            return self._channels[name]
        built = self._built.get(name)
        if built is None:
            importlib.import_module(next(e.adapter for e in catalogue.extensions() if e.name == name))
            ctx = ChannelContext(settings=getattr(self.settings.channels, name), store=self.store,
                                 clock=self.clock, renderer=self.renderer,
                                 site_url=self.settings.base_url, data_dir=self.settings.data_path,
                                 local_url=self.settings.local_url)
            built = self._built[name] = REGISTRY[name](ctx)
        return built

    def enabled_channel_names(self) -> list[str]:
        """Enabled channels in catalogue order (without importing their adapters)."""
        return [ext.name for ext in catalogue.extensions()
                if getattr(self.settings.channels, ext.name).enabled]

    def check_channels(self, requested: list[str] | None) -> list[str]:
        enabled = self.enabled_channel_names()
        if not requested:
            return enabled
        for name in requested:
            if name not in enabled:
                known = type(self.settings.channels).model_fields
                why = "未启用" if name in known else "不存在"
                raise InputError(f"渠道 {name} {why}", field="--channels",
                                 fix=f"可用渠道：{', '.join(enabled)}"
                                     + (f"；启用请设 [channels.{name}] enabled = true" if name in known else ""))
        return list(dict.fromkeys(requested))

    async def _ask_channels(self, hook: str, channels: list[str], item_ids: list[int],
                            options: dict) -> list:
        """Call the optional ``hook(items, options)`` of each chosen channel that has it, with
        the items loaded once; only the chosen adapters are built."""
        from content.views import load_views

        async with self.store.sessions() as session:
            items = tuple(await load_views(session, item_ids, revision="current"))
        answers = []
        for name in channels:
            call = getattr(self.channel(name), hook, None)
            if call is not None:
                answers.append(await call(items, options))
        return answers

    async def precheck(self, channels: list[str], item_ids: list[int], options: dict,
                       due_at: datetime) -> list[str]:
        """Ask each chosen channel whether the release fits (quotas, lengths); returns warnings,
        raises InputError to refuse. Channels see the release instant as ``options["due_at"]``."""
        answers = await self._ask_channels("precheck", channels, item_ids, {**options, "due_at": due_at})
        return [line for lines in answers for line in lines]

    async def scheduler_warnings(self, due_at: datetime) -> list[str]:
        """A release due within minutes goes out only if a scheduler runs: say so when none does."""
        if due_at - self.clock.now() <= SOON and not (await self.ticker_health()).running:
            return ["调度器未运行：计划将在 gongkai run 启动后发出"]
        return []

    async def reach(self, channels: list[str], item_ids: list[int], options: dict) -> list[Reach]:
        """Whom a release of ``item_ids`` would message or push to, per channel that says."""
        return [r for r in await self._ask_channels("reach", channels, item_ids, options) if r is not None]

    async def split_reach(self, release_id: int, actor: str) -> list[Reach]:
        """Whom ``release split`` would reach: the split runs in a transaction that is rolled
        back, so it is exactly the release the split makes. Raises what the split would raise."""
        from schedules import releases

        async with self.store.sessions() as session:
            await session.begin()
            try:
                new = await releases.split(session, release_id, actor=actor, now=self.clock.now())
                ids = list(await session.scalars(select(ReleaseItem.item_id).where(
                    ReleaseItem.release_id == new.id).order_by(ReleaseItem.position)))
                channels, options = list(new.channels), dict(new.options)
            finally:
                await session.rollback()
        return await self.reach([c for c in channels if c in self.channels], ids, options)

    async def ticker_health(self) -> TickerHealth:
        from schedules.ticker import read_health

        async with self.store.sessions() as session:
            return await read_health(session, self.clock.now())

    async def alerts(self) -> list[str]:
        """Lines for ``gongkai status`` from the channels that declare alerts (token expiry,
        quota left, missing templates); only those adapters are loaded and opened."""
        from bot import duty

        lines: list[str] = []
        for ext in catalogue.extensions():
            lines += await self.alerts_of(ext.name)
        return lines + duty.contact_alerts(self.settings)

    async def alerts_of(self, name: str) -> list[str]:
        """One enabled channel's alert lines (none when it declares no alerts)."""
        ext = next((e for e in catalogue.extensions() if e.name == name), None)
        if ext is None or not ext.alerts or name not in self.enabled_channel_names():
            return []
        channel = self.channel(name)
        opened = not self._opened
        if opened:
            await channel.open()
        try:
            return list(await channel.alerts())  # type: ignore[attr-defined]
        finally:
            if opened:
                await channel.close()

    # ------------------------------------------------------------------ what channels use
    async def settle(self, session, delivery_id: int, result, *, now: datetime,  # noqa: ANN001
                     source: str) -> bool:
        from bot import outbox

        return await outbox.settle(session, delivery_id, result, now=now, source=source)

    def wake(self) -> None:
        if self.runner is not None:
            self.runner.wake()

    async def reach_now(self, release_id: int, channel: str):  # noqa: ANN201
        from bot import sms_push

        if channel != "sms":
            raise InputError(f"渠道 {channel} 不能在前台投递", fix="只有短信渠道支持 gongkai subscribers push")
        return await sms_push.reach(self, release_id)

    async def deliver_now(self, release_id: int, channel: str, on_progress):  # noqa: ANN001, ANN201
        from bot import sms_push

        if channel != "sms":
            raise InputError(f"渠道 {channel} 不能在前台投递", fix="只有短信渠道支持 gongkai subscribers push")
        return await sms_push.push(self, release_id, f"cli-{self.settings.node}", on_progress)

    def sandbox_token(self) -> str:
        return sandbox_token(self.settings.data_path)

    # ------------------------------------------------------------------ running
    async def fire(self, release_id: int) -> releases.FireResult:
        from schedules import releases

        result = await self.store.transaction(
            lambda s: releases.fire(s, release_id, now=self.clock.now()), what=f"fire release {release_id}")
        if result.outcome == "published":
            log.info("发布计划 %s 已发布（晚 %d 毫秒），投递 %d 个渠道", release_id, result.late_ms,
                     len(result.deliveries))
            if self.runner is not None:
                self.runner.wake()
            try:
                await self.evaluate_obligations()
            except Exception:  # noqa: BLE001 - the periodic sweep evaluates again
                log.exception("时限义务评估失败，将在下次巡检重试")
        return result

    async def evaluate_obligations(self) -> int:
        """Create and update the stored obligations (statutory deadlines and cadences), record
        the warnings due and send them to the duty contacts (idempotent); returns how many new."""
        from bot import duty

        return await duty.evaluate(self)

    async def open_channels(self) -> None:
        if not self._opened:
            for channel in self.channels.values():
                await channel.open()
            self._opened = True

    async def start(self) -> None:
        """Start channels, the delivery runner and the ticker (in that order, so that the
        start-up sweep's deliveries find a runner)."""
        await self.open_channels()
        website = self.channels.get("website")
        if website is not None and not (self.settings.site_path / "index.html").exists():
            await website.rebuild_all()  # type: ignore[attr-defined]

        from bot.runner import Runner
        from schedules.ticker import Ticker

        self.runner = Runner(self.store, self.channels, self.clock, self.settings.delivery,
                             self.settings.node)
        self._tasks.append(asyncio.create_task(self.runner.run(self._stop), name="runner"))
        from bot.webhook_sender import WebhookSender  # webhooks: POSTs the owed webhook deliveries
        self.webhooks = WebhookSender(self.store, self.clock, self.settings.delivery, self.settings.node)
        self._tasks.append(asyncio.create_task(self.webhooks.run(self._stop), name="webhooks"))
        sched = self.settings.schedule
        self.ticker = Ticker(self.store, self.clock, self.fire, node=self.settings.node,
                             sweep_seconds=sched.sweep_seconds, refresh_seconds=sched.refresh_seconds,
                             on_sweep=self.evaluate_obligations)
        await self.ticker.start()

    async def stop(self) -> None:
        self._stop.set()
        if self.ticker is not None:
            self.ticker.stop()
            await self.ticker.stopped()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=10)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
        self._tasks.clear()
        await self.close_channels()
        await self.store.close()

    async def close_channels(self) -> None:
        if self._opened and self._channels is not None:
            for channel in self._channels.values():
                await channel.close()
            self._opened = False
