"""Asking before a mass action (a release that messages or pushes to people, a push to every
subscriber, removing many numbers).

The command says what it will do; on a terminal it asks; anywhere else (a script, cron, a pipe)
it refuses unless ``--yes`` was given, so nothing is ever done on an unanswered question."""
from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from channels.extension import YES_HELP
from content.errors import InputError

if TYPE_CHECKING:
    from channels.base import Reach

__all__ = ["YES_HELP", "as_json", "confirm", "confirm_reach", "describe"]


def confirm(what: str, *, yes: bool, prompt: str = "确定继续吗？") -> None:
    """Go on if ``yes`` or if the person at the terminal agrees; otherwise raise (nothing done)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise InputError(f"{what}，需要确认；没有终端可以询问，未做任何操作", field="--yes",
                         fix="确认无误后加 --yes 再运行（非交互运行时必须加 --yes）")
    click.echo(what + "。", err=True)
    if not click.confirm(prompt, default=False, err=True):
        raise InputError("已取消，未做任何操作", fix="需要时重新执行该命令")


def describe(reach: Reach) -> str:
    if reach.parts:
        return (f"{reach.label}：{reach.people} 个，每个 {reach.parts} 条计费短信，"
                f"共 {reach.people * reach.parts} 条")
    return f"{reach.label}：{reach.people} 人"


def as_json(reach: list[Reach]) -> list[dict]:
    return [{"channel": r.channel, "people": r.people, "parts": r.parts, "label": r.label} for r in reach]


def confirm_reach(reach: list[Reach], *, yes: bool, what: str) -> list[str]:
    """Lines saying whom ``what`` reaches; asks at a terminal unless ``yes``. Raises InputError
    (nothing is changed) when declined, or when there is no terminal to ask at and no --yes."""
    if not reach:
        return []
    lines = [f"{what}将发送给 " + "；".join(describe(r) for r in reach)]
    confirm(lines[0], yes=yes, prompt="确认发出？")
    return lines
