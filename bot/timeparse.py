"""TIME arguments: ``YYYY-MM-DD HH:MM[:SS]`` in the configured zone, or ISO 8601 with an offset."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from content.errors import InputError


def parse_instant(text: str, tz: ZoneInfo, *, field: str = "--at") -> datetime:
    raw = text.strip()
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"无法识别的时间 {text!r}", field=field,
                         fix=f"写成 \"YYYY-MM-DD HH:MM\"（{tz.key} 时间）或带时差的 ISO 8601，"
                             "如 2026-12-01T09:00:00+08:00") from None
    if len(raw) <= 10:
        raise InputError(f"{text!r} 缺少时刻", field=field, fix="写成 \"YYYY-MM-DD HH:MM\"")
    if value.tzinfo is None:
        value = value.replace(tzinfo=tz)
    return value


def parse_date(text: str, *, field: str = "DATE") -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"无法识别的日期 {text!r}", field=field, fix="写成 YYYY-MM-DD，如 2026-10-08") from None
