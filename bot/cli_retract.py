"""``gongkai post approve-retract`` / ``reject-retract``: a colleague decides on a retraction
request (``post retract``); only an approval retracts the item."""
from __future__ import annotations

import click

from bot.clikit import Cli, command
from bot.ops import items as ops
from bot.output import emit


@click.group()
def decisions() -> None:
    """Holder group: bot.cli adds these commands to ``gongkai post``."""


@command(decisions, "approve-retract")
@click.argument("item_id", type=int)
def approve_retract(cli: Cli, item_id: int) -> None:
    """批准撤回申请（批准人不能是申请人）：稿件立即撤回并通知各渠道。"""
    done = cli.run_as(lambda svc, who: ops.approve_retract(svc, who, item_id))
    emit(cli.as_json, {"id": item_id, "state": done.state, "request": done.request,
                       "requested_by": done.requested_by, "approved_by": done.decided_by,
                       "release": done.release},
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
