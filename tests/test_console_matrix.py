"""Every console route × every role (and nobody signed in): a route opens only for the roles the
matrix below names; a refused form changes nothing in the store; a form without its CSRF token,
or with a wrong one, is refused before anything else and changes nothing.

The routes are read from the mounted application's router, so a page added later without a line
in :data:`MATRIX` fails here, and the matrix is written from the product's role rules (not from
the routes' own declarations), so a route that forgets its role check fails too."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from bot.console import kit
from bot.ops import webhooks as webhook_ops
from content.accounts import Role
from content.models import Account, AuditEvent, Delivery, Item, Release, Revision, Subscriber
from content.webhook_models import WebhookEndpoint
from tests.console_support import add_account, client, console, page_csrf, sign_in
from tests.desk import Desk

PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
A, R, P, D, U = Role.AUTHOR, Role.REVIEWER, Role.APPROVER, Role.ADMIN, Role.AUDITOR
EVERYONE = frozenset(Role)
READERS = frozenset({D, U})

#: (method, path) → the roles that may use it. Reading is open to every role; writing follows
#: the roles of DESIGN.md (author writes and submits, reviewer/approver take review steps,
#: approver schedules and resolves, admin manages people, webhooks and subscribers, auditor reads
#: the audit log and changes nothing).
MATRIX: dict[tuple[str, str], frozenset[Role]] = {
    ("GET", "/console/"): EVERYONE,
    ("POST", "/console/logout"): EVERYONE,
    ("GET", "/console/password"): EVERYONE,
    ("POST", "/console/password"): EVERYONE,
    ("GET", "/console/audit/"): READERS,
    ("POST", "/console/audit/export"): READERS,
    ("GET", "/console/users/"): frozenset({D}),
    ("POST", "/console/users/"): frozenset({D}),
    ("GET", "/console/users/{login}"): frozenset({D}),
    ("POST", "/console/users/{login}/roles"): frozenset({D}),
    ("POST", "/console/users/{login}/disable"): frozenset({D}),
    ("POST", "/console/users/{login}/enable"): frozenset({D}),
    ("POST", "/console/users/{login}/password"): frozenset({D}),
    ("POST", "/console/users/{login}/token"): frozenset({D}),
    ("GET", "/console/channels/"): EVERYONE,
    ("GET", "/console/webhooks/"): READERS,
    ("POST", "/console/webhooks/add"): frozenset({D}),
    ("POST", "/console/webhooks/{id}/test"): frozenset({D}),
    ("POST", "/console/webhooks/{id}/enable"): frozenset({D}),
    ("POST", "/console/webhooks/{id}/disable"): frozenset({D}),
    ("POST", "/console/webhooks/{id}/remove"): frozenset({D}),
    ("GET", "/console/webhooks/{id}"): READERS,
    ("GET", "/console/plan/"): EVERYONE,
    ("GET", "/console/plan/new"): EVERYONE,  # shown read-only to those who may not schedule
    ("POST", "/console/plan/new"): frozenset({P}),
    ("POST", "/console/plan/new/back"): EVERYONE,
    ("GET", "/console/plan/queue"): EVERYONE,  # shown read-only to those who may not queue
    ("POST", "/console/plan/queue"): frozenset({P}),  # back to the builder: renders, changes nothing
    ("POST", "/console/releases/{release_id}/reschedule"): frozenset({P}),
    ("POST", "/console/releases/{release_id}/cancel"): frozenset({P}),
    ("POST", "/console/releases/{release_id}/split"): frozenset({P}),
    ("GET", "/console/releases/"): EVERYONE,
    ("GET", "/console/releases/{release_id}"): EVERYONE,
    ("POST", "/console/deliveries/{delivery_id}/resolve"): frozenset({P}),
    ("GET", "/console/reports/"): EVERYONE,
    ("GET", "/console/reports/compliance.{fmt}"): EVERYONE,
    ("GET", "/console/reports/annual"): EVERYONE,
    ("GET", "/console/reports/annual.{fmt}"): EVERYONE,
    ("POST", "/console/reports/annual"): frozenset({P, D}),
    ("GET", "/console/reports/inspect"): EVERYONE,
    ("GET", "/console/reports/inspect.{fmt}"): EVERYONE,
    ("GET", "/console/items/"): EVERYONE,
    ("GET", "/console/items/{item_id}"): EVERYONE,
    ("POST", "/console/items/{item_id}/submit"): frozenset({A}),
    ("GET", "/console/items/new"): frozenset({A}),
    ("POST", "/console/items/new"): frozenset({A}),
    ("GET", "/console/items/{item_id}/edit"): frozenset({A}),
    ("POST", "/console/items/{item_id}/edit"): frozenset({A}),
    ("POST", "/console/items/upload"): frozenset({A}),
    ("GET", "/console/uploads/{sha}/{name}"): frozenset({A}),
    ("GET", "/console/items/{item_id}/preview"): EVERYONE,
    ("GET", "/console/items/{item_id}/site/items/{page}.html"): EVERYONE,
    ("GET", "/console/items/{item_id}/wechat/{n}.html"): EVERYONE,
    ("GET", "/console/items/{item_id}/site/{tail}"): EVERYONE,
    ("GET", "/console/items/{item_id}/review"): EVERYONE,
    ("POST", "/console/items/{item_id}/review"): frozenset({R, P}),
    ("POST", "/console/items/{item_id}/return"): frozenset({R, P}),
    ("GET", "/console/subscribers/"): READERS,
    ("POST", "/console/subscribers/import"): frozenset({D}),
    ("POST", "/console/subscribers/export"): READERS,
    ("POST", "/console/subscribers/remove"): frozenset({D}),
    ("GET", "/console/subscribers/import/{job}"): frozenset({D}),
    ("GET", "/console/subscribers/report"): frozenset({D, U, P}),
}
#: what a form route receives besides its token, so that a refusal is for the role and not for a
#: missing field (the values name the objects the store is prepared with)
FORMS: dict[str, dict[str, str]] = {
    "/console/plan/new": {"items": "3", "channels": "website", "at": "2026-03-20 09:00"},
    "/console/plan/new/back": {"items": "3", "channels": "website", "at": "2026-03-20 09:00"},
    "/console/plan/queue": {"items": "3", "channels": "website"},
    "/console/releases/1/reschedule": {"at": "2026-03-21 09:00"},
    "/console/releases/1/cancel": {"reason": "改期"},
    "/console/deliveries/1/resolve": {"outcome": "sent", "note": "已电话确认", "back": "1"},
    "/console/reports/annual": {"year": "2026", "cell": "a:b", "value": "1"},
    "/console/items/2/review": {},
    "/console/items/2/return": {"comment": "请补充"},
    "/console/items/1/submit": {},
    "/console/users/only-author/roles": {"roles": "admin"},
    "/console/users/": {"login": "newcomer", "name": "新人", "roles": "admin"},
    "/console/webhooks/add": {"url": "https://example.org/hook", "events": "item.submitted"},
    "/console/subscribers/remove": {"phones": "13800000001"},
}
VALUES = {"item_id": "1", "release_id": "1", "delivery_id": "1", "id": "1", "login": "only-author",
          "sha": "ab", "name": "图.png", "page": "1", "n": "1", "fmt": "csv", "tail": "index.html"}


def concrete(path: str) -> str:
    return PARAM.sub(lambda m: VALUES.get(m.group(1), "1"), path)


def pattern(path: str) -> str:
    """A route path without its parameters' regular expressions (``{item_id}``)."""
    return PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def mounted_console_routes(app) -> set[tuple[str, str]]:  # noqa: ANN001
    """Every console route of the running application's router (not the page modules' list)."""
    out = set()
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter") or info.get("prefix", "")
        if not path.startswith(kit.PREFIX + "/") or path.startswith(kit.PREFIX + "/static"):
            continue
        for route in resource:
            if route.method != "HEAD":
                out.add((route.method, pattern(path)))
    return out


