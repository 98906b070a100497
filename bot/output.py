"""Printing results: readable Chinese by default, one JSON document with --json."""
from __future__ import annotations

import json
import unicodedata
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


def display_width(text: str) -> int:
    """Columns ``text`` takes on a terminal: Chinese (wide and full-width) characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_NO_LINE_START = set("，。、；：！？）》」』”’")  # closing punctuation stays with the text before it


def wrap(text: str, width: int) -> list[str]:
    """Lines of at most ``width`` columns; breaks between words, or anywhere in Chinese text."""
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for token in _tokens(paragraph):
            if line and display_width(line + token) > width and token not in _NO_LINE_START:
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        lines.append(line.rstrip())
    return lines


def _tokens(text: str) -> list[str]:
    """Words (with their leading space) and single wide characters."""
    tokens: list[str] = []
    for ch in text:
        if unicodedata.east_asian_width(ch) in "WF" or not tokens or ch == " " or \
                unicodedata.east_asian_width(tokens[-1][-1]) in "WF":
            tokens.append(ch)
        else:
            tokens[-1] += ch
    return tokens


def table(rows: list[list[str]], headers: list[str]) -> str:
    """A plain table that lines up Chinese (double-width) characters."""
    width = display_width
    cells = [headers] + rows
    widths = [max(width(str(r[i])) for r in cells) for i in range(len(headers))]
    out = []
    for n, row in enumerate(cells):
        out.append("  ".join(str(c) + " " * (widths[i] - width(str(c))) for i, c in enumerate(row)).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)
