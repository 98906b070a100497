"""The static site's own search index, built by Pagefind's extended release (which segments
Chinese text) into ``pagefind/`` under the site directory, so search works when nginx or a CDN
serves the directory alone.

Pagefind reads every page and rewrites the whole index, which takes seconds on a large site, so
it never runs inside a release's rebuild: :meth:`PagefindIndexer.request` starts it in the
background ``delay`` seconds later, and requests that arrive meanwhile share that run (or the
next one, if they arrive while it runs). The new
index is written beside the old one and swapped in by renaming, so a reader sees one or the
other (Pagefind's own files are content-hashed and its entry file names them).
"""
from __future__ import annotations

import asyncio
import logging
import shutil
import sys
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

log = logging.getLogger("gongkai.website")

BUNDLE = "pagefind"
NEW = ".pagefind-new"
OLD = ".pagefind-old"
MODULE = "pagefind_bin_extended"


class IndexOutcome(StrEnum):
    BUILT = "built"
    FAILED = "failed"
    UNAVAILABLE = "unavailable"  # Pagefind is not installed

    @property
    def label(self) -> str:
        return {"built": "已生成", "failed": "生成失败", "unavailable": "未生成"}[self.value]


@dataclass(frozen=True)
class IndexResult:
    outcome: IndexOutcome
    detail: str = ""


def available() -> bool:
    try:
        __import__(MODULE)
    except ImportError:
        return False
    return True


class PagefindIndexer:
    def __init__(self, site_dir: Path, delay: float = 30.0) -> None:
        self.site_dir = Path(site_dir)
        self.delay = delay
        self.runs = 0
        self._task: asyncio.Task[IndexResult] | None = None
        self._again = False
        self._lock = asyncio.Lock()

    def request(self) -> None:
        """Index again soon: after ``delay`` seconds, or after the run under way."""
        if self._task is not None and not self._task.done():
            self._again = True
            return
        self._task = asyncio.create_task(self._debounced())

    async def idle(self) -> IndexResult | None:
        """Wait for the requested runs to finish; the last one's result."""
        return await self._task if self._task is not None else None

    async def close(self) -> None:
        """Drop a pending run (the next start or full build indexes again)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _debounced(self) -> IndexResult:
        while True:
            self._again = False
            await asyncio.sleep(self.delay)  # a burst of releases, one run
            result = await self.index()
            if not self._again:
                return result

    async def index(self) -> IndexResult:
        """Build the index now and swap it in."""
        async with self._lock:
            if not available():
                return IndexResult(IndexOutcome.UNAVAILABLE, "未安装 Pagefind（pagefind[extended]）")
            new, old = self.site_dir / NEW, self.site_dir / OLD
            for leftover in (new, old):
                shutil.rmtree(leftover, ignore_errors=True)
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", MODULE, "--site", str(self.site_dir), "--output-path", str(new),
                "--silent", stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
            output, _ = await proc.communicate()
            self.runs += 1
            if proc.returncode != 0:
                shutil.rmtree(new, ignore_errors=True)
                detail = output.decode("utf-8", "replace").strip()[-500:]
                log.warning("站内搜索索引生成失败：%s", detail)
                return IndexResult(IndexOutcome.FAILED, detail)
            current = self.site_dir / BUNDLE
            if current.exists():
                current.rename(old)
            new.rename(current)
            shutil.rmtree(old, ignore_errors=True)
            return IndexResult(IndexOutcome.BUILT)
