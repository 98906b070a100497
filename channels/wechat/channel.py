"""The WeChat official-account channel: a release becomes one WeChat publication (a bundle is
one multi-article draft, policy first), optionally pushed to followers, followed by topic
notifications; retractions delete the articles, corrections republish with a notice linking
the original.

The API base is ``base_url`` when set, else the bot's own emulator in sandbox mode
(``ctx.sandbox_url("wechat")``), else https://api.weixin.qq.com."""
from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, ClassVar

from sqlalchemy import func, select

from channels.base import (
    Capabilities,
    ChannelContext,
    DutySent,
    Job,
    Outcome,
    Purpose,
    Reach,
    Rendition,
    Result,
)
from channels.plan_notes import DayNote
from channels.registry import register
from channels.wechat import credentials, duty, notify, push, rendition
from channels.wechat.client import OFFICIAL_BASE, WechatApi
from channels.wechat.config import WechatSettings
from channels.wechat.media import Media
from channels.wechat.models import WechatPublication
from channels.wechat.publish import Publisher, receipt
from channels.wechat.retract import retract
from content.errors import InputError
from content.models import Subscriber
from content.views import ItemView

log = logging.getLogger("gongkai.wechat")


@register("wechat")
class WechatChannel:
    name: ClassVar[str]
    label: ClassVar[str] = "微信公众号"
    capabilities: ClassVar[Capabilities] = Capabilities(
        idempotent=False, bundle_atomic=True, retract=True, correct=True, max_attempts=5)

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx
        self.settings: WechatSettings = ctx.settings
        self.store = ctx.store
        self.clock = ctx.clock
        self.renderer = ctx.renderer
        self.data_dir = Path(ctx.data_dir).expanduser()
        self.creds = credentials.resolve(self.settings, self.data_dir)
        self.api = WechatApi(self.api_base, self.creds, ctx.store, ctx.clock,
                             token_api=self.settings.token_api,
                             timeout=self.settings.request_timeout_seconds,
                             margin_seconds=self.settings.token_refresh_margin_seconds,
                             connections=max(100, 2 * self.settings.notify_concurrency))
        self.media = Media(self.api, ctx.store, ctx.clock, self.data_dir / "files",
                           self.settings.default_cover, self.creds.app_id)
        self.publisher = Publisher(self)

    @property
    def api_base(self) -> str:
        if self.settings.base_url:
            return self.settings.base_url.rstrip("/")
        return self.ctx.sandbox_url("wechat") if self.settings.sandbox else OFFICIAL_BASE

    async def open(self) -> None:
        await self.api.open()

    async def close(self) -> None:
        await self.api.close()

    # ------------------------------------------------------------------ what would be sent
    def article(self, item: ItemView, correction: rendition.Correction | None = None) -> rendition.Article:
        return rendition.build(item, self.renderer, self.settings, self.ctx.site_url, correction)

    def render(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[Rendition]:
        target = push.parse(options)
        out = []
        for n, item in enumerate(items, 1):
            a = self.article(item)
            header = [f"标题：{a.title}", f"作者：{a.author}", f"摘要：{a.digest}",
                      f"阅读原文：{a.source_url}"]
            if n == 1:
                header.insert(0, f"一次发布 {len(items)} 篇图文（政策文件在前），{target.label}")
            out.append(Rendition(label=f"微信图文 {n}/{len(items)}：{a.title}",
                                 text="\n".join(header) + "\n\n" + a.html, checks=a.checks, notes=a.notes))
        return out

    # ------------------------------------------------------------------ delivering
    async def deliver(self, job: Job) -> Result:
        if job.purpose is Purpose.RETRACT:
            return await retract(self, job)
        return await self.publisher.run(job)

    async def reconcile(self, job: Job) -> Result:
        return await self.deliver(job)

    async def after_publish(self, job: Job, row: WechatPublication) -> Result:
        data = receipt(row)
        what = f"已发布到微信公众号（{len(row.items or [])} 篇图文"
        what += f"，{push.parse({'push': row.target}).label}）" if row.mode == "push" else "）"
        if row.detail:
            what += f"；{row.detail}"
        if not notify.wanted(self, job):
            return Result(Outcome.SENT, what, data)
        if row.mode == "push" and row.target == "all":  # every follower already received it
            return Result(Outcome.SENT, f"{what}；已群发给全部粉丝，不再另发主题通知", data)
        url = data.get("url") or f"{self.ctx.site_url.rstrip('/')}/{job.items[0].path}"
        return await notify.run(self, job, url, data, what)

    async def send_duty(self, openid: str, values: Mapping[str, str]) -> DutySent:
        """A compliance warning to one duty contact's openid, by template message (bot.duty)."""
        return await duty.send(self, openid, values)

    # ------------------------------------------------------------------ before and around
    async def precheck(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[str]:
        """Before ``release create`` stores a release: the push quota, and what WeChat will
        change (shortened titles). Raises InputError to refuse a push over the quota."""
        target = push.parse(options)
        warnings = []
        for item in items:
            article = self.article(item)
            if how := next((n for n in article.notes if n.startswith("标题：")), ""):
                warnings.append(f"微信：稿件 {item.id} 的标题将显示为“{article.title}”（{how[3:].split('。')[0]}）")
            too_long = [c for c in article.checks if not c.ok]
            if too_long:
                raise InputError(f"微信：稿件 {item.id} 的{too_long[0].name}有 {too_long[0].actual} {too_long[0].unit}，"
                                 f"超过微信的上限 {too_long[0].limit}",
                                 fix="精简正文，或不发往微信（--channels 中去掉 wechat）")
        if len(items) > 8:
            raise InputError(f"一次微信发布最多 8 篇图文，这里有 {len(items)} 篇", fix="分成几个发布计划")
        when = options.get("due_at") or self.clock.now()  # the release instant (Service.precheck)
        if isinstance(when, str):
            when = datetime.fromisoformat(when)
        async with self.store.sessions() as session:
            verdict = await push.judge(session, self.settings, target, when,
                                       emergency=any(i.kind == "emergency" for i in items))
        if not verdict.allowed:
            if self.settings.over_quota == "refuse":
                raise InputError(f"微信：{verdict.refusal}")
            warnings.append(f"微信：{verdict.refusal.split('（修正')[0]}；按配置将只发布不群发")
        warnings += [f"微信：{w}" for w in verdict.warnings]
        return warnings

    async def slot_refusal(self, options: Mapping[str, Any], when: datetime) -> str:
        """For the queue (``gongkai release queue``): why a routine release with ``options``
        cannot push at ``when`` (the push quota, its emergency reserve kept), or "" if it can."""
        target = push.parse(options)
        async with self.store.sessions() as session:
            verdict = await push.judge(session, self.settings, target, when)
        return "" if verdict.allowed or self.settings.over_quota == "publish_only" else verdict.refusal

    async def reach(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> Reach | None:
        """A push (``--push all`` or ``tag:…``) reaches the active followers (for a tag, at most
        that many); a publication without a push messages nobody."""
        target = push.parse(options)
        if target.kind == "none":
            return None
        async with self.store.sessions() as session:
            count = int(await session.scalar(select(func.count(Subscriber.id)).where(
                Subscriber.channel == "wechat", Subscriber.status == "active")) or 0)
        if not count:
            return None
        label = "微信粉丝（群发）" if target.kind == "all" else f"微信粉丝（群发给标签“{target.tag}”，最多）"
        return Reach("wechat", count, None, label)

    async def calendar_notes(self, first: date, last: date) -> list[DayNote]:
        """Each day's push quota use, for the console's release calendar."""
        async with self.store.sessions() as session:
            return await push.calendar_notes(session, self.settings, first, last)

    async def alerts(self) -> list[str]:
        """Lines for ``gongkai status``: notifications that cannot be sent, the push quota."""
        lines = []
        if self.settings.notify != "off" and not self.creds.template_id:
            lines.append("微信：未设置 notify_template_id，主题订阅通知不会发送（修正：在公众平台选用模板后填入）")
        async with self.store.sessions() as session:
            verdict = await push.judge(session, self.settings, push.PushTarget("all"), self.clock.now())
        if not verdict.allowed:
            period = "今天" if self.settings.account_type == "subscription" else "本月"
            lines.append(f"微信：{period}的群发额度已用完或已被计划占用，新的发布只能不群发（--push none）")
        return lines
