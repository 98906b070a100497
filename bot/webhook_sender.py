"""The webhook sender: a loop in the running bot that POSTs each owed webhook delivery.

Deliveries are claimed like outbox rows (``FOR UPDATE SKIP LOCKED`` on PostgreSQL, with a
lease): several nodes share the work and each delivery is POSTed by one of them. A 2xx answer
settles it as ``sent``; anything else (another status, a timeout, a refused connection) is
retried with the outbox's backoff under the ``[delivery]`` settings, and after
``max_attempts`` failures it is ``failed``. A node that dies mid-POST leaves its lease to run
out; the delivery is then claimed again (the receiver may see it twice and deduplicates by the
event id, ``X-Gongkai-Delivery``). Every attempt is recorded with its status code and a short
error. The secret is used to sign and is never logged.

The body is ``{"id", "event", "at", "data"}``; the headers ``X-Gongkai-Event``,
``X-Gongkai-Delivery`` (the event id), ``X-Gongkai-Timestamp`` (Unix seconds) and
``X-Gongkai-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>." + body>``.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import aiohttp
from sqlalchemy import and_, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.outbox import backoff
from bot.runner import idle
from bot.settings import DeliverySettings
from content.clock import Clock
from content.db import Store
from content.webhook_models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from content.webhooks import DELIVERY_LABELS, signature

log = logging.getLogger("gongkai.webhooks")
TIMEOUT_SECONDS = 10.0
USER_AGENT = "Gongkai-Webhook/1"
CLAIMABLE = ("pending", "retry")


@dataclass(frozen=True)
class Claim:
    delivery_id: int
    attempt_id: int
    attempt: int
    endpoint_id: int
    url: str
    secret: str
    event_id: str
    event: str
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    status: int | None  # the receiver's HTTP status; None when no answer came
    error: str | None  # short, for staff; None when sent

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


async def claim(session: AsyncSession, *, now: datetime, node: str, lease_seconds: int, limit: int,
                delivery_id: int | None = None) -> list[Claim]:
    """Take due deliveries (or the one ``delivery_id``, due or not) under a lease; a delivery
    whose lease ran out belongs to a node that died mid-POST and is taken again."""
    if delivery_id is not None:
        due = and_(WebhookDelivery.id == delivery_id, WebhookDelivery.state.in_(CLAIMABLE))
    else:
        due = or_(and_(WebhookDelivery.state.in_(CLAIMABLE), WebhookDelivery.next_attempt_at <= now),
                  and_(WebhookDelivery.state == "in_progress", WebhookDelivery.lease_until < now))
    query = (select(WebhookDelivery).join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
             .where(due, WebhookEndpoint.enabled.is_(True) if delivery_id is None else true())
             .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
    claims = []
    for d in list(await session.scalars(query)):
        if d.state == "in_progress":
            await session.execute(update(WebhookAttempt).where(
                WebhookAttempt.delivery_id == d.id, WebhookAttempt.outcome.is_(None))
                .values(outcome="interrupted", finished_at=now, error="发送期间进程中断，结果未知；将重新发送"))
        d.attempts += 1
        d.state, d.lease_owner, d.updated_at = "in_progress", node, now
        d.lease_until = now + timedelta(seconds=lease_seconds)
        attempt = WebhookAttempt(delivery_id=d.id, number=d.attempts, worker=node, started_at=now)
        session.add(attempt)
        await session.flush()
        endpoint = await session.get(WebhookEndpoint, d.endpoint_id)
        event = await session.get(Event, d.event_id)
        assert endpoint is not None and event is not None  # foreign keys
        claims.append(Claim(d.id, attempt.id, d.attempts, endpoint.id, endpoint.url, endpoint.secret,
                            event.id, event.name, event.at, dict(event.payload or {})))
    return claims


def body_of(claim: Claim) -> bytes:
    return json.dumps({"id": claim.event_id, "event": claim.event, "at": claim.at.isoformat(),
                       "data": claim.data}, ensure_ascii=False, separators=(",", ":")).encode()


def headers_of(claim: Claim, body: bytes, now: datetime) -> dict[str, str]:
    timestamp = str(int(now.timestamp()))
    return {"Content-Type": "application/json; charset=utf-8", "User-Agent": USER_AGENT,
            "X-Gongkai-Event": claim.event, "X-Gongkai-Delivery": claim.event_id,
            "X-Gongkai-Timestamp": timestamp,
            "X-Gongkai-Signature": signature(claim.secret, timestamp, body)}


async def post(http: aiohttp.ClientSession, claim: Claim, now: datetime,
               timeout: float = TIMEOUT_SECONDS) -> Answer:
    body = body_of(claim)
    try:
        async with http.post(claim.url, data=body, headers=headers_of(claim, body, now),
                             allow_redirects=False,
                             timeout=aiohttp.ClientTimeout(total=timeout)) as response:
            await response.read()
            if 200 <= response.status < 300:
                return Answer(response.status, None)
            return Answer(response.status, f"接收方返回 HTTP {response.status}")
    except TimeoutError:
        return Answer(None, f"接收方 {timeout:.0f} 秒内未应答")
    except aiohttp.ClientError as exc:
        return Answer(None, _short(exc))


def _short(exc: aiohttp.ClientError) -> str:
    """A short Chinese error for staff (never a header, so never the signature)."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return "TLS 握手或证书校验失败（检查对方的 https 证书）"
    if isinstance(exc, aiohttp.ClientConnectorError):
        return f"无法连接 {exc.host}:{exc.port}（对方未在监听、被防火墙拦截或域名无法解析）"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "对方未应答就断开了连接"
    if isinstance(exc, aiohttp.InvalidURL):
        return "网址无效"
    return f"连接出错（{type(exc).__name__}）"


