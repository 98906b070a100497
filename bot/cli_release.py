"""``gongkai release …`` and ``gongkai delivery …``: schedule, reschedule, cancel, split, inspect."""
from __future__ import annotations

from datetime import datetime

import click
from sqlalchemy import select

from bot import labels, outbox
from bot.clikit import Cli, command
from bot.confirm import YES_HELP, confirm_reach
from bot.confirm import as_json as reach_json
from bot.output import emit, table
from bot.service import Service
from bot.zhclick import ZhGroup
from bot.timeparse import parse_instant
from content.errors import InputError
from content.render import Renderer
from content.models import Delivery, DeliveryAttempt, Release, ReleaseItem, Revision, Item
from schedules import releases


@click.group("release", cls=ZhGroup)
def release() -> None:
    """发布计划：一篇稿件或一组（政策文件 + 解读）在同一时刻发往各渠道。"""


AT_HELP = ("发布时刻（配置时区）：\"2026-12-01 09:00\"、\"2026/12/01 09:00\"、\"2026年12月1日 9:00\"、"
           "带时差的 ISO 8601，或只写 \"9:00\"（今天）")


def _when(cli: Cli, svc: Service, at: str | None, now_flag: bool) -> tuple[datetime, bool]:
    """``--at`` alone must be in the future; ``--now`` alone means now; both accept a past
    instant (the release then goes out at once, and its lateness is recorded)."""
    if now_flag and not at:
        return svc.clock.now(), True
    if not at:
        raise InputError("缺少发布时间", field="--at", fix="加 --at \"YYYY-MM-DD HH:MM\"，或 --now 立即发布")
    return parse_instant(at, cli.settings.tz, now=svc.clock.now()), now_flag


@command(release, "create")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--at", "at", default=None, metavar="时刻", help=AT_HELP)
@click.option("--now", "now_flag", is_flag=True, help="立即发布；与 --at 同用时允许过去的时刻")
@click.option("--channels", default="", help="渠道，逗号分隔；默认全部已启用渠道")
@click.option("--allow-pending", is_flag=True, help="组合中允许尚未审核的稿件；到时未审核则暂停整组")
@click.option("--push", default=None, help="微信群发：none、all、tag:标签名 或 list:名单名")
@click.option("--option", "extra", multiple=True, help="渠道选项 KEY=VALUE，可重复")
@click.option("--yes", is_flag=True, help=YES_HELP)
def create(cli: Cli, item_ids: tuple[int, ...], at: str | None, now_flag: bool, channels: str,
           allow_pending: bool, push: str | None, extra: tuple[str, ...], yes: bool) -> None:
    """为稿件（或政策+解读组合）排期。"""
    actor = cli.actor
    options = _options(extra, push)

    async def work(svc: Service):  # noqa: ANN202
        chosen = svc.check_channels([c.strip() for c in channels.split(",") if c.strip()])
        due, allow_past = _when(cli, svc, at, now_flag)
        async with svc.store.sessions() as s:  # every member exists and is ready before any channel looks
            await releases.check_members(s, list(item_ids), allow_pending=allow_pending)
        warnings = await svc.precheck(chosen, list(item_ids), options, due)
        warnings += await svc.scheduler_warnings(due)
        reach = await svc.reach(chosen, list(item_ids), options)
        told = confirm_reach(reach, yes=yes, what="本发布计划")
        rel = await svc.store.transaction(lambda s: releases.create(
            s, list(item_ids), due_at=due, channels=chosen, actor=actor, now=svc.clock.now(),
            allow_past=allow_past, allow_pending=allow_pending, options=options))
        return rel, told + warnings, svc.renderer, reach

    rel, warnings, r, reach = cli.run(work)
    emit(cli.as_json, {"id": rel.id, "due_at": rel.due_at, "channels": rel.channels,
                       "items": list(item_ids), "state": rel.state, "options": rel.options,
                       "warnings": warnings, "reach": reach_json(reach)},
         [f"已创建发布计划 {rel.id}：稿件 {', '.join(map(str, item_ids))} 将于 "
          f"{r.local(rel.due_at, '%Y-%m-%d %H:%M:%S')}（{cli.settings.bot.timezone}）发往 {labels.channels(rel.channels)}。",
          "运行中的 gongkai run 会在该时刻发布；若届时未运行，启动后立即补发。"]
         + [f"⚠ {w}" for w in warnings])


def _options(extra: tuple[str, ...], push: str | None) -> dict[str, str]:
    options: dict[str, str] = {}
    for pair in extra:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise InputError(f"渠道选项“{pair}”格式不对", field="--option", fix="写成 KEY=VALUE")
        options[key.strip()] = value.strip()
    if push is not None:
        if push not in ("none", "all") and not (push.startswith(("tag:", "list:")) and len(push.split(":", 1)[1]) > 0):
            raise InputError(f"无效的值“{push}”", field="--push",
                             fix="写 none、all、tag:标签名，或 list:名单名（[channels.wechat] push_lists 中的名单）")
        options["push"] = push
    return options


