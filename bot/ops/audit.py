"""Reading the audit trail: filtered and paged (by item, account, action and local date range),
and exported as CSV, which is itself audited. Administrators and auditors only."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Select, select

from bot import labels
from bot.ops import Role, Who, require
from content import audit
from content.errors import InputError
from content.models import AuditEvent

if TYPE_CHECKING:
    from bot.service import Service

PER_PAGE = 50
EXPORT_LIMIT = 200_000
CSV_HEADER = ("编号", "时间", "操作人", "操作", "操作代码", "稿件", "发布计划", "版本", "理由", "详情")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Filters:
    item_id: int | None = None
    actor: str = ""
    action: str = ""
    since: date | None = None  # local date, inclusive
    until: date | None = None  # local date, inclusive

    def check(self) -> None:
        if self.since and self.until and self.since > self.until:
            raise InputError(f"开始日期 {self.since} 晚于结束日期 {self.until}", field="since",
                             fix="把开始日期改到结束日期之前或同一天")

    def as_json(self) -> dict[str, Any]:
        return {"item": self.item_id, "actor": self.actor or None, "action": self.action or None,
                "since": self.since.isoformat() if self.since else None,
                "until": self.until.isoformat() if self.until else None}


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    actor: str
    action: str
    item_id: int | None
    release_id: int | None
    revision: int | None
    reason: str
    detail: dict[str, Any]

    @property
    def action_label(self) -> str:
        return labels.audit_action(self.action)

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "at": self.at, "actor": self.actor, "action": self.action,
                "item": self.item_id, "release": self.release_id, "revision": self.revision,
                "reason": self.reason, "detail": self.detail}


@dataclass(frozen=True)
class Page:
    entries: tuple[Entry, ...]
    page: int
    per_page: int
    has_next: bool
    filters: Filters


@dataclass(frozen=True)
class Export:
    filename: str
    text: str  # CSV, UTF-8 with a BOM when encoded (spreadsheets then read the Chinese right)
    rows: int


def _entry(e: AuditEvent) -> Entry:
    return Entry(e.id, e.at, e.actor, e.action, e.item_id, e.release_id, e.revision, e.reason or "",
                 dict(e.detail or {}))


def _select(svc: Service, filters: Filters) -> Select:
    filters.check()
    query = select(AuditEvent)
    if filters.item_id is not None:
        query = query.where(AuditEvent.item_id == filters.item_id)
    if filters.actor:
        query = query.where(AuditEvent.actor == filters.actor)
    if filters.action:
        query = query.where(AuditEvent.action == filters.action)
    tz = svc.settings.tz
    if filters.since:
        query = query.where(AuditEvent.at >= datetime.combine(filters.since, time(0), tz))
    if filters.until:
        query = query.where(AuditEvent.at < datetime.combine(filters.until + timedelta(days=1), time(0), tz))
    return query.order_by(AuditEvent.id.desc())


async def query(svc: Service, who: Who, filters: Filters = Filters(), *, page: int = 1,
                per_page: int = PER_PAGE) -> Page:
    """One page of matching events, newest first."""
    require(who, Role.ADMIN, Role.AUDITOR, action="查看审计日志")
    page = max(1, page)
    per_page = max(1, min(per_page, 500))
    async with svc.store.sessions() as s:
        rows = list(await s.scalars(_select(svc, filters).offset((page - 1) * per_page).limit(per_page + 1)))
    return Page(tuple(_entry(e) for e in rows[:per_page]), page, per_page, len(rows) > per_page, filters)


async def actions(svc: Service, who: Who) -> list[str]:
    """The action codes the trail holds (for a filter's choices)."""
    require(who, Role.ADMIN, Role.AUDITOR, action="查看审计日志")
    async with svc.store.sessions() as s:
        return sorted(await s.scalars(select(AuditEvent.action).distinct()))


def _cell(value: Any) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


async def export_csv(svc: Service, who: Who, filters: Filters = Filters()) -> Export:
    """Every matching event (newest first, at most EXPORT_LIMIT) as CSV; the export is audited
    with its filters and row count."""
    require(who, Role.ADMIN, Role.AUDITOR, action="导出审计日志")
    now = svc.clock.now()
    async with svc.store.sessions() as s:
        rows = [_entry(e) for e in await s.scalars(_select(svc, filters).limit(EXPORT_LIMIT))]
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_HEADER)
    for e in rows:
        writer.writerow([_cell(v) for v in (
            e.id, svc.renderer.local(e.at, "%Y-%m-%d %H:%M:%S"), e.actor, e.action_label, e.action,
            e.item_id, e.release_id, e.revision, e.reason,
            json.dumps(e.detail, ensure_ascii=False, sort_keys=True) if e.detail else "")])

    async def record(s):  # noqa: ANN001, ANN202
        audit.record(s, at=now, actor=who.login, action="audit_exported", rows=len(rows), filters=filters.as_json())

    await svc.store.transaction(record, what="audit export")
    stamp = svc.renderer.local(now, "%Y%m%d-%H%M%S")
    return Export(f"gongkai-audit-{stamp}.csv", "\ufeff" + out.getvalue(), len(rows))
