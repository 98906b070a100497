"""Items: write, edit, submit, take a review step, return, correct, retract, read, list and
preview. Authors write; reviewers and approvers take the steps of the review chain; approvers
decide on retractions; every account may read."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.ops import Forbidden, Role, Who, any_role, require
from content import item_search, review_chain, workflow
from content.checks import Finding
from content.errors import GongkaiError, InputError
from content.frontmatter import ItemDraft
from content.kinds import ItemState, Kind
from content.models import Attachment, AuditEvent, CheckFinding, Item, Link, Release, ReleaseItem, Revision
from content.review_chain import ChainState, StepState
from content.views import load_views
from schedules import releases

if TYPE_CHECKING:
    from bot.service import Service
    from channels.base import Rendition

REVIEWERS = (Role.REVIEWER, Role.APPROVER)


@dataclass(frozen=True)
class Saved:
    id: int
    kind: str
    state: str
    title: str
    revision: int


@dataclass(frozen=True)
class Submitted:
    id: int
    revision: int
    state: str
    findings: tuple[Finding, ...]


@dataclass(frozen=True)
class Reviewed:
    """One review step taken. ``approved`` when it was the last step of the chain; then the
    correction release (for a published item) or the bundle to schedule is said."""
    id: int
    revision: int
    state: str
    step: StepState
    chain: ChainState
    approved: bool
    overridden: int
    correction_release: int | None
    held_releases: tuple[int, ...]
    bundle: tuple[int, ...]          # the release the item should go out in (rule R2), policy first
    waiting_for: tuple[int, ...]     # members of that bundle still under review
    is_correction: bool


@dataclass(frozen=True)
class Returned:
    id: int
    state: str
    comment: str


@dataclass(frozen=True)
class RetractRequested:
    id: int
    request: int


@dataclass(frozen=True)
class RetractDecided:
    """A step on a retraction request (``state`` stays published until the last step), or its
    rejection."""
    id: int
    state: str
    request: int
    requested_by: str
    decided_by: str
    reason: str
    release: int | None
    chain: ChainState | None = None
    step: StepState | None = None


@dataclass(frozen=True)
class Detail:
    """One item with everything ``post show`` and the console's item page show (ORM rows,
    loaded and detached); :meth:`as_json` is the shape of ``--json`` and the API."""
    item: Item
    revisions: tuple[Revision, ...]
    findings: tuple[CheckFinding, ...]
    links: tuple[Link, ...]
    releases: tuple[Release, ...]
    audit: tuple[AuditEvent, ...]
    chain: ChainState
    retract_chain: ChainState | None = None
    files: tuple[Attachment, ...] = ()  # the images and attachments of the current revision

    @property
    def current(self) -> Revision:
        return self.revisions[-1]

    def as_json(self) -> dict[str, Any]:
        item, cur = self.item, self.current
        return {
            "id": item.id, "kind": item.kind, "state": item.state, "title": cur.title,
            "department": cur.department, "column": cur.column_name,
            "current_revision": item.current_revision, "published_revision": item.published_revision,
            "published_at": item.published_at,
            "metadata": {"index_no": cur.index_no, "doc_no": cur.doc_no, "issuer": cur.issuer,
                         "topic": cur.topic, "issued": cur.issued, "validity": cur.validity,
                         "normative": cur.normative, "tags": cur.tags, **cur.extra},
            "revisions": [{"number": v.number, "status": v.status, "by": v.created_by,
                           "at": v.created_at, "published_at": v.published_at,
                           "correction_note": v.correction_note} for v in self.revisions],
            "findings": [{"check": f.check, "message": f.message, "excerpt": f.excerpt,
                          "overridden_by": f.overridden_by, "override_reason": f.override_reason}
                         for f in self.findings],
            "links": [{"from": link.from_item_id, "to": link.to_item_id, "rel": link.rel}
                      for link in self.links],
            "releases": [{"id": x.id, "purpose": x.purpose, "state": x.state, "due_at": x.due_at}
                         for x in self.releases],
            "audit": [{"at": e.at, "actor": e.actor, "action": e.action, "revision": e.revision,
                       "reason": e.reason} for e in self.audit],
            "review_chain": self.chain.as_json(),
            "retraction_chain": self.retract_chain.as_json() if self.retract_chain else None,
        }


@dataclass(frozen=True)
class Filters:
    state: str | None = None
    kind: str | None = None
    department: str | None = None
    author: str | None = None
    column: str | None = None
    since: date | None = None  # last changed on or after this day (configured zone)
    until: date | None = None
    text: str = ""  # words in the current title or body (Chinese too), all of them


@dataclass(frozen=True)
class Page:
    """Newest first; ``before``/``after`` are the cursors a listing returns (the next, older
    page and the previous, newer one)."""
    number: int = 1
    size: int = 50
    before: int | None = None
    after: int | None = None


@dataclass(frozen=True)
class Row:
    id: int
    kind: str
    state: str
    title: str
    department: str
    column: str
    revision: int
    published_at: datetime | None
    author: str = ""
    updated_at: datetime | None = None

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "kind": self.kind, "state": self.state, "title": self.title,
                "department": self.department, "column": self.column, "revision": self.revision,
                "published_at": self.published_at}


@dataclass(frozen=True)
class Listing:
    rows: tuple[Row, ...]
    total: int
    page: Page = field(default_factory=Page)
    before: int | None = None  # cursor of the next (older) page
    after: int | None = None  # cursor of the previous (newer) page
    more_than: int | None = None  # a text search counted this many and stopped


@dataclass(frozen=True)
class Preview:
    item_id: int
    channel: str
    renditions: tuple[Rendition, ...]

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.renditions)


# ---------------------------------------------------------------------------------- writing
async def add(svc: Service, who: Who, draft: ItemDraft) -> Saved:
    require(who, Role.AUTHOR, action="新建稿件")
    item = await svc.store.transaction(lambda s: workflow.add_item(
        s, draft, actor=who.login, now=svc.clock.now(), files=svc.files), what="add item")
    return Saved(item.id, item.kind, item.state, draft.title, item.current_revision)


async def edit(svc: Service, who: Who, item_id: int, draft: ItemDraft) -> Saved:
    require(who, Role.AUTHOR, action="修改稿件")
    item = await svc.store.transaction(lambda s: workflow.edit_item(
        s, item_id, draft, actor=who.login, now=svc.clock.now(), files=svc.files), what="edit item")
    return Saved(item.id, item.kind, item.state, draft.title, item.current_revision)


async def submit(svc: Service, who: Who, item_id: int) -> Submitted:
    require(who, Role.AUTHOR, action="提交审核")

    async def txn(s: AsyncSession) -> Submitted:
        findings = await workflow.submit(s, item_id, actor=who.login, now=svc.clock.now(),
                                         rules=svc.rules, files=svc.files)
        item = await workflow.get_item(s, item_id)
        return Submitted(item_id, item.current_revision, item.state, tuple(findings))

    return await svc.store.transaction(txn, what="submit item")


async def correct(svc: Service, who: Who, item_id: int, draft: ItemDraft, *, note: str = "") -> Submitted:
    """Write a correction of a published item and submit it for review at once."""
    require(who, Role.AUTHOR, action="撰写更正")
    note = note or "对原文内容进行了更正"

    async def txn(s: AsyncSession) -> Submitted:
        now = svc.clock.now()
        item = await workflow.correct(s, item_id, draft, actor=who.login, now=now, files=svc.files,
                                      note=note)
        findings = await workflow.submit(s, item_id, actor=who.login, now=now, rules=svc.rules,
                                         files=svc.files)
        return Submitted(item_id, item.current_revision, ItemState.SUBMITTED.value, tuple(findings))

    return await svc.store.transaction(txn, what="correct item")


# ---------------------------------------------------------------------------------- review
async def _on_duty(svc: Service, s: AsyncSession, who: Who, item_id: int) -> None:
    """An emergency item is reviewed by an approver on duty (``[emergency] on_duty``), if set."""
    on_duty = svc.settings.emergency.on_duty
    item = await s.get(Item, item_id)
    if on_duty and item is not None and item.kind == Kind.EMERGENCY and who.login not in on_duty:
        raise Forbidden(f"账号 {who.login} 不在突发事件值班名单中，不能审核突发事件信息",
                        fix="请值班的审核签发人（[emergency] on_duty：" + "、".join(on_duty) + "）审核")


async def review(svc: Service, who: Who, item_id: int, *, override_reason: str | None = None) -> Reviewed:
    """Take the next step of the item's review chain that ``who`` may take; after the last step
    the revision is approved (a correction is then released at once)."""
    require(who, *REVIEWERS, action="审核稿件")

    async def txn(s: AsyncSession) -> Reviewed:
        now = svc.clock.now()
        await _on_duty(svc, s, who, item_id)
        taken = await review_chain.take_step(s, item_id, who, chains=svc.chains, now=now,
                                             override_reason=override_reason)
        result = taken.approval
        release_id = None
        if result is not None and result.is_correction:
            channels = await releases.channels_used(s, item_id) or ["website"]
            channels = [c for c in channels if c in svc.enabled_channel_names()] or ["website"]
            release = await releases.create_followup(
                s, "correct", [item_id], channels=channels, actor=who.login, now=now, reason="更正")
            release_id = release.id
        held = tuple(await s.scalars(select(Release.id).join(
            ReleaseItem, ReleaseItem.release_id == Release.id).where(
            ReleaseItem.item_id == item_id, Release.state == "held")))
        bundle, waiting = await _bundle(s, item_id)
        item = await workflow.get_item(s, item_id)
        # event: item.approved (when result is not None)
        return Reviewed(item_id, taken.state.revision, item.state, taken.step, taken.state,
                        result is not None, taken.overridden, release_id, held, tuple(bundle),
                        tuple(waiting), bool(result and result.is_correction))

    return await svc.store.transaction(txn, what="review item")


async def awaiting(svc: Service, who: Who, *, limit: int = 200) -> tuple[ChainState, ...]:
    """The revisions whose next review step ``who`` may take now, oldest first."""
    any_role(who, "查看待审核稿件")
    async with svc.store.sessions() as s:
        return tuple(await review_chain.waiting_for(s, who, svc.chains, limit))


async def chain_state(svc: Service, who: Who, item_id: int) -> ChainState:
    """The review chain of the item's current revision: which steps are done, by whom, which next."""
    any_role(who, "查看审核进度")
    async with svc.store.sessions() as s:
        return await review_chain.item_state(s, item_id, svc.chains)


