"""Webhook endpoints: register (the secret is made here and shown once), list, enable, disable,
remove, and the recent deliveries of one. Every change is audited under the acting account.
Nothing here returns the secret except :func:`register`."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content import audit
from content.errors import InputError, NotFound
from content.events import ALL, EVENT_LABELS, EVENT_NAMES
from content.webhook_models import Event, WebhookAttempt, WebhookDelivery, WebhookEndpoint

SECRET_PREFIX = "whsec_"
MAX_URL = 2000
DELIVERY_LABELS = {"pending": "待发送", "in_progress": "发送中", "retry": "等待重试",
                   "sent": "已送达", "failed": "失败"}
EXAMPLE_URL = "https://example.gov.cn/hooks/gongkai"


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of ``"<timestamp>." + body`` under the endpoint's secret."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


@dataclass(frozen=True)
class EndpointView:
    """An endpoint as anyone may see it: never its secret."""
    id: int
    url: str
    events: tuple[str, ...]
    enabled: bool
    created_by: str
    created_at: datetime

    @classmethod
    def of(cls, row: WebhookEndpoint) -> EndpointView:
        return cls(row.id, row.url, tuple(row.events), row.enabled, row.created_by, row.created_at)

    def as_json(self) -> dict:
        return {"id": self.id, "url": self.url, "events": list(self.events), "enabled": self.enabled,
                "created_by": self.created_by, "created_at": self.created_at}


@dataclass(frozen=True)
class Registered:
    """A new endpoint and its secret, which is shown this once."""
    endpoint: EndpointView
    secret: str


@dataclass(frozen=True)
class AttemptView:
    number: int
    worker: str
    started_at: datetime
    finished_at: datetime | None
    status_code: int | None
    outcome: str | None
    error: str | None

    def as_json(self) -> dict:
        return {"number": self.number, "worker": self.worker, "started_at": self.started_at,
                "finished_at": self.finished_at, "status_code": self.status_code,
                "outcome": self.outcome, "error": self.error}


@dataclass(frozen=True)
class DeliveryView:
    id: int
    endpoint_id: int
    event_id: str
    event: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_status: int | None
    last_error: str | None
    created_at: datetime
    settled_at: datetime | None
    history: tuple[AttemptView, ...]

    def as_json(self) -> dict:
        return {"id": self.id, "endpoint": self.endpoint_id, "event_id": self.event_id,
                "event": self.event, "state": self.state, "attempts": self.attempts,
                "next_attempt_at": self.next_attempt_at, "last_status": self.last_status,
                "last_error": self.last_error, "created_at": self.created_at,
                "settled_at": self.settled_at, "history": [a.as_json() for a in self.history]}


def check_url(url: str) -> str:
    """An absolute http(s) URL with a host, or :class:`InputError` naming the fix."""
    url = url.strip()
    fix = f"填写以 https:// 或 http:// 开头的完整网址，如 {EXAMPLE_URL}"
    if not url:
        raise InputError("网址不能为空", field="网址", fix=fix, code="invalid_url")
    if len(url) > MAX_URL or any(ch.isspace() or ord(ch) < 32 for ch in url):
        raise InputError("网址过长或含有空白、控制字符", field="网址", fix=fix, code="invalid_url")
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise InputError(f"网址 {url} 无法解析", field="网址", fix=fix, code="invalid_url") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise InputError(f"网址 {url} 不是 http 或 https 地址，Webhook 只能推送到 http(s) 网址",
                         field="网址", fix=fix, code="invalid_url")
    if not host:
        raise InputError(f"网址 {url} 缺少主机名", field="网址", fix=fix, code="invalid_url")
    if parts.username or parts.password:
        raise InputError("网址中不能包含用户名或密码", field="网址",
                         fix="去掉网址中的“用户名:密码@”；接收方请用签名（X-Gongkai-Signature）确认来源", code="invalid_url")
    return url


def parse_events(text: str) -> tuple[str, ...]:
    """``item.approved,release.fired`` (or ``*``) → event names; an unknown one is refused."""
    names = [p.strip() for p in text.replace("，", ",").split(",") if p.strip()]
    known = "、".join(EVENT_NAMES)
    if not names:
        raise InputError("至少需要订阅一个事件", field="--events",
                         fix=f"如 --events item.approved,release.fired，或 --events '*' 订阅全部；可用：{known}")
    for name in names:
        if name != ALL and name not in EVENT_LABELS:
            raise InputError(f"未知事件 {name}", field="--events", fix=f"可用事件：{known}，或 * 表示全部",
                             code="unknown_event")
    return (ALL,) if ALL in names else tuple(dict.fromkeys(names))


async def register(session: AsyncSession, url: str, events: tuple[str, ...], *, actor: str,
                   now: datetime) -> Registered:
    url = check_url(url)
    if not events:
        raise InputError("至少需要订阅一个事件", field="--events", fix="如 --events item.approved")
    secret = SECRET_PREFIX + secrets.token_urlsafe(32)
    row = WebhookEndpoint(url=url, events=list(events), secret=secret, enabled=True,
                          created_by=actor, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    audit.record(session, at=now, actor=actor, action="webhook_added", endpoint=row.id, url=url,
                 events=list(events))
    return Registered(EndpointView.of(row), secret)


async def _get(session: AsyncSession, endpoint_id: int) -> WebhookEndpoint:
    row = await session.get(WebhookEndpoint, endpoint_id)
    if row is None:
        raise NotFound(f"Webhook {endpoint_id} 不存在", field="编号", fix="用 gongkai webhook list 查看编号",
                       code="webhook_not_found")
    return row


async def get(session: AsyncSession, endpoint_id: int) -> EndpointView:
    return EndpointView.of(await _get(session, endpoint_id))


async def secret_of(session: AsyncSession, endpoint_id: int) -> str:
    """The signing secret, for the sender only: never show it."""
    return (await _get(session, endpoint_id)).secret


async def listing(session: AsyncSession) -> list[EndpointView]:
    return [EndpointView.of(r) for r in await session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id))]


async def set_enabled(session: AsyncSession, endpoint_id: int, enabled: bool, *, actor: str,
                      now: datetime) -> EndpointView:
    row = await _get(session, endpoint_id)
    if row.enabled != enabled:
        row.enabled, row.updated_at = enabled, now
        audit.record(session, at=now, actor=actor,
                     action="webhook_enabled" if enabled else "webhook_disabled", endpoint=row.id)
    return EndpointView.of(row)


async def remove(session: AsyncSession, endpoint_id: int, *, actor: str, now: datetime) -> EndpointView:
    """Remove an endpoint with its deliveries and their attempts (the audit trail keeps the
    registration and the removal)."""
    row = await _get(session, endpoint_id)
    view = EndpointView.of(row)
    ids = select(WebhookDelivery.id).where(WebhookDelivery.endpoint_id == endpoint_id)
    await session.execute(delete(WebhookAttempt).where(WebhookAttempt.delivery_id.in_(ids)))
    await session.execute(delete(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id))
    await session.delete(row)
    audit.record(session, at=now, actor=actor, action="webhook_removed", endpoint=endpoint_id, url=row.url)
    return view


async def deliveries(session: AsyncSession, endpoint_id: int, limit: int = 20) -> list[DeliveryView]:
    """The endpoint's most recent deliveries, newest first, each with its attempts."""
    await _get(session, endpoint_id)
    rows = (await session.execute(
        select(WebhookDelivery, Event.name).join(Event, Event.id == WebhookDelivery.event_id)
        .where(WebhookDelivery.endpoint_id == endpoint_id)
        .order_by(WebhookDelivery.id.desc()).limit(limit))).all()
    attempts: dict[int, list[AttemptView]] = {}
    if rows:
        for a in await session.scalars(select(WebhookAttempt).where(
                WebhookAttempt.delivery_id.in_([d.id for d, _ in rows])).order_by(WebhookAttempt.id)):
            attempts.setdefault(a.delivery_id, []).append(AttemptView(
                a.number, a.worker, a.started_at, a.finished_at, a.status_code, a.outcome, a.error))
    return [DeliveryView(d.id, d.endpoint_id, d.event_id, name, d.state, d.attempts, d.next_attempt_at,
                         d.last_status, d.last_error, d.created_at, d.settled_at,
                         tuple(attempts.get(d.id, ()))) for d, name in rows]


async def counts(session: AsyncSession) -> dict[str, int]:
    rows = await session.execute(select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state))
    return {state: n for state, n in rows}
