"""``gongkai release queue`` (posting slots) and ``gongkai release recurring …`` (rule R10):
thin commands over :mod:`bot.ops.queue` and :mod:`bot.ops.recurring`."""
from __future__ import annotations

import click

from bot import labels
from bot.cli_release import _options, release
from bot.clikit import Cli, command
from bot.confirm import YES_HELP, confirm_reach
from bot.ops import Who
from bot.ops import queue as queue_ops
from bot.ops import recurring as recurring_ops
from bot.output import emit, table
from bot.service import Service
from bot.zhclick import ZhGroup
from content.render import Renderer
from schedules.plan_calendar import WEEKDAYS



def _channels(text: str) -> list[str] | None:
    return [c.strip() for c in text.split(",") if c.strip()] or None


@command(release, "queue")
@click.argument("item_ids", type=int, nargs=-1, required=True)
@click.option("--channels", default="", help="渠道，逗号分隔；默认全部已启用渠道")
@click.option("--push", default=None, help="微信群发：none、all、tag:标签名 或 list:名单名")
@click.option("--yes", is_flag=True, help=YES_HELP)
def queue(cli: Cli, item_ids: tuple[int, ...], channels: str, push: str | None, yes: bool) -> None:
    """把已审核的稿件排入各渠道下一个空闲的发布时段（遵守群发额度与每日上限）。"""
    options = _options((), push)

    async def work(svc: Service, who: Who) -> tuple[queue_ops.Queued, Renderer]:
        done = await queue_ops.queue(svc, who, list(item_ids), channels=_channels(channels), options=options,
                                     confirm=lambda reach: confirm_reach(reach, yes=yes, what="本发布计划"))
        return done, svc.renderer

    done, r = cli.run_as(work)
    zone = cli.settings.bot.timezone
    lines = []
    for p in done.placed:
        local = p.due_at.astimezone(r.tz)
        lines.append(f"稿件 {p.item_id} → 发布计划 {p.release.id}：{r.local(p.due_at, '%Y-%m-%d %H:%M')}"
                     f"（周{WEEKDAYS[local.weekday()]}，{zone}）发往 {labels.channels(p.release.channels)}")
        lines += [f"    跳过 {s}" for s in p.skipped]
        lines += [f"    ⚠ {w}" for w in p.warnings]
    emit(cli.as_json, {"queued": [{"item": p.item_id, "release": p.release.id, "due_at": p.due_at,
                                   "channels": p.release.channels, "skipped": list(p.skipped),
                                   "warnings": list(p.warnings)} for p in done.placed]}, lines)


@release.group("recurring", cls=ZhGroup)
def recurring() -> None:
    """定期发布（规则 R10）：如“每月第5个工作日 10:00”，每一期到期前未指定稿件会提醒。"""


def _schedule_lines(sch: recurring_ops.Schedule, r: Renderer) -> list[str]:
    rec = sch.recurring
    chans = labels.channels(rec.channels) if rec.channels else "全部已启用渠道"
    lines = [f"{rec.id}  {rec.name}：{sch.rule.label}（{rec.rule_text}），发往 {chans}，提前 {rec.lead_workdays} 个工作日提醒"]
    for o in sch.upcoming:
        what = f"稿件 {o.item_id}（发布计划 {o.release_id}）" if o.item_id else "未指定稿件"
        lines.append(f"    场次 {o.id}：{r.local(o.due_at, '%Y-%m-%d %H:%M')}  {what}")
    return lines


@command(recurring, "add")
@click.option("--name", required=True, help="名称，如“月度监督检查结果”")
@click.option("--rule", "rule", required=True, help="如“每月第5个工作日 10:00”“每季度首月第10个工作日 9:30”“每月1日 9:00”")
@click.option("--channels", default="", help="渠道，逗号分隔；默认全部已启用渠道")
@click.option("--lead", type=int, default=3, help="提前几个工作日提醒未指定稿件（默认 3）")
@click.option("--department", default="", help="负责部门")
def recurring_add(cli: Cli, name: str, rule: str, channels: str, lead: int, department: str) -> None:
    """新增定期发布。"""
    async def work(svc: Service, who: Who) -> tuple[recurring_ops.Schedule, Renderer]:
        return await recurring_ops.add(svc, who, name=name, rule=rule, channels=_channels(channels),
                                       lead=lead, department=department), svc.renderer

    sch, r = cli.run_as(work)
    emit(cli.as_json, recurring_ops.schedule_json(sch), ["已新增定期发布：", *_schedule_lines(sch, r)])


@command(recurring, "list")
def recurring_list(cli: Cli) -> None:
    """列出定期发布及接下来的场次。"""
    async def work(svc: Service, who: Who) -> tuple[tuple[recurring_ops.Schedule, ...], Renderer]:
        return await recurring_ops.listing(svc, who), svc.renderer

    found, r = cli.run_as(work)
    lines = [line for sch in found for line in _schedule_lines(sch, r)] or ["没有定期发布。"]
    emit(cli.as_json, {"recurring": [recurring_ops.schedule_json(s) for s in found]}, lines)


@command(recurring, "attach")
@click.argument("occurrence_id", type=int)
@click.argument("item_id", type=int)
@click.option("--yes", is_flag=True, help=YES_HELP)
def recurring_attach(cli: Cli, occurrence_id: int, item_id: int, yes: bool) -> None:
    """为某一场次指定已审核的稿件：到时像其他发布计划一样发出。"""
    async def work(svc: Service, who: Who) -> tuple[recurring_ops.Attached, Renderer]:
        return await recurring_ops.attach(svc, who, occurrence_id, item_id, confirm=lambda reach: confirm_reach(
            reach, yes=yes, what="本发布计划")), svc.renderer

    done, r = cli.run_as(work)
    rel = done.created.release
    emit(cli.as_json, {"occurrence": recurring_ops.occurrence_json(done.occurrence), "release": rel.id,
                       "due_at": rel.due_at, "warnings": list(done.created.warnings)},
         [f"场次 {occurrence_id} 已指定稿件 {item_id}：发布计划 {rel.id} 将于 {r.local(rel.due_at, '%Y-%m-%d %H:%M')}"
          f"（{cli.settings.bot.timezone}）发往 {labels.channels(rel.channels)}。"]
         + [f"⚠ {w}" for w in done.created.warnings])


@command(recurring, "remove")
@click.argument("recurring_id", type=int)
def recurring_remove(cli: Cli, recurring_id: int) -> None:
    """停用定期发布（已有的记录保留）。"""
    rec = cli.run_as(lambda svc, who: recurring_ops.remove(svc, who, recurring_id))
    emit(cli.as_json, {"id": rec.id, "active": rec.active}, f"定期发布 {rec.id}（{rec.name}）已停用。")


__all__ = ["queue", "recurring", "table"]
