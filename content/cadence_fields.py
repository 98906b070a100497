"""Front matter of the cadence rules: press conferences (R6, R7: ``held_on``, ``speakers``,
``head_spoke``), emergencies (R9: ``severity``, ``occurred_at``) and consultations (R11:
``consultation_closes`` on the consultation, ``feedback_for`` on the feedback item).

Each value is checked here and kept in the revision's ``extra``; every problem names the field
and the fix, in Chinese.
"""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from content.errors import InputError
from content.kinds import Kind

SEVERITIES = ("一般", "较大", "重大", "特别重大")
MAX_SPEAKERS = 30
MAX_SPEAKER = 50

#: front matter key → Chinese label
CADENCE_FIELDS = {
    "held_on": "发布会举行日期",
    "speakers": "发布人",
    "head_spoke": "主要负责人是否出席发布",
    "severity": "事件级别",
    "occurred_at": "事件发生时间",
    "consultation_closes": "征求意见截止日期",
    "feedback_for": "意见采纳情况所反馈的征求意见稿件",
}
ONLY_FOR = {"held_on": Kind.PRESS_CONFERENCE, "speakers": Kind.PRESS_CONFERENCE,
            "head_spoke": Kind.PRESS_CONFERENCE, "severity": Kind.EMERGENCY,
            "occurred_at": Kind.EMERGENCY}
KIND_LABELS = {Kind.PRESS_CONFERENCE: "press_conference（新闻发布会）",
               Kind.EMERGENCY: "emergency（突发事件信息）"}


def cadence_fields(meta: dict[str, Any], kind: Kind) -> dict[str, Any]:
    """The cadence fields written in ``meta``, validated, as they are kept in ``extra``."""
    found: dict[str, Any] = {}
    for name, wanted in ONLY_FOR.items():
        if meta.get(name) not in (None, "") and kind is not wanted:
            raise InputError(f"只有 kind: {KIND_LABELS[wanted]} 的稿件可以填写{CADENCE_FIELDS[name]}",
                             field=name, fix=f"删除 {name}，或把 kind 改为 {wanted.value}")
    for name in ("held_on", "consultation_closes"):
        if (day := _day(meta, name)) is not None:
            found[name] = day.isoformat()
    if (speakers := meta.get("speakers")) not in (None, ""):
        found["speakers"] = _speakers(speakers)
    if (spoke := meta.get("head_spoke")) is not None:
        if not isinstance(spoke, bool):
            raise InputError(f"应为 true 或 false，而不是 {spoke!r}", field="head_spoke",
                             fix="主要负责人出席发布写 head_spoke: true，否则写 false")
        found["head_spoke"] = spoke
    if (severity := meta.get("severity")) not in (None, ""):
        text = str(severity).strip()
        if text not in SEVERITIES:
            raise InputError(f"事件级别“{text}”无效", field="severity",
                             fix=f"可用：{'、'.join(SEVERITIES)}")
        found["severity"] = text
    if (occurred := meta.get("occurred_at")) not in (None, ""):
        found["occurred_at"] = _instant(occurred)
    if kind is Kind.EMERGENCY and found.get("severity") in ("重大", "特别重大") \
            and "occurred_at" not in found:
        raise InputError(f"{found['severity']}突发事件须写明发生时间（24 小时内须召开新闻发布会，从此起算）",
                         field="occurred_at", fix="加上 occurred_at: 2026-11-20 08:30")
    if (target := meta.get("feedback_for")) not in (None, ""):
        if isinstance(target, bool) or not str(target).strip().isdigit():
            raise InputError(f"{target!r} 不是稿件编号", field="feedback_for",
                             fix="写成 feedback_for: 征求意见稿件的编号（如 12）")
        found["feedback_for"] = int(str(target).strip())
    return found


def _day(meta: dict[str, Any], name: str) -> date | None:
    value = meta.get(name)
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"{CADENCE_FIELDS[name]} {value!r} 无效", field=name,
                         fix="格式为 YYYY-MM-DD，如 2026-11-20") from None


def _speakers(value: Any) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise InputError("发布人应为姓名列表", field="speakers", fix="写成 speakers: [张三, 李四]")
    if len(value) > MAX_SPEAKERS:
        raise InputError(f"发布人过多（{len(value)} 位，上限 {MAX_SPEAKERS}）", field="speakers",
                         fix="只列出发布人")
    names = [v.strip() for v in value]
    if too_long := [n for n in names if len(n) > MAX_SPEAKER]:
        raise InputError(f"发布人“{too_long[0][:20]}…”过长（上限 {MAX_SPEAKER} 字）", field="speakers",
                         fix="每位发布人只写姓名和职务")
    return names


def _instant(value: Any) -> str:
    """An instant written as ``2026-11-20 08:30`` (in the configured zone) or with an offset
    (``2026-11-20T08:30+08:00``); kept as written, in ISO form."""
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(f"事件发生时间 {value!r} 无效", field="occurred_at",
                         fix="写成 YYYY-MM-DD HH:MM，如 2026-11-20 08:30（按配置的时区）") from None
    if len(text) <= 10:
        raise InputError("事件发生时间须精确到分钟", field="occurred_at",
                         fix="写成 YYYY-MM-DD HH:MM，如 2026-11-20 08:30")
    return parsed.isoformat(timespec="minutes")


def occurred_instant(text: str, tz: Any) -> datetime:
    """The stored ``occurred_at`` as an aware instant (naive values are in ``tz``)."""
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
