"""Read-only snapshots of items, as channels and templates see them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.kinds import KINDS, SERVICE_GUIDE_FIELDS, Kind
from content.markup import plain_text
from content.models import Attachment, Item, Link, Revision


@dataclass(frozen=True)
class FileView:
    role: str
    name: str  # stored name under the file store and the site's /files/
    filename: str
    mime: str
    size: int
    alt: str

    @property
    def url_path(self) -> str:
        return f"/files/{self.name}"


@dataclass(frozen=True)
class ItemView:
    id: int
    kind: str
    state: str
    revision: int
    title: str
    summary: str
    body_html: str
    body_md: str
    department: str
    column: str
    index_no: str
    doc_no: str
    issuer: str
    topic: str
    issued: date | None
    validity: str
    normative: bool
    tags: tuple[str, ...]
    extra: dict[str, Any]
    correction_note: str
    published_at: datetime | None
    first_published_at: datetime | None
    retracted_at: datetime | None
    retract_reason: str | None
    interprets: tuple[int, ...] = ()
    interpretations: tuple[int, ...] = ()
    follows: tuple[int, ...] = ()
    files: tuple[FileView, ...] = field(default=())

    @property
    def kind_label(self) -> str:
        return KINDS[Kind(self.kind)].label

    @property
    def path(self) -> str:
        """The item's page, relative to the site root."""
        return f"items/{self.id}.html"

    @property
    def plain_body(self) -> str:
        return plain_text(self.body_html)

    @property
    def excerpt(self) -> str:
        text = self.summary or self.plain_body
        return text if len(text) <= 120 else text[:119] + "…"

    @property
    def service_fields(self) -> list[tuple[str, str]]:
        return [(label, self.extra[key]) for key, label in SERVICE_GUIDE_FIELDS.items()
                if self.extra.get(key)]

    @property
    def images(self) -> tuple[FileView, ...]:
        return tuple(f for f in self.files if f.role == "image")

    @property
    def attachments(self) -> tuple[FileView, ...]:
        return tuple(f for f in self.files if f.role == "attachment")

    @property
    def cover(self) -> FileView | None:
        covers = [f for f in self.files if f.role == "cover"] or list(self.images)
        return covers[0] if covers else None


def file_view(a: Attachment) -> FileView:
    ext = a.filename[a.filename.rfind("."):].lower() if "." in a.filename else ""
    return FileView(a.role, f"{a.sha256}{ext}", a.filename, a.mime, a.size, a.alt)


async def load_views(session: AsyncSession, item_ids: list[int], *,
                     revision: str = "published") -> list[ItemView]:
    """Snapshots of ``item_ids`` in that order. ``revision`` is ``published`` (what the public
    sees) or ``current`` (the latest, e.g. for previews)."""
    if not item_ids:
        return []
    items = {i.id: i for i in await session.scalars(select(Item).where(Item.id.in_(item_ids)))}
    wanted = {}
    for item_id, loaded in items.items():
        number = loaded.published_revision if revision == "published" else loaded.current_revision
        wanted[item_id] = number or loaded.current_revision
    revs = {r.item_id: r for r in await session.scalars(select(Revision).where(
        Revision.item_id.in_(item_ids))) if wanted.get(r.item_id) == r.number}
    links = list(await session.execute(select(Link.from_item_id, Link.to_item_id, Link.rel).where(
        (Link.from_item_id.in_(item_ids)) | (Link.to_item_id.in_(item_ids)))))
    interpreters = [row[0] for row in links if row[2] == "interprets"]
    live = set(await session.scalars(select(Item.id).where(
        Item.id.in_(interpreters), Item.state.in_(("published", "corrected"))))) if interpreters else set()
    files: dict[int, list[FileView]] = {}
    for a in await session.scalars(select(Attachment).where(Attachment.item_id.in_(item_ids))
                                   .order_by(Attachment.id)):
        if wanted.get(a.item_id) == a.revision:
            files.setdefault(a.item_id, []).append(file_view(a))
    views = []
    for item_id in item_ids:
        item, rev = items.get(item_id), revs.get(item_id)
        if item is None or rev is None:
            continue
        views.append(ItemView(
            id=item.id, kind=item.kind, state=item.state, revision=rev.number, title=rev.title,
            summary=rev.summary, body_html=rev.body_html, body_md=rev.body_md,
            department=rev.department, column=rev.column_name, index_no=rev.index_no,
            doc_no=rev.doc_no, issuer=rev.issuer, topic=rev.topic, issued=rev.issued,
            validity=rev.validity, normative=rev.normative, tags=tuple(rev.tags or ()),
            extra=dict(rev.extra or {}), correction_note=rev.correction_note,
            published_at=item.published_at, first_published_at=item.first_published_at,
            retracted_at=item.retracted_at, retract_reason=item.retract_reason,
            interprets=tuple(t for f, t, r in links if f == item_id and r == "interprets"),
            interpretations=tuple(f for f, t, r in links
                                  if t == item_id and r == "interprets" and f in live),
            follows=tuple(t for f, t, r in links if f == item_id and r == "follows"),
            files=tuple(files.get(item_id, ())),
        ))
    return views
