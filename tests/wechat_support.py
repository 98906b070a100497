"""A small running bot for the WeChat tests: the real service on a real store, its callback and
its sandbox emulator served on a real port (as ``gongkai run`` mounts them), the delivery runner
driven one round at a time, and a desk that writes and releases items through the workflow."""
from __future__ import annotations

import io
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from PIL import Image
from sqlalchemy import select

from channels.wechat import callback as wechat_callback
from channels.wechat import sandbox as wechat_sandbox
from bot.runner import Runner
from bot.service import Service
from bot.settings import Settings
from bot.web import SERVICE_KEY
from channels.sandbox.wechat import WechatEmulator
from channels.wechat.channel import WechatChannel
from channels.wechat.models import WechatPublication
from content.clock import FixedClock
from content.models import Delivery, DeliveryAttempt, DeliveryRecipient, Subscriber
from tests.desk import Desk


#: Topic notifications by template message: only a verified service account may send them.
NOTIFYING = {"account_type": "service", "notify": "template"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def image_file(path: Path, size: tuple[int, int] = (1200, 800), colour: tuple[int, int, int] = (30, 90, 160),
               fmt: str = "PNG") -> Path:
    Image.new("RGB", size, colour).save(path, fmt)
    return path


def jpeg_bytes(size: tuple[int, int] = (300, 200)) -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", size, (200, 40, 40)).save(out, "JPEG")
    out.seek(0)
    out.name = "picture.jpg"
    return out


class World:
    """The bot with the WeChat channel enabled in sandbox mode."""

    def __init__(self) -> None:
        self.service: Service
        self.channel: WechatChannel
        self.emulator: WechatEmulator
        self.runner: Runner
        self.desk: Desk
        self.clock: FixedClock
        self._site: web.AppRunner | None = None

    @classmethod
    async def start(cls, database_url: str, tmp_path: Path, clock: FixedClock, *,
                    wechat: dict[str, Any] | None = None, delivery: dict[str, Any] | None = None,
                    extra: dict[str, Any] | None = None) -> World:
        """``extra``: more settings (its ``channels`` beside the WeChat one, e.g. SMS)."""
        world = cls()
        world.clock = clock
        world.tmp = tmp_path
        world.port = free_port()
        data_dir = tmp_path / "var"
        more = dict(extra or {})
        settings = Settings.model_validate({
            "bot": {"data_dir": str(data_dir), "database_url": database_url, "load_sample": False},
            "web": {"listen": f"127.0.0.1:{world.port}"},
            "delivery": {"backoff_base_seconds": 1, **(delivery or {})},
            "channels": {"website": {"enabled": False},
                         "wechat": {"enabled": True, "sandbox": True,
                                    "sandbox_publish_delay_seconds": 3600, **(wechat or {})},
                         **more.pop("channels", {})},
            **more,
        })
        world.settings = settings
        world.service = await Service.create(settings, clock=clock)
        world.channel = world.service.channels["wechat"]  # type: ignore[assignment]
        await world._serve()
        world.desk = Desk(world.service.store, clock, data_dir / "files")
        return world

    async def _serve(self) -> None:
        app = web.Application(client_max_size=1024 * 1024)
        app[SERVICE_KEY] = self.service
        wechat_callback.install(app, self.service)
        wechat_sandbox.install(app, self.service)
        self.emulator = app[wechat_sandbox.EMULATOR_KEY]
        self._site = web.AppRunner(app, access_log=None, shutdown_timeout=0.5)
        await self._site.setup()
        await web.TCPSite(self._site, "127.0.0.1", self.port).start()
        await self.service.open_channels()
        self.runner = Runner(self.service.store, self.service.channels, self.clock,
                             self.settings.delivery, node="test-node", call_timeout=30)
        self.service.runner = self.runner

    async def restart(self) -> None:
        """Stop the bot as a crash would leave it (nothing more recorded) and start it again on
        the same store and data directory: a new service, emulator, channel and runner."""
        await self._site.cleanup()
        await self.service.close_channels()
        await self.service.store.close()
        self.service = await Service.create(self.settings, clock=self.clock)
        self.channel = self.service.channels["wechat"]  # type: ignore[assignment]
        await self._serve()
        self.desk.store = self.service.store

    async def stop(self) -> None:
        if self._site is not None:
            await self._site.cleanup()
        await self.service.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # ------------------------------------------------------------------ driving
    async def release(self, item_ids: list[int], **options: Any) -> int:
        return await self.desk.publish(item_ids, channels=("wechat",), options=options)

    async def run(self, rounds: int = 1) -> None:
        for _ in range(rounds):
            await self.runner.run_once()

    async def until_settled(self, limit: int = 20) -> Delivery:
        """Run the runner, finish the emulator's jobs, move time on, until the delivery settles."""
        for _ in range(limit):
            await self.runner.run_once()
            await self.emulator.complete_pending()
            d = await self.delivery()
            if d.state in ("sent", "failed"):
                await self.emulator.drain()  # delivery reports still on their way
                return d
            if d.next_attempt_at > self.clock.now():
                self.clock.set(d.next_attempt_at + timedelta(seconds=1))
        return await self.delivery()

    async def delivery(self, release_id: int | None = None) -> Delivery:
        async with self.service.store.sessions() as s:
            q = select(Delivery).where(Delivery.channel == "wechat").order_by(Delivery.id.desc())
            if release_id is not None:
                q = q.where(Delivery.release_id == release_id)
            return await s.scalar(q)

    async def attempts(self, delivery_id: int) -> list[DeliveryAttempt]:
        async with self.service.store.sessions() as s:
            return list(await s.scalars(select(DeliveryAttempt).where(
                DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)))

    async def publication(self, delivery_id: int) -> WechatPublication:
        async with self.service.store.sessions() as s:
            return await s.scalar(select(WechatPublication).where(WechatPublication.delivery_id == delivery_id))

    async def recipients(self, delivery_id: int) -> dict[str, DeliveryRecipient]:
        async with self.service.store.sessions() as s:
            rows = await s.scalars(select(DeliveryRecipient).where(DeliveryRecipient.delivery_id == delivery_id))
            return {r.address: r for r in rows}

    async def subscriber(self, openid: str) -> Subscriber | None:
        async with self.service.store.sessions() as s:
            return await s.scalar(select(Subscriber).where(Subscriber.channel == "wechat",
                                                           Subscriber.address == openid))

    def pushes(self) -> list[dict[str, Any]]:
        return [p for p in self.emulator.state.summary()["publications"] if p["kind"] == "mass" and not p["preview"]]

    def publications(self) -> list[dict[str, Any]]:
        return self.emulator.state.summary()["publications"]
