"""How the duty messages of a warning are shown (``gongkai status``, ``gongkai obligations``,
the console's 工作台): by channel (短信 / 微信模板消息), to whom (the address masked), and
whether each was sent or why not."""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.cadence import DutyMessage

CHANNEL_LABELS = {"sms": "短信", "wechat": "微信模板消息"}
STATE_LABELS = {"pending": "待发送", "sent": "已发送", "failed": "发送失败"}


def channel_label(channel: str) -> str:
    return CHANNEL_LABELS.get(channel, channel)


def masked(address: str) -> str:
    """A phone number or openid as shown to staff: enough to tell contacts apart."""
    if len(address) <= 7:
        return address
    return f"{address[:3]}****{address[-4:]}" if address.lstrip("+").isdigit() else f"{address[:4]}…{address[-4:]}"


def describe(m: DutyMessage) -> str:
    """One message in a line, in Chinese: 短信 138****0001 已发送."""
    text = f"{channel_label(m.channel)} {masked(m.address)} {STATE_LABELS.get(m.state, m.state)}"
    if m.state == "pending" and m.last_error:
        text += f"（已试 {m.attempts} 次，将重试：{m.last_error}）"
    elif m.state == "failed":
        text += f"：{m.last_error or ''}"
    return text


def summary(messages: Iterable[DutyMessage]) -> str:
    return "；".join(describe(m) for m in messages)


def to_json(m: DutyMessage) -> dict[str, Any]:
    return {"channel": m.channel, "address": m.address, "state": m.state, "attempts": m.attempts,
            "error": m.last_error, "sent_at": m.sent_at}


async def of_notices(session: AsyncSession, ids: Sequence[int]) -> dict[int, list[DutyMessage]]:
    """The duty messages of each notice, SMS first."""
    found: dict[int, list[DutyMessage]] = {}
    for i in range(0, len(ids), 500):
        for m in await session.scalars(select(DutyMessage).where(DutyMessage.notice_id.in_(ids[i:i + 500]))
                                       .order_by(DutyMessage.notice_id, DutyMessage.channel, DutyMessage.id)):
            found.setdefault(m.notice_id, []).append(m)
    return found
