"""Models of the publication cadences (rules R5, R6, R7, C6) and of the warnings every
obligation raises.

* :class:`CadenceSubject` names what a cadence obligation is owed for when it is not an item:
  the site, a column, a new-media account, a department. ``Obligation.subject_id`` points here
  for those subject types, so the obligation's unique key stays (rule, subject, period).
* :class:`ObligationNotice` is one warning stage of one obligation (``before``, ``due_day``,
  ``missed``). Its unique key makes a warning happen once, whatever the number of nodes,
  sweeps or restarts: only the transaction that inserts the row sends anything.
* :class:`DutyMessage` is the outbox of a notice to a duty contact (an SMS number, or a WeChat
  openid told by template message), delivered after the notice is committed and retried until
  sent.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from content.models import Base


class CadenceSubject(Base):
    __tablename__ = "cadence_subjects"
    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(32))  # site | column | account | department
    name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (UniqueConstraint("type", "name", name="uq_cadence_subject"),)


class ObligationNotice(Base):
    __tablename__ = "obligation_notices"
    id: Mapped[int] = mapped_column(primary_key=True)
    obligation_id: Mapped[int] = mapped_column(ForeignKey("obligations.id"), index=True)
    stage: Mapped[str] = mapped_column(String(16))  # before | due_day | missed
    rule: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(200), default="")
    text: Mapped[str] = mapped_column(Text, default="")  # what staff read, in Chinese
    node: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(index=True)

    __table_args__ = (UniqueConstraint("obligation_id", "stage", name="uq_obligation_notice"),)


class DutyMessage(Base):
    __tablename__ = "duty_messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    notice_id: Mapped[int] = mapped_column(ForeignKey("obligation_notices.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))  # sms | wechat
    address: Mapped[str] = mapped_column(String(128))
    state: Mapped[str] = mapped_column(String(16), index=True)  # pending | sent | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    remote_id: Mapped[str] = mapped_column(String(128), default="")
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None] = mapped_column(nullable=True)

    __table_args__ = (UniqueConstraint("notice_id", "channel", "address", name="uq_duty_message"),)
