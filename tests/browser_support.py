"""A real browser for console tests: Playwright for Python driving Debian's chromium (never a
downloaded browser). Skipped with the reason when chromium or Playwright is missing, unless
GONGKAI_REQUIRE_BROWSER is set (CI), where that fails instead.

Screenshots: set GONGKAI_SHOTS to a folder and :func:`shoot` saves each page there at desktop
(1280 px) and phone (390 px) width."""
from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
WIDTHS = {"desktop": 1280, "phone": 390}


def _missing() -> str | None:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        return "chromium is not installed (apt-get install chromium fonts-wqy-microhei)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@contextmanager
def browser() -> Iterator[Any]:
    reason = _missing()
    if reason:
        if os.environ.get("GONGKAI_REQUIRE_BROWSER"):
            pytest.fail(f"GONGKAI_REQUIRE_BROWSER is set but {reason}")
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chrome = pw.chromium.launch(executable_path=CHROMIUM if Path(CHROMIUM).exists() else shutil.which("chromium"),
                                    args=["--no-sandbox"])
        try:
            yield chrome
        finally:
            chrome.close()


def shoot(page: Any, name: str) -> None:
    """Save ``page`` at desktop and phone width under $GONGKAI_SHOTS (when set)."""
    folder = os.environ.get("GONGKAI_SHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(Path(folder) / f"{name}-{label}.png"), full_page=True)
    if original:
        page.set_viewport_size(original)


def run(coro: Any) -> Any:
    """Run a coroutine from a synchronous (browser) test."""
    return asyncio.run(coro)