async def record(session: AsyncSession, claim: Claim, answer: Answer, *, now: datetime, node: str,
                 max_attempts: int, base: float, cap: float) -> str:
    """Write the attempt and move the delivery on; returns its new state."""
    outcome = "sent" if answer.ok else "error"
    await session.execute(update(WebhookAttempt).where(WebhookAttempt.id == claim.attempt_id).values(
        finished_at=now, status_code=answer.status, outcome=outcome, error=(answer.error or "")[:500] or None))
    d = await session.get(WebhookDelivery, claim.delivery_id)
    if d is None:  # the endpoint was removed meanwhile
        return "missing"
    if d.state != "in_progress" or d.lease_owner != node:
        return d.state  # another node took it over after our lease ran out; its outcome counts
    d.lease_owner, d.lease_until, d.updated_at = None, None, now
    d.last_status, d.last_error = answer.status, answer.error
    if answer.ok:
        d.state, d.settled_at = "sent", now
        return d.state
    failures = await session.scalar(select(func.count(WebhookAttempt.id)).where(
        WebhookAttempt.delivery_id == d.id, WebhookAttempt.outcome == "error")) or 0
    if failures >= max_attempts:
        d.state, d.settled_at = "failed", now
        d.last_error = f"已尝试 {failures} 次仍未成功：{answer.error}"
    else:
        d.state = "retry"
        d.next_attempt_at = now + timedelta(seconds=backoff(failures, base, cap))
    return d.state


class WebhookSender:
    """The loop: claim what is due, POST it, record the outcome; wait ``poll_seconds`` (or
    until woken) when nothing is due."""

    def __init__(self, store: Store, clock: Clock, settings: DeliverySettings, node: str,
                 timeout: float = TIMEOUT_SECONDS) -> None:
        self.store = store
        self.clock = clock
        self.settings = settings
        self.node = node
        self.timeout = timeout
        self._wake = asyncio.Event()
        self._http: aiohttp.ClientSession | None = None

    def wake(self) -> None:
        self._wake.set()

    def http(self) -> aiohttp.ClientSession:
        if self._http is None or self._http.closed:
            self._http = aiohttp.ClientSession()
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None

    async def run(self, stop: asyncio.Event) -> None:
        try:
            while not stop.is_set():
                try:
                    handled = len(await self.run_once())
                except Exception:  # noqa: BLE001 - the loop must survive a bad round
                    log.exception("Webhook 发送循环出错，稍后重试")
                    handled = 0
                if handled:
                    continue
                await idle(self._wake, stop, self.settings.poll_seconds)
        finally:
            await self.close()

    async def run_once(self) -> list[str]:
        """Claim what is due and send it; returns the new states."""
        now = self.clock.now()
        claims = await self.store.transaction(
            lambda s: claim(s, now=now, node=self.node, lease_seconds=self.settings.lease_seconds,
                            limit=self.settings.concurrency * 4),
            what="claim webhook deliveries")
        semaphore = asyncio.Semaphore(self.settings.concurrency)

        async def one(c: Claim) -> str:
            async with semaphore:
                return await self.send(c, self.settings.max_attempts)

        return list(await asyncio.gather(*(one(c) for c in claims)))

    async def send(self, c: Claim, max_attempts: int) -> str:
        answer = await post(self.http(), c, self.clock.now(), self.timeout)
        state = await self.store.transaction(
            lambda s: record(s, c, answer, now=self.clock.now(), node=self.node, max_attempts=max_attempts,
                             base=self.settings.backoff_base_seconds, cap=self.settings.backoff_max_seconds),
            what="record webhook attempt")
        level = logging.WARNING if state == "failed" else logging.INFO
        log.log(level, "Webhook %s（事件 %s %s）第 %d 次：%s %s", c.endpoint_id, c.event, c.event_id,
                c.attempt, DELIVERY_LABELS.get(state, state), answer.error or f"HTTP {answer.status}")
        return state
