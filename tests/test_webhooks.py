"""Webhooks end to end, against a real local aiohttp receiver: events recorded with the change
they report, POSTed signed (HMAC-SHA256 of "<timestamp>." + body under the endpoint's secret),
delivered once across two nodes on PostgreSQL and across restarts, retried with backoff on the
project's clock until failed, never to an endpoint that did not subscribe; the secret shown once
and never again; a bad URL refused with nothing stored."""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from sqlalchemy import func, select

from bot.settings import DeliverySettings, RulesSettings
from bot.webhook_sender import WebhookSender, claim
from content import webhooks
from content.clock import FixedClock
from content.db import Store, upgrade
from content.events import emit
from content.webhook_models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from schedules import obligations as ob
from schedules.calendar import WorkdayCalendar
from tests.botproc import bot_env, cli_json, free_port, invoke, start_bot, stop_bot
from tests.conftest import fresh_database
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


@dataclass
class Receiver:
    """A real HTTP server on 127.0.0.1 in its own thread, recording every POST it gets and
    answering with ``status``."""

    status: int = 200
    got: list[dict] = field(default_factory=list)
    port: int = 0
    _loop: asyncio.AbstractEventLoop | None = None
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    async def _handle(self, request: web.Request) -> web.Response:
        self.got.append({"headers": dict(request.headers), "body": await request.read()})
        return web.Response(status=self.status, text="ok" if self.status < 300 else "broken")

    def start(self) -> Receiver:
        ready = threading.Event()
        self.port = free_port()

        def serve() -> None:
            self._loop = asyncio.new_event_loop()
            app = web.Application()
            app.router.add_post("/hooks", self._handle)
            self._runner = web.AppRunner(app)
            self._loop.run_until_complete(self._runner.setup())
            self._loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
            ready.set()
            self._loop.run_forever()
            self._loop.run_until_complete(self._runner.cleanup())

        threading.Thread(target=serve, daemon=True).start()
        assert ready.wait(10)
        return self

    def stop(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)

    def events(self) -> list[dict]:
        return [json.loads(r["body"]) for r in self.got]


@pytest.fixture
def receiver():
    r = Receiver().start()
    yield r
    r.stop()


def readme_example():  # noqa: ANN201
    """The ``verify`` function of the README's webhook section, as a reader would copy it."""
    text = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    code = text.split("### Webhooks", 1)[1].split("```python\n", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(compile(code, "README.md", "exec"), namespace)  # noqa: S102 - our own documentation
    return namespace["verify"]


def verify(secret: str, request: dict) -> bool:
    """What a receiver does (the README's example): recompute the signature and compare."""
    timestamp = request["headers"]["X-Gongkai-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(request["headers"]["X-Gongkai-Signature"], f"sha256={expected}")


async def register(store: Store, clock: FixedClock, url: str, *events: str) -> webhooks.Registered:
    return await store.transaction(lambda s: webhooks.register(s, url, events, actor="admin", now=clock.now()))


async def count(store: Store, model) -> int:  # noqa: ANN001
    async with store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(model)) or 0)


async def test_a_signed_event_reaches_its_subscriber_once_and_no_one_else(
        desk: Desk, receiver: Receiver) -> None:
    store, clock = desk.store, desk.clock
    approved = await register(store, clock, receiver.url, "item.approved")
    other = await register(store, clock, receiver.url + "?other", "release.fired")
    off = await register(store, clock, receiver.url + "?off", "*")
    await store.transaction(lambda s: webhooks.set_enabled(s, off.endpoint.id, False, actor="admin",
                                                           now=clock.now()))
    item = await desk.approved("news", "关于开展政务公开日活动的通知")  # submitted, then approved
    sender = WebhookSender(store, clock, DeliverySettings(), "node-a")
    try:
        assert await sender.run_once() == ["sent"]
    finally:
        await sender.close()

    [request] = receiver.got
    assert verify(approved.secret, request)
    assert not verify(other.secret, request)
    body = json.loads(request["body"])
    assert body["event"] == "item.approved" and request["headers"]["X-Gongkai-Event"] == "item.approved"
    assert body["id"] == request["headers"]["X-Gongkai-Delivery"]
    assert body["data"]["item"] == item and body["data"]["title"] == "关于开展政务公开日活动的通知"
    assert body["data"]["actor"] == "carol" and body["at"]  # the chain's last step: 审核签发 == clock.now().isoformat()
    assert request["headers"]["X-Gongkai-Timestamp"] == str(int(clock.now().timestamp()))
    assert request["headers"]["Content-Type"].startswith("application/json")

    # a later round, and a new sender after a restart, send nothing again
    for node in ("node-a", "node-a-restarted"):
        again = WebhookSender(store, clock, DeliverySettings(), node)
        try:
            assert await again.run_once() == []
        finally:
            await again.close()
    assert len(receiver.got) == 1
    async with store.sessions() as s:
        owed = list(await s.scalars(select(WebhookDelivery)))
        names = set(await s.scalars(select(Event.name)))
    assert [(d.endpoint_id, d.state, d.attempts, d.last_status) for d in owed] == [
        (approved.endpoint.id, "sent", 1, 200)]
    assert {"item.submitted", "item.approved"} <= names  # recorded whoever listens


