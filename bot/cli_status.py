"""``gongkai status``: the duty board."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import click
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot import labels, outbox
from bot.cli_obligations import line as obligation_line
from bot.clikit import Cli, command
from bot.output import emit
from bot.service import Service
from content import workflow
from content.kinds import ItemState
from content.models import AuditEvent, Delivery, Item, Release, ReleaseItem, Revision
from content.render import Renderer
from schedules import cadence, notices, obligations
from schedules.calendar import fallback_warning
from schedules.ticker import TickerHealth, TickerState, read_health


@click.group()
def _board() -> None:
    """Holder group: the command is added to the main group by bot.cli."""


# ------------------------------------------------------------------------------------- status
@command(_board, "status")
def status(cli: Cli) -> None:
    """值班看板：即将发布、已暂停、投递异常、时限义务、待审核。"""
    async def work(svc: Service):  # noqa: ANN202
        now = svc.clock.now()
        actor = (cli.actor_name or "").strip()
        sched = svc.settings.schedule
        async with svc.store.sessions() as s:
            beat = await read_health(s, now)
            upcoming = list(await s.scalars(select(Release).where(Release.state == "pending")
                                            .order_by(Release.due_at).limit(20)))
            held = list(await s.scalars(select(Release).where(Release.state == "held").order_by(Release.due_at)))
            warnings = []
            for rel in upcoming:
                if rel.due_at - now > timedelta(hours=sched.warn_hours_before):
                    continue
                not_ready = list(await s.execute(
                    select(Item.id, Item.state).join(ReleaseItem, ReleaseItem.item_id == Item.id)
                    .where(ReleaseItem.release_id == rel.id,
                           Item.state.not_in([ItemState.SCHEDULED.value, ItemState.APPROVED.value,
                                              ItemState.PUBLISHED.value, ItemState.CORRECTED.value,
                                              ItemState.RETRACTED.value]))))
                if not_ready and rel.purpose == "publish":
                    warnings.append({"release": rel.id, "due_at": rel.due_at,
                                     "items": [{"id": i, "state": st} for i, st in not_ready]})
            troubled = list(await s.scalars(select(Delivery).where(
                Delivery.state.in_(outbox.ATTENTION)).order_by(Delivery.id.desc()).limit(50)))
            pending_deliveries = await s.scalar(select(func.count(Delivery.id)).where(
                Delivery.state.in_(outbox.IN_FLIGHT)))
            draining = await outbox.drain_estimates(s, now)
            awaiting_review = list(await s.execute(
                select(Item.id, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                                     & (Revision.number == Item.current_revision))
                .where(Revision.status == "submitted").order_by(Item.id)))
            deadlines = await notices.attention(s, svc.calendar, dict(svc.settings.rules),
                                                tz=svc.settings.tz, now=now)
            names = await cadence.subject_names(s, deadlines)
            warned = await notices.recent(s, since=now - notices.RECENT_NOTICES)
            returned = await returned_to(s, actor) if actor else []
            retractions = await workflow.pending_retractions(s)
        today = now.astimezone(svc.settings.tz).date()
        cal_warn = [fallback_warning(y) for y in svc.calendar.fallback_years(today, today + timedelta(days=30))]
        channel_alerts = await svc.alerts()
        return (now, beat, upcoming, held, warnings, troubled, pending_deliveries, awaiting_review,
                deadlines, cal_warn + channel_alerts, svc.renderer, returned, retractions, draining,
                names, warned)

    (now, beat, upcoming, held, warnings, troubled, pending_deliveries, awaiting_review, deadlines,
     cal_warn, r, returned, retractions, draining, names, warned) = cli.run(work)
    # a release a minute or more past its instant and still pending was not sent: flag it
    late = {x.id: int((now - x.due_at).total_seconds() // 60) for x in upcoming
            if now - x.due_at >= timedelta(minutes=1)}
    data = {
        "now": now, "ticker": {"running": beat.running, "state": beat.state.value,
                               "heartbeat_age_seconds": beat.age_seconds, "node": beat.node,
                               "since": beat.since},
        "upcoming": [{"id": x.id, "due_at": x.due_at, "purpose": x.purpose, "channels": x.channels,
                      "overdue_minutes": late.get(x.id)} for x in upcoming],
        "warnings": warnings,
        "held": [{"id": x.id, "due_at": x.due_at, "reason": x.hold_reason} for x in held],
        "deliveries": {"in_flight": pending_deliveries, "attention": [
            {"id": d.id, "release": d.release_id, "channel": d.channel, "state": d.state,
             "attempts": d.attempts, "error": d.last_error} for d in troubled],
            "draining": [e.to_json() for e in draining]},
        "awaiting_review": [{"id": i, "title": t} for i, t in awaiting_review],
        "obligations": [obligations.to_json(d) for d in deadlines],
        "obligation_notices": [notices.notice_json(n) for n in warned],
        "returned_to_me": [{"id": x.item_id, "title": x.title, "by": x.by, "comment": x.comment,
                            "at": x.at} for x in returned],
        "retractions_awaiting_approval": [{"item": x.item_id, "requested_by": x.requested_by,
                                           "requested_at": x.requested_at, "reason": x.reason}
                                          for x in retractions],
        "calendar_warnings": cal_warn,
    }
    lines = [f"现在：{r.local(now, '%Y-%m-%d %H:%M:%S')}（{cli.settings.bot.timezone}）"]
    lines.append("调度器：" + ticker_line(beat, r))
    lines.append(f"即将发布（{len(upcoming)}）：")
    lines += [f"  计划 {x.id}  {r.local(x.due_at, '%Y-%m-%d %H:%M:%S')}  {labels.purpose(x.purpose)}  "
              f"{labels.channels(list(x.channels))}"
              + (f"  ⚠ 已过期 {late[x.id]} 分钟未发出！调度器未运行？" if x.id in late else "")
              for x in upcoming] or ["  无"]
    for w in warnings:
        lines.append(f"⚠ 计划 {w['release']} 将于 {r.local(w['due_at'])} 发布，但稿件 "
                     + "、".join(str(i["id"]) for i in w["items"]) + " 尚未审核；届时将暂停整组")
    if held:
        lines.append(f"已暂停（{len(held)}）：")
        lines += [f"  计划 {x.id}（原定 {r.local(x.due_at)}）：{x.hold_reason}；审核后 gongkai release reschedule {x.id} --now，"
                  f"或 gongkai release split {x.id} 先发政策文件" for x in held]
    lines.append(f"投递：进行中 {pending_deliveries}，需要关注 {len(troubled)}")
    lines += [f"  投递 {d.id}（计划 {d.release_id} → {labels.channel(d.channel)}）{labels.delivery_state(d.state)}，"
              f"已试 {d.attempts} 次：{d.last_error or ''}" for d in troubled]
    lines += [f"  {e.line(lambda t: r.local(t, '%Y-%m-%d %H:%M'))}" for e in draining]
    if deadlines:
        lines.append(f"时限义务（即将到期或已超期，{len(deadlines)}）：")
        lines += [obligation_line(d, r, names) for d in deadlines]
        lines.append("  详见 gongkai obligations；确不需要的：gongkai obligations waive 编号 --reason \"理由\"")
    if warned:
        lines.append(f"时限提醒（近 7 天，{len(warned)}）：")
        lines += [f"  {r.local(n.created_at, '%m-%d %H:%M')}  {n.text}" for n in warned]
    if returned:
        lines.append(f"退回给我（{len(returned)}）：")
        lines += [f"  稿件 {x.item_id} {x.title}：{x.by} 于 {r.local(x.at)} 退回，意见：{x.comment}；"
                  f"修改后 gongkai post edit {x.item_id} FILE.md，再 gongkai post submit {x.item_id}"
                  for x in returned]
    if awaiting_review:
        lines.append(f"待审核（{len(awaiting_review)}）：" + "；".join(f"{i} {t}" for i, t in awaiting_review[:10]))
    if retractions:
        lines.append(f"待批准的撤回（{len(retractions)}）：")
        lines += [f"  稿件 {x.item_id}：{x.requested_by} 于 {r.local(x.requested_at)} 申请，原因：{x.reason}；"
                  f"另一位同事批准：gongkai post approve-retract {x.item_id}" for x in retractions]
    lines += [f"⚠ {w}" for w in cal_warn]
    emit(cli.as_json, data, lines)


def ticker_line(beat: TickerHealth, r: Renderer) -> str:
    if beat.state is TickerState.RUNNING:
        return f"运行中（{int(beat.age_seconds or 0)} 秒前心跳，{beat.node}）"
    if beat.state is TickerState.STOPPED:
        return (f"已停止（{beat.node} 于 {r.local(beat.since, '%Y-%m-%d %H:%M:%S')} 正常停止）！"
                "到期的发布不会发出，请启动 gongkai run")
    if beat.state is TickerState.STALE:
        return (f"心跳已中断（{beat.node} 最后心跳在 {int(beat.age_seconds or 0)} 秒前，可能已崩溃）！"
                "到期的发布不会发出，请检查并重新启动 gongkai run")
    return "从未运行！到期的发布不会发出，请启动 gongkai run"


@dataclass(frozen=True)
class Returned:
    item_id: int
    title: str
    by: str
    comment: str
    at: datetime


async def returned_to(session: AsyncSession, author: str) -> list[Returned]:
    """Items whose current revision ``author`` wrote and a reviewer returned, with the comment."""
    rows = list(await session.execute(
        select(Item.id, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                             & (Revision.number == Item.current_revision))
        .where(Item.state == ItemState.RETURNED.value, Revision.created_by == author).order_by(Item.id)))
    result = []
    for item_id, title in rows:
        event = await session.scalar(select(AuditEvent).where(
            AuditEvent.item_id == item_id, AuditEvent.action == "returned").order_by(AuditEvent.id.desc()))
        if event is not None:
            result.append(Returned(item_id, title, event.actor, event.reason, event.at))
    return result
