"""``gongkai post approve-retract`` / ``reject-retract``: a colleague decides on a retraction
request (``post retract``); only an approval retracts the item."""
from __future__ import annotations

import click

from bot.clikit import Cli, command
from bot.ops import items as ops
from bot.output import emit
from content.review_chain import step_label


@click.group()
def decisions() -> None:
    """Holder group: bot.cli adds these commands to ``gongkai post``."""


@command(decisions, "approve-retract")
@click.argument("item_id", type=int)
def approve_retract(cli: Cli, item_id: int) -> None:
    """完成撤回申请审核链中轮到自己的一步（每步由申请人以外的不同同事完成）；最后一步完成后稿件立即撤回并通知各渠道。"""
    done = cli.run_as(lambda svc, who: ops.approve_retract(svc, who, item_id))
    chain = done.chain
    data = {"id": item_id, "state": done.state, "request": done.request,
            "requested_by": done.requested_by, "approved_by": done.decided_by,
            "release": done.release, "retraction_chain": chain.as_json() if chain else None}
    if chain is not None and done.step is not None and chain.next is not None:
        nxt = chain.next
        emit(cli.as_json, data,
             [f"稿件 {item_id} 的撤回申请：{step_label(done.step)}已由 {done.decided_by} 完成"
              f"（{len(chain.taken)}/{len(chain.steps)}），稿件仍在发布中。",
              f"下一步：{step_label(nxt)}，请持有“{nxt.label}”角色的另一位同事（不能是申请人）执行 "
              f"gongkai post approve-retract {item_id} --as 其姓名"])
        return
    emit(cli.as_json, data,
         f"已批准 {done.requested_by} 的撤回申请：稿件 {item_id} 已撤回（原因：{done.reason}；"
         f"撤回计划 {done.release}，运行中的 gongkai run 将通知各渠道）。")


@command(decisions, "reject-retract")
@click.argument("item_id", type=int)
@click.option("--comment", default="", help="驳回意见（必填）")
def reject_retract(cli: Cli, item_id: int, comment: str) -> None:
    """驳回撤回申请：稿件保持发布。"""
    done = cli.run_as(lambda svc, who: ops.reject_retract(svc, who, item_id, comment))
    emit(cli.as_json, {"id": item_id, "state": done.state, "request": done.request,
                       "rejected_by": done.decided_by},
         f"已驳回 {done.requested_by} 对稿件 {item_id} 的撤回申请：{done.reason}；稿件保持发布。")
