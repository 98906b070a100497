"""The console shell: signing in and out, sessions that expire by the project's clock, the
sign-in throttle, CSRF, security headers, escaping, the demo login page, the change of one's own
password, and the console listening apart from the public site."""
from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path

from content.accounts import Role
from tests.botproc import bot_env, start_bot, stop_bot
from tests.console_support import (PASSWORD, add_account, audit_actions, client, console, csrf_in, page_csrf,
                                   sign_in)


async def test_anonymous_is_sent_to_login_and_posts_are_refused(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        r = await c.get("/console/", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/console/login?next=/console/"
        r = await c.get("/console", allow_redirects=False)
        assert r.status == 301
        r = await c.post("/console/logout", data={"_csrf": "x"})
        assert r.status == 403 and "未登录" in await r.text()
        page = await (await c.get("/console/login")).text()
        assert "登录名" in page and "密码" in page and "演示模式" not in page


async def test_sign_in_lands_on_the_page_asked_for_and_sign_out_ends_the_session(tmp_path: Path,
                                                                                 database_url: str) -> None:
    async with console(tmp_path, database_url) as (svc, _), client(svc) as c:
        await add_account(svc, "zhang", Role.AUTHOR, name="张三")
        r = await sign_in(c, "zhang", next_="/console/password")
        assert r.headers["Location"] == "/console/password"
        cookie = r.cookies["gk_session"]
        assert cookie["httponly"] and cookie["samesite"] == "Lax" and not cookie["secure"]
        secret = cookie.value
        page = await (await c.get("/console/")).text()
        assert "张三" in page and "退出" in page
        # a next that leaves the console is ignored
        c.session.cookie_jar.clear()
        assert (await sign_in(c, "zhang", next_="//evil.example/")).headers["Location"] == "/console/"
        secret2 = c.session.cookie_jar.filter_cookies(c.make_url("/"))["gk_session"].value

        r = await c.post("/console/logout", data={"_csrf": await page_csrf(c)}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == "/console/login?bye=1"
        assert "您已退出登录" in await (await c.get("/console/login?bye=1")).text()
        # the old cookie no longer opens anything: the session ended on the server
        for old in (secret2,):
            c.session.cookie_jar.update_cookies({"gk_session": old})
            assert (await c.get("/console/", allow_redirects=False)).status == 303
        # the first sign-in's session is still open (another device)
        c.session.cookie_jar.update_cookies({"gk_session": secret})
        assert (await c.get("/console/", allow_redirects=False)).status == 200
        actions = await audit_actions(svc)
        assert actions[-3:] == [("zhang", "console_login"), ("zhang", "console_login"), ("zhang", "console_logout")]


async def test_idle_and_absolute_expiry_follow_the_clock(tmp_path: Path, database_url: str) -> None:
    async with console(tmp_path, database_url, GONGKAI_CONSOLE__IDLE_MINUTES="30",
                       GONGKAI_CONSOLE__ABSOLUTE_HOURS="2") as (svc, clock), client(svc) as c:
        await add_account(svc, "li", Role.REVIEWER)
        await sign_in(c, "li")
        clock.advance(minutes=29)
        assert (await c.get("/console/", allow_redirects=False)).status == 200
        clock.advance(minutes=29)  # 29 minutes since the last request: still alive
        assert (await c.get("/console/", allow_redirects=False)).status == 200
        clock.advance(minutes=30)  # 30 idle minutes
        r = await c.get("/console/", allow_redirects=False)
        assert r.status == 303 and r.headers["Location"].startswith("/console/login")

        await sign_in(c, "li")
        for _ in range(5):  # busy for 1 h 55 min
            clock.advance(minutes=23)
            assert (await c.get("/console/", allow_redirects=False)).status == 200
        clock.advance(minutes=5)  # two hours after signing in
        assert (await c.get("/console/", allow_redirects=False)).status == 303


async def test_sign_in_is_throttled_per_account_and_per_address_with_one_message(tmp_path: Path,
                                                                                 database_url: str) -> None:
    async with console(tmp_path, database_url) as (svc, clock), client(svc) as c:
        await add_account(svc, "wang", Role.APPROVER)
        await add_account(svc, "zhao", Role.APPROVER)
        wrong = await sign_in(c, "wang", "not-the-password", expect=401)
        nobody = await sign_in(c, "nobody", "not-the-password", expect=401)
        said = "登录名或密码不正确"
        assert said in await wrong.text() and said in await nobody.text()
        for _ in range(3):
            await sign_in(c, "wang", "still-wrong", expect=401)
        # five failures for wang (four) and this address (five): the right password waits now
        r = await sign_in(c, "wang", PASSWORD, expect=429)
        assert "登录失败次数过多" in await r.text() and "分钟后再试" in await r.text()
        r = await sign_in(c, "zhao", PASSWORD, expect=429)  # the address is throttled too
        # an unknown name is throttled exactly like a known one
        r2 = await sign_in(c, "nobody", PASSWORD, expect=429)
        assert (await r2.text()).count("登录失败次数过多") == 1
        clock.advance(minutes=15)
        await sign_in(c, "zhao", PASSWORD)
        actions = await audit_actions(svc)
        assert ("nobody", "console_login_failed") in actions and ("zhao", "console_login") == actions[-1]
        assert sum(1 for a in actions if a[1] == "console_login_failed") == 8


async def test_forms_without_the_right_csrf_token_are_refused_and_change_nothing(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "sun", Role.AUTHOR)
        await sign_in(c, "sun")
        change = {"current_password": PASSWORD, "new_password": "brand-new-pass", "again": "brand-new-pass"}
        r = await c.post("/console/password", data=change)
        assert r.status == 403 and "安全令牌" in await r.text()
        r = await c.post("/console/password", data={**change, "_csrf": "0" * 64})
        assert r.status == 403
        r = await c.post("/console/logout", data={})
        assert r.status == 403
        # still signed in, the old password still works
        assert (await c.get("/console/", allow_redirects=False)).status == 200
        c.session.cookie_jar.clear()
        await sign_in(c, "sun", PASSWORD)
        # the login form needs its own token too
        r = await c.post("/console/login", data={"login": "sun", "password": PASSWORD}, allow_redirects=False)
        assert r.status == 403
        assert [a for a in await audit_actions(svc) if a[1] == "account_password_changed"] == []


async def test_changing_ones_own_password_needs_the_current_one_and_ends_other_sessions(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c, client(svc) as other:
        await add_account(svc, "qian", Role.AUTHOR)
        await sign_in(other, "qian")
        await sign_in(c, "qian")
        token = await page_csrf(c, "/console/password")
        r = await c.post("/console/password", data={"_csrf": token, "current_password": "wrong-one",
                                                   "new_password": "brand-new-pass", "again": "brand-new-pass"})
        assert r.status == 400 and "当前密码不正确" in await r.text()
        r = await c.post("/console/password", data={"_csrf": token, "current_password": PASSWORD,
                                                   "new_password": "short", "again": "short"})
        assert r.status == 400 and "密码太短" in await r.text()
        r = await c.post("/console/password", data={"_csrf": token, "current_password": PASSWORD,
                                                   "new_password": "brand-new-pass", "again": "brand-new-pass"})
        assert r.status == 200 and "密码已修改" in await r.text()  # the flash, after the redirect
        assert "密码已修改" not in await (await c.get("/console/")).text()  # shown once
        assert (await other.get("/console/", allow_redirects=False)).status == 303
        other.session.cookie_jar.clear()
        await sign_in(other, "qian", PASSWORD, expect=401)
        await sign_in(other, "qian", "brand-new-pass")


async def test_security_headers_on_every_console_response(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "zhou", Role.AUTHOR)
        responses = [await c.get("/console/login"), await c.get("/console/", allow_redirects=False),
                     await c.post("/console/logout"), await c.get("/console/static/console.css"),
                     await c.get("/console/no-such-page")]
        await sign_in(c, "zhou")
        responses += [await c.get("/console/"), await c.get("/console/password")]
        for r in responses:
            csp = r.headers.get("Content-Security-Policy", "")
            assert "default-src 'self'" in csp and "script-src 'self'" in csp, r.url
            assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
            assert r.headers["X-Content-Type-Options"] == "nosniff"
        page = await responses[-2].text()
        assert "<script>" not in page and "<script src=\"/console/static/console.js" in page
        assert " on" not in page.replace("\n", " ").split("<body")[1].split(">")[0]  # no inline handlers
        assert responses[-1].headers["Cache-Control"] == "no-store"
        # the public site keeps its own headers
        assert "Content-Security-Policy" not in (await c.get("/healthz")).headers


async def test_names_are_escaped(tmp_path: Path) -> None:
    payload = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'
    async with console(tmp_path, demo=True) as (svc, _), client(svc) as c:
        await add_account(svc, "xss", Role.AUTHOR, name=payload, department=payload)
        for page in (await (await c.get("/console/login")).text(),):
            assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        await sign_in(c, "xss")
        page = await (await c.get("/console/")).text()
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page


async def test_demo_mode_lists_the_people_and_their_password(tmp_path: Path) -> None:
    async with console(tmp_path, demo=True) as (svc, _), client(svc) as c:
        await add_account(svc, "示例撰稿人", Role.AUTHOR, name="示例撰稿人", password="gongkai-demo")
        page = await (await c.get("/console/login")).text()
        assert "演示模式" in page and "gongkai-demo" in page and "示例撰稿人" in page
        await sign_in(c, "示例撰稿人", "gongkai-demo")
        assert "示例撰稿人" in await (await c.get("/console/")).text()


async def test_the_menu_shows_only_what_the_roles_open(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "author", Role.AUTHOR)
        await add_account(svc, "boss", Role.ADMIN)
        await sign_in(c, "author")
        page = await (await c.get("/console/")).text()
        assert "工作台" in page and "稿件" in page and "用户管理" not in page and "审计日志" not in page
        c.session.cookie_jar.clear()
        await sign_in(c, "boss")
        page = await (await c.get("/console/")).text()
        assert all(label in page for label in ("工作台", "稿件", "发布计划", "发布记录", "订阅用户", "渠道",
                                                "审计日志", "用户管理"))


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_the_console_can_listen_apart_from_the_public_site(tmp_path: Path, sqlite_url: str) -> None:
    from tests.botproc import free_port

    staff_port = free_port()
    env = bot_env(tmp_path, sqlite_url, f'[console]\nlisten = "127.0.0.1:{staff_port}"\n')
    proc = start_bot(env)
    try:
        public = f"http://127.0.0.1:{env['port']}"
        staff = f"http://127.0.0.1:{staff_port}"
        deadline = time.time() + 20
        while _get(public + "/healthz")[0] != 200 and time.time() < deadline:  # started: the site is built
            time.sleep(0.1)
        status, page = _get(public + "/console/login")
        assert status == 404 and "登录" not in page
        assert _get(public + "/")[0] == 200  # the site still serves
        status, page = _get(staff + "/console/login")
        assert status == 200 and "登录工作台" in page
        assert _get(staff + "/")[0] == 404  # the site is not on the staff listener
        assert 'name="_csrf"' in page and csrf_in(page)
    finally:
        out = stop_bot(proc)
    assert f"工作台：http://127.0.0.1:{staff_port}/console/" in out
