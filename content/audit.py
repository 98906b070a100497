"""The append-only audit trail."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from content.models import AuditEvent


def record(session: AsyncSession, *, at: datetime, actor: str, action: str,
           item_id: int | None = None, release_id: int | None = None,
           revision: int | None = None, reason: str = "", **detail: Any) -> AuditEvent:
    event = AuditEvent(at=at, actor=actor, action=action, item_id=item_id, release_id=release_id,
                       revision=revision, reason=reason, detail=detail)
    session.add(event)
    return event
