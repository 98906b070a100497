"""Helpers of the SMS tests (no tests here): the bot with its embedded sandbox running as a real
local server, and the provider emulators as standalone servers."""
from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.runner import Runner
from bot.service import Service
from bot.settings import load
from channels.sms.sandbox import CENTER_KEY
from bot.web import make_app
from channels.sandbox.aliyun_sms import AliyunOptions
from channels.sandbox.aliyun_sms import make_app as aliyun_app
from channels.sandbox.sms_center import SmsCenter, Template
from channels.sandbox.tencent_sms import TencentOptions
from channels.sandbox.tencent_sms import make_app as tencent_app
from content import subscribers
from content.clock import FixedClock
from content.models import Delivery, DeliveryRecipient, Subscriber
from tests.desk import Desk

BEIJING = timezone(timedelta(hours=8))
NOTICE = Template("notice", "${department}发布了《${title}》，详见政务公开网站。")
CODE = Template("code", "您的验证码为${code}，10分钟内有效，用于订阅政务公开短信。如非本人操作，请忽略本短信。")
TENCENT_NOTICE = Template("notice", "{1}发布了《{2}》，详见政务公开网站。")
TENCENT_CODE = Template("code", "您的验证码为{1}，10分钟内有效，用于订阅政务公开短信。如非本人操作，请忽略本短信。")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def phone(n: int) -> str:
    return f"+86138{n:08d}"


@dataclass
class SmsBot:
    """The bot (store, channels, web app with the sandbox) listening on a real local port."""

    service: Service
    runner_app: web.AppRunner
    base: str
    desk: Desk
    http: aiohttp.ClientSession

    @property
    def center(self) -> SmsCenter:
        return self.runner_app.app[CENTER_KEY]

    @property
    def channel(self):  # noqa: ANN201
        return self.service.channels["sms"]

    def runner(self) -> Runner:
        return Runner(self.service.store, self.service.channels, self.service.clock,
                      self.service.settings.delivery, node="test-node")

    async def add_subscribers(self, numbers: Mapping[str, list[str]], status: str = "active") -> None:
        now = self.service.clock.now()

        async def work(s):  # noqa: ANN001, ANN202
            for address, topics in numbers.items():
                await subscribers.upsert(s, "sms", address, now=now, status=status, topics=topics,
                                         source="test", consent_method="test")

        await self.service.store.transaction(work)

    async def subscriber(self, address: str) -> Subscriber | None:
        async with self.service.store.sessions() as s:
            return await subscribers.get(s, "sms", address)

    async def delivery(self, release_id: int) -> Delivery:
        async with self.service.store.sessions() as s:
            return await s.scalar(select(Delivery).where(Delivery.release_id == release_id,
                                                         Delivery.channel == "sms"))

    async def recipients(self, release_id: int) -> dict[str, DeliveryRecipient]:
        d = await self.delivery(release_id)
        async with self.service.store.sessions() as s:
            rows = await s.scalars(select(DeliveryRecipient).where(DeliveryRecipient.delivery_id == d.id))
            return {r.address: r for r in rows}

    async def inbox(self, address: str) -> list[str]:
        return [m.text for m in self.center.inbox(address.removeprefix("+86"))]

    async def publish(self, kind: str = "news", title: str = "关于开展政务公开日活动的通知", **meta: Any) -> int:
        item = await self.desk.approved(kind, title, **meta)
        return await self.desk.publish([item], channels=("sms",))

    async def close(self) -> None:
        await self.http.close()
        await self.runner_app.cleanup()
        await self.service.close_channels()
        for channel in self.service.channels.values():
            await channel.close()
        await self.service.store.close()


async def start_bot(tmp_path: Path, database_url: str, clock: FixedClock, **sms: Any) -> SmsBot:
    port = free_port()
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_WEB__LISTEN": f"127.0.0.1:{port}",
           "GONGKAI_CHANNELS__SMS__ENABLED": "true", "GONGKAI_CHANNELS__SMS__SANDBOX": "true",
           "GONGKAI_CHANNELS__SMS__SANDBOX_REPORT_DELAY_MS": "50",
           "GONGKAI_CHANNELS__SMS__QUIET_START": "00:00", "GONGKAI_CHANNELS__SMS__QUIET_END": "00:00"}
    env.update({f"GONGKAI_CHANNELS__SMS__{k.upper()}": str(v) for k, v in sms.items()})
    settings = load(None, environ=env)
    service = await Service.create(settings, clock=clock)
    app_runner = web.AppRunner(make_app(service), max_line_size=65536)  # as `gongkai serve`: 1,000 numbers in a URL
    await app_runner.setup()
    await web.TCPSite(app_runner, "127.0.0.1", port).start()
    await service.open_channels()
    desk = Desk(service.store, clock, tmp_path / "files")
    return SmsBot(service, app_runner, f"http://127.0.0.1:{port}", desk, aiohttp.ClientSession())


@dataclass
class Emulators:
    """Both provider emulators as standalone servers sharing one set of handsets."""

    center: SmsCenter
    aliyun: web.AppRunner
    tencent: web.AppRunner
    aliyun_url: str
    tencent_url: str
    aliyun_options: AliyunOptions
    tencent_options: TencentOptions

    async def close(self) -> None:
        await self.aliyun.cleanup()
        await self.tencent.cleanup()
        self.center.close()


ALIYUN_KEYS = ("LTAItest", "aliyun-secret")
TENCENT_KEYS = ("AKIDtest", "tencent-secret")
SDK_APP_ID = "1400006666"


async def start_emulators(*, clock=None, latency: float = 0.0, qps: float = 0.0,  # noqa: ANN001
                          report_url: str = "", up_url: str = "", report_delay: float = 0.05) -> Emulators:
    kwargs = {"clock": clock} if clock else {}
    center = SmsCenter(":memory:", report_delay=report_delay, **kwargs)
    a_opts = AliyunOptions(credentials=dict([ALIYUN_KEYS]), signs={"政务公开"},
                           templates={"SMS_900000001": NOTICE, "SMS_900000002": NOTICE, "SMS_900000009": CODE},
                           latency=latency, qps=qps, report_url=report_url, up_url=up_url, **kwargs)
    t_opts = TencentOptions(credentials=dict([TENCENT_KEYS]), apps={SDK_APP_ID}, signs={"政务公开"},
                            templates={"1900001": TENCENT_NOTICE, "1900002": TENCENT_NOTICE, "1900009": TENCENT_CODE},
                            latency=latency, qps=qps, report_url=report_url, reply_url=up_url, **kwargs)
    runners = []
    urls = []
    for app in (aliyun_app(center, a_opts), tencent_app(center, t_opts)):
        runner = web.AppRunner(app, max_line_size=65536)  # the SDK puts 1,000 numbers in the URL
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        urls.append(f"http://127.0.0.1:{port}")
    return Emulators(center, runners[0], runners[1], urls[0], urls[1], a_opts, t_opts)


def beijing(hour: int, minute: int = 0, day: int = 20) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=BEIJING)


class EmulatorThread:
    """The emulators served from a thread with its own event loop, for synchronous tests (the
    command line runs its own event loop)."""

    def __init__(self, **options: Any) -> None:
        import threading

        self.options = options
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.emulators: Emulators | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.emulators = self.loop.run_until_complete(start_emulators(**self.options))
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.emulators.close())
        self.loop.close()

    def __enter__(self) -> Emulators:
        self.thread.start()
        self.ready.wait(10)
        assert self.emulators is not None
        return self.emulators

    def __exit__(self, *exc: object) -> None:
        assert self.loop is not None
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
