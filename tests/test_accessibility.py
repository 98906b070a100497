"""Accessibility: axe-core (axe-playwright-python) in Debian's chromium on every console page,
signed in with an account that may open it, and on the public site (home, a column, an item,
search, the 政府信息公开 pages, the 404 page), against a real ``gongkai run`` with the sample
content: no serious or critical violation anywhere."""
from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bot import sample
from bot.service import Service
from bot.settings import load
from content import accounts
from content.accounts import Role
from content.clock import SystemClock
from tests.botproc import bot_env, invoke, start_bot, stop_bot
from tests.browser_support import browser, run, shoot

PASSWORD = "correct-horse-1"
BAD = {"serious", "critical"}


async def _prepare(env: dict) -> None:
    """The sample policy and its interpretation, released at once, and an account holding every role."""
    service = await Service.create(load(env["config"], {}))
    try:
        await sample.load_if_empty(service, lead=timedelta(seconds=0))
        await service.store.transaction(lambda s: accounts.add(
            s, "boss", name="全能账号", roles=tuple(Role), department="办公室", password=PASSWORD,
            actor="test", now=SystemClock().now()))
    finally:
        await service.store.close()


def _wait_for_the_site(page: Any, base: str) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        page.goto(base + "/")
        if page.locator("a[href^='items/']").count():
            return
        page.wait_for_timeout(300)
    raise AssertionError("the sample release never reached the website")


def _violations(page: Any) -> list[str]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for v in results.response["violations"]:
        if v["impact"] in BAD:
            targets = "; ".join(",".join(n["target"]) for n in v["nodes"][:3])
            found.append(f"{page.url} [{v['impact']}] {v['id']}: {v['help']} ({targets})")
    return found


def _links(page: Any, base: str, pattern: str) -> list[str]:
    """The site paths the page links to that match ``pattern``, in order, once each."""
    hrefs = page.locator("a[href]").evaluate_all("els => els.map(e => e.href)")
    paths = [h[len(base):].split("#")[0] for h in hrefs if h.startswith(base)]
    return list(dict.fromkeys(p for p in paths if re.match(pattern, p)))


def _console_pages(page: Any, base: str) -> list[str]:
    """Every console page, with the objects of the sample content for the parameters."""
    page.goto(base + "/console/items/")
    item = page.locator("a[href^='/console/items/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href')).filter(h => /^\\/console\\/items\\/\\d+$/.test(h))")[0]
    page.goto(base + "/console/releases/")
    releases = page.locator("a[href^='/console/releases/']").evaluate_all(
        "els => els.map(e => e.getAttribute('href')).filter(h => /^\\/console\\/releases\\/\\d+$/.test(h))")
    pages = ["/console/", "/console/password", "/console/audit/", "/console/users/", "/console/users/boss",
             "/console/channels/", "/console/webhooks/", "/console/webhooks/1", "/console/plan/",
             "/console/plan/?week=2026-W41", "/console/plan/new", "/console/plan/queue", "/console/releases/",
             "/console/reports/", "/console/reports/annual", "/console/reports/inspect",
             "/console/items/", "/console/items/?q=政务公开", "/console/items/new", "/console/items/new?kind=policy",
             item, item + "/preview", item + "/review", "/console/subscribers/", "/console/subscribers/report?release=1"]
    return pages + releases[:1]


def test_no_serious_or_critical_violation_on_any_page(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url, "\n[channels.sms]\nenabled = true\n"
                  '[channels.weibo]\nslots = ["09:00", "12:00", "17:00"]\ndaily_cap = 2\n')
    run(_prepare(env))
    invoke(env, "webhook", "add", "https://example.org/hook", "--events", "item.submitted", user="boss")
    proc = start_bot(env, quiet=True)
    base = f"http://127.0.0.1:{env['port']}"
    found: list[str] = []
    try:
        with browser() as chrome:
            page = chrome.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            _wait_for_the_site(page, base)
            page.goto(base + "/console/login")
            found += _violations(page)
            page.fill("#login", "boss")
            page.fill("#password", PASSWORD)
            page.click("button[type=submit]")
            page.wait_for_url(base + "/console/")
            visited = []
            for path in _console_pages(page, base):
                r = page.goto(base + path)
                assert r is not None and r.status < 400, (path, r and r.status)
                visited.append(path)
                found += _violations(page)
                if path.startswith("/console/plan/"):
                    shoot(page, "a11y-" + re.sub(r"\W+", "-", path.strip("/")))
            # the public site: home, a column, an item, search, 政府信息公开, 404
            page.goto(base + "/")
            found += _violations(page)
            column = _links(page, base, r"^/columns/[^/]+/index\.html$")[0]
            item = _links(page, base, r"^/items/\d+\.html$")[0]
            page.goto(base + "/xxgk/index.html")
            disclosure = ["/xxgk/index.html", *_links(page, base, r"^/xxgk/.+\.html$")[:4]]
            for path in (column, item, "/gazette/index.html", *disclosure):
                r = page.goto(base + path)
                assert r is not None and r.status == 200, path
                found += _violations(page)
            page.goto(base + "/")
            box = page.locator("input[type=search], input[name=q]").first
            box.fill("政务公开")
            box.press("Enter")
            page.wait_for_load_state()
            found += _violations(page)
            r = page.goto(base + "/no-such-page.html")
            assert r is not None and r.status == 404
            found += _violations(page)
    finally:
        stop_bot(proc)
    assert found == [], "\n".join(found)


