"""The one parser for instants and dates typed on the command line, in the configured zone.

Instants: ``2026-12-01 09:00``, ``2026/12/01 09:00``, ``2026.12.01 9:00``, ``2026年12月1日 9:00``
(also ``9时``/``9点30分``), ``2026-12-01T09:00:00``, optionally with seconds and an offset (``Z``,
``+08:00``) — without an offset the time is in the configured zone. A time alone (``9:00``) means
that time TODAY in the configured zone (a past time is then refused by the command like any other
past instant). Dates: the same date forms. Full-width digits and colons are accepted.

A date that does not exist (``2026-02-30``) or a time that does not exist (``25:00``) is named as
such, never silently moved."""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo

from content.errors import InputError

MIN_YEAR, MAX_YEAR = 1900, 2999

_DATE = (r"(?P<y>\d{4})(?:(?P<sep>[-/.])(?P<m>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
         r"|\s*年\s*(?P<cm>\d{1,2})\s*月\s*(?P<cd>\d{1,2})\s*[日号]?)")
_TIME = (r"(?P<H>\d{1,2})(?:\s*:\s*(?P<M>\d{1,2})(?:\s*:\s*(?P<S>\d{1,2})(?:\.(?P<f>\d{1,6}))?)?"
         r"|\s*[时点]\s*(?:(?P<cM>\d{1,2})\s*分?)?)")
_OFFSET = r"\s*(?P<off>Z|[+-]\d{2}:?\d{2})?"
_INSTANT = re.compile(rf"{_DATE}(?:(?:T|\s+|(?<=[日号]))\s*{_TIME}{_OFFSET})?", re.IGNORECASE)
_TIME_ONLY = re.compile(rf"{_TIME}{_OFFSET}")
_DATE_ONLY = re.compile(_DATE)

INSTANT_FORMS = "\"YYYY-MM-DD HH:MM\"、\"YYYY/MM/DD HH:MM\"、\"2026年12月1日 9:00\" 或 \"HH:MM\"（今天）"
DATE_FORMS = "YYYY-MM-DD、YYYY/MM/DD 或 2026年12月1日"


@dataclass(frozen=True)
class _Parts:
    day: date | None
    clock: time
    offset: tzinfo | None


def _normal(text: str) -> str:
    """Full-width digits, colons and spaces become their ASCII forms."""
    return unicodedata.normalize("NFKC", text).strip()


def _day(match: re.Match[str], text: str, field: str) -> date:
    year = int(match["y"])
    month = int(match["m"] or match["cm"])
    day = int(match["d"] or match["cd"])
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InputError(f"“{text}”的年份 {year} 超出范围", field=field,
                         fix=f"写 {MIN_YEAR}–{MAX_YEAR} 年之间的日期")
    if not 1 <= month <= 12:
        raise InputError(f"没有这一天：“{text}”中没有 {month} 月", field=field, fix="月份只能是 1–12")
    last = calendar.monthrange(year, month)[1]
    if not 1 <= day <= last:
        raise InputError(f"没有这一天：{year} 年 {month} 月只有 {last} 天（“{text}”）", field=field,
                         fix=f"写一个存在的日期，如 {year}-{month:02d}-{last:02d}")
    return date(year, month, day)


def _clock(match: re.Match[str], text: str, field: str) -> time:
    hour = int(match["H"])
    minute = int(match["M"] or match["cM"] or 0)
    second = int(match["S"] or 0)
    fraction = int((match["f"] or "0").ljust(6, "0"))
    if hour > 23:
        raise InputError(f"没有这个时刻：“{text}”中的小时 {hour} 不存在", field=field,
                         fix="小时只能是 0–23，如 09:00、21:30")
    if minute > 59 or second > 59:
        raise InputError(f"没有这个时刻：“{text}”中的分或秒超过 59", field=field,
                         fix="分和秒只能是 0–59")
    return time(hour, minute, second, fraction)


def _offset(match: re.Match[str]) -> tzinfo | None:
    raw = match["off"]
    if not raw:
        return None
    if raw.upper() == "Z":
        return timezone.utc
    sign = -1 if raw[0] == "-" else 1
    digits = raw[1:].replace(":", "")
    return timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))


def _unrecognised(text: str, field: str, what: str, forms: str) -> InputError:
    return InputError(f"无法识别的{what}“{text}”", field=field, fix=f"写成 {forms}")


def parse_instant(text: str, tz: tzinfo, *, now: datetime, field: str = "--at") -> datetime:
    """An aware datetime for ``text``; ``now`` gives "today" for a time alone."""
    raw = _normal(text or "")
    zone_name = getattr(tz, "key", str(tz))
    forms = f"{INSTANT_FORMS}，{zone_name} 时间"
    if not raw:
        raise InputError("时间是空的", field=field, fix=f"写成 {forms}")
    full = _INSTANT.fullmatch(raw)
    if full is not None:
        if full["H"] is None:
            raise InputError(f"“{text}”缺少时刻", field=field, fix="在日期后写上时刻，如 \"2026-12-01 09:00\"")
        parts = _Parts(_day(full, text, field), _clock(full, text, field), _offset(full))
    else:
        alone = _TIME_ONLY.fullmatch(raw)
        if alone is None:
            raise _unrecognised(text, field, "时间", forms)
        parts = _Parts(None, _clock(alone, text, field), _offset(alone))
    zone = parts.offset or tz
    day = parts.day or now.astimezone(zone).date()
    value = datetime.combine(day, parts.clock, tzinfo=zone)
    if parts.offset is None and value.astimezone(timezone.utc).astimezone(tz) != value:
        raise InputError(f"没有这个时刻：{zone_name} 的 “{text}” 因夏令时调整而不存在", field=field,
                         fix="换一个时刻，或写明时差，如 +08:00")
    return value


def parse_date(text: str, *, field: str = "日期") -> date:
    raw = _normal(text or "")
    if not raw:
        raise InputError("日期是空的", field=field, fix=f"写成 {DATE_FORMS}")
    match = _DATE_ONLY.fullmatch(raw)
    if match is None:
        raise _unrecognised(text, field, "日期", f"{DATE_FORMS}，如 2026-10-08")
    return _day(match, text, field)
