"""Mass actions ask first: a release that messages or pushes to people says to how many (and
the billed SMS parts) and goes ahead only on a yes at the terminal, or with ``--yes``."""
from __future__ import annotations

import sys

import click

from channels.base import Reach
from content.errors import InputError

YES_HELP = "不再询问，直接确认群发（脚本中使用）"


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
    if yes:
        return lines
    if not sys.stdin.isatty():
        raise InputError(lines[0] + "，需要确认；没有终端可以询问", field="--yes",
                         fix="确认无误后加 --yes 重新执行")
    click.echo(lines[0], err=True)
    if not click.confirm("确认发出？", default=False, err=True):
        raise InputError(f"已取消：{what}未执行，没有任何改动", fix="需要时重新执行该命令")
    return lines
