"""The SMS channel: a release goes as one SMS to every active subscriber of its topics, through
Aliyun or Tencent Cloud (the other one as failover, if configured)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, ClassVar

import aiohttp

from channels.base import Capabilities, ChannelContext, DutySent, Job, Outcome, Purpose, Reach, Rendition, Result
from channels.plan_notes import DayNote, Level
from channels.registry import register
from channels.sms.config import SmsSettings
from channels.sms.fanout import FanOut, Route
from channels.sms.message import Composer, Message
from channels.sms.pacing import Pacer
from channels.sms.phone import normalise
from channels.sms.providers.aliyun import AliyunSms
from channels.sms.providers.base import NumberResult, Provider, ProviderError, Reply, Report
from channels.sms.providers.tencent import TencentSms
from channels.sms import recipients
from channels.sms.quiet import QuietHours
from channels.sms.sandbox_keys import SandboxKeys, load_or_create
from content.errors import InputError
from content.kinds import Kind, kind_label
from content.topics import release_topics
from content.views import ItemView

log = logging.getLogger("gongkai.sms")
SANDBOX_NAMES = {"aliyun": "aliyun-sms", "tencent": "tencent-sms"}


@register("sms")
class SmsChannel:
    name: ClassVar[str]
    label: ClassVar[str] = "短信"
    capabilities: ClassVar[Capabilities] = Capabilities(idempotent=False, bundle_atomic=True)

    def __init__(self, ctx: ChannelContext) -> None:
        self.ctx = ctx
        self.settings: SmsSettings = ctx.settings
        self.keys: SandboxKeys | None = load_or_create(ctx.data_dir) if self.settings.sandbox else None
        self.composer = Composer(self.settings, ctx.site_url, ctx.renderer.local)
        self.quiet = QuietHours.parse(self.settings.quiet_start, self.settings.quiet_end, ctx.renderer.tz)
        self.session: aiohttp.ClientSession | None = None
        self.routes: list[Route] = []
        self.query_pacer = Pacer(self.settings.query_calls_per_second)

    # ------------------------------------------------------------------ set-up
    async def open(self) -> None:
        if self.session is None:
            self.session = aiohttp.ClientSession()
            self.routes = [Route(0, self._provider(self._primary()), Pacer(self.settings.calls_per_second))]
            if self.settings.failover.provider:
                self.routes.append(Route(1, self._provider(self._failover()), Pacer(self.settings.calls_per_second)))

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None
            self.routes = []

    def _primary(self) -> dict[str, str]:
        s = self.settings
        return {"provider": s.provider, "key_id": s.access_key_id, "secret": s.access_key_secret,
                "sign_name": s.sign_name, "sdk_app_id": s.sdk_app_id, "region": s.region, "base_url": s.base_url}

    def _failover(self) -> dict[str, str]:
        f, s = self.settings.failover, self.settings
        return {"provider": f.provider, "key_id": f.access_key_id, "secret": f.access_key_secret,
                "sign_name": f.sign_name or s.sign_name, "sdk_app_id": f.sdk_app_id, "region": f.region,
                "base_url": f.base_url}

    def _provider(self, spec: dict[str, str]) -> Provider:
        assert self.session is not None
        name = spec["provider"]
        keys = self.keys
        base_url = spec["base_url"] or (self.ctx.sandbox_url(SANDBOX_NAMES[name]) if keys else "")
        timeout = self.settings.request_timeout_seconds
        if name == "aliyun":
            return AliyunSms(self.session, key_id=spec["key_id"] or (keys.aliyun_key_id if keys else ""),
                             secret=spec["secret"] or (keys.aliyun_secret if keys else ""),
                             sign_name=spec["sign_name"], base_url=base_url, region=spec["region"] or "cn-hangzhou",
                             timeout=timeout)
        return TencentSms(self.session, secret_id=spec["key_id"] or (keys.tencent_secret_id if keys else ""),
                          secret_key=spec["secret"] or (keys.tencent_secret_key if keys else ""),
                          sign_name=spec["sign_name"],
                          sdk_app_id=spec["sdk_app_id"] or (keys.tencent_sdk_app_id if keys else ""),
                          base_url=base_url, region=spec["region"], timeout=timeout)

    # ------------------------------------------------------------------ secrets of the web parts
    @property
    def unsubscribe_secret(self) -> str:
        return self.settings.unsubscribe_secret or (self.keys.unsubscribe_secret if self.keys else "")

    @property
    def callback_token(self) -> str:
        return self.settings.callback_token or (self.keys.callback_token if self.keys else "")

    def unsubscribe_token(self, phone: str) -> str:
        mac = hmac.new(self.unsubscribe_secret.encode(), f"unsubscribe:{phone}".encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac[:18]).decode().rstrip("=")

    def check_unsubscribe_token(self, phone: str, token: str) -> bool:
        return bool(self.unsubscribe_secret) and secrets.compare_digest(self.unsubscribe_token(phone), token or "")

    # ------------------------------------------------------------------ content
    def message(self, items: tuple[ItemView, ...], purpose: Purpose = Purpose.PUBLISH) -> Message:
        kind = "correction" if purpose is Purpose.CORRECT else None
        return self.composer.compose(items, kind=kind)

    def render(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[Rendition]:
        message = self.message(items)
        first = items[0]
        label = f"{first.title}（{kind_label(first.kind)}，模板 {message.kind}）"
        rendition = self.composer.rendition(message, label)
        notes = list(rendition.notes)
        topics = sorted(release_topics(items))
        notes.append("发给订阅了以下主题的号码：" + "、".join(topics))
        if first.kind != Kind.EMERGENCY:
            notes.append(f"免打扰时段 {self.quiet.label} 内不发送，时段结束后自动发出（突发事件不受限）")
        return [Rendition(rendition.label, rendition.text, rendition.checks, tuple(notes))]

    async def calendar_notes(self, first: date, last: date) -> list[DayNote]:
        """The quiet hours, for the console's release calendar (every day; none when off)."""
        if self.quiet.start == self.quiet.end:
            return []
        return [DayNote("sms", None, f"短信免打扰 {self.quiet.label}", Level.INFO,
                        "非突发事件的短信在此时段内不发送，时段结束后自动发出")]

    async def precheck(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[str]:
        message = self.message(items)
        if not message.ok:
            raise InputError("短信内容不符合服务商限制：" + "；".join(message.problems()),
                             field="channels.sms",
                             fix="用 gongkai post preview 稿件编号 --channel sms 查看；缩短标题，或在 "
                                 f"[channels.sms.templates.{message.kind}] params 中用 clip 截短，如 "
                                 "\"{{ item.title | clip(20) }}\"")
        reach = await recipients.count_for_items(self.ctx.store, items, message)
        warnings = [f"短信将发给 {reach.numbers} 个订阅号码，每人 {reach.parts} 条计费短信（共 {reach.characters} 字）"]
        if not any(i.kind == Kind.EMERGENCY for i in items):
            due = options.get("due_at") or self.ctx.clock.now()
            if self.quiet.wait(due) > 0:
                local, opens = due.astimezone(self.quiet.tz), self.quiet.opens_at(due)
                day = "次日" if opens.date() != local.date() else ""
                warnings.append(f"发布时刻 {local:%H:%M} 在短信免打扰时段（{self.quiet.label}）内："
                                f"短信将等到{day} {opens:%H:%M} 才发送"
                                "（突发事件类稿件不受此限）；网站等其他渠道按时发布")
        return warnings

    async def reach(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> Reach | None:
        """Every active subscriber of the items' topics gets one SMS of ``segments`` billed parts."""
        counted = await recipients.count_for_items(self.ctx.store, items, self.message(items))
        if not counted.numbers:
            return None
        return Reach("sms", counted.numbers, counted.parts, "短信订阅号码")

    async def alerts(self) -> list[str]:
        lines = []
        for key, template in self.settings.templates.items():
            if not template.text:
                lines.append(f"短信模板 {key}（{template.code}）未配置正文 text：无法计算长度和计费条数")
            if self.settings.failover.provider and not template.failover_code:
                lines.append(f"短信模板 {key} 未配置 failover_code：主服务商故障时这类短信无法改走备用服务商")
        return lines

    # ------------------------------------------------------------------ delivery
    async def deliver(self, job: Job, on_progress: Callable[[Mapping[str, Any]], None] | None = None) -> Result:
        if job.purpose is Purpose.RETRACT:
            return Result(Outcome.SENT, "短信一经送达无法撤回：已发送的短信不受影响（网站已显示撤回说明）")
        if job.purpose is Purpose.CORRECT and not self.settings.notify_corrections:
            return Result(Outcome.SENT, "未发送更正短信（[channels.sms] notify_corrections = false）")
        try:
            message = self.message(job.items, job.purpose)
        except InputError as exc:
            return Result(Outcome.PAUSED, f"短信模板配置有误：{exc.render()}；修正后自动继续", retry_after=300)
        if not message.ok:
            return Result(Outcome.PAUSED, "短信内容不符合服务商限制：" + "；".join(message.problems())
                          + "；修正模板参数后自动继续", retry_after=300)
        await self.open()
        fan = FanOut(store=self.ctx.store, clock=self.ctx.clock, settings=self.settings, routes=self.routes,
                     query_pacer=self.query_pacer, quiet=self.quiet, job=job, message=message,
                     on_progress=on_progress)
        return await fan.run()

    async def reconcile(self, job: Job) -> Result:
        """The runner lost track of a call (crash, timeout): the fan-out settles its in-flight
        batches through the provider's status query first, then carries on."""
        return await self.deliver(job)

    # ------------------------------------------------------------------ single messages
    async def send_code(self, phone: str, code: str) -> NumberResult:
        """A confirmation code to one number (the subscription page). Raises ProviderError."""
        await self.open()
        message = self.composer.compose_code(code)
        route = self.routes[0]
        await route.pacer.wait()
        results = await route.provider.send([phone], message.code_for(0), message.params,
                                            marker=f"gkcode{secrets.token_hex(4)}")
        return results[0]

    async def send_duty(self, phone: str, values: Mapping[str, str]) -> DutySent:
        """A compliance warning to one duty contact's number (bot.duty); a provider's error is
        retried there."""
        try:
            number = normalise(phone, field="duty_contacts.sms")
        except InputError as exc:
            return DutySent(error=exc.render(), final=True)
        await self.open()
        message = self.composer.compose_duty(values)
        route = self.routes[0]
        await route.pacer.wait()
        try:
            [result] = await route.provider.send([number], message.code_for(0), message.params,
                                                 marker=f"gkduty{secrets.token_hex(4)}")
        except ProviderError as exc:
            return DutySent(error=str(exc))
        if result.status != "sent":
            return DutySent(result.remote_id, result.message or result.code or result.status)
        return DutySent(result.remote_id)

    def provider_named(self, name: str) -> Provider | None:
        return next((r.provider for r in self.routes if r.name == name), None)

    async def pull(self) -> tuple[list[Report], list[tuple[str, Reply]]]:
        """Reports and replies (with the provider's name) waiting at providers that keep them
        for pulling (Tencent)."""
        await self.open()
        reports: list[Report] = []
        replies: list[tuple[str, Reply]] = []
        for route in self.routes:
            reports += await route.provider.pull_reports()
            replies += [(route.name, r) for r in await route.provider.pull_replies()]
        return reports, replies

