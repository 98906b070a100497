"""Printing results: readable Chinese by default, one JSON document with --json."""
from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any

import click


def _default(value: Any) -> Any:
    """Instants are printed in UTC with their offset, whatever zone they were made in."""
    if isinstance(value, datetime):
        return value.astimezone(timezone.utc).isoformat() if value.tzinfo else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (set, tuple)):
        return list(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def emit(as_json: bool, data: dict[str, Any], lines: list[str] | str) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=_default))
        return
    text = lines if isinstance(lines, str) else "\n".join(lines)
    if text:
        click.echo(text)


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain table that lines up Chinese (double-width) characters."""
    def width(s: str) -> int:
        return sum(2 if ord(ch) > 0x2E80 else 1 for ch in s)

    cells = [headers] + rows
    widths = [max(width(str(r[i])) for r in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        out.append("  ".join(str(c) + " " * (widths[i] - width(str(c))) for i, c in enumerate(row)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