async def fingerprint(svc) -> tuple[int, ...]:  # noqa: ANN001
    """What a refused request must leave as it was."""
    async with svc.store.sessions() as s:
        return tuple([int(await s.scalar(select(func.count()).select_from(t)) or 0)
                      for t in (Item, Revision, Release, Delivery, Account, AuditEvent, Subscriber, WebhookEndpoint)]
                     + [int(await s.scalar(select(func.count()).select_from(Item).where(Item.state == st)) or 0)
                        for st in ("draft", "submitted", "approved", "scheduled", "published")])


async def _prepare(svc, tmp_path: Path) -> None:  # noqa: ANN001
    """Item 1 a draft, item 2 submitted, item 3 approved, release 1 (item 4) with delivery 1,
    webhook 1, and one account per role."""
    for role in Role:
        await add_account(svc, f"only-{role.value}", role)
    desk = Desk(svc.store, svc.clock, tmp_path / "var" / "files")
    await desk.add("news", "草稿")
    submitted = await desk.add("news", "待审稿件")
    from content import workflow

    await svc.store.transaction(lambda s: workflow.submit(s, submitted, actor="alice", now=svc.clock.now(),
                                                          rules=desk.rules, files=desk.files))
    await desk.approved("news", "已审核稿件")
    await desk.publish([await desk.approved("news", "已发布稿件")])
    admin = next(a for a in [await add_account(svc, "hooks-admin", D)])
    await webhook_ops.add(svc, admin, "https://example.org/hook", ["item.submitted"])


async def test_every_route_by_every_role(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        mounted = mounted_console_routes(c.server.app) - {("GET", "/console/login"), ("POST", "/console/login")}
        assert mounted - set(MATRIX) == set(), "console routes without a line in the authorisation matrix"
        assert set(MATRIX) - mounted == set(), "matrix lines for routes that no longer exist"
        await _prepare(svc, tmp_path)
        start = await fingerprint(svc)
        # nobody signed in: pages send to the login page, forms are refused
        for method, path in sorted(MATRIX):
            url = concrete(path)
            r = await c.request(method, url, allow_redirects=False, data={"_csrf": "x", **FORMS.get(url, {})})
            assert r.status == (303 if method == "GET" else 403), (method, path, r.status)
            if method == "GET":
                assert r.headers["Location"].startswith("/console/login")
        assert await fingerprint(svc) == start
        for role in Role:
            c.session.cookie_jar.clear()
            await sign_in(c, f"only-{role.value}")
            token = await page_csrf(c)
            before = await fingerprint(svc)
            for (method, path), allowed in sorted(MATRIX.items()):
                url = concrete(path)
                form = FORMS.get(url, {})
                if method == "GET":
                    r = await c.get(url, allow_redirects=False)
                    assert r.status < 500, (role, path, r.status, await r.text())
                    assert (r.status == 403) != (role in allowed), (role, path, r.status)
                    continue
                # every form, allowed or not, is refused without its token or with a wrong one
                for bad in ({}, {"_csrf": "forged-" + token[:8]}, {"_csrf": token[:-1]}):
                    r = await c.post(url, data={**form, **bad}, allow_redirects=False)
                    assert r.status == 403, (role, path, bad, r.status)
                if role not in allowed:
                    r = await c.post(url, data={"_csrf": token, **form}, allow_redirects=False)
                    assert r.status == 403, (role, path, r.status, (await r.text())[-600:])
                assert await fingerprint(svc) == before, (role, method, path)
