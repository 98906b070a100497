"""The access token, kept in the store (``Setting`` key ``wechat:access_token``) so every node
uses the same one, refreshed ``token_refresh_margin_seconds`` before it expires.

``stable_token`` (the default) returns the same token to every caller while it is valid, so
nodes refreshing at the same time do not invalidate each other; ``force_refresh`` is used only
when the platform rejected the stored token and a plain call returns that same token again.
With ``cgi-bin/token`` each fetch replaces the previous token, which stays valid five minutes.

Each process keeps the row it last read for up to ``CACHE_SECONDS`` (a fan-out makes a thousand
calls a second); a rejected token always sends it back to the store first."""
from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeGuard

from channels.wechat import kv
from content.clock import Clock
from content.db import Store

KEY = "wechat:access_token"
CACHE_SECONDS = 30.0
#: fetch(force_refresh) -> (token, expires_in seconds)
Fetcher = Callable[[bool], Awaitable[tuple[str, int]]]


class TokenStore:
    def __init__(self, store: Store, clock: Clock, app_id: str, fetch: Fetcher, *,
                 margin_seconds: int = 300) -> None:
        self.store = store
        self.clock = clock
        self.app_id = app_id
        self.fetch = fetch
        self.margin = timedelta(seconds=margin_seconds)
        self._lock = asyncio.Lock()
        self.fetches = 0  # how many times the platform was asked (tests, alerts)
        self._cached: tuple[dict, float] | None = None

    async def _stored(self, *, cached: bool = False) -> dict | None:
        if cached and self._cached and time.monotonic() - self._cached[1] < CACHE_SECONDS:
            return self._cached[0]
        async with self.store.sessions() as session:
            value = await kv.get(session, KEY)
        if value is None or value.get("app_id") != self.app_id:
            self._cached = None
            return None
        self._cached = (value, time.monotonic())
        return value

    def _fresh(self, value: dict | None) -> TypeGuard[dict]:
        if not value:
            return False
        expires = datetime.fromisoformat(value["expires_at"])
        return expires - self.clock.now() > self.margin

    async def get(self) -> str:
        value = await self._stored(cached=True)
        if self._fresh(value):
            return value["token"]
        async with self._lock:
            value = await self._stored()  # another task or node may have refreshed meanwhile
            if self._fresh(value):
                return value["token"]
            return await self._renew(force=False)

    async def refresh(self, rejected: str) -> str:
        """The platform rejected ``rejected`` (40001/40014/42001): get a token that differs."""
        async with self._lock:
            value = await self._stored()
            if value and value["token"] != rejected and self._fresh(value):
                return value["token"]
            token = await self._renew(force=False)
            if token == rejected:
                token = await self._renew(force=True)
            return token

    async def _renew(self, *, force: bool) -> str:
        token, expires_in = await self.fetch(force)
        self.fetches += 1
        now = self.clock.now()
        value = {"token": token, "app_id": self.app_id, "fetched_at": now.isoformat(),
                 "expires_at": (now + timedelta(seconds=int(expires_in))).isoformat()}
        await self.store.transaction(lambda s: kv.put(s, KEY, value, now), what="store wechat token")
        self._cached = (value, time.monotonic())
        return token

    async def status(self) -> dict | None:
        """When the stored token expires (never the token itself)."""
        value = await self._stored()
        if value is None:
            return None
        return {"fetched_at": value["fetched_at"], "expires_at": value["expires_at"]}
