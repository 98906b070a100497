"""SMS subscribers, the one implementation the command line, the console and the HTTP API call:
counts per topic, the list, import from CSV (a per-row error report, a progress callback),
export (audited; numbers masked unless an administrator asks for them, which is audited too),
removal and the per-number report of a release.

Each function takes the running program (:class:`channels.extension.Host`) and the acting
account (``who``, a :class:`content.accounts.AccountView`), checks the account's roles, and
records what it changed in the audit trail under ``who.login``."""
from __future__ import annotations

import asyncio
import csv
import io
import itertools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select

from channels.extension import Host
from channels.sms import phone as phones_
from channels.sms import subscriber_csv
from content import audit, errors, subscribers
from content import subscribers_bulk as bulk
from content import topics as topics_
from content.accounts import AccountView, Role
from content.errors import GongkaiError, InputError, NotFound
from content.models import Delivery, DeliveryRecipient, Subscriber, SubscriberTopic

STATUS_LABELS = {"pending": "待确认", "active": "订阅中", "unsubscribed": "已退订", "blocked": "已屏蔽",
                 "inactive": "停用"}
RESULT_LABELS = {"sent": "已提交", "delivered": "已送达", "failed": "失败", "skipped": "已跳过", "unknown": "结果未知"}
IMPORT_CHUNK = 5000  # rows per transaction (one batched upsert)
EXPORT_PAGE = 1000
EXPORT_COLUMNS = ["phone", "topics", "status", "source", "consent_at", "consent_method", "consent_from",
                  "consent_detail"]
LIST_MAX = 500
REPORT_MAX = 1000
REMOVE_MAX = 10_000

#: who may do what (checked here, never by a page or a command)
MANAGE = (Role.ADMIN,)
READ = (Role.ADMIN, Role.AUDITOR)
REPORT = (Role.ADMIN, Role.AUDITOR, Role.APPROVER)


def require(who: AccountView, roles: Iterable[Role], what: str) -> None:
    """Refuse (``forbidden``) unless ``who`` holds one of ``roles``."""
    roles = tuple(roles)
    if not any(who.has(r) for r in roles):
        names = "或".join(f"“{r.label}”" for r in roles)
        raise errors.Forbidden(f"账号 {who.login} 没有{names}角色，不能{what}",
                               fix="请有该角色的同事操作，或请管理员用 gongkai user roles 授予角色")


def sms_enabled(host: Host) -> None:
    if "sms" not in host.channels:
        raise GongkaiError("短信渠道未启用", fix="在配置中设 [channels.sms] enabled = true")


def shown(phone: str, unmasked: bool) -> str:
    """A number as staff see it: ``138****5678`` unless an administrator asked for it whole
    (then as stored, ``+8613812345678``)."""
    return phone if unmasked else phones_.masked(phone)


def _may_unmask(who: AccountView, unmasked: bool) -> None:
    if unmasked:
        require(who, MANAGE, "查看完整号码")


# --------------------------------------------------------------------------------------- counts
@dataclass(frozen=True)
class TopicCount:
    topic: str
    active: int  # subscribers who receive texts on this topic


@dataclass(frozen=True)
class Counts:
    total: int
    by_status: dict[str, int]
    by_topic: tuple[TopicCount, ...]


async def counts(host: Host, who: AccountView) -> Counts:
    """How many numbers per status, and how many active ones per topic (largest first)."""
    require(who, READ, "查看订阅用户")
    async with host.store.sessions() as s:
        by_status = dict(list(await s.execute(select(Subscriber.status, func.count()).where(
            Subscriber.channel == "sms").group_by(Subscriber.status))))
        per_topic = list(await s.execute(
            select(SubscriberTopic.topic, func.count()).join(Subscriber, Subscriber.id == SubscriberTopic.subscriber_id)
            .where(Subscriber.channel == "sms", Subscriber.status == "active")
            .group_by(SubscriberTopic.topic).order_by(func.count().desc(), SubscriberTopic.topic)))
    return Counts(sum(by_status.values()), {k: int(v) for k, v in sorted(by_status.items())},
                  tuple(TopicCount(t, int(n)) for t, n in per_topic))


# ----------------------------------------------------------------------------------------- list
@dataclass(frozen=True)
class Row:
    id: int
    phone: str  # masked unless asked for whole
    status: str
    topics: tuple[str, ...]
    source: str
    consent_at: datetime | None
    consent_method: str
    consent_from: str
    consent_detail: str
    created_at: datetime
    unsubscribed_at: datetime | None


@dataclass(frozen=True)
class Listing:
    total: int
    rows: tuple[Row, ...]
    unmasked: bool


