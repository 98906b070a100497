"""``gongkai status``: the duty board."""
from __future__ import annotations

from datetime import timedelta

import click
from sqlalchemy import func, select

from bot.clikit import Cli, command
from bot.output import emit
from bot.service import Service
from content.kinds import ItemState
from content.models import Delivery, Item, Release, ReleaseItem, Revision, Setting
from schedules.calendar import fallback_warning
from schedules.deadlines import open_interpretation_deadlines
from schedules.ticker import HEARTBEAT_KEY


@click.group()
def _board() -> None:
    """Holder group: the command is added to the main group by bot.cli."""


# ------------------------------------------------------------------------------------- status
@command(_board, "status")
def status(cli: Cli) -> None:
    """值班看板：即将发布、已暂停、投递异常、解读时限、待审核。"""
    async def work(svc: Service):  # noqa: ANN202
        now = svc.clock.now()
        sched = svc.settings.schedule
        async with svc.store.sessions() as s:
            beat = await s.get(Setting, HEARTBEAT_KEY)
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
                Delivery.state.in_(["failed", "unknown", "paused", "retry"])).order_by(Delivery.id.desc()).limit(50)))
            pending_deliveries = await s.scalar(select(func.count(Delivery.id)).where(
                Delivery.state.in_(["pending", "in_progress", "submitted"])))
            awaiting_review = list(await s.execute(
                select(Item.id, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                                     & (Revision.number == Item.current_revision))
                .where(Revision.status == "submitted").order_by(Item.id)))
            deadlines = await open_interpretation_deadlines(
                s, svc.calendar, tz=svc.settings.tz, now=now, workdays=sched.interpretation_workdays)
        today = now.astimezone(svc.settings.tz).date()
        cal_warn = [fallback_warning(y) for y in svc.calendar.fallback_years(today, today + timedelta(days=30))]
        await svc.open_channels()
        try:
            channel_alerts = await svc.alerts()
        finally:
            await svc.close_channels()
        return (now, beat, upcoming, held, warnings, troubled, pending_deliveries, awaiting_review,
                deadlines, cal_warn + channel_alerts, svc.renderer, sched)

    (now, beat, upcoming, held, warnings, troubled, pending_deliveries, awaiting_review, deadlines,
     cal_warn, r, sched) = cli.run(work)
    age = (now - beat.updated_at).total_seconds() if beat else None
    ticker_ok = age is not None and age <= 3 * sched.sweep_seconds
    data = {
        "now": now, "ticker": {"running": ticker_ok, "heartbeat_age_seconds": age,
                               "node": beat.value.get("node") if beat else None},
        "upcoming": [{"id": x.id, "due_at": x.due_at, "purpose": x.purpose, "channels": x.channels}
                     for x in upcoming],
        "warnings": warnings,
        "held": [{"id": x.id, "due_at": x.due_at, "reason": x.hold_reason} for x in held],
        "deliveries": {"in_flight": pending_deliveries, "attention": [
            {"id": d.id, "release": d.release_id, "channel": d.channel, "state": d.state,
             "attempts": d.attempts, "error": d.last_error} for d in troubled]},
        "awaiting_review": [{"id": i, "title": t} for i, t in awaiting_review],
        "interpretation_deadlines": [
            {"policy": d.policy_id, "title": d.title, "published_at": d.published_at, "due": d.due,
             "state": d.state, "workdays_left": d.workdays_left,
             "pending_interpretations": list(d.pending_interpretations),
             "uncertain_years": list(d.uncertain_years)} for d in deadlines],
        "calendar_warnings": cal_warn,
    }
    lines = [f"现在：{r.local(now, '%Y-%m-%d %H:%M:%S')}（{cli.settings.bot.timezone}）"]
    lines.append("调度器：" + (f"运行中（{int(age)} 秒前心跳，{data['ticker']['node']}）" if ticker_ok
                            else "未运行或心跳过期！到期的发布不会发出，请启动 gongkai run"))
    lines.append(f"即将发布（{len(upcoming)}）：")
    lines += [f"  计划 {x.id}  {r.local(x.due_at, '%Y-%m-%d %H:%M:%S')}  {x.purpose}  {','.join(x.channels)}"
              for x in upcoming] or ["  无"]
    for w in warnings:
        lines.append(f"⚠ 计划 {w['release']} 将于 {r.local(w['due_at'])} 发布，但稿件 "
                     + "、".join(str(i["id"]) for i in w["items"]) + " 尚未审核；届时将暂停整组")
    if held:
        lines.append(f"已暂停（{len(held)}）：")
        lines += [f"  计划 {x.id}（原定 {r.local(x.due_at)}）：{x.hold_reason}；审核后 gongkai release reschedule {x.id} --now，"
                  f"或 gongkai release split {x.id} 先发政策文件" for x in held]
    lines.append(f"投递：进行中 {pending_deliveries}，需要关注 {len(troubled)}")
    lines += [f"  投递 {d.id}（计划 {d.release_id} → {d.channel}）{d.state}，已试 {d.attempts} 次：{d.last_error or ''}"
              for d in troubled]
    if deadlines:
        lines.append("政策解读时限（规则 R1）：")
        for d in deadlines:
            flag = "已超期！" if d.state == "overdue" else f"剩 {d.workdays_left} 个工作日"
            lines.append(f"  政策 {d.policy_id}《{d.title}》{r.local(d.published_at)} 发布，解读须在 "
                         f"{d.due.isoformat()} 前发布：{flag}"
                         + (f"（待发布解读：{', '.join(map(str, d.pending_interpretations))}）"
                            if d.pending_interpretations else ""))
    if awaiting_review:
        lines.append(f"待审核（{len(awaiting_review)}）：" + "；".join(f"{i} {t}" for i, t in awaiting_review[:10]))
    lines += [f"⚠ {w}" for w in cal_warn]
    emit(cli.as_json, data, lines)
