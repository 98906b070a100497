"""The WeChat channel's own tables: one row per publication (the remote side of a delivery),
which is the intent record for publish and mass-send calls and the push-quota ledger, and the
callback nonces seen recently (replay protection shared by every node)."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from content.models import Base


class WechatPublication(Base):
    __tablename__ = "wechat_publications"
    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), unique=True)
    release_id: Mapped[int] = mapped_column(Integer, index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # publish | correct
    mode: Mapped[str] = mapped_column(String(16))  # publish (freepublish) | push (mass send)
    target: Mapped[str] = mapped_column(String(100), default="")  # all | tag:NAME (pushes)
    #: drafted → pending (call made, answer not recorded) → submitted → published | failed
    status: Mapped[str] = mapped_column(String(16), index=True)
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)  # item ids, article order
    draft_media_id: Mapped[str] = mapped_column(String(128), default="")
    source_urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    clientmsgid: Mapped[str] = mapped_column(String(64), default="")
    publish_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    msg_id: Mapped[str] = mapped_column(String(64), default="", index=True)
    article_id: Mapped[str] = mapped_column(String(128), default="")
    urls: Mapped[list[Any]] = mapped_column(JSON, default=list)
    deleted: Mapped[list[Any]] = mapped_column(JSON, default=list)  # 1-based article indexes
    detail: Mapped[str] = mapped_column(Text, default="")
    pushed_at: Mapped[datetime | None] = mapped_column(nullable=True)  # counts toward the quota
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class WechatNonce(Base):
    __tablename__ = "wechat_callback_nonces"
    key: Mapped[str] = mapped_column(String(100), primary_key=True)  # timestamp:nonce
    seen_at: Mapped[datetime] = mapped_column(index=True)


__all__ = ["WechatNonce", "WechatPublication"]