async def _bundle(s: AsyncSession, item_id: int) -> tuple[list[int], list[int]]:
    """The release an approved item should go out in (rule R2): (its ids, policy first; those
    still under review). A policy's partners are its unpublished interpretations; an
    interpretation's is its policy, unless that is already public (then it goes alone)."""
    item = await workflow.get_item(s, item_id)
    if item.kind == Kind.POLICY:
        partners = select(Link.from_item_id).where(Link.to_item_id == item_id, Link.rel == "interprets")
    elif item.kind == Kind.INTERPRETATION:
        partners = select(Link.to_item_id).where(Link.from_item_id == item_id, Link.rel == "interprets")
    else:
        return [item_id], []
    unready = (ItemState.DRAFT, ItemState.SUBMITTED, ItemState.RETURNED)
    rows = list(await s.execute(select(Item.id, Item.state).where(
        Item.id.in_(partners), Item.state.in_((ItemState.APPROVED, *unready))).order_by(Item.id)))
    members = [i for i, _st in rows]
    ids = [item_id, *members] if item.kind == Kind.POLICY else [*members, item_id]
    return ids, [i for i, st in rows if st in unready]


async def return_(svc: Service, who: Who, item_id: int, comment: str) -> Returned:
    require(who, *REVIEWERS, action="退回稿件")
    item = await svc.store.transaction(lambda s: review_chain.return_item(
        s, item_id, actor=who.login, now=svc.clock.now(), comment=comment), what="return item")
    return Returned(item_id, item.state, comment.strip())