@command(release, "reschedule")
@click.argument("release_id", type=int)
@click.option("--at", "at", default=None, metavar="时刻", help=AT_HELP)
@click.option("--now", "now_flag", is_flag=True, help="立即发布；与 --at 同用时允许过去的时刻")
def reschedule(cli: Cli, release_id: int, at: str | None, now_flag: bool) -> None:
    """改期（暂停的组合审核通过后，也用它重新发布）。"""
    actor = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        due, allow_past = _when(cli, svc, at, now_flag)
        rel = await svc.store.transaction(lambda s: releases.reschedule(
            s, release_id, due_at=due, actor=actor, now=svc.clock.now(), allow_past=allow_past))
        return rel, svc.renderer

    rel, r = cli.run(work)
    emit(cli.as_json, {"id": rel.id, "due_at": rel.due_at, "state": rel.state},
         f"发布计划 {rel.id} 改为 {r.local(rel.due_at, '%Y-%m-%d %H:%M:%S')} 发布。")


@command(release, "cancel")
@click.argument("release_id", type=int)
@click.option("--reason", default="")
def cancel(cli: Cli, release_id: int, reason: str) -> None:
    """取消未发布的计划；其中的稿件回到“已审核”。"""
    actor = cli.actor

    async def work(svc: Service) -> Release:
        return await svc.store.transaction(lambda s: releases.cancel(
            s, release_id, actor=actor, now=svc.clock.now(), reason=reason))

    rel = cli.run(work)
    emit(cli.as_json, {"id": rel.id, "state": rel.state}, f"发布计划 {rel.id} 已取消。")


@command(release, "split")
@click.argument("release_id", type=int)
@click.option("--yes", is_flag=True, help=YES_HELP)
def split(cli: Cli, release_id: int, yes: bool) -> None:
    """暂停的组合中，先单独发布已审核的稿件（通常是政策文件）；解读的 3 个工作日时限随即开始计算。"""
    actor = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        reach = await svc.split_reach(release_id, actor)
        told = confirm_reach(reach, yes=yes, what="拆分出的发布计划")
        told += await svc.scheduler_warnings(svc.clock.now())
        return await svc.store.transaction(lambda s: releases.split(
            s, release_id, actor=actor, now=svc.clock.now())), told, reach

    new, told, reach = cli.run(work)
    emit(cli.as_json, {"id": new.id, "split_from": release_id, "due_at": new.due_at,
                       "reach": reach_json(reach)},
         told + [f"已拆分：已审核的稿件进入发布计划 {new.id}，立即发布；其余稿件仍在计划 {release_id} 中等待审核。",
          "解读须在政策文件发布后 3 个工作日内发布（规则 R1），gongkai status 显示时限。"])


@command(release, "list")
@click.option("--state", type=click.Choice(["pending", "held", "published", "cancelled"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, help="最多列出多少条")
def list_(cli: Cli, state: str | None, limit: int) -> None:
    """列出发布计划。"""
    async def work(svc: Service):  # noqa: ANN202
        async with svc.store.sessions() as s:
            q = select(Release).order_by(Release.due_at.desc(), Release.id.desc()).limit(limit)
            if state:
                q = q.where(Release.state == state)
            rels = list(await s.scalars(q))
            members = {}
            for rel in rels:
                members[rel.id] = list(await s.scalars(select(ReleaseItem.item_id).where(
                    ReleaseItem.release_id == rel.id).order_by(ReleaseItem.position)))
            return rels, members, svc.renderer

    rels, members, r = cli.run(work)
    data = [{"id": x.id, "purpose": x.purpose, "state": x.state, "due_at": x.due_at,
             "channels": x.channels, "items": members[x.id], "hold_reason": x.hold_reason}
            for x in rels]
    lines = table([[str(x.id), labels.release_state(x.state), labels.purpose(x.purpose),
                    r.local(x.due_at, "%Y-%m-%d %H:%M:%S"), ",".join(map(str, members[x.id])),
                    labels.channels(x.channels)] for x in rels],
                  ["编号", "状态", "用途", f"发布时刻（{cli.settings.bot.timezone}）", "稿件", "渠道"]) \
        if rels else "没有发布计划。"
    emit(cli.as_json, {"releases": data}, lines)


@command(release, "show")
@click.argument("release_id", type=int)
def show(cli: Cli, release_id: int) -> None:
    """发布计划详情：成员、各渠道投递状态和每次尝试。"""
    async def work(svc: Service):  # noqa: ANN202
        async with svc.store.sessions() as s:
            rel = await releases.get_release(s, release_id)
            items = list(await s.execute(
                select(Item.id, Item.kind, Item.state, Revision.title)
                .join(ReleaseItem, ReleaseItem.item_id == Item.id)
                .join(Revision, (Revision.item_id == Item.id) & (Revision.number == Item.current_revision))
                .where(ReleaseItem.release_id == release_id).order_by(ReleaseItem.position)))
            deliveries = list(await s.scalars(select(Delivery).where(
                Delivery.release_id == release_id).order_by(Delivery.id)))
            attempts = list(await s.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id.in_([d.id for d in deliveries])).order_by(DeliveryAttempt.id)))
            draining = await outbox.drain_estimates(s, svc.clock.now(), release_id=release_id)
            return rel, items, deliveries, attempts, svc.renderer, draining

    rel, items, deliveries, attempts, r, draining = cli.run(work)
    data = {"id": rel.id, "purpose": rel.purpose, "state": rel.state, "due_at": rel.due_at,
            "fired_at": rel.fired_at, "late_ms": rel.late_ms, "hold_reason": rel.hold_reason,
            "channels": rel.channels,
            "items": [{"id": i, "kind": k, "state": st, "title": t} for i, k, st, t in items],
            "deliveries": [{"id": d.id, "channel": d.channel, "state": d.state, "attempts": d.attempts,
                            "receipt": d.receipt, "progress": d.progress, "last_error": d.last_error,
                            "next_attempt_at": d.next_attempt_at, "settled_at": d.settled_at,
                            "attempt_log": [{"number": a.number, "worker": a.worker,
                                             "started_at": a.started_at, "outcome": a.outcome,
                                             "detail": a.detail} for a in attempts
                                            if a.delivery_id == d.id]} for d in deliveries],
            "draining": [e.to_json() for e in draining]}
    emit(cli.as_json, data, _show_lines(rel, items, deliveries, attempts, r, cli.settings.bot.timezone)
         + [e.line(lambda t: r.local(t, "%Y-%m-%d %H:%M")) for e in draining])


