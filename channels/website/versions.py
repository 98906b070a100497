"""Earlier versions of corrected items: each published revision that a correction replaced keeps
a page (``items/<id>-v<n>.html``) that the current page links to, so readers can see what was
changed. A retraction takes them down with the item."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.kinds import ItemState, RevisionStatus
from content.models import Attachment, Revision
from content.views import FileView, ItemView, file_view

WITH_VERSIONS = (ItemState.CORRECTED.value, ItemState.RETRACTED.value)


def version_path(item_id: int, number: int) -> str:
    return f"items/{item_id}-v{number}.html"


@dataclass(frozen=True)
class Version:
    """An earlier published revision of an item, as its page shows it."""

    view: ItemView
    published_at: datetime | None

    @property
    def number(self) -> int:
        return self.view.revision

    @property
    def path(self) -> str:
        return version_path(self.view.id, self.view.revision)


async def earlier(session: AsyncSession, views: list[ItemView]) -> dict[int, tuple[Version, ...]]:
    """Superseded published revisions of corrected (or since retracted) items, oldest first."""
    current = {v.id: v for v in views if v.state in WITH_VERSIONS}
    if not current:
        return {}
    revisions = list(await session.scalars(
        select(Revision).where(Revision.item_id.in_(current),
                               Revision.status == RevisionStatus.SUPERSEDED.value)
        .order_by(Revision.item_id, Revision.number)))
    if not revisions:
        return {}
    files: dict[tuple[int, int], list[FileView]] = {}
    for a in await session.scalars(select(Attachment).where(
            Attachment.item_id.in_({r.item_id for r in revisions})).order_by(Attachment.id)):
        files.setdefault((a.item_id, a.revision), []).append(file_view(a))
    found: dict[int, list[Version]] = {}
    for r in revisions:
        view = replace(
            current[r.item_id], revision=r.number, title=r.title, summary=r.summary,
            body_html=r.body_html, body_md=r.body_md, department=r.department,
            column=r.column_name, index_no=r.index_no, doc_no=r.doc_no, issuer=r.issuer,
            topic=r.topic, issued=r.issued, validity=r.validity, normative=r.normative,
            tags=tuple(r.tags or ()), extra=dict(r.extra or {}),
            correction_note=r.correction_note, files=tuple(files.get((r.item_id, r.number), ())))
        found.setdefault(r.item_id, []).append(Version(view, r.published_at))
    return {k: tuple(v) for k, v in found.items()}
