"""What the platform reports back through the server callback, applied to the store: the result
of a publish job (PUBLISHJOBFINISH, and the FREEPUBLISHJOBFINISH / MASSSENDJOBFINISH variants
some accounts receive), of a mass send (MASSSENDJOBFINISH) and of a template message
(TEMPLATESENDJOBFINISH). The bot's callback handler calls these inside its transaction and
settles the delivery with the returned outcome."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from channels.base import Outcome, Result
from channels.wechat import outcomes
from channels.wechat.models import WechatPublication
from channels.wechat.publish import receipt
from content.models import Delivery, DeliveryRecipient, Release


@dataclass(frozen=True)
class Settlement:
    delivery_id: int
    result: Result | None  # None: published, but notifications still to send — wake the runner


def _list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


async def publish_finished(session: AsyncSession, info: dict[str, Any], *, notify_enabled: bool,
                           now: Any) -> Settlement | None:
    """``info`` is the event's PublishEventInfo (xmltodict shape)."""
    publish_id = str(info.get("publish_id", "")).strip()
    row = await session.scalar(select(WechatPublication).where(
        WechatPublication.publish_id == publish_id, WechatPublication.mode == "publish"))
    if row is None:
        return None
    status = int(info.get("publish_status", 1))
    if row.status in ("published", "failed") or status == 1:
        return Settlement(row.delivery_id, None) if row.status == "published" else None
    values: dict[str, Any] = {"updated_at": now}
    if status == 0:
        detail = info.get("article_detail") or {}
        items = sorted(_list(detail.get("item")), key=lambda i: int(i.get("idx", 0)))
        values.update(status="published", article_id=str(info.get("article_id", "")),
                      urls=[str(i.get("article_url", "")) for i in items])
    else:
        reason = outcomes.PUBLISH_STATUS.get(status, f"状态 {status}")
        fails = [int(i) for i in _list(info.get("fail_idx"))]
        which = "、".join(f"第 {i} 篇（稿件 {row.items[i - 1]}）" for i in fails if 0 < i <= len(row.items))
        values.update(status="failed", detail=f"微信发布失败：{reason}" + (f"，出问题的是{which}" if which else "")
                      + "（修正：在公众平台查看原因，修改稿件后更正并重新发布）")
    return await _settle(session, row, values, notify_enabled)


async def mass_finished(session: AsyncSession, msg_id: str, status: str, urls: list[str], *,
                        notify_enabled: bool, now: Any) -> Settlement | None:
    row = await session.scalar(select(WechatPublication).where(
        WechatPublication.msg_id == str(msg_id), WechatPublication.mode == "push"))
    if row is None or row.status in ("published", "failed"):
        return Settlement(row.delivery_id, None) if row is not None and row.status == "published" else None
    values: dict[str, Any] = {"updated_at": now}
    if status.strip().lower() == "send success":
        values.update(status="published", urls=urls)
    else:
        values.update(status="failed", detail=f"微信群发失败（{status}）（修正：在公众平台查看原因）")
    return await _settle(session, row, values, notify_enabled)


async def _settle(session: AsyncSession, row: WechatPublication, values: dict[str, Any],
                  notify_enabled: bool) -> Settlement:
    await session.execute(update(WechatPublication).where(WechatPublication.id == row.id).values(**values))
    for key, value in values.items():
        setattr(row, key, value)
    if row.status == "failed":
        return Settlement(row.delivery_id, Result(Outcome.FAILED, row.detail, receipt(row)))
    release = await session.get(Release, row.release_id)
    assert release is not None
    wants_notice = (notify_enabled and row.purpose == "publish"
                    and str((release.options or {}).get("notify", "")) != "none")
    if wants_notice:
        await session.execute(update(Delivery).where(
            Delivery.id == row.delivery_id, Delivery.state == "submitted").values(next_attempt_at=values["updated_at"]))
        return Settlement(row.delivery_id, None)
    count = len(row.items or [])
    return Settlement(row.delivery_id, Result(
        Outcome.SENT, f"已发布到微信公众号（{count} 篇图文{'，已群发' if row.mode == 'push' else ''}）",
        receipt(row)))


async def template_finished(session: AsyncSession, msg_id: str, openid: str, status: str, now: Any) -> int:
    """Record the delivery report of one template message; returns rows updated.

    The report can arrive before the fan-out has written the send's msgid (it records results
    in batches): then it goes to the follower's newest row still waiting for its result, and
    the fan-out's own write later does not downgrade it (see notify)."""
    ok = status.strip().lower() == "success"
    values = {"status": "delivered" if ok else "failed", "detail": "" if ok else f"微信回报：{status}",
              "updated_at": now}
    by_msgid = update(DeliveryRecipient).where(
        DeliveryRecipient.remote_id == str(msg_id), DeliveryRecipient.address == openid).values(**values)
    # an UPDATE gives a CursorResult; the stubs type session.execute as returning a plain Result
    result = cast(CursorResult[Any], await session.execute(by_msgid))
    if result.rowcount:
        return result.rowcount
    waiting = await session.scalar(select(DeliveryRecipient.id).where(
        DeliveryRecipient.address == openid, DeliveryRecipient.status == "unknown",
        DeliveryRecipient.remote_id == "").order_by(DeliveryRecipient.id.desc()).limit(1))
    if waiting is None:  # the fan-out's write landed in between: now the msgid matches
        return cast(CursorResult[Any], await session.execute(by_msgid)).rowcount or 0
    await session.execute(update(DeliveryRecipient).where(DeliveryRecipient.id == waiting)
                          .values(remote_id=str(msg_id), **values))
    return 1