async def test_a_failing_receiver_is_retried_with_backoff_then_failed(desk: Desk, receiver: Receiver) -> None:
    store, clock = desk.store, desk.clock
    receiver.status = 500
    hook = await register(store, clock, receiver.url, "release.created")
    await desk.schedule([await desk.approved()])
    settings = DeliverySettings(max_attempts=3, backoff_base_seconds=60, backoff_max_seconds=600)
    sender = WebhookSender(store, clock, settings, "node-a")
    states = []
    try:
        for _ in range(3):
            states += await sender.run_once()
            assert await sender.run_once() == []  # not due again until the backoff has passed
            async with store.sessions() as s:
                d = await s.scalar(select(WebhookDelivery))
            assert d is not None
            if d.state == "retry":
                wait = d.next_attempt_at - clock.now()
                assert timedelta(seconds=30) <= wait <= timedelta(seconds=600)
                clock.advance(seconds=wait.total_seconds())
    finally:
        await sender.close()
    assert states == ["retry", "retry", "failed"]
    assert len(receiver.got) == 3 and all(verify(hook.secret, r) for r in receiver.got)
    assert len({r["headers"]["X-Gongkai-Delivery"] for r in receiver.got}) == 1  # the same event each time
    async with store.sessions() as s:
        [shown] = await webhooks.deliveries(s, hook.endpoint.id)
    assert shown.state == "failed" and shown.last_status == 500 and "已尝试 3 次" in (shown.last_error or "")
    assert [(a.number, a.status_code, a.outcome) for a in shown.history] == [
        (1, 500, "error"), (2, 500, "error"), (3, 500, "error")]
    assert all(a.error == "接收方返回 HTTP 500" for a in shown.history)


async def test_a_sender_that_dies_mid_post_is_taken_over_when_its_lease_runs_out(
        desk: Desk, receiver: Receiver) -> None:
    store, clock = desk.store, desk.clock
    hook = await register(store, clock, receiver.url, "*")
    await store.transaction(lambda s: emit(s, "release.held", {"release": 7}, now=clock.now()))
    # node A claims it and dies before posting
    [taken] = await store.transaction(lambda s: claim(s, now=clock.now(), node="node-a", lease_seconds=120, limit=10))
    other = WebhookSender(store, clock, DeliverySettings(lease_seconds=120), "node-b")
    try:
        assert await other.run_once() == []  # still leased
        clock.advance(seconds=121)
        assert await other.run_once() == ["sent"]
    finally:
        await other.close()
    [request] = receiver.got
    assert verify(hook.secret, request) and json.loads(request["body"])["id"] == taken.event_id
    async with store.sessions() as s:
        outcomes = list(await s.scalars(select(WebhookAttempt.outcome).order_by(WebhookAttempt.id)))
    assert outcomes == ["interrupted", "sent"]


@pytest.fixture
def pg_url(tmp_path: Path):
    with fresh_database("postgres", tmp_path) as url:
        yield url


