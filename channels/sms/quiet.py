"""Quiet hours: non-emergency SMS wait for the window to open (default 21:00–08:00 in the bot's
time zone); emergency items ignore them."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class QuietHours:
    start: time
    end: time
    tz: ZoneInfo

    @classmethod
    def parse(cls, start: str, end: str, tz: ZoneInfo) -> QuietHours:
        h1, m1 = map(int, start.split(":"))
        h2, m2 = map(int, end.split(":"))
        return cls(time(h1, m1), time(h2, m2), tz)

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}–{self.end:%H:%M}"

    def wait(self, now: datetime) -> float:
        """Seconds until sending may start (0 outside quiet hours)."""
        if self.start == self.end:
            return 0.0
        local = now.astimezone(self.tz)
        t = local.time()
        if self.start < self.end:
            quiet = self.start <= t < self.end
        else:  # across midnight, e.g. 21:00–08:00
            quiet = t >= self.start or t < self.end
        if not quiet:
            return 0.0
        opens = datetime.combine(local.date(), self.end, tzinfo=self.tz)
        if opens <= local:
            opens += timedelta(days=1)
        return (opens - local).total_seconds()

    def opens_at(self, now: datetime) -> datetime:
        return (now + timedelta(seconds=self.wait(now))).astimezone(self.tz)
