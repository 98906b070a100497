"""用户管理: an administrator adds an account (initial password shown once), changes its roles,
disables and enables it, resets its password and issues a personal API token; nobody else may."""
from __future__ import annotations

import re
from pathlib import Path

from content.accounts import Role
from tests.console_support import PASSWORD, add_account, audit_actions, client, console, page_csrf, sign_in

SECRET = re.compile(r'<code class="secret" id="secret">([^<]+)</code>')


async def test_an_administrator_manages_an_account_from_the_console(tmp_path: Path, database_url: str) -> None:
    async with console(tmp_path, database_url) as (svc, _), client(svc) as c, client(svc) as new:
        await add_account(svc, "boss", Role.ADMIN, name="管理员")
        await sign_in(c, "boss")
        token = await page_csrf(c, "/console/users/")
        xss = "<img src=x onerror=alert(1)>"
        r = await c.post("/console/users/", data={"_csrf": token, "login": "陈静", "name": xss, "department": xss,
                                                  "roles": ["author", "reviewer"]})
        page = await r.text()
        assert r.status == 200 and "只显示这一次" in page
        password = SECRET.search(page).group(1)
        assert "<img src=x" not in page
        listing = await (await c.get("/console/users/")).text()
        assert "陈静" in listing and "&lt;img src=x onerror=alert(1)&gt;" in listing and "<img src=x" not in listing
        assert password not in listing
        await sign_in(new, "陈静", password)
        assert "撰稿、保密审查" in await (await new.get("/console/")).text()

        url = "/console/users/%E9%99%88%E9%9D%99"
        detail = await (await c.get(url)).text()
        assert "个人 API 令牌" in detail and "停用账号" in detail
        r = await c.post(url + "/roles", data={"_csrf": token, "roles": ["approver"]})
        assert "已将 陈静 的角色改为：审核签发" in await r.text()
        r = await c.post(url + "/roles", data={"_csrf": token})
        assert r.status == 400 and "至少需要选择一个角色" in await r.text()

        r = await c.post(url + "/token", data={"_csrf": token})
        issued = SECRET.search(await r.text()).group(1)
        assert issued.startswith("gk_") and issued not in await (await c.get(url)).text()

        r = await c.post(url + "/disable", data={"_csrf": token})
        assert "已停用" in await r.text()
        assert (await new.get("/console/", allow_redirects=False)).status == 303  # signed out at once
        new.session.cookie_jar.clear()
        await sign_in(new, "陈静", password, expect=401)
        await c.post(url + "/enable", data={"_csrf": token})
        r = await c.post(url + "/password", data={"_csrf": token})
        fresh = SECRET.search(await r.text()).group(1)
        await sign_in(new, "陈静", password, expect=401)
        await sign_in(new, "陈静", fresh)

        r = await c.post("/console/users/", data={"_csrf": token, "login": "陈静", "name": "重名", "roles": ["author"]})
        assert r.status == 400 and "已存在" in await r.text()
        r = await c.post("/console/users/boss/disable", data={"_csrf": token})
        assert r.status == 400 and "不能停用自己" in await r.text()
        actions = [a for a in await audit_actions(svc) if a[0] == "boss"]
        assert [a for _, a in actions if a.startswith("account_")] == [
            "account_added", "account_roles_changed", "account_token_issued", "account_disabled",
            "account_enabled", "account_password_changed"]


async def test_nobody_but_an_administrator_may_manage_accounts(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "victim", Role.AUTHOR)
        for login, roles in (("a", (Role.AUTHOR,)), ("r", (Role.REVIEWER, Role.APPROVER)), ("au", (Role.AUDITOR,))):
            await add_account(svc, login, *roles)
            c.session.cookie_jar.clear()
            await sign_in(c, login)
            token = await page_csrf(c)
            assert (await c.get("/console/users/")).status == 403
            assert (await c.get("/console/users/victim")).status == 403
            for tail, data in (("", {"login": "x", "name": "x", "roles": ["admin"]}), ("/victim/roles", {"roles": ["admin"]}),
                               ("/victim/disable", {}), ("/victim/password", {}), ("/victim/token", {})):
                r = await c.post("/console/users" + (tail or "/"), data={"_csrf": token, **data})
                assert r.status == 403, tail
        c.session.cookie_jar.clear()
        await sign_in(c, "victim", PASSWORD)  # unchanged
        assert not [a for a in await audit_actions(svc) if a[1].startswith("account_") and a[0] != "test"]
