"""Posting slots: a channel's usual posting times, written in its settings as
``slots = ["工作日 18:00"]`` (working days only, on the working-day calendar) or ``"09:00"`` /
``"每天 09:00"`` (every day). :func:`candidates` lists the slot instants from a moment on, in
order; the queue (``bot.ops.queue``) takes the first one that is free."""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from content.errors import InputError
from schedules.calendar import WorkdayCalendar

_SLOT = re.compile(r"^(?:(?P<when>工作日|每天|每日)\s*)?(?P<hh>\d{1,2})[:：](?P<mm>\d{2})$")
EXAMPLES = "“工作日 18:00”或“09:00”"


@dataclass(frozen=True)
class Slot:
    at: time
    workdays_only: bool

    @property
    def label(self) -> str:
        return ("工作日 " if self.workdays_only else "每天 ") + f"{self.at:%H:%M}"


def parse(text: str, where: str = "slots") -> Slot:
    m = _SLOT.match(" ".join(str(text).split()))
    if m is None or int(m["hh"]) > 23 or int(m["mm"]) > 59:
        raise InputError(f"无法识别的发布时段“{text}”", field=where, fix=f"写成 {EXAMPLES}")
    return Slot(time(int(m["hh"]), int(m["mm"])), m["when"] == "工作日")


def candidates(slots: list[Slot], cal: WorkdayCalendar, tz: ZoneInfo, after: datetime,
               days: int = 62) -> Iterator[datetime]:
    """Slot instants strictly after ``after``, in time order, for ``days`` days."""
    start: date = after.astimezone(tz).date()
    for k in range(days + 1):
        day = start + timedelta(days=k)
        workday = cal.is_workday(day)
        for at in sorted({s.at for s in slots if workday or not s.workdays_only}):
            instant = datetime.combine(day, at, tz)
            if instant > after:
                yield instant