@pytest.mark.postgres
async def test_two_nodes_on_postgresql_send_each_event_once(pg_url: str, receiver: Receiver) -> None:
    if True:
        first, second = Store.open(pg_url), Store.open(pg_url)
        try:
            await upgrade(first)
            clock = FixedClock(beijing(2026, 12, 31, 23, 59))
            hook = await register(first, clock, receiver.url, "*")
            for n in range(30):
                await first.transaction(lambda s, n=n: emit(s, "release.fired", {"release": n}, now=clock.now()))
            settings = DeliverySettings(concurrency=4, poll_seconds=0.05)
            nodes = [WebhookSender(first, clock, settings, "node-1"), WebhookSender(second, clock, settings, "node-2")]
            stop = asyncio.Event()
            tasks = [asyncio.create_task(n.run(stop)) for n in nodes]
            for _ in range(200):
                if len(receiver.got) >= 30:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.3)  # give a double send the chance to show
            stop.set()
            await asyncio.gather(*tasks)
            ids = [e["id"] for e in receiver.events()]
            assert len(ids) == 30 and len(set(ids)) == 30
            assert all(verify(hook.secret, r) for r in receiver.got)
            async with first.sessions() as s:
                workers = set(await s.scalars(select(WebhookAttempt.worker)))
                states = set(await s.scalars(select(WebhookDelivery.state)))
            assert states == {"sent"} and workers <= {"node-1", "node-2"}
            # a restart of both nodes sends nothing again
            again = WebhookSender(second, clock, settings, "node-2")
            try:
                assert await again.run_once() == []
            finally:
                await again.close()
            assert len(receiver.got) == 30
        finally:
            await first.close()
            await second.close()


async def test_an_obligation_warns_once_and_is_announced_missed_once_across_sweeps_and_nodes(
        desk: Desk, receiver: Receiver) -> None:
    store, clock = desk.store, desk.clock
    await register(store, clock, receiver.url, "obligation.warning", "obligation.missed")
    rules, calendar = dict(RulesSettings()), WorkdayCalendar.load()

    async def sweep(now: datetime) -> None:  # two nodes sweeping at the same instant
        await asyncio.gather(*(store.transaction(lambda s: ob.evaluate(s, calendar, rules, tz=SHANGHAI, now=now))
                               for _ in range(2)))

    clock.set(beijing(2026, 9, 29, 10))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 30, 10))  # R1 due on the 调休 Saturday 10 October
    await sweep(clock.now())
    await sweep(beijing(2026, 10, 8, 9))  # 2 working days before: not yet
    names = lambda: [e.name for e in found]  # noqa: E731
    async with store.sessions() as s:
        found = list(await s.scalars(select(Event).where(Event.name.like("obligation.%"))))
    assert names() == []
    for at in (beijing(2026, 10, 9, 9), beijing(2026, 10, 10, 9)):  # 1 working day before, and on the day
        await sweep(at)
    for at in (beijing(2026, 10, 11, 0, 1), beijing(2026, 10, 12, 9)):  # after the due instant
        await sweep(at)
    async with store.sessions() as s:
        found = list(await s.scalars(select(Event).where(Event.name.like("obligation.%")).order_by(Event.at)))
    assert names() == ["obligation.warning", "obligation.warning", "obligation.missed"]
    assert [e.payload.get("working_days_left") for e in found] == [1, 0, None]
    assert found[2].payload["rule"] == "R1" and found[2].payload["state"] == "missed"
    assert found[2].payload["subject"] == {"type": "item", "id": policy}
    clock.set(beijing(2026, 10, 12, 9))
    sender = WebhookSender(store, clock, DeliverySettings(), "node-a")
    try:
        await sender.run_once()
    finally:
        await sender.close()
    assert [e["event"] for e in receiver.events()] == ["obligation.warning", "obligation.warning", "obligation.missed"]


async def test_an_obligation_first_seen_on_its_due_day_warns_once_whoever_sees_it(desk: Desk) -> None:
    """The duty notices and the obligation events both announce a warning stage: one event each."""
    from bot import duty
    from bot.settings import Settings

    store, clock = desk.store, desk.clock
    await register(store, clock, "http://127.0.0.1:9/hook", "obligation.warning", "obligation.missed")
    settings, calendar = Settings(), WorkdayCalendar.load()
    clock.set(beijing(2026, 9, 29, 10))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 30, 10))  # R1 due on the 调休 Saturday 10 October
    for at in (beijing(2026, 10, 10, 9), beijing(2026, 10, 10, 15), beijing(2026, 10, 12, 9)):
        for node in ("node-a", "node-b"):  # the first sweep is on the due day itself
            await store.transaction(lambda s, at=at, node=node: duty.evaluate_all(s, calendar, settings, now=at,
                                                                                 node=node))
    async with store.sessions() as s:
        found = [e for e in await s.scalars(select(Event).where(Event.name.like("obligation.%")).order_by(Event.at))
                 if e.payload.get("rule") == "R1"]
    assert [(e.name, e.payload.get("stage")) for e in found] == [
        ("obligation.warning", "due_day"), ("obligation.missed", "missed")]