# ---------------------------------------------------------------------------------- retraction
async def request_retract(svc: Service, who: Who, item_id: int, reason: str) -> RetractRequested:
    require(who, Role.AUTHOR, Role.APPROVER, action="申请撤回")
    request = await svc.store.transaction(lambda s: workflow.request_retraction(
        s, item_id, actor=who.login, now=svc.clock.now(), reason=reason), what="request retraction")
    return RetractRequested(item_id, request.id)


async def approve_retract(svc: Service, who: Who, item_id: int) -> RetractDecided:
    """Take the next step of the chain of the item's retraction request (each step by a
    colleague other than the requester). After the last step the item is retracted and a
    retraction release, due at once, goes to the channels that carried it."""
    require(who, *REVIEWERS, action="批准撤回")

    async def txn(s: AsyncSession) -> RetractDecided:
        now = svc.clock.now()
        taken = await review_chain.take_retract_step(s, item_id, who, chains=svc.chains, now=now)
        request = taken.request
        if not taken.retracted:
            return RetractDecided(item_id, "published", request.id, request.requested_by, who.login,
                                  request.reason, None, taken.state, taken.step)
        enabled = svc.enabled_channel_names()
        channels = [c for c in await releases.channels_used(s, item_id) if c in enabled]
        release = await releases.create_followup(
            s, "retract", [item_id], channels=channels or ["website"], actor=who.login, now=now,
            reason=request.reason)
        request.release_id = release.id
        return RetractDecided(item_id, ItemState.RETRACTED.value, request.id, request.requested_by,
                              who.login, request.reason, release.id, taken.state, taken.step)

    return await svc.store.transaction(txn, what=f"approve retraction of item {item_id}")


