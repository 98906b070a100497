"""Driving the console in-process: the real web application (``bot.web.make_app``) over a real
store, with the project's clock, through aiohttp's test client."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.service import Service
from bot.settings import load
from bot.web import make_app
from content import accounts
from content.accounts import Role
from content.clock import FixedClock
from content.models import AuditEvent

PASSWORD = "correct-horse-1"
CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')


def monday() -> FixedClock:
    """Monday 2 March 2026, 09:00 in Beijing."""
    return FixedClock(datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc))


@asynccontextmanager
async def console(tmp_path: Path, database_url: str | None = None, *, clock: FixedClock | None = None,
                  demo: bool = False, **env: str) -> AsyncIterator[tuple[Service, FixedClock]]:
    """A service over its own store and data dir (no sample content), with ``clock``."""
    environ = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__LOAD_SAMPLE": "false",
               "GONGKAI_BOT__DEMO": "true" if demo else "false",
               "GONGKAI_BOT__DATABASE_URL": database_url or f"sqlite:///{tmp_path / 'gongkai.db'}", **env}
    clock = clock or monday()
    service = await Service.create(load(None, environ), clock=clock)
    try:
        yield service, clock
    finally:
        await service.store.close()


@asynccontextmanager
async def client(service: Service) -> AsyncIterator[TestClient]:
    async with TestClient(TestServer(make_app(service))) as c:
        yield c


async def add_account(service: Service, login: str, *roles: Role, name: str = "", department: str = "",
                      password: str = PASSWORD) -> accounts.AccountView:
    return await service.store.transaction(lambda s: accounts.add(
        s, login, name=name or login, roles=roles, department=department, password=password,
        actor="test", now=service.clock.now()))


def csrf_in(page: str) -> str:
    found = CSRF_RE.search(page)
    assert found, "no CSRF field on the page"
    return found.group(1)


async def sign_in(c: TestClient, login: str, password: str = PASSWORD, *, next_: str = "/console/",
                  expect: int = 303) -> Any:
    page = await (await c.get("/console/login")).text()
    r = await c.post("/console/login", data={"_csrf": csrf_in(page), "login": login, "password": password,
                                             "next": next_}, allow_redirects=False)
    assert r.status == expect, await r.text()
    return r


async def page_csrf(c: TestClient, path: str = "/console/") -> str:
    r = await c.get(path)
    assert r.status == 200, await r.text()
    return csrf_in(await r.text())


async def audit_actions(service: Service) -> list[tuple[str, str]]:
    async with service.store.sessions() as s:
        return [(e.actor, e.action) for e in await s.scalars(select(AuditEvent).order_by(AuditEvent.id))]
