"""``gongkai post approve-retract`` / ``reject-retract``: a colleague decides on a retraction
request (``post retract``); only an approval retracts the item."""
from __future__ import annotations

import click

from bot.clikit import Cli, command
from bot.output import emit
from bot.service import Service
from content import workflow


@click.group()
def decisions() -> None:
    """Holder group: bot.cli adds these commands to ``gongkai post``."""


@command(decisions, "approve-retract")
@click.argument("item_id", type=int)
def approve_retract(cli: Cli, item_id: int) -> None:
    """批准撤回申请（批准人不能是申请人）：稿件立即撤回并通知各渠道。"""
    actor = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        return await svc.approve_retraction(item_id, actor)

    request = cli.run(work)
    emit(cli.as_json, {"id": item_id, "state": "retracted", "request": request.id,
                       "requested_by": request.requested_by, "approved_by": actor,
                       "release": request.release_id},
         f"已批准 {request.requested_by} 的撤回申请：稿件 {item_id} 已撤回（原因：{request.reason}；"
         f"撤回计划 {request.release_id}，运行中的 gongkai run 将通知各渠道）。")


@command(decisions, "reject-retract")
@click.argument("item_id", type=int)
@click.option("--comment", default="", help="驳回意见（必填）")
def reject_retract(cli: Cli, item_id: int, comment: str) -> None:
    """驳回撤回申请：稿件保持发布。"""
    actor = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        return await svc.store.transaction(lambda s: workflow.reject_retraction(
            s, item_id, actor=actor, now=svc.clock.now(), comment=comment))

    request = cli.run(work)
    emit(cli.as_json, {"id": item_id, "state": "published", "request": request.id, "rejected_by": actor},
         f"已驳回 {request.requested_by} 对稿件 {item_id} 的撤回申请：{comment.strip()}；稿件保持发布。")
