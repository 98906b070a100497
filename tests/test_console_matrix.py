"""Every console route × every role (and nobody signed in): a route opens only for the roles it
names; a refused form changes nothing; a form without the CSRF token is refused before anything
else. The routes are read from the mounted page modules, so pages added later are covered."""
from __future__ import annotations

import re
from pathlib import Path

from bot.console.app import routes
from content.accounts import Role
from tests.console_support import add_account, audit_actions, client, console, page_csrf, sign_in

PARAM = re.compile(r"\{[^}]+\}")


def _concrete(path: str) -> str:
    return PARAM.sub("1", path)


async def test_every_route_by_every_role(tmp_path: Path) -> None:
    mounted = [r for r in routes() if not r.public]
    async with console(tmp_path) as (svc, _), client(svc) as c:
        # nobody signed in: pages send to the login page, forms are refused
        for route in mounted:
            r = await c.request(route.method, _concrete(route.path), allow_redirects=False, data={"_csrf": "x"})
            expected = 303 if route.method == "GET" else 403
            assert r.status == expected, (route.method, route.path, r.status)
            if route.method == "GET":
                assert r.headers["Location"].startswith("/console/login")
        for role in Role:
            login = f"only-{role.value}"
            await add_account(svc, login, role)
            c.session.cookie_jar.clear()
            await sign_in(c, login)
            token = await page_csrf(c)
            before = await audit_actions(svc)
            for route in mounted:
                allowed = not route.roles or role in route.roles
                if route.method == "GET":
                    r = await c.get(_concrete(route.path), allow_redirects=False)
                    assert (r.status == 403) != allowed, (role, route.path, r.status)
                elif not allowed:
                    r = await c.post(_concrete(route.path), data={"_csrf": token}, allow_redirects=False)
                    assert r.status == 403, (role, route.path, r.status)
                # every form, allowed or not, is refused without its token
                if route.method == "POST":
                    r = await c.post(_concrete(route.path), data={}, allow_redirects=False)
                    assert r.status == 403, (role, route.path, r.status)
            assert await audit_actions(svc) == before, role  # nothing refused left a trace of change
