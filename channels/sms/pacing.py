"""Calls per second, as providers count them: a token bucket. Calls are spaced evenly at the
configured rate; a call that starts late (the previous batch was still being recorded) may be
followed at once by the next, within a small burst (a tenth of a second's worth of calls), so
time lost to a stall is made up without ever exceeding the rate by more than that burst."""
from __future__ import annotations

import asyncio


class Pacer:
    def __init__(self, per_second: float, burst_seconds: float = 0.1) -> None:
        self.interval = 1.0 / per_second
        self.slack = max(burst_seconds, self.interval) - self.interval  # how far behind a slot may be
        self._next: float | None = None

    def reserve(self) -> float:
        """Reserve the next slot; returns the seconds to wait for it."""
        now = asyncio.get_running_loop().time()
        if self._next is None:
            self._next = now
        at = max(self._next, now - self.slack)
        self._next = at + self.interval
        return max(at - now, 0.0)

    async def wait(self) -> None:
        delay = self.reserve()
        if delay > 0:
            await asyncio.sleep(delay)
