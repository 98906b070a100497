"""End to end in a real browser against a real ``gongkai run`` (not demo mode), with accounts
made by ``gongkai user add``: an author writes a policy with an image and its interpretation
(linked by searching for the policy) in the 编辑 form and submits both; a reviewer and an
approver each take their step in 审核; the approver schedules the bundle from the 发布计划
calendar a few seconds ahead; at the instant both are live on the public site and 发布记录 shows
every sandbox channel's delivery 已送达. Then the author corrects the published policy and the
reviewer sees the correction's diff in 审核.

Every wait is for a condition (a page's text, an HTTP answer), never a fixed sleep."""
from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image

from bot.settings import load
from content import accounts, subscribers
from content.clock import SystemClock
from content.db import Store
from tests.botproc import bot_env, invoke, start_bot, stop_bot
from tests.browser_support import browser, run, shoot

SHANGHAI = ZoneInfo("Asia/Shanghai")
CONFIG = """
[channels.sms]
enabled = true
quiet_start = "00:00"
quiet_end = "00:00"
"""
POLICY = "关于推进政务服务“一网通办”的实施意见"
READING = "《关于推进政务服务“一网通办”的实施意见》政策解读"
PEOPLE = (("zhao", "赵撰稿", "author"), ("qian", "钱保密", "reviewer"), ("sun", "孙签发", "approver"))


async def _first_admin(env: dict) -> None:
    """What ``gongkai run`` does on its first start: the administrator account."""
    store = Store.open(load(env["config"], {}).database_url)
    try:
        await store.transaction(lambda s: accounts.ensure_first_admin(s, now=SystemClock().now()))
    finally:
        await store.close()


def _accounts(env: dict) -> dict[str, str]:
    """``gongkai user add`` for each person; the password it shows once is the one they sign in with."""
    run(_first_admin(env))
    passwords = {}
    for login, name, role in PEOPLE:
        out = invoke(env, "user", "add", login, "--name", name, "--role", role, "--department", "市政务服务局",
                     "--json", user=accounts.FIRST_ADMIN).stdout
        found = re.search(r'"password":\s*"([^"]+)"', out)
        assert found, out
        passwords[login] = found.group(1)
    return passwords


async def _subscribers(env: dict) -> None:
    store = Store.open(load(env["config"], {}).database_url)
    try:
        async with store.sessions() as s, s.begin():
            for phone in ("13800000001", "13800000002"):
                await subscribers.upsert(s, "sms", phone, now=SystemClock().now(), status="active",
                                         topics=["all"], consent_method="线下登记表")
    finally:
        await store.close()


def until(check: Callable[[], Any], what: str, seconds: float = 30) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.25)
    raise AssertionError(f"waited {seconds} s for {what}")