async def listing(host: Host, who: AccountView, *, status: str | None = None, topic: str | None = None,
                  search: str | None = None, limit: int = 50, unmasked: bool = False) -> Listing:
    """The numbers (newest first) matching the filters; whole numbers only for an administrator
    who asks, and that is audited."""
    require(who, READ, "查看订阅用户")
    _may_unmask(who, unmasked)
    if status is not None and status not in STATUS_LABELS:
        raise InputError(f"没有状态 {status}", field="status", fix="可用：" + "、".join(STATUS_LABELS))
    limit = max(1, min(limit, LIST_MAX))
    async with host.store.sessions() as s:
        conds: list[ColumnElement[bool]] = [Subscriber.channel == "sms"]
        if status:
            conds.append(Subscriber.status == status)
        if topic:
            conds.append(Subscriber.id.in_(select(SubscriberTopic.subscriber_id).where(SubscriberTopic.topic == topic)))
        if search and search.strip():  # % and _ are the digits typed, not wildcards
            conds.append(Subscriber.address.contains(search.strip(), autoescape=True))
        total = int(await s.scalar(select(func.count(Subscriber.id)).where(*conds)) or 0)
        subs = list(await s.scalars(select(Subscriber).where(*conds).order_by(Subscriber.id.desc()).limit(limit)))
        topics = await _topics(s, [x.id for x in subs])
    rows = tuple(Row(x.id, shown(x.address, unmasked), x.status, tuple(topics.get(x.id, ())), x.source or "",
                     x.consent_at, x.consent_method or "", x.consent_from or "", x.consent_detail or "",
                     x.created_at, x.unsubscribed_at) for x in subs)
    if unmasked:
        await _audit(host, who, "sms_subscribers_viewed", count=len(rows), status=status, topic=topic,
                     search=search or "")
    return Listing(total, rows, unmasked)


