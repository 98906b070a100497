"""``gongkai obligations``: the stored statutory deadlines, and waivers."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import click

from bot.clikit import Cli, command
from bot.output import emit
from bot.service import Service
from bot.zhclick import ZhGroup
from bot.ops import obligations as ops
from content.cadence import DutyMessage, ObligationNotice
from content.models import Obligation
from content.render import Renderer
from schedules import cadence, duty_messages, notices
from schedules import obligations as ob
from schedules.calendar import uncertain_note

LAST_MINUTE = timedelta(minutes=1)  # show 23:59 of the due day, not the next 00:00
STATE_CHOICES = ", ".join(s.value for s in ob.State)
RULE_HELP = "只看该规则：" + "、".join(ob.RULE_LABELS)


@click.group("obligations", cls=ZhGroup, invoke_without_command=True)
@click.option("--state", default=None, help=f"只看该状态：{STATE_CHOICES}")
@click.option("--rule", default=None, help=RULE_HELP)
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")
@click.option("--as", "actor", default=None, help="操作人（默认取 GONGKAI_USER）")
@click.pass_context
def obligations(ctx: click.Context, state: str | None, rule: str | None, as_json: bool,
                actor: str | None) -> None:
    """时限义务：列出（默认）与豁免。"""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_, state=state, rule=rule, as_json=as_json, actor=actor, department=None)


@command(obligations, "list")
@click.option("--state", default=None, help=f"只看该状态：{STATE_CHOICES}")
@click.option("--rule", default=None, help=RULE_HELP)
@click.option("--department", default=None, help="只看该部门")
def list_(cli: Cli, state: str | None, rule: str | None, department: str | None = None) -> None:
    """列出时限义务及其提醒记录（先按当前稿件评估一遍；时间为配置的时区）。"""
    ops.check_filters(state, rule)  # before the store is opened

    async def work(svc: Service, who: ops.Who) -> tuple[ops.Listing, Renderer]:
        return await ops.listing(svc, who, state=state, rule=rule, department=department), svc.renderer

    found, r = cli.run_as(work)
    lines = [line(x, r, found.names, found.notices.get(x.id, ()), found.messages) for x in found.rows] \
        or ["没有时限义务"]
    emit(cli.as_json, found.to_json(), lines)


@command(obligations, "waive")
@click.argument("obligation_id", type=int)
@click.option("--reason", default="", help="豁免理由（必填，记入审计）")
def waive(cli: Cli, obligation_id: int, reason: str) -> None:
    """豁免一项时限义务（须说明理由，记入审计；审核签发或管理员）。"""
    row = cli.run_as(lambda svc, who: ops.waive(svc, who, obligation_id, reason=reason))
    emit(cli.as_json, ob.to_json(row), f"时限义务 {row.id} 已豁免，理由：{row.waive_reason}")


def line(x: Obligation, r: Renderer, names: Mapping[int, str] | None = None,
         told: Sequence[ObligationNotice] = (), sent: Mapping[int, Sequence[DutyMessage]] | None = None) -> str:
    """One obligation, in Chinese, times in the configured zone."""
    state = ob.STATE_LABELS[ob.State(x.state)]
    subject = cadence.describe_subject(x, names or {})
    period = f"周期 {x.period}，" if x.subject_type != "item" and x.period != cadence.BLANK else ""
    text = (f"  {x.id}  {x.rule} {ob.RULE_LABELS.get(x.rule, '')}  {subject}"
            f"（{x.department or '未填部门'}）  {period}起算 {x.starts_on.isoformat()}，"
            f"须在 {r.local(x.due_at - LAST_MINUTE, '%Y-%m-%d %H:%M')} 前完成：{state}")
    if x.subject_type == "column" and x.period == cadence.BLANK:  # a finding, not a deadline
        text = (f"  {x.id}  {x.rule} {ob.RULE_LABELS.get(x.rule, '')}  {subject}"
                f"（{x.department or '未填部门'}）  {x.starts_on.isoformat()} 发现尚无任何稿件：{state}")
    if x.met_at is not None:
        text += f"（稿件 {x.met_by} 于 {r.local(x.met_at)} 发布）"
    if x.state == ob.State.WAIVED:
        text += f"（{x.waived_by}：{x.waive_reason}）"
    if told:
        text += "；已提醒：" + "、".join(f"{notices.STAGE_LABELS.get(n.stage, n.stage)} "
                                      f"{r.local(n.created_at, '%Y-%m-%d %H:%M')}"
                                      + (f"（{duty_messages.summary(m)}）" if (m := (sent or {}).get(n.id)) else "")
                                      for n in told)
    # coverage is contiguous: when any year of the span lacks data, the due date's year does
    return text + (uncertain_note((x.due_on.year,)) if x.uncertain else "")