def status_of(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=5).status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_policy_and_interpretation_from_the_form_to_the_public_site(tmp_path: Path, sqlite_url: str) -> None:
    started = time.monotonic()
    env = bot_env(tmp_path, sqlite_url, CONFIG)
    passwords = _accounts(env)
    run(_subscribers(env))
    image = tmp_path / "流程图.png"
    Image.new("RGB", (240, 120), (31, 58, 95)).save(image, "PNG")  # a real picture (WeChat re-encodes it)
    proc = start_bot(env, quiet=True)
    base = f"http://127.0.0.1:{env['port']}"
    try:
        with browser() as chrome:
            page = chrome.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def sign_in(login: str) -> None:
                page.context.clear_cookies()
                page.goto(base + "/console/login")
                page.fill("#login", login)
                page.fill("#password", passwords[login])
                page.click("button[type=submit]")
                page.wait_for_url(base + "/console/")

            def take_step(item: str, expect_diff: bool = False) -> None:
                page.goto(base + item + "/review")
                if expect_diff:
                    assert page.locator("ins, del").count() >= 1, page.inner_text("main")
                reason = page.locator("textarea[name=override_reason]")
                if reason.count():  # an automatic check's finding: released with a reason
                    reason.fill("已核对，属公开信息")
                with page.expect_navigation():
                    page.click("form[action$='/review'] button.primary")
                assert page.url == base + item, page.inner_text("main")[:600]
                assert "已完成第" in page.inner_text("main")

            # ---------------------------------------------------------------- the author writes
            sign_in("zhao")
            page.goto(base + "/console/items/new?kind=policy")
            for name, value in (("title", POLICY), ("department", "市政务服务局"), ("index_no", "11000000/2026-00789"),
                                ("doc_no", "示政服发〔2026〕41号"), ("issuer", "示例市政务服务局"),
                                ("issued", "2026-11-27")):
                page.fill(f"[name={name}]", value)
            page.set_input_files("input[name=new_images]", str(image))
            page.click("button[value=upload]")
            snippet = page.inner_text("code.snippet")
            page.fill("input[name=staged_alt]", "办理流程图")
            page.fill("#body", f"各区县人民政府、市政府各部门：\n\n{snippet.replace('图片说明', '办理流程图')}\n\n"
                               "现就推进政务服务“一网通办”提出如下意见。")
            page.click("button[value=save_submit]")
            page.wait_for_url(re.compile(r".*/console/items/\d+$"))
            assert "已保存并提交审核" in page.inner_text("main")
            policy = page.url[len(base):]
            shoot(page, "e2e-policy")

            page.goto(base + "/console/items/new?kind=interpretation")
            page.fill("[name=title]", READING)
            page.fill("[name=department]", "市政务服务局")
            page.fill("input[name=policy_q]", "一网通办")
            page.click("button[value=find_policy]")
            page.check(f"input[name=interprets][value='{policy.rsplit('/', 1)[1]}']")
            page.fill("#body", "## 一、为什么出台\n\n为让企业和群众办事少跑腿，制定本意见。")
            shoot(page, "e2e-reading-form")
            page.click("button[value=save_submit]")
            page.wait_for_url(re.compile(r".*/console/items/\d+$"))
            assert "已保存并提交审核" in page.inner_text("main")
            reading = page.url[len(base):]

            # ---------------------------------------------------- 保密审查, then 审核签发
            for login in ("qian", "sun"):
                sign_in(login)
                for item in (policy, reading):
                    take_step(item)
            page.goto(base + policy)
            assert "已审核" in page.inner_text("main")

            # -------------------------------------- the approver schedules from the calendar
            page.goto(base + "/console/plan/")
            today = SystemClock().now().astimezone(SHANGHAI)
            page.click(f"a.add[href='/console/plan/new?day={today:%Y-%m-%d}']")  # 排期 in today's cell
            page.click(f"a.bundle[href^='/console/plan/new?item={policy.rsplit('/', 1)[1]}']")
            for item in (policy, reading):
                assert page.is_checked(f"input[name=items][value='{item.rsplit('/', 1)[1]}']")
            due = SystemClock().now().astimezone(SHANGHAI) + timedelta(seconds=6)
            page.fill("#at", f"{due:%Y-%m-%d %H:%M:%S}")
            page.click("button.primary")
            assert "短信订阅号码" in page.inner_text("main")  # the reach, confirmed before creating
            page.click("text=确认创建")
            page.wait_for_url(re.compile(r".*/console/releases/\d+$"))
            release = page.url
            assert "已创建发布计划" in page.inner_text("main")
            shoot(page, "e2e-release-created")

            # ------------------------------------------------ at the instant: live and 已送达
            pages = [f"{base}/items/{item.rsplit('/', 1)[1]}.html" for item in (policy, reading)]
            until(lambda: all(status_of(u) == 200 for u in pages), "both items on the public site")
            assert SystemClock().now() >= due - timedelta(seconds=1)  # not before their instant
            page.goto(pages[0])
            assert POLICY in page.inner_text("h1")
            assert page.evaluate("document.querySelector('main img, article img').naturalWidth") == 240
            assert READING in page.content()  # the policy links its interpretation

            def settled() -> bool:
                page.goto(release)
                return page.locator("article.delivery").count() == page.locator("article.delivery.sent").count() == 4

            try:  # WeChat confirms its publication when the runner next asks the emulator (~30 s)
                until(settled, "every channel's delivery 已送达", seconds=50)
            except AssertionError:
                raise AssertionError(page.inner_text("main")) from None
            text = page.inner_text("main")
            for channel in ("网站", "微信公众号", "微博", "短信"):
                assert page.locator("article.delivery.sent h3", has_text=channel).count() == 1, text
            assert page.locator("article.delivery .pill.ok", has_text="已送达").count() == 4
            shoot(page, "e2e-release-sent")

            # ------------------------------ a correction, and its diff in the reviewer's 审核
            sign_in("zhao")
            page.goto(base + policy + "/edit")
            page.fill("[name=note]", "更正文号")
            page.fill("[name=doc_no]", "示政服发〔2026〕42号")
            page.fill("#body", page.input_value("#body").replace("提出如下意见", "提出以下意见"))
            page.click("button[value=save]")
            page.wait_for_url(re.compile(r".*/console/items/\d+$"))
            sign_in("qian")
            page.goto(base + policy + "/review")
            assert "第 2 版与已发布的第 1 版的对比" in page.inner_text("main")
            added = "".join(page.locator("ins").all_inner_texts())
            removed = "".join(page.locator("del").all_inner_texts())
            assert "2" in added and "以" in added, added  # 41号 → 42号, 如下 → 以下, character by character
            assert "1" in removed and "如" in removed, removed
            shoot(page, "e2e-correction-review")
            take_step(policy, expect_diff=True)
            sign_in("sun")
            page.goto(base + policy + "/review")
            assert page.locator("ins").count() >= 1
            take_step(policy)
            assert errors == []
    finally:
        stop_bot(proc)
    assert time.monotonic() - started < 90
