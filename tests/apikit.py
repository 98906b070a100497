"""A real bot web app with the API, a store, and accounts with personal tokens per role, for the
API tests (tests/test_api*.py)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp.test_utils import TestClient, TestServer

from bot.service import Service
from bot.settings import load
from bot.web import make_app
from content import accounts
from content.accounts import Role
from content.clock import FixedClock

#: one account per role (logins are pinyin, names Chinese), plus one holding none of the writing roles
PEOPLE = {"author": ("lihua", "李华", (Role.AUTHOR,)),
          "reviewer": ("zhangwei", "张伟", (Role.REVIEWER,)),
          "approver": ("wangfang", "王芳", (Role.APPROVER,)),
          "admin": ("guanli", "管理员", (Role.ADMIN,)),
          "auditor": ("shenji", "审计", (Role.AUDITOR,))}


@dataclass
class Api:
    client: TestClient
    service: Service
    clock: FixedClock
    tokens: dict[str, str] = field(default_factory=dict)

    def auth(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def call(self, method: str, path: str, role: str | None = "admin", **kw):  # noqa: ANN003, ANN201
        headers = {**(self.auth(role) if role else {}), **kw.pop("headers", {})}
        r = await self.client.request(method, "/api/v1" + path, headers=headers, **kw)
        body = await r.json() if r.content_type == "application/json" else await r.text()
        return r.status, body


@asynccontextmanager
async def running_api(tmp_path: Path, database_url: str, clock: FixedClock,
                      extra_env: dict[str, str] | None = None) -> AsyncIterator[Api]:
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_BOT__DEMO": "false",
           "GONGKAI_CHANNELS__SMS__ENABLED": "true", **(extra_env or {})}
    service = await Service.create(load(None, environ=env), clock=clock)
    try:
        async def make(s):  # noqa: ANN001, ANN202
            out = {}
            for role, (login, name, roles) in PEOPLE.items():
                await accounts.add(s, login, name=name, roles=roles, password=None, actor="gongkai",
                                   now=clock.now())
                out[role] = (await accounts.issue_token(s, login, actor="gongkai", now=clock.now())).secret
            return out

        tokens = await service.store.transaction(make, what="api test accounts")
        async with TestClient(TestServer(make_app(service))) as client:
            yield Api(client, service, clock, tokens)
    finally:
        await service.store.close()