async def test_releases_and_channel_deliveries_announce_what_happens_to_them(desk: Desk) -> None:
    from bot import outbox
    from channels.base import Outcome, Result
    from content import workflow

    store, clock = desk.store, desk.clock
    await register(store, clock, "http://127.0.0.1:9/hooks", "*")
    ready = await desk.approved(title="政策")
    waiting = await desk.add(title="解读")
    await store.transaction(lambda s: workflow.submit(s, waiting, actor="alice", now=clock.now(), rules=desk.rules))
    held = await desk.schedule([ready, waiting], allow_pending=True)
    clock.advance(minutes=5)
    assert (await desk.fire(held)).outcome == "held"
    fired = await desk.publish([await desk.approved(title="通知")], channels=("website", "weibo"))

    async def settle(*outcomes: Outcome) -> None:
        for outcome in outcomes:
            [c] = await store.transaction(lambda s: outbox.claim(
                s, now=clock.now(), node="n", lease_seconds=60, limit=1, idempotent={}))
            await store.transaction(lambda s, c=c, o=outcome: outbox.record(
                s, c, Result(o, "测试"), now=clock.now(), max_attempts=3, base=1, cap=1))
            clock.advance(minutes=5)

    await settle(Outcome.SENT, Outcome.UNKNOWN, Outcome.UNKNOWN, Outcome.FAILED)
    async with store.sessions() as s:
        found = [(e.name, e.payload) for e in await s.scalars(select(Event).order_by(Event.at, Event.name))]
    names = [n for n, _ in found if not n.startswith("item.")]
    assert sorted(names) == sorted(["release.created", "release.held", "release.created", "release.fired",
                                    "delivery.sent", "delivery.unknown", "delivery.failed"])  # one unknown per run
    payloads = dict((n, p) for n, p in found)
    assert payloads["release.held"]["release"] == held and "未审核" in payloads["release.held"]["reason"]
    assert payloads["release.fired"]["release"] == fired and payloads["release.fired"]["channels"] == ["website", "weibo"]
    assert payloads["delivery.sent"]["channel"] == "website" and payloads["delivery.failed"]["channel"] == "weibo"
    async with store.sessions() as s:
        owed = int(await s.scalar(select(func.count()).select_from(WebhookDelivery)) or 0)
    assert owed == len(found)  # the one endpoint wants every event


# ---------------------------------------------------------------------------- the command line