async def _topics(s: Any, ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    if not ids:
        return out
    rows = await s.execute(select(SubscriberTopic.subscriber_id, SubscriberTopic.topic)
                           .where(SubscriberTopic.subscriber_id.in_(ids)).order_by(SubscriberTopic.topic))
    for sid, topic in rows:
        out.setdefault(sid, []).append(topic)
    return out


async def _audit(host: Host, who: AccountView, action: str, *, reason: str = "", **detail: object) -> None:
    async def work(s):  # noqa: ANN001, ANN202
        audit.record(s, at=host.clock.now(), actor=who.login, action=action, reason=reason, **detail)

    await host.store.transaction(work, what=action)


# --------------------------------------------------------------------------------------- import
@dataclass(frozen=True)
class BadRow:
    line: int
    row: str  # the row as read, the number masked
    problem: str
    unknown_topics: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportProgress:
    read: int
    total: int
    added: int
    updated: int
    unchanged: int
    bad: int


@dataclass(frozen=True)
class ImportReport:
    added: int
    updated: int
    unchanged: int
    unknown_topics: dict[str, int]
    bad_rows: tuple[BadRow, ...]

    @property
    def summary(self) -> str:
        return (f"已导入：新增 {self.added} 个，更新 {self.updated} 个，未变 {self.unchanged} 个（立即生效）"
                + (f"；{len(self.bad_rows)} 行未导入" if self.bad_rows else "。"))


def _masked_row(text: str) -> str:
    """A CSV row for the error report, its first cell (the number) masked when it is one."""
    first, sep, rest = text.partition(",")
    return (phones_.masked(first) if phones_.is_valid(first) else first) + sep + rest


def _readable(text: str) -> None:
    """Refuse, before anything is written, a file the CSV reader cannot read to the end."""
    if "\x00" in text:
        raise InputError("CSV 中有空字符（NUL），不是文本文件", field="file", fix="请存为 UTF-8 编码的 CSV 后再导入")
    reader = csv.reader(io.StringIO(text))
    try:
        for _ in reader:
            pass
    except csv.Error as exc:
        raise InputError(f"CSV 第 {reader.line_num} 行无法读取（{exc}）", field="file",
                         fix="检查引号是否成对、每格是否过长，存为 UTF-8 编码的 CSV 后再导入") from None


async def import_csv(host: Host, who: AccountView, text: str, *, filename: str = "", source: str = "",
                     consent: str = "", on_progress: Callable[[ImportProgress], None] | None = None,
                     unmasked: bool = False) -> ImportReport:
    """Add or update the numbers of a CSV (``phone,topics[,source][,consent]``). Each row is
    checked on its own: bad rows are reported (line, row, problem and fix) and skipped, the rest
    imported in chunks (one transaction each); ``on_progress`` hears after each chunk. A file
    that cannot be read at all (no consent, no topics column) changes nothing."""
    require(who, MANAGE, "导入订阅用户")
    _may_unmask(who, unmasked)
    sms_enabled(host)
    if not text.strip():
        raise InputError("CSV 是空的，未导入任何号码", field="file", fix="每行一个号码：phone,topics[,source][,consent]")
    source_name = source.strip() or (f"导入:{filename}"[:100] if filename else "导入")
    if len(source_name) > subscriber_csv.SOURCE_MAX:
        raise InputError(f"来源超过 {subscriber_csv.SOURCE_MAX} 字", field="source", fix="写简短的来源，如“线下登记表”")
    await asyncio.to_thread(_readable, text)
    table = subscriber_csv.SubscriberCsv(text, consent=consent, source=source_name)
    async with host.store.sessions() as s:
        known = (await topics_.catalogue(s)).known
    now = host.clock.now()
    tally = dict.fromkeys(bulk.Change, 0)
    bad: list[subscriber_csv.BadRow] = []
    read = 0

    def tell() -> None:
        if on_progress is not None:
            on_progress(ImportProgress(read, table.total, tally[bulk.Change.ADDED], tally[bulk.Change.UPDATED],
                                       tally[bulk.Change.UNCHANGED], len(bad)))

    async def write(chunk: list[bulk.Incoming]) -> None:
        applied = await bulk.upsert_chunk(host.store, "sms", chunk, now=now, consent_method="staff-import",
                                          consent_from=source_name)
        for change, n in applied.counts.items():
            tally[change] += n
        bad.extend(subscriber_csv.BadRow(r.row.line, phones_.national(r.row.address),
                                         f"该号码{STATUS_LABELS[r.status]}，导入不会重新订阅（须本人通过订阅页面重新订阅）")
                   for r in applied.refused)
        tell()

    rows = table.rows(known)

    def next_chunk() -> list[bulk.Incoming | subscriber_csv.BadRow]:
        return list(itertools.islice(rows, IMPORT_CHUNK))

    # the next chunk is read and checked (in a thread) while the previous one is written
    writing: asyncio.Task | None = None
    try:
        while chunk := await asyncio.to_thread(next_chunk):
            read += len(chunk)
            bad.extend(r for r in chunk if isinstance(r, subscriber_csv.BadRow))
            good = [r for r in chunk if isinstance(r, bulk.Incoming)]
            if writing is not None:
                await writing
            writing = asyncio.create_task(write(good))
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():
            writing.cancel()
    summary = {change.value: n for change, n in tally.items()}
    await _audit(host, who, "sms_subscribers_imported", reason=filename, **summary, bad_rows=len(bad),
                 consent=consent)
    report = sorted(bad, key=lambda b: b.line)
    return ImportReport(tally[bulk.Change.ADDED], tally[bulk.Change.UPDATED], tally[bulk.Change.UNCHANGED],
                        dict(sorted(Counter(t for b in report for t in b.unknown_topics).items())),
                        tuple(BadRow(b.line, b.text if unmasked else _masked_row(b.text), b.problem, b.unknown_topics)
                              for b in report))


# --------------------------------------------------------------------------------------- export
@dataclass(frozen=True)
class Export:
    count: int
    csv: str
    unmasked: bool


async def export(host: Host, who: AccountView, *, status: str | None = None, unmasked: bool = False,
                 target: str = "-") -> Export:
    """The numbers as CSV (``EXPORT_COLUMNS``; re-importable when whole), recorded in the audit
    trail: who, when, how many, which status, whether whole numbers, where to (``target``).
    Cells a spreadsheet would run as a formula get a leading ``'``."""
    require(who, READ, "导出订阅用户")
    _may_unmask(who, unmasked)
    if status is not None and status not in STATUS_LABELS:
        raise InputError(f"没有状态 {status}", field="status", fix="可用：" + "、".join(STATUS_LABELS))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    count = last = 0
    while True:
        async with host.store.sessions() as s:
            q = select(Subscriber).where(Subscriber.channel == "sms", Subscriber.id > last)
            if status:
                q = q.where(Subscriber.status == status)
            page = list(await s.scalars(q.order_by(Subscriber.id).limit(EXPORT_PAGE)))
            if not page:
                break
            topics = await _topics(s, [x.id for x in page])
        for x in page:
            number = phones_.national(x.address) if unmasked else phones_.masked(x.address)
            cells = [number, ";".join(topics.get(x.id, [])), x.status, x.source or "",
                     host.renderer.local(x.consent_at, "%Y-%m-%dT%H:%M:%S%z") if x.consent_at else "",
                     x.consent_method or "", x.consent_from or "", x.consent_detail or ""]
            writer.writerow([subscriber_csv.neutralise(c) for c in cells])
            count += 1
        last = page[-1].id
    await _audit(host, who, "sms_subscribers_exported", count=count, status=status, unmasked=unmasked, file=target)
    return Export(count, buffer.getvalue(), unmasked)


# --------------------------------------------------------------------------------------- remove
@dataclass(frozen=True)
class Removal:
    removed: tuple[str, ...]  # normalised numbers
    not_found: tuple[str, ...]
    purged: bool


def normalise_all(phones: Iterable[str], *, field: str = "phones") -> list[str]:
    """The numbers, normalised and without repeats; a bad one is refused naming it."""
    out = list(dict.fromkeys(phones_.normalise(p, field=field) for p in phones))
    if not out:
        raise InputError("没有给出号码", field=field, fix="至少写一个手机号，如 13800000001")
    if len(out) > REMOVE_MAX:
        raise InputError(f"一次最多移除 {REMOVE_MAX} 个号码", field=field, fix="分批移除")
    return out


async def remove(host: Host, who: AccountView, phones: Iterable[str], *, purge: bool = False,
                 reason: str = "") -> Removal:
    """Stop texting the numbers (marked unsubscribed, the consent record kept), or with
    ``purge`` delete their records. Each removal is audited (the number masked)."""
    require(who, MANAGE, "移除订阅用户")
    normalised = normalise_all(phones)
    now = host.clock.now()

    async def txn(s):  # noqa: ANN001, ANN202
        done, missing = [], []
        for phone in normalised:
            sub = await subscribers.get(s, "sms", phone)
            if sub is None:
                missing.append(phone)
                continue
            if purge:
                await s.execute(delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == sub.id))
                await s.delete(sub)
            else:
                await subscribers.set_status(s, "sms", phone, "unsubscribed", now=now)
                sub.meta = {**(sub.meta or {}), "unsubscribed_via": f"staff:{who.login}"}
            audit.record(s, at=now, actor=who.login, action="sms_subscriber_removed", reason=reason,
                         subscriber=sub.id, phone=phones_.masked(phone), purge=purge)
            done.append(phone)
        return tuple(done), tuple(missing)

    done, missing = await host.store.transaction(txn, what="remove subscribers")
    return Removal(done, missing, purge)


