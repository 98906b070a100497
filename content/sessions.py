"""Console sign-in sessions and the record of sign-in attempts.

A session is a row keyed by the SHA-256 of a random secret; the browser holds only the secret
(in a cookie), the store only its hash. A session ends on sign-out, after ``idle`` without a
request, after ``absolute`` since sign-in, or when its account is disabled. The CSRF token of a
session is derived from its secret, so it needs no storage and changes with every sign-in.

Sign-in attempts are rows too (instant, login as typed, address, success), from which the
throttle counts recent failures per login name and per address; the login name is counted
whether or not an account has it, so the throttle never tells which names exist.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import Mapped, mapped_column

from content.accounts import AccountView
from content.models import Account, Base

SEEN_GRANULARITY = timedelta(seconds=30)  # last-seen is written at most this often


class ConsoleSession(Base):
    __tablename__ = "console_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    account_id: Mapped[int] = mapped_column(Integer, ForeignKey("accounts.id"), index=True)
    created_at: Mapped[datetime]
    seen_at: Mapped[datetime]
    ended_at: Mapped[datetime | None] = mapped_column(nullable=True)
    address: Mapped[str] = mapped_column(String(64), default="")
    flash: Mapped[list[Any]] = mapped_column(JSON, default=list)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    login: Mapped[str] = mapped_column(String(100), index=True)
    address: Mapped[str] = mapped_column(String(64), index=True)
    ok: Mapped[bool] = mapped_column(Boolean)


@dataclass(frozen=True)
class Expiry:
    idle: timedelta
    absolute: timedelta


@dataclass(frozen=True)
class Current:
    """The session a request carries: its id, account and CSRF token."""

    id: int
    account: AccountView
    csrf: str
    started_at: datetime
    has_flash: bool = False  # messages wait to be shown once


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_of(secret: str) -> str:
    """The CSRF token of the session whose secret this is (it cannot be turned back into it)."""
    return hmac.new(secret.encode(), b"gongkai-console-csrf", hashlib.sha256).hexdigest()


def csrf_ok(secret: str, given: str) -> bool:
    return bool(given) and hmac.compare_digest(csrf_of(secret), given)


async def open_session(session: AsyncSession, account: AccountView, *, address: str, now: datetime) -> str:
    """A new session for ``account``; returns the secret for the cookie (never stored)."""
    account_id = await session.scalar(select(Account.id).where(Account.login == account.login))
    secret = secrets.token_urlsafe(32)
    session.add(ConsoleSession(token_hash=token_hash(secret), account_id=account_id, created_at=now,
                               seen_at=now, address=address[:64], flash=[]))
    await session.flush()
    return secret


async def current(session: AsyncSession, secret: str, *, expiry: Expiry, now: datetime) -> Current | None:
    """The live session ``secret`` opens, touched as seen now; None when there is none, it was
    closed, it expired (then it is closed) or its account is disabled."""
    if not secret:
        return None
    found = (await session.execute(select(ConsoleSession, Account).join(
        Account, Account.id == ConsoleSession.account_id).where(
        ConsoleSession.token_hash == token_hash(secret)))).first()
    if found is None:
        return None
    row, acc = found
    if row.ended_at is not None:
        return None
    if acc.disabled or now - row.seen_at >= expiry.idle or now - row.created_at >= expiry.absolute:
        row.ended_at = now
        return None
    if now - row.seen_at >= SEEN_GRANULARITY:
        row.seen_at = now
    return Current(row.id, AccountView.of(acc), csrf_of(secret), row.created_at, bool(row.flash))


async def close(session: AsyncSession, secret: str, *, now: datetime) -> bool:
    """End the session ``secret`` opens; True if one was open."""
    result = await session.execute(update(ConsoleSession).where(
        ConsoleSession.token_hash == token_hash(secret), ConsoleSession.ended_at.is_(None)).values(ended_at=now))
    return bool(getattr(result, "rowcount", 0))


async def close_all(session: AsyncSession, login: str, *, now: datetime, keep: int | None = None) -> int:
    """End every open session of ``login`` (after a password reset or when disabled), except
    the one with id ``keep``; returns how many."""
    account_id = await session.scalar(select(Account.id).where(Account.login == login))
    query = update(ConsoleSession).where(ConsoleSession.account_id == account_id,
                                         ConsoleSession.ended_at.is_(None))
    if keep is not None:
        query = query.where(ConsoleSession.id != keep)
    result = await session.execute(query.values(ended_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


async def push_flash(session: AsyncSession, session_id: int, kind: str, text: str) -> None:
    row = await session.get(ConsoleSession, session_id)
    if row is not None:
        row.flash = [*row.flash, [kind, text]][-5:]


async def pop_flash(session: AsyncSession, session_id: int) -> list[tuple[str, str]]:
    row = await session.get(ConsoleSession, session_id)
    if row is None or not row.flash:
        return []
    shown = [(str(k), str(t)) for k, t in row.flash]
    row.flash = []
    return shown


# ------------------------------------------------------------------------------ the throttle
async def record_attempt(session: AsyncSession, *, login: str, address: str, ok: bool, now: datetime) -> None:
    session.add(LoginAttempt(at=now, login=login[:100], address=address[:64], ok=ok))


async def wait_needed(session: AsyncSession, *, login: str, address: str, now: datetime,
                      max_failures: int, window: timedelta) -> timedelta | None:
    """How long a new attempt must wait when ``login`` (since its last success) or ``address``
    failed ``max_failures`` times within ``window``; None when it may go ahead."""
    waits = []
    for column, value in ((LoginAttempt.login, login[:100]), (LoginAttempt.address, address[:64])):
        since = now - window
        if column is LoginAttempt.login:  # a success clears its account's count, not the address's
            last_ok = await session.scalar(select(func.max(LoginAttempt.at)).where(
                column == value, LoginAttempt.ok.is_(True), LoginAttempt.at > since))
            since = max(since, last_ok) if last_ok is not None else since
        failures = list(await session.scalars(select(LoginAttempt.at).where(
            column == value, LoginAttempt.ok.is_(False), LoginAttempt.at > since)
            .order_by(LoginAttempt.at.desc()).limit(max_failures)))
        if len(failures) >= max_failures:
            waits.append(failures[-1] + window - now)
    return max(waits) if waits else None
