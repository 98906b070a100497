"""Fitting a notification's values to its template's keys before sending. A key's type is its
prefix (``thing1`` → thing) and WeChat refuses a value its type does not allow with 47003
(``thing`` at most 20 characters: protocol reference §1.7; the other types as the official
subscribe-notification page lists them). So every value is made to fit: a long ``thing`` is
shortened with an ellipsis, a ``character_string`` keeps only ASCII, a ``phrase`` only Chinese.

Types that no value of ours can fill (number, letter, symbol, amount, phone_number,
car_number) are refused by the settings, as is a time or date key fed anything but the
publication time (:func:`problems`)."""
from __future__ import annotations

import re

THING = 20
CHARACTER_STRING = 32
PHRASE = 5
NAME_CJK, NAME_OTHER = 10, 20
LEGACY = 32  # keys of no known type (first, keyword1, …): kept short anyway

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
TYPES = ("character_string", "phone_number", "car_number", "amount", "number", "letter", "symbol",
         "thing", "time", "date", "name", "phrase")
UNFILLABLE = frozenset({"number", "letter", "symbol", "amount", "phone_number", "car_number"})
TIMES = frozenset({"time", "date"})


def kind(key: str) -> str | None:
    """The value type of a template key (``thing1`` → thing), None for a key of no known type."""
    return next((t for t in TYPES if key.startswith(t) and key[len(t):].isdigit()), None)


def _cut(value: str, limit: int, ellipsis: str = "…") -> str:
    return value if len(value) <= limit else value[:limit - len(ellipsis)] + ellipsis


def fit(key: str, value: str) -> str:
    """``value`` as the template key ``key`` accepts it (never empty)."""
    value = CONTROL.sub(" ", value).strip()
    match kind(key):
        case "thing":
            return _cut(value, THING) or "—"
        case "character_string":
            return "".join(c for c in value if "!" <= c <= "~")[:CHARACTER_STRING] or "-"
        case "phrase":
            return "".join(CJK.findall(value))[:PHRASE] or "无"
        case "name":
            return value[:NAME_CJK if CJK.search(value) else NAME_OTHER] or "—"
        case "time" | "date":
            return value
        case _:
            return _cut(value, LEGACY) or "—"


def problems(fields: dict[str, str], setting: str = "notify_fields", time_source: str = "published_at",
             what_in: str = "稿件信息", time_label: str = "发布时间") -> list[str]:
    """What is wrong with a ``notify_fields`` (or ``duty_fields``) mapping (template key → value
    source): a key whose type no value fills, a time or date key fed anything but the time."""
    out = []
    for key, source in fields.items():
        what = kind(key)
        if what in UNFILLABLE:
            out.append(f"{setting}.{key}：模板字段类型 {what} 无法填入{what_in}（修正：选用字段为 thing、"
                       f"character_string、time、date、phrase 或 name 的模板，或删去该项）")
        elif what in TIMES and source != time_source:
            out.append(f"{setting}.{key}：{what} 类型的字段只能填{time_label}（修正：写成 {key} = \"{time_source}\"）")
    return out
