"""What a channel adds to the console's release calendar (发布计划): a line on a day (a WeChat
push quota in use) or on every day (SMS quiet hours). A channel that has any declares the
optional adapter method ``async calendar_notes(first, last) -> list[DayNote]``."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum


class Level(StrEnum):
    INFO = "info"  # for information (quiet hours, a quota with room left)
    FULL = "full"  # the day's quota is used up: a new release there cannot push
    OVER = "over"  # more is planned than the quota allows


@dataclass(frozen=True)
class DayNote:
    channel: str
    day: date | None  # None: the note holds on every day (quiet hours)
    text: str  # short, in Chinese, shown in the day's cell
    level: Level = Level.INFO
    detail: str = ""  # the longer explanation (which releases use the quota)
