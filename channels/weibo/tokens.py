"""Shared state of the Weibo channel in the store (``Setting`` rows), so every node and every
command sees the same thing: the access token with its expiry and, once Weibo has refused it,
why; the ``state`` of an authorisation in progress; the instants of recent posts (the bot's own
hourly ceiling)."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from content.db import Store
from content.models import Setting

TOKEN_KEY = "weibo.token"
STATE_KEY = "weibo.oauth_state"
POSTS_KEY = "weibo.recent_posts"
STATE_TTL = timedelta(hours=1)


@dataclass(frozen=True)
class Token:
    access_token: str
    uid: str
    expires_at: datetime
    obtained_at: datetime
    source: str = "oauth"  # oauth | sandbox
    rejected_code: int | None = None  # set when Weibo refused it (21327 expired_token, …)
    rejected_reason: str = ""
    rejected_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.rejected_code is None and self.expires_at > now

    def problem(self, now: datetime, fmt) -> str:
        """Why the token cannot be used (Chinese, for staff), or ""."""
        if self.rejected_code is not None:
            return (f"微博拒绝了访问令牌（{self.rejected_code} {self.rejected_reason}，"
                    f"{fmt(self.rejected_at)}）")
        if self.expires_at <= now:
            return f"微博访问令牌已于 {fmt(self.expires_at)} 过期"
        return ""

    def to_json(self) -> dict[str, Any]:
        return {"access_token": self.access_token, "uid": self.uid,
                "expires_at": self.expires_at.isoformat(), "obtained_at": self.obtained_at.isoformat(),
                "source": self.source, "rejected_code": self.rejected_code,
                "rejected_reason": self.rejected_reason,
                "rejected_at": self.rejected_at.isoformat() if self.rejected_at else None}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Token | None:
        try:
            return cls(access_token=str(data["access_token"]), uid=str(data.get("uid") or ""),
                       expires_at=datetime.fromisoformat(data["expires_at"]),
                       obtained_at=datetime.fromisoformat(data["obtained_at"]),
                       source=str(data.get("source") or "oauth"),
                       rejected_code=data.get("rejected_code"),
                       rejected_reason=str(data.get("rejected_reason") or ""),
                       rejected_at=datetime.fromisoformat(data["rejected_at"]) if data.get("rejected_at") else None)
        except (KeyError, TypeError, ValueError):
            return None


async def _put(session: AsyncSession, key: str, value: dict[str, Any], now: datetime) -> None:
    row = await session.get(Setting, key)
    if row is None:
        session.add(Setting(key=key, value=value, updated_at=now))
    else:
        row.value = value  # a new dict, so the JSON column is seen as changed
        row.updated_at = now


class TokenStore:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(self) -> Token | None:
        async with self.store.sessions() as session:
            row = await session.get(Setting, TOKEN_KEY)
        return Token.from_json(row.value) if row is not None and row.value else None

    async def save(self, access_token: str, uid: str, expires_in: int, *, now: datetime,
                   source: str = "oauth") -> Token:
        token = Token(access_token, uid, now + timedelta(seconds=expires_in), now, source)
        await self.store.transaction(lambda s: _put(s, TOKEN_KEY, token.to_json(), now),
                                     what="save weibo token")
        return token

    async def reject(self, access_token: str, code: int, reason: str, *, now: datetime) -> bool:
        """Record that Weibo refused ``access_token``. Returns True when this is news (the stored
        token was that one and not yet marked), so the caller alerts once, not per delivery. A
        token set meanwhile by staff is left alone."""
        async def txn(session: AsyncSession) -> bool:
            row = await session.get(Setting, TOKEN_KEY)
            token = Token.from_json(row.value) if row is not None and row.value else None
            if token is None or token.access_token != access_token or token.rejected_code is not None:
                return False
            marked = Token(**{**token.__dict__, "rejected_code": code, "rejected_reason": reason,
                              "rejected_at": now})
            await _put(session, TOKEN_KEY, marked.to_json(), now)
            return True

        return await self.store.transaction(txn, what="mark weibo token rejected")

    # ------------------------------------------------------------------ authorisation state
    async def new_state(self, *, now: datetime) -> str:
        state = secrets.token_urlsafe(12)
        await self.store.transaction(lambda s: _put(s, STATE_KEY, {"state": state, "at": now.isoformat()}, now),
                                     what="save oauth state")
        return state

    async def state_matches(self, state: str, *, now: datetime) -> bool:
        async with self.store.sessions() as session:
            row = await session.get(Setting, STATE_KEY)
        if row is None or not row.value:
            return False
        at = datetime.fromisoformat(row.value["at"])
        return row.value.get("state") == state and now - at <= STATE_TTL

    # ---------------------------------------------------------------- the bot's own ceiling
    async def recent_posts(self, *, now: datetime) -> list[datetime]:
        async with self.store.sessions() as session:
            row = await session.get(Setting, POSTS_KEY)
        times = [datetime.fromisoformat(t) for t in (row.value.get("times", []) if row else [])]
        return [t for t in times if now - t < timedelta(hours=1)]

    async def note_post(self, *, now: datetime, keep: int) -> None:
        async def txn(session: AsyncSession) -> None:
            row = await session.get(Setting, POSTS_KEY)
            times = [t for t in (row.value.get("times", []) if row else [])
                     if now - datetime.fromisoformat(t) < timedelta(hours=1)]
            times = (times + [now.isoformat()])[-max(keep, 1):]
            await _put(session, POSTS_KEY, {"times": times}, now)

        await self.store.transaction(txn, what="note weibo post")
