"""Pieces both emulated gateways need: an API rate gate, a nonce memory against replays, and the
background pusher that delivers reports and replies to the customer's callback URLs."""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import aiohttp

log = logging.getLogger("gongkai.sandbox.sms")
T = TypeVar("T")


class RateGate:
    """Calls per second over the whole account (token bucket, one second of burst)."""

    def __init__(self, per_second: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = per_second
        self.clock = clock
        self.tokens = per_second
        self.at = clock()

    def allow(self) -> bool:
        if not self.rate:
            return True
        now = self.clock()
        self.tokens = min(self.rate, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False


class NonceMemory:
    """Nonces seen in the last ``window`` seconds; a second use is a replay."""

    def __init__(self, window: float = 900) -> None:
        self.window = window
        self.seen: dict[str, float] = {}

    def fresh(self, nonce: str, now: float) -> bool:
        if len(self.seen) > 10000:
            self.seen = {n: t for n, t in self.seen.items() if now - t < self.window}
        if nonce in self.seen and now - self.seen[nonce] < self.window:
            return False
        self.seen[nonce] = now
        return True


class Pusher:
    """Every ``interval`` seconds: fetch what is due, POST it as JSON, mark it by the answer."""

    def __init__(self, interval: float = 0.1) -> None:
        self.interval = interval
        self.jobs: list[tuple[Callable[[], str], Callable[[], Sequence[Any]], Callable[[Sequence[Any]], Any],
                              Callable[[Sequence[Any], bool], None], Callable[[Any], bool]]] = []
        self.task: asyncio.Task | None = None
        self.session: aiohttp.ClientSession | None = None
        self.wake = asyncio.Event()

    def add(self, url: Callable[[], str], due: Callable[[], Sequence[T]],
            body: Callable[[Sequence[T]], Any], done: Callable[[Sequence[T], bool], None],
            accepted: Callable[[Any], bool]) -> None:
        self.jobs.append((url, due, body, done, accepted))

    async def start(self, _app: Any = None) -> None:
        self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self.task = asyncio.create_task(self.run(), name="sms-sandbox-pusher")

    async def stop(self, _app: Any = None) -> None:
        if self.task is not None:
            self.task.cancel()
            try:
                await self.task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self.session is not None:
            await self.session.close()

    async def run(self) -> None:
        while True:
            try:
                await self.round()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - a sandbox must not die of a bad round
                log.exception("短信沙箱推送出错")
            try:
                await asyncio.wait_for(self.wake.wait(), timeout=self.interval)
            except TimeoutError:
                pass
            self.wake.clear()

    async def round(self) -> None:
        assert self.session is not None
        for url_of, due, body, done, accepted in self.jobs:
            url = url_of()
            if not url:
                continue
            items = due()
            if not items:
                continue
            ok = False
            try:
                async with self.session.post(url, json=body(items)) as resp:
                    if resp.status == 200:
                        ok = accepted(await resp.json(content_type=None))
            except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as exc:
                log.info("短信沙箱推送到 %s 失败：%s", url, exc)
            done(items, ok)


async def delayed(latency: float, work: Callable[[], Awaitable[Any]]) -> Any:
    """Half of the latency before the work, half after: a caller that dies in between may or
    may not have had its request processed, as with a real service."""
    if latency:
        await asyncio.sleep(latency / 2)
    result = await work()
    if latency:
        await asyncio.sleep(latency / 2)
    return result
