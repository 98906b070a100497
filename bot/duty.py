"""Compliance evaluation and the duty contacts: every timed rule evaluated in one transaction,
warnings recorded once (schedules.notices), then each duty message delivered through its
channel's ``send_duty`` (SMS through the provider path, WeChat by template message; the sandbox
emulators in sandbox mode)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels
from bot.settings import Settings
from channels.base import DutySent
from content.cadence import DutyMessage, ObligationNotice
from schedules import cadence, notices, obligations
from schedules.calendar import WorkdayCalendar

if TYPE_CHECKING:
    from bot.service import Service

log = logging.getLogger("gongkai.duty")
MAX_ATTEMPTS = 5
LEASE = timedelta(seconds=60)


def departments(settings: Settings) -> list[cadence.Department]:
    return [cadence.Department(d.name, d.head, d.press_conferences_per_quarter)
            for d in settings.departments]


def contacts(settings: Settings) -> list[notices.Contact]:
    return [notices.Contact(c.department or "*", c.sms, c.wechat_openid, c.name)
            for c in settings.duty_contacts]


def contact_alerts(settings: Settings) -> list[str]:
    """Lines for ``gongkai status`` when duty contacts have a wechat_openid that no template
    message can reach (the messages would fail one by one)."""
    wechat = settings.channels.wechat
    if not any(c.wechat_openid for c in settings.duty_contacts):
        return []
    head = "时限提醒：值班联系人填了 wechat_openid，但"
    if not wechat.enabled:
        return [head + "微信渠道未启用，不会发微信模板消息（修正：设 [channels.wechat] enabled = true，或只用短信）"]
    if not wechat.duty_template_id and not wechat.sandbox:
        return [head + "未设置 [channels.wechat] duty_template_id，微信模板消息会发送失败"
                "（修正：在公众平台选用模板后填入，或设环境变量 GONGKAI_CHANNELS__WECHAT__DUTY_TEMPLATE_ID）"]
    if wechat.account_type != "service":
        return [head + "订阅号不能发模板消息（48001）（修正：已认证的服务号设 account_type = \"service\"，否则只用短信）"]
    return []


def accounts(settings: Settings) -> list[str]:
    """The enabled new-media channels whose updates rule C6 tracks."""
    return [name for name in settings.rules.C6.channels
            if getattr(getattr(settings.channels, name, None), "enabled", False)]


async def evaluate_all(session: AsyncSession, calendar: WorkdayCalendar, settings: Settings, *,
                       now: datetime, node: str) -> tuple[int, list[ObligationNotice]]:
    """In the caller's transaction: every rule evaluated, the warnings due recorded once.
    Returns how many obligations are new and the notices this call recorded."""
    from schedules import recurring

    rules, tz = dict(settings.rules), settings.tz
    await recurring.evaluate(session, calendar, tz=tz, now=now)  # R10 occurrences first
    created = await obligations.evaluate(session, calendar, rules, tz=tz, now=now)
    created += await cadence.evaluate(session, calendar, rules, departments(settings),
                                      accounts(settings), tz=tz, now=now)
    made = await notices.raise_notices(session, calendar, rules, contacts(settings), tz=tz, now=now,
                                       node=node)
    return created, made


async def evaluate(svc: Service) -> int:
    """Create and update every stored obligation (item rules and cadences), record the warnings
    due and send the duty messages; idempotent and safe from several nodes. Returns how many
    obligations are new."""
    created, made = await svc.store.transaction(
        lambda s: evaluate_all(s, svc.calendar, svc.settings, now=svc.clock.now(), node=svc.settings.node),
        what="evaluate obligations")
    if made:
        log.info("时限提醒：新记录 %d 条", len(made))
    await deliver(svc)
    return created


async def deliver(svc: Service) -> int:
    """Send the pending duty messages, each through its channel's ``send_duty`` (SMS, WeChat
    template message; each claimed under a lease, so two nodes never send one twice at the
    same time); returns how many were sent."""
    now = svc.clock.now()

    async def claim(s):  # noqa: ANN001, ANN202
        rows = list(await s.scalars(
            select(DutyMessage).where(DutyMessage.state == "pending",
                                      (DutyMessage.lease_until.is_(None)) | (DutyMessage.lease_until < now))
            .order_by(DutyMessage.id).limit(100).with_for_update(skip_locked=True)))
        for row in rows:
            row.lease_until, row.attempts = now + LEASE, row.attempts + 1
        return [(r.id, r.channel, r.address, dict(r.params), r.attempts) for r in rows]

    claimed = await svc.store.transaction(claim, what="claim duty messages")
    if not claimed:
        return 0
    enabled = set(svc.enabled_channel_names())
    used = sorted({channel for _, channel, *_ in claimed} & enabled)
    opened_here = not svc._opened  # a command, not a running bot: close what it opens
    try:
        return await _send(svc, claimed, enabled)
    finally:
        if opened_here:
            for name in used:
                await svc.channel(name).close()


def link(settings: Settings, params: dict[str, Any]) -> str:
    """The console page of a message's obligation (its item's page, else the 工作台), when the
    console's public address is configured (a phone cannot open the local one); else empty."""
    if not (settings.web.base_url or settings.console.base_url):
        return ""
    item = params.get("item")
    return f"{settings.console_url}/console/items/{item}" if item else f"{settings.console_url}/console/"


async def send_one(svc: Service, channel: str, address: str, params: dict[str, Any],
                   enabled: set[str]) -> DutySent:
    """One duty message through its channel; an exception is a transient error (retried)."""
    if channel not in enabled:
        return DutySent(error=f"{labels.channel(channel)}渠道未启用：请设 [channels.{channel}] enabled = true",
                        final=True)
    send = getattr(svc.channel(channel), "send_duty", None)
    if send is None:
        return DutySent(error=f"{labels.channel(channel)}渠道不能发送时限提醒", final=True)
    try:
        return await send(address, {**params, "url": link(svc.settings, params)})
    except Exception as exc:  # noqa: BLE001 - kept on the row, retried
        return DutySent(error=f"{type(exc).__name__}: {exc}")


async def _send(svc: Service, claimed: list[tuple[int, str, str, dict[str, Any], int]], enabled: set[str]) -> int:
    sent = 0
    for message_id, channel, address, params, attempts in claimed:
        done = await send_one(svc, channel, address, params, enabled)

        async def settle(s, message_id=message_id, done=done, attempts=attempts):  # noqa: ANN001, ANN202
            row = await s.get(DutyMessage, message_id)
            row.lease_until = None
            if done.error is None:
                row.state, row.sent_at, row.remote_id, row.last_error = "sent", svc.clock.now(), done.remote_id, None
            else:
                row.last_error = done.error
                row.state = "failed" if attempts >= MAX_ATTEMPTS or done.final else "pending"

        await svc.store.transaction(settle, what="settle duty message")
        sent += done.error is None
    return sent