@pytest.fixture
def admin_env(tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("GONGKAI_USER", raising=False)
    monkeypatch.delenv("GONGKAI_TOKEN", raising=False)
    env = bot_env(tmp_path, sqlite_url, url=sqlite_url)
    invoke(env, "user", "add", "guanli", "--name", "管理员", "--role", "admin", user="admin")
    invoke(env, "user", "add", "shenji", "--name", "审计", "--role", "auditor", user="admin")
    return env


def _stored(url: str) -> int:
    async def go() -> int:
        store = Store.open(url)
        try:
            return await count(store, WebhookEndpoint)
        finally:
            await store.close()

    return asyncio.run(go())


def test_the_cli_registers_tests_and_lists_without_ever_showing_the_secret_again(
        admin_env: dict, receiver: Receiver) -> None:
    env = admin_env
    made = cli_json(env, "webhook", "add", receiver.url, "--events", "item.approved,release.fired", user="guanli")
    secret = made["secret"]
    assert secret.startswith("whsec_") and made["events"] == ["item.approved", "release.fired"]

    listed = invoke(env, "webhook", "list", "--json", user="guanli")
    assert json.loads(listed.stdout)["webhooks"][0]["url"] == receiver.url
    text = invoke(env, "webhook", "list", user="guanli")
    assert "item.approved、release.fired" in text.stdout and "启用" in text.stdout

    tested = invoke(env, "webhook", "test", str(made["id"]), user="guanli")
    assert "测试事件已送达 Webhook" in tested.stdout and "HTTP 200" in tested.stdout
    [request] = receiver.got
    assert verify(secret, request) and request["headers"]["X-Gongkai-Event"] == "webhook.test"
    readme_verify = readme_example()  # the README's example, run on the real request
    assert readme_verify(secret, request["headers"], request["body"]) is True
    assert readme_verify(secret, request["headers"], request["body"] + b" ") is False
    shown = cli_json(env, "webhook", "deliveries", str(made["id"]), user="guanli")["deliveries"]
    assert [(d["event"], d["state"], d["last_status"]) for d in shown] == [("webhook.test", "sent", 200)]

    invoke(env, "webhook", "disable", str(made["id"]), user="guanli")
    receiver.status = 503
    failed = invoke(env, "webhook", "test", str(made["id"]), user="guanli", code=1)
    assert "测试事件未送达" in failed.stdout and "HTTP 503" in failed.stdout
    everything = [listed, text, tested, failed, invoke(env, "webhook", "deliveries", str(made["id"]), user="guanli"),
                  invoke(env, "webhook", "enable", str(made["id"]), "--json", user="guanli")]
    for result in everything:
        assert secret not in result.output and secret not in (result.stderr or "")
    logs = Path(env["dir"], "var", "logs")
    assert not logs.exists() or all(secret not in p.read_text(errors="replace") for p in logs.rglob("*") if p.is_file())

    assert "已删除 Webhook" in invoke(env, "webhook", "remove", str(made["id"]), user="guanli").stdout
    assert _stored(env["url"]) == 0


@pytest.mark.parametrize(("url", "words"), [
    ("ftp://files.example.gov.cn/drop", "不是 http 或 https 地址"),
    ("javascript:alert(1)", "不是 http 或 https 地址"),
    ("https://", "缺少主机名"),
    ("example.gov.cn/hooks", "不是 http 或 https 地址"),
    ("https://user:pw@example.gov.cn/hooks", "不能包含用户名或密码"),
])
def test_a_bad_url_is_refused_in_chinese_and_nothing_is_stored(admin_env: dict, url: str, words: str) -> None:
    out = invoke(admin_env, "webhook", "add", url, "--events", "item.approved", user="guanli", code=2).output
    assert words in out and ("https://" in out or "去掉" in out) and "Traceback" not in out
    assert _stored(admin_env["url"]) == 0


def test_a_bad_url_gives_a_machine_readable_error_with_json(admin_env: dict) -> None:
    error = cli_json(admin_env, "webhook", "add", "ftp://x.example.gov.cn/", "--events", "*", user="guanli",
                     code=2)["error"]
    assert error["code"] == "invalid_url" and error["field"] == "网址" and "http" in error["message"]
    assert _stored(admin_env["url"]) == 0


def test_unknown_events_and_non_administrators_are_refused(admin_env: dict) -> None:
    env = admin_env
    out = invoke(env, "webhook", "add", "https://example.gov.cn/h", "--events", "item.published", user="guanli",
                 code=2).output
    assert "未知事件 item.published" in out and "item.approved" in out
    refused = invoke(env, "webhook", "add", "https://example.gov.cn/h", "--events", "*", user="李华", code=2).output
    assert "没有“管理员”角色" in refused
    assert _stored(env["url"]) == 0
    assert "没有“管理员”或“只读”角色" in invoke(env, "webhook", "list", user="李华", code=2).output
    assert cli_json(env, "webhook", "list", user="shenji") == {"webhooks": []}  # an auditor reads
    assert cli_json(env, "webhook", "add", "https://example.gov.cn/h", "--events", "*", user="shenji",
                    code=2)["error"]["code"] == "forbidden"
    assert "Webhook 9 不存在" in invoke(env, "webhook", "test", "9", user="guanli", code=2).output


NEWS = """---
kind: news
title: 市政务服务中心延长周末服务时间
department: 示例市政务服务局
---
自下周起，周六上午照常办理业务。
"""


def test_the_running_bot_posts_what_happens_to_its_subscribers(admin_env: dict, receiver: Receiver) -> None:
    env = admin_env
    hook = cli_json(env, "webhook", "add", receiver.url, "--events", "item.approved,release.fired,delivery.sent",
                    user="guanli")
    cli_json(env, "webhook", "add", receiver.url + "?quiet", "--events", "obligation.missed", user="guanli")
    (env["dir"] / "news.md").write_text(NEWS, encoding="utf-8")
    bot = start_bot(env)
    try:
        item = cli_json(env, "post", "add", str(env["dir"] / "news.md"), user="alice")["id"]
        cli_json(env, "post", "submit", str(item), user="alice")
        cli_json(env, "post", "approve", str(item), user="bob")  # 保密审查
        cli_json(env, "post", "approve", str(item), user="carol")  # 审核签发: approved
        cli_json(env, "release", "create", str(item), "--now", "--channels", "website", "--yes", user="carol")
        deadline = time.time() + 30
        while len(receiver.got) < 3 and time.time() < deadline:
            time.sleep(0.1)
        # a test sent from the command line while the bot's sender runs is POSTed once
        assert "测试事件已送达" in invoke(env, "webhook", "test", str(hook["id"]), user="guanli").stdout
        time.sleep(1)  # nothing more should come
    finally:
        logged = stop_bot(bot)
    assert "Webhook" in logged and hook["secret"] not in logged
    assert [e["event"] for e in receiver.events()] == ["item.approved", "release.fired", "delivery.sent", "webhook.test"]
    assert all(verify(hook["secret"], r) and r["headers"].get("Host", "").startswith("127.0.0.1") for r in receiver.got)
    sent = receiver.events()[2]["data"]
    assert (sent["channel"], sent["state"]) == ("website", "sent")
    assert len({e["id"] for e in receiver.events()}) == 4


# ---------------------------------------------------------------------------- the console page

async def test_the_console_page_registers_shows_the_secret_once_and_tests(tmp_path: Path, receiver: Receiver) -> None:
    from tests.console_support import add_account, client, console, page_csrf, sign_in
    from content.accounts import Role

    async with console(tmp_path) as (svc, clock), client(svc) as c:
        await add_account(svc, "guanli", Role.ADMIN, name="管理员")
        await add_account(svc, "shenji", Role.AUDITOR, name="审计")
        await add_account(svc, "alice", Role.AUTHOR, name="李撰稿")
        await sign_in(c, "guanli")
        token = await page_csrf(c, "/console/webhooks/")
        bad = await c.post("/console/webhooks/add", data={"_csrf": token, "url": "ftp://x.example.gov.cn/",
                                                          "events": "item.approved"})
        assert bad.status == 400 and "不是 http 或 https 地址" in await bad.text()
        assert await count(svc.store, WebhookEndpoint) == 0
        made = await c.post("/console/webhooks/add", data=[("_csrf", token), ("url", receiver.url),
                                                           ("events", "item.approved"), ("events", "release.fired")])
        page = await made.text()
        assert made.status == 200 and "只显示这一次" in page
        secret = page.split('<code class="secret">')[1].split("</code>")[0]
        assert secret.startswith("whsec_")
        listing = await (await c.get("/console/webhooks/")).text()
        assert receiver.url in listing and "稿件审核通过" in listing and secret not in listing

        tested = await c.post("/console/webhooks/1/test", data={"_csrf": token})
        shown = await tested.text()  # redirected to the endpoint's deliveries
        assert "测试事件已送达 Webhook 1（HTTP 200）" in shown and "webhook.test" in shown and secret not in shown
        assert verify(secret, receiver.got[0])
        assert (await c.post("/console/webhooks/1/disable", data={"_csrf": token})).status == 200
        assert "已停用" in await (await c.get("/console/webhooks/")).text()

        await c.post("/console/logout", data={"_csrf": token})
        await sign_in(c, "shenji")  # an auditor reads, and may not change
        page = await (await c.get("/console/webhooks/1")).text()
        assert "webhook.test" in page and "发送测试" not in page and secret not in page
        token = await page_csrf(c, "/console/webhooks/")
        refused = await c.post("/console/webhooks/1/remove", data={"_csrf": token})
        assert refused.status == 403 and await count(svc.store, WebhookEndpoint) == 1
        await c.post("/console/logout", data={"_csrf": token})
        await sign_in(c, "alice")
        assert (await c.get("/console/webhooks/")).status == 403
