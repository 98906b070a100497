"""A progress line on standard error for long commands (import, push).

On a terminal the line is redrawn in place (at most ten times a second); in a log file or a
pipe one line is written per tenth of the way and a last one at the end, so cron mails and CI logs
show the progress too. ``--json`` runs are silent (``enabled=False``)."""
from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 24


class ProgressLine:
    def __init__(self, label: str, total: int | None, *, enabled: bool = True, stream: TextIO | None = None) -> None:
        self.label = label
        self.total = total
        self.enabled = enabled
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.done = 0
        self.extra = ""
        self._drawn = 0.0
        self._step = -1
        self._shown: tuple[int, str] | None = None

    def _text(self) -> str:
        if self.total:
            filled = min(WIDTH, WIDTH * self.done // self.total)
            bar = "█" * filled + "·" * (WIDTH - filled)
            text = f"{self.label} [{bar}] {self.done}/{self.total}"
        else:
            text = f"{self.label} {self.done}"
        return f"{text}  {self.extra}" if self.extra else text

    def update(self, done: int, extra: str = "", *, total: int | None = None) -> None:
        self.done, self.extra = done, extra
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        if self.tty:
            now = time.monotonic()
            if now - self._drawn >= 0.1:
                self._drawn = now
                self.stream.write("\r\x1b[K" + self._text())
                self.stream.flush()
            return
        step = 10 * self.done // self.total if self.total else -1
        if step > self._step:
            self._step = step
            self._line()

    def _line(self) -> None:
        if self._shown != (self.done, self.extra):
            self._shown = (self.done, self.extra)
            self.stream.write(self._text() + "\n")
            self.stream.flush()

    def close(self) -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r\x1b[K" + self._text() + "\n")
            self.stream.flush()
        else:
            self._line()
