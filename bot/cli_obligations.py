"""``gongkai obligations``: the stored statutory deadlines, and waivers."""
from __future__ import annotations

from datetime import timedelta

import click

from bot.clikit import Cli, command
from bot.output import emit
from bot.service import Service
from bot.zhclick import ZhGroup
from content.errors import InputError
from content.models import Obligation
from content.render import Renderer
from schedules import obligations as ob
from schedules.calendar import uncertain_note

LAST_MINUTE = timedelta(minutes=1)  # show 23:59 of the due day, not the next 00:00
STATE_CHOICES = ", ".join(s.value for s in ob.State)


@click.group("obligations", cls=ZhGroup, invoke_without_command=True)
@click.option("--state", default=None, help=f"只看该状态：{STATE_CHOICES}")
@click.option("--rule", default=None, help="只看该规则：R1、R3、R4、L26")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")
@click.option("--as", "actor", default=None, help="操作人（默认取 GONGKAI_USER）")
@click.pass_context
def obligations(ctx: click.Context, state: str | None, rule: str | None, as_json: bool,
                actor: str | None) -> None:
    """时限义务：列出（默认）与豁免。"""
    if ctx.invoked_subcommand is None:
        ctx.invoke(list_, state=state, rule=rule, as_json=as_json, actor=actor)


@command(obligations, "list")
@click.option("--state", default=None, help=f"只看该状态：{STATE_CHOICES}")
@click.option("--rule", default=None, help="只看该规则：R1、R3、R4、L26")
def list_(cli: Cli, state: str | None, rule: str | None) -> None:
    """列出时限义务（先按当前稿件评估一遍；时间为配置的时区）。"""
    if state and state not in set(ob.State):
        raise InputError(f"未知状态“{state}”", field="state", fix=f"可用：{STATE_CHOICES}")
    if rule and rule.upper() not in ob.RULE_LABELS:
        raise InputError(f"未知规则“{rule}”", field="rule", fix="可用：R1、R3、R4、L26")

    async def work(svc: Service):  # noqa: ANN202
        await svc.evaluate_obligations()  # idempotent: up to date even without a running ticker
        async with svc.store.sessions() as s:
            return await ob.listing(s, state=state, rule=rule), svc.renderer

    rows, r = cli.run(work)
    lines = [line(x, r) for x in rows] or ["没有时限义务"]
    emit(cli.as_json, {"obligations": [ob.to_json(x) for x in rows]}, lines)


@command(obligations, "waive")
@click.argument("obligation_id", type=int)
@click.option("--reason", default="", help="豁免理由（必填，记入审计）")
def waive(cli: Cli, obligation_id: int, reason: str) -> None:
    """豁免一项时限义务（须说明理由，记入审计）。"""
    actor = (cli.actor_name or "").strip()

    async def work(svc: Service) -> Obligation:
        return await svc.store.transaction(lambda s: ob.waive(
            s, obligation_id, reason=reason, actor=actor, now=svc.clock.now()))

    row = cli.run(work)
    emit(cli.as_json, ob.to_json(row), f"时限义务 {row.id} 已豁免，理由：{row.waive_reason}")


def line(x: Obligation, r: Renderer) -> str:
    """One obligation, in Chinese, times in the configured zone."""
    state = ob.STATE_LABELS[ob.State(x.state)]
    subject = "定期发布场次" if x.subject_type == "occurrence" else "稿件"  # R10: schedules.recurring
    text = (f"  {x.id}  {x.rule} {ob.RULE_LABELS.get(x.rule, '')}  {subject} {x.subject_id}"
            f"（{x.department or '未填部门'}）  起算 {x.starts_on.isoformat()}，"
            f"须在 {r.local(x.due_at - LAST_MINUTE, '%Y-%m-%d %H:%M')} 前完成：{state}")
    if x.met_at is not None:
        text += f"（稿件 {x.met_by} 于 {r.local(x.met_at)} 发布）"
    if x.state == ob.State.WAIVED:
        text += f"（{x.waived_by}：{x.waive_reason}）"
    # coverage is contiguous: when any year of the span lacks data, the due date's year does
    return text + (uncertain_note((x.due_on.year,)) if x.uncertain else "")
