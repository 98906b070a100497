"""Recurring releases (rule R10): a named schedule such as "每月第5个工作日 10:00" and its
occurrences, each an instant to which an approved item is attached (and then a release)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from content.models import Base


class Recurring(Base):
    __tablename__ = "recurring_releases"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    rule_text: Mapped[str] = mapped_column(Text)
    rule: Mapped[dict[str, Any]] = mapped_column(JSON)  # schedules.recurring.Rule.to_json()
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)  # empty = every enabled channel
    lead_workdays: Mapped[int] = mapped_column(Integer, default=3)
    department: Mapped[str] = mapped_column(String(200), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Occurrence(Base):
    __tablename__ = "recurring_occurrences"
    id: Mapped[int] = mapped_column(primary_key=True)
    recurring_id: Mapped[int] = mapped_column(ForeignKey("recurring_releases.id"), index=True)
    on_date: Mapped[date] = mapped_column(Date)
    due_at: Mapped[datetime] = mapped_column(index=True)
    item_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    release_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    attached_by: Mapped[str | None] = mapped_column(String(100), nullable=True)
    created_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("recurring_id", "on_date", name="uq_occurrence"),)
