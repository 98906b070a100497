"""schemathesis against the OpenAPI document the running bot serves (``/api/v1/openapi.json``),
with a personal token of an account holding every role: for every operation, generated input
(valid and not) never gets a 5xx, and every answer matches its declared status, media type and
schema. Bounded (a few examples per operation) so it runs in well under a minute."""
from __future__ import annotations

import asyncio
import threading
from datetime import datetime, timezone
from pathlib import Path

import pytest
import schemathesis
from aiohttp import web
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance, response_schema_conformance,
                                               status_code_conformance)

from bot.service import Service
from bot.settings import load
from bot.web import make_app
from content import accounts
from content.accounts import Role
from content.clock import FixedClock
from tests.desk import Desk

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


class LiveBot:
    """The bot's web app (console, API, site) served on a free port from a thread with its own
    event loop, on a real SQLite store with a few items, subscribers and a release."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.base_url = ""
        self.token = ""
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        runner = self.loop.run_until_complete(self._start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(runner.cleanup())
        self.loop.run_until_complete(self.service.store.close())
        self.loop.close()

    async def _start(self) -> web.AppRunner:
        clock = FixedClock(datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc))
        env = {"GONGKAI_BOT__DATA_DIR": str(self.root / "var"),
               "GONGKAI_BOT__DATABASE_URL": f"sqlite:///{self.root / 'gongkai.db'}",
               "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_BOT__DEMO": "false",
               "GONGKAI_CHANNELS__SMS__ENABLED": "true"}
        self.service = await Service.create(load(None, environ=env), clock=clock)
        desk = Desk(self.service.store, clock, self.root / "files")
        first = await desk.approved("news", "市政府召开常务会议", body="会议审议通过了有关事项。")
        await desk.add("news", "关于开展安全检查的通知")
        await desk.schedule([first])

        async def people(s):  # noqa: ANN001, ANN202
            await accounts.add(s, "quanneng", name="全能", roles=tuple(Role), password=None, actor="gongkai",
                               now=clock.now())
            return (await accounts.issue_token(s, "quanneng", actor="gongkai", now=clock.now())).secret

        self.token = await self.service.store.transaction(people, what="schema test account")
        runner = web.AppRunner(make_app(self.service))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.base_url = f"http://127.0.0.1:{port}"
        return runner

    def __enter__(self) -> LiveBot:
        self.thread.start()
        assert self.ready.wait(30), "the bot did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


@pytest.fixture(scope="module")
def live_bot(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    with LiveBot(tmp_path_factory.mktemp("api-schema")) as bot:
        yield bot


def test_every_answer_matches_the_document(live_bot: LiveBot) -> None:
    """Each operation in turn (schemathesis' pytest plugin does not run under pytest 9, so
    the operations are walked here, each with its own hypothesis run); all failures are
    reported together."""
    schema = schemathesis.openapi.from_url(live_bot.base_url + "/api/v1/openapi.json")
    headers = {"Authorization": f"Bearer {live_bot.token}"}
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20

    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        def run(case) -> None:  # noqa: ANN001
            case.call_and_validate(base_url=live_bot.base_url, headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # noqa: BLE001 - collected, reported below
            failures.append(f"{operation.label}: {exc}")
            print("FAILED", operation.label)
    assert not failures, "\n\n".join(failures)
