"""``gongkai status``: the duty board."""
from __future__ import annotations

import click

from bot import labels
from bot.cli_obligations import line as obligation_line
from bot.clikit import Cli, command
from bot.ops import board
from bot.output import emit
from bot.service import Service
from content.render import Renderer
from schedules import duty_messages
from schedules.ticker import TickerHealth, TickerState


@click.group()
def _board() -> None:
    """Holder group: the command is added to the main group by bot.cli."""


# ------------------------------------------------------------------------------------- status
@command(_board, "status")
def status(cli: Cli) -> None:
    """值班看板：即将发布、已暂停、投递异常、时限义务、待审核。"""
    async def work(svc: Service) -> tuple[board.Board, Renderer]:
        return await board.gather(svc, cli.actor_name), svc.renderer

    b, r = cli.run(work)
    data = board.to_json(b)
    now, beat, upcoming, held, troubled = b.now, b.beat, b.upcoming, b.held, b.troubled
    deadlines, returned, retractions, draining = b.deadlines, b.returned, b.retractions, b.draining
    awaiting_review = [(a.item_id, a.title) for a in b.awaiting_review]
    cal_warn = b.calendar_warnings + b.alerts
    late = {x.id: m for x in upcoming if (m := b.overdue_minutes(x)) is not None}
    lines = [f"现在：{r.local(now, '%Y-%m-%d %H:%M:%S')}（{cli.settings.bot.timezone}）"]
    lines.append("调度器：" + ticker_line(beat, r))
    lines.append(f"即将发布（{len(upcoming)}）：")
    lines += [f"  计划 {x.id}  {r.local(x.due_at, '%Y-%m-%d %H:%M:%S')}  {labels.purpose(x.purpose)}  "
              f"{labels.channels(list(x.channels))}"
              + (f"  ⚠ 已过期 {late[x.id]} 分钟未发出！调度器未运行？" if x.id in late else "")
              for x in upcoming] or ["  无"]
    for w in b.not_ready:
        lines.append(f"⚠ 计划 {w.release_id} 将于 {r.local(w.due_at)} 发布，但稿件 "
                     + "、".join(str(i) for i, _ in w.items) + " 尚未审核；届时将暂停整组")
    if held:
        lines.append(f"已暂停（{len(held)}）：")
        lines += [f"  计划 {x.id}（原定 {r.local(x.due_at)}）：{x.hold_reason}；审核后 gongkai release reschedule {x.id} --now，"
                  f"或 gongkai release split {x.id} 先发政策文件" for x in held]
    lines.append(f"投递：进行中 {b.in_flight}，需要关注 {len(troubled)}")
    lines += [f"  投递 {d.id}（计划 {d.release_id} → {labels.channel(d.channel)}）{labels.delivery_state(d.state)}，"
              f"已试 {d.attempts} 次：{d.last_error or ''}" for d in troubled]
    lines += [f"  {e.line(lambda t: r.local(t, '%Y-%m-%d %H:%M'))}" for e in draining]
    if deadlines:
        lines.append(f"时限义务（即将到期或已超期，{len(deadlines)}）：")
        lines += [obligation_line(d, r, b.subject_names) for d in deadlines]
        lines.append("  详见 gongkai obligations；确不需要的：gongkai obligations waive 编号 --reason \"理由\"")
    if b.notices:
        lines.append(f"时限提醒（近 7 天，{len(b.notices)}）：")
        for n in b.notices:
            lines.append(f"  {r.local(n.created_at, '%m-%d %H:%M')}  {n.text}")
            if sent := b.duty_messages.get(n.id):
                lines.append(f"    通知值班人员：{duty_messages.summary(sent)}")
    if returned:
        lines.append(f"退回给我（{len(returned)}）：")
        lines += [f"  稿件 {x.item_id} {x.title}：{x.by} 于 {r.local(x.at)} 退回，意见：{x.comment}；"
                  f"修改后 gongkai post edit {x.item_id} FILE.md，再 gongkai post submit {x.item_id}"
                  for x in returned]
    if awaiting_review:
        lines.append(f"待审核（{b.awaiting_total}）：" + "；".join(f"{i} {t}" for i, t in awaiting_review[:10]))
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
