"""The console in a real browser against a real ``gongkai run``: signing in through the form
and landing on the 工作台, the menu, signing out."""
from __future__ import annotations

from pathlib import Path

from bot.settings import load
from content import accounts
from content.accounts import Role
from content.clock import SystemClock
from content.db import Store
from tests.botproc import bot_env, start_bot, stop_bot
from tests.browser_support import browser, run, shoot


async def _add_people(env: dict) -> None:
    settings = load(env["config"], {})
    store = Store.open(settings.database_url)
    try:
        for login, name, roles in (("wang", "王五", (Role.AUTHOR,)), ("boss", "系统管理员", (Role.ADMIN, Role.AUDITOR))):
            await store.transaction(lambda s, login=login, name=name, roles=roles: accounts.add(
                s, login, name=name, roles=roles, department="办公室", password="correct-horse-1",
                actor="test", now=SystemClock().now()))
    finally:
        await store.close()


def test_sign_in_through_the_form_and_see_the_dashboard(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url)
    run(_add_people(env))
    proc = start_bot(env, quiet=True)
    base = f"http://127.0.0.1:{env['port']}"
    try:
        with browser() as chrome:
            page = chrome.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            # script errors and CSP refusals (a 401 answer to a wrong password is not one)
            page.on("console", lambda m: errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(base + "/console/")
            assert page.url.startswith(base + "/console/login")
            shoot(page, "login")
            page.fill("#login", "wang")
            page.fill("#password", "wrong-password")
            page.click("button[type=submit]")
            assert "登录名或密码不正确" in page.inner_text("main")
            page.fill("#password", "correct-horse-1")
            page.click("button[type=submit]")
            page.wait_for_url(base + "/console/")
            assert page.inner_text("h1") == "工作台"
            menu = page.inner_text("nav.menu")
            assert "稿件" in menu and "用户管理" not in menu
            shoot(page, "dashboard")
            page.goto(base + "/console/password")
            shoot(page, "password")
            page.click("text=退出")
            page.wait_for_url(base + "/console/login?bye=1")
            assert "您已退出登录" in page.inner_text("main")
            page.goto(base + "/console/")
            assert page.url.startswith(base + "/console/login")
            assert errors == []  # no CSP violation or script error
    finally:
        stop_bot(proc)
