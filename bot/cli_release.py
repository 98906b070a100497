"""``gongkai release …`` and ``gongkai delivery …``: schedule, reschedule, cancel, split, inspect."""
from __future__ import annotations

from datetime import datetime

import click

from bot import labels
from bot.clikit import Cli, command
from bot.confirm import YES_HELP, confirm_reach
from bot.confirm import as_json as reach_json
from bot.output import emit, table
from bot.ops import Who
from bot.ops import deliveries as delivery_ops
from bot.ops import releases as ops
from bot.service import Service
from bot.zhclick import ZhGroup
from bot.timeparse import parse_instant
from content.errors import InputError
from content.render import Renderer
from content.models import Delivery, DeliveryAttempt, Release


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
    options = _options(extra, push)

    async def work(svc: Service, who: Who) -> tuple[ops.Created, Renderer]:
        due, allow_past = _when(cli, svc, at, now_flag)
        made = await ops.create(
            svc, who, list(item_ids), due_at=due,
            channels=[c.strip() for c in channels.split(",") if c.strip()], options=options,
            allow_past=allow_past, allow_pending=allow_pending,
            confirm=lambda reach: confirm_reach(reach, yes=yes, what="本发布计划"))
        return made, svc.renderer

    made, r = cli.run_as(work)
    rel, warnings, reach = made.release, list(made.warnings), list(made.reach)
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
    async def work(svc: Service, who: Who) -> tuple[Release, Renderer]:
        due, allow_past = _when(cli, svc, at, now_flag)
        return await ops.reschedule(svc, who, release_id, due_at=due, allow_past=allow_past), svc.renderer

    rel, r = cli.run_as(work)
    emit(cli.as_json, {"id": rel.id, "due_at": rel.due_at, "state": rel.state},
         f"发布计划 {rel.id} 改为 {r.local(rel.due_at, '%Y-%m-%d %H:%M:%S')} 发布。")


@command(release, "cancel")
@click.argument("release_id", type=int)
@click.option("--reason", default="")
def cancel(cli: Cli, release_id: int, reason: str) -> None:
    """取消未发布的计划；其中的稿件回到“已审核”。"""
    rel = cli.run_as(lambda svc, who: ops.cancel(svc, who, release_id, reason=reason))
    emit(cli.as_json, {"id": rel.id, "state": rel.state}, f"发布计划 {rel.id} 已取消。")


@command(release, "split")
@click.argument("release_id", type=int)
@click.option("--yes", is_flag=True, help=YES_HELP)
def split(cli: Cli, release_id: int, yes: bool) -> None:
    """暂停的组合中，先单独发布已审核的稿件（通常是政策文件）；解读的 3 个工作日时限随即开始计算。"""
    done = cli.run_as(lambda svc, who: ops.split(
        svc, who, release_id, confirm=lambda reach: confirm_reach(reach, yes=yes, what="拆分出的发布计划")))
    new, told, reach = done.release, list(done.told), list(done.reach)
    emit(cli.as_json, {"id": new.id, "split_from": release_id, "due_at": new.due_at,
                       "reach": reach_json(reach)},
         told + [f"已拆分：已审核的稿件进入发布计划 {new.id}，立即发布；其余稿件仍在计划 {release_id} 中等待审核。",
          "解读须在政策文件发布后 3 个工作日内发布（规则 R1），gongkai status 显示时限。"])


@command(release, "list")
@click.option("--state", type=click.Choice(["pending", "held", "published", "cancelled"]), default=None)
@click.option("--limit", type=click.IntRange(min=1), default=50, help="最多列出多少条")
def list_(cli: Cli, state: str | None, limit: int) -> None:
    """列出发布计划。"""
    async def work(svc: Service, who: Who) -> tuple[tuple[ops.Listed, ...], Renderer]:
        return await ops.listing(svc, who, state=state, limit=limit), svc.renderer

    listed, r = cli.run_as(work)
    rels = [x.release for x in listed]
    members = {x.release.id: list(x.items) for x in listed}
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
    async def work(svc: Service, who: Who) -> tuple[ops.Shown, Renderer]:
        return await ops.show(svc, who, release_id), svc.renderer

    shown, r = cli.run_as(work)
    rel, items, deliveries, attempts = shown.release, list(shown.items), list(shown.deliveries), list(shown.attempts)
    draining, data = shown.draining, shown.as_json()
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
    d = cli.run_as(lambda svc, who: delivery_ops.resolve(
        svc, who, delivery_id, sent=sent, done=done, note=(note or reason) if done else (reason or note)))
    emit(cli.as_json, {"id": d.id, "state": d.state},
         f"投递 {d.id} 已标记为“{labels.delivery_state(d.state)}”。")


from bot import cli_slots  # noqa: E402,F401 - release queue and release recurring (posting slots, R10)
