"""Figures of the annual report that the store cannot know (行政许可, 行政处罚, fees …),
entered by staff and kept: one row per (year, table row, column), changed only through
:func:`content.annual_report.set_entry`, which audits every change."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from content.models import Base


class AnnualEntry(Base):
    __tablename__ = "annual_report_entries"
    id: Mapped[int] = mapped_column(primary_key=True)
    year: Mapped[int] = mapped_column(Integer)
    row: Mapped[str] = mapped_column(String(32))
    column: Mapped[str] = mapped_column(String(32))
    value: Mapped[str] = mapped_column(String(40))  # a decimal number, as entered (normalised)
    entered_by: Mapped[str] = mapped_column(String(100))
    entered_at: Mapped[datetime]

    __table_args__ = (UniqueConstraint("year", "row", "column", name="uq_annual_entry"),)