async def reject_retract(svc: Service, who: Who, item_id: int, comment: str) -> RetractDecided:
    require(who, *REVIEWERS, action="驳回撤回申请")
    request = await svc.store.transaction(lambda s: review_chain.reject_retraction(
        s, item_id, actor=who.login, now=svc.clock.now(), comment=comment), what="reject retraction")
    return RetractDecided(item_id, "published", request.id, request.requested_by, who.login,
                          comment.strip(), None)


# ---------------------------------------------------------------------------------- reading
async def get(svc: Service, who: Who, item_id: int) -> Detail:
    any_role(who, "查看稿件")
    async with svc.store.sessions() as s:
        item = await workflow.get_item(s, item_id)
        revs = tuple(await s.scalars(select(Revision).where(Revision.item_id == item_id)
                                     .order_by(Revision.number)))
        findings = tuple(await workflow.open_findings(s, item_id, item.current_revision))
        links = tuple(await s.scalars(select(Link).where(
            (Link.from_item_id == item_id) | (Link.to_item_id == item_id))))
        events = tuple(await s.scalars(select(AuditEvent).where(AuditEvent.item_id == item_id)
                                       .order_by(AuditEvent.id)))
        rels = tuple(await s.scalars(select(Release).join(
            ReleaseItem, ReleaseItem.release_id == Release.id).where(ReleaseItem.item_id == item_id)
            .order_by(Release.id)))
        chain = await review_chain.item_state(s, item_id, svc.chains)
        retraction = await review_chain.retract_state(s, item_id, svc.chains)
        files = tuple(await s.scalars(select(Attachment).where(
            Attachment.item_id == item_id, Attachment.revision == item.current_revision).order_by(Attachment.id)))
        return Detail(item, revs, findings, links, rels, events, chain, retraction, files)


async def listing(svc: Service, who: Who, filters: Filters = Filters(), page: Page = Page()) -> Listing:
    """Items matching ``filters``, newest first, one page (the query is
    :func:`content.item_search.search`: Chinese search, keyset pages)."""
    any_role(who, "查看稿件")
    if page.number < 1 or not 1 <= page.size <= item_search.MAX_PER_PAGE:
        raise InputError(f"页码须从 1 开始，每页 1 到 {item_search.MAX_PER_PAGE} 条", field="page")
    wanted = item_search.ItemFilters(
        state=filters.state, kind=filters.kind, department=filters.department, column=filters.column,
        author=filters.author, since=filters.since, until=filters.until, text=filters.text,
        zone=svc.renderer.tz.key)
    async with svc.store.sessions() as s:
        found = await item_search.search(s, wanted, before=page.before, after=page.after, per_page=page.size)
    rows = tuple(Row(r.id, r.kind, r.state, r.title, r.department, r.column, r.revision, r.published_at,
                     r.author, r.updated_at) for r in found.rows)
    return Listing(rows, found.total, page, found.before, found.after, found.more_than)


async def preview(svc: Service, who: Who, item_id: int, channel: str) -> Preview:
    """What ``channel`` would send for the item's current revision, made by the channel's own
    ``render()`` (with its length checks)."""
    any_role(who, "预览稿件")
    svc.check_channels([channel])
    async with svc.store.sessions() as s:
        await workflow.get_item(s, item_id)
        views = await load_views(s, [item_id], revision="current")
    adapter = svc.channel(channel)
    await adapter.open()
    try:
        renditions = adapter.render(tuple(views), {})
    except GongkaiError:
        raise
    except Exception as exc:  # a template error is a user error too
        raise InputError(f"渲染失败：{exc}", fix="检查模板覆盖目录中的模板", code="render_failed") from exc
    finally:
        await adapter.close()
    return Preview(item_id, channel, tuple(renditions))
