"""Compliance evaluation and the duty contacts: every timed rule evaluated in one transaction,
warnings recorded once (schedules.notices), then the duty SMS delivered through the SMS
channel's provider path (the sandbox emulator in sandbox mode)."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings
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
    due and send the duty SMS; idempotent and safe from several nodes. Returns how many
    obligations are new."""
    created, made = await svc.store.transaction(
        lambda s: evaluate_all(s, svc.calendar, svc.settings, now=svc.clock.now(), node=svc.settings.node),
        what="evaluate obligations")
    if made:
        log.info("时限提醒：新记录 %d 条", len(made))
    await deliver(svc)
    return created


async def deliver(svc: Service) -> int:
    """Send the pending duty SMS (each claimed under a lease, so two nodes never send one twice
    at the same time); returns how many were sent."""
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
    sms = "sms" in svc.enabled_channel_names()
    opened_here = sms and not svc._opened  # a command, not a running bot: close what it opens
    try:
        return await _send(svc, claimed, sms)
    finally:
        if opened_here:
            await svc.channel("sms").close()


async def _send(svc: Service, claimed: list[tuple[int, str, str, dict[str, Any], int]], sms: bool) -> int:
    sent = 0
    for message_id, channel, address, params, attempts in claimed:
        error, remote = None, ""
        if channel != "sms" or not sms:
            error = "短信渠道未启用：请设 [channels.sms] enabled = true"
        else:
            from channels.sms.phone import normalise
            from channels.sms.providers.base import ProviderError

            try:
                result = await svc.channel("sms").send_duty(normalise(address), params)  # type: ignore[attr-defined]
                if result.status != "sent":
                    error = result.message or result.code or result.status
                remote = result.remote_id
            except ProviderError as exc:
                error = str(exc)
            except Exception as exc:  # noqa: BLE001 - kept on the row, retried
                error = f"{type(exc).__name__}: {exc}"

        async def settle(s, message_id=message_id, error=error, remote=remote,  # noqa: ANN001, ANN202
                         attempts=attempts):
            row = await s.get(DutyMessage, message_id)
            row.lease_until = None
            if error is None:
                row.state, row.sent_at, row.remote_id, row.last_error = "sent", svc.clock.now(), remote, None
            else:
                row.last_error = error
                row.state = "failed" if attempts >= MAX_ATTEMPTS or "未启用" in error else "pending"

        await svc.store.transaction(settle, what="settle duty message")
        sent += error is None
    return sent