def _show_lines(rel: Release, items: list, deliveries: list[Delivery], attempts: list[DeliveryAttempt],
                r: Renderer, zone: str) -> list[str]:
    """``release show`` for a person: Chinese names, instants in the configured zone only."""
    full = "%Y-%m-%d %H:%M:%S"
    lines = [f"发布计划 {rel.id}（{labels.purpose(rel.purpose)}）：{labels.release_state(rel.state)}",
             f"发布时刻：{r.local(rel.due_at, full)}（{zone}）"
             + (f"；实际 {r.local(rel.fired_at, full)}（晚 {rel.late_ms} 毫秒）" if rel.fired_at else ""),
             f"渠道：{labels.channels(rel.channels)}"]
    if rel.hold_reason:
        lines.append(f"暂停原因：{rel.hold_reason}")
    lines += [f"  稿件 {i}［{labels.kind(k)}，{labels.item_state(st)}］{t}" for i, k, st, t in items]
    for d in deliveries:
        lines.append(f"投递 {d.id} → {labels.channel(d.channel)}：{labels.delivery_state(d.state)}，"
                     f"尝试 {d.attempts} 次" + (f"；{d.last_error}" if d.last_error else ""))
        if d.next_attempt_at and d.state in ("retry", "paused", "unknown", "submitted", "throttled"):
            lines.append(f"    下次尝试：{r.local(d.next_attempt_at, full)}")
        summary = (d.progress or {}).get("summary")
        if isinstance(summary, str) and summary:
            lines.append(f"    进度：{summary}")
        lines += [f"    第 {a.number} 次 {r.local(a.started_at, full)} {labels.outcome(a.outcome)}"
                  + (f"：{a.detail}" if a.detail else "") for a in attempts if a.delivery_id == d.id]
    return lines


@click.group("delivery", cls=ZhGroup)
def delivery() -> None:
    """投递：人工确认结果未知的投递，关闭已人工处理的失败投递。"""


@command(delivery, "resolve")
@click.argument("delivery_id", type=int)
@click.option("--sent", "sent", flag_value=True, default=None, help="确认对方已收到")
@click.option("--not-sent", "sent", flag_value=False, help="确认对方未收到，重新发送")
@click.option("--done", is_flag=True, help="失败的投递已人工处理（须加 --note 说明）：关闭它")
@click.option("--note", default="", help="人工处理的说明，与 --done 一起用")
@click.option("--reason", default="")
def resolve(cli: Cli, delivery_id: int, sent: bool | None, done: bool, note: str, reason: str) -> None:
    """对结果未知的投递作出人工判断，或关闭已人工处理的失败投递。"""
    if done and sent is not None:
        raise InputError("--done 不能与 --sent/--not-sent 同时使用",
                         fix="结果未知的投递用 --sent 或 --not-sent；失败且已人工处理的用 --done --note")
    if sent is None and not done:
        raise InputError("请说明结果", fix="加 --sent（已送达）或 --not-sent（未送达，将重新发送）；"
                                        "失败且已人工处理的加 --done --note \"做了什么\"")
    actor = cli.actor

    async def work(svc: Service) -> Delivery:
        now = svc.clock.now()
        if done:
            return await svc.store.transaction(lambda s: outbox.close(
                s, delivery_id, actor=actor, now=now, note=note or reason))
        assert sent is not None  # checked above: without --done, --sent or --not-sent is required
        return await svc.store.transaction(lambda s: outbox.resolve(
            s, delivery_id, sent=sent, actor=actor, now=now, reason=reason or note))

    d = cli.run(work)
    emit(cli.as_json, {"id": d.id, "state": d.state},
         f"投递 {d.id} 已标记为“{labels.delivery_state(d.state)}”。")
