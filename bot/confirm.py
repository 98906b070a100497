"""Asking before a mass action (a push to every subscriber, removing many numbers).

The command says what it will do; on a terminal it asks; anywhere else (a script, cron, a pipe)
it refuses unless ``--yes`` was given, so nothing is ever done on an unanswered question."""
from __future__ import annotations

import sys

import click

from content.errors import GongkaiError

YES_HELP = "不再询问，直接执行（脚本中使用）"


def confirm(what: str, *, yes: bool) -> None:
    """Go on if ``yes`` or if the person at the terminal agrees; otherwise raise (nothing done)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise GongkaiError(f"{what}。需要确认，未做任何操作",
                           fix="确认无误后加 --yes 再运行（非交互运行时必须加 --yes）")
    click.echo(what + "。", err=True)
    if not click.confirm("确定继续吗？", default=False, err=True):
        raise GongkaiError("已取消，未做任何操作")