# --------------------------------------------------------------------------------------- report
@dataclass(frozen=True)
class RecipientRow:
    phone: str
    status: str
    batch: int | None
    remote_id: str | None
    detail: str
    updated_at: datetime | None


@dataclass(frozen=True)
class ReleaseReport:
    release_id: int
    delivery_id: int
    state: str
    counts: dict[str, int]
    progress: dict[str, Any] = field(default_factory=dict)
    recipients: tuple[RecipientRow, ...] = ()
    unmasked: bool = False


async def report(host: Host, who: AccountView, release_id: int, *, status: str | None = None,
                 limit: int = 100, unmasked: bool = False) -> ReleaseReport:
    """A release's SMS per number: sent, delivered, failed, skipped, unknown (problems first)."""
    require(who, REPORT, "查看短信发送报告")
    _may_unmask(who, unmasked)
    if status is not None and status not in RESULT_LABELS:
        raise InputError(f"没有结果 {status}", field="status", fix="可用：" + "、".join(RESULT_LABELS))
    limit = max(1, min(limit, REPORT_MAX))
    async with host.store.sessions() as s:
        d = await s.scalar(select(Delivery).where(Delivery.release_id == release_id, Delivery.channel == "sms"))
        if d is None:
            raise NotFound(f"发布计划 {release_id} 没有短信投递",
                           fix="发布计划须包含 sms 渠道且已发布；用 gongkai release show 查看")
        tally = {str(k): int(v) for k, v in await s.execute(select(DeliveryRecipient.status, func.count()).where(
            DeliveryRecipient.delivery_id == d.id).group_by(DeliveryRecipient.status))}
        q = select(DeliveryRecipient).where(DeliveryRecipient.delivery_id == d.id)
        if status:
            q = q.where(DeliveryRecipient.status == status)
        else:  # problems first
            q = q.order_by((DeliveryRecipient.status.in_(["sent", "delivered"])).asc())
        rows = list(await s.scalars(q.order_by(DeliveryRecipient.id).limit(limit)))
    if unmasked:
        await _audit(host, who, "sms_report_viewed", release_id=release_id, count=len(rows))
    return ReleaseReport(release_id, d.id, d.state, tally, dict(d.progress or {}),
                         tuple(RecipientRow(shown(x.address, unmasked), x.status, x.batch, x.remote_id,
                                            x.detail or "", x.updated_at) for x in rows), unmasked)
