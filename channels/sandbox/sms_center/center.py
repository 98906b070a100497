"""The sandbox's handsets and carrier: a small SQLite log of messages and replies.

A file path keeps the messages across restarts of the bot (the embedded sandbox); ``":memory:"``
keeps them for the life of the process (tests, benchmarks).
"""
from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

BEIJING = timezone(timedelta(hours=8))

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL,
  account TEXT NOT NULL DEFAULT '',
  phone TEXT NOT NULL,
  sign TEXT NOT NULL,
  template TEXT NOT NULL,
  kind TEXT NOT NULL,
  content TEXT NOT NULL,
  parts INTEGER NOT NULL,
  out_id TEXT NOT NULL DEFAULT '',
  remote_id TEXT NOT NULL,
  counted INTEGER NOT NULL DEFAULT 1,
  status TEXT NOT NULL,
  err_code TEXT NOT NULL DEFAULT '',
  err_msg TEXT NOT NULL DEFAULT '',
  submitted_at REAL NOT NULL,
  report_due REAL NOT NULL,
  reported_at REAL,
  pushed INTEGER NOT NULL DEFAULT 0,
  push_tries INTEGER NOT NULL DEFAULT 0,
  next_push REAL NOT NULL DEFAULT 0,
  pulled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_messages_phone ON messages (phone, submitted_at);
CREATE INDEX IF NOT EXISTS ix_messages_report ON messages (provider, pushed, report_due);
CREATE INDEX IF NOT EXISTS ix_messages_remote ON messages (remote_id);
CREATE INDEX IF NOT EXISTS ix_messages_status ON messages (status, report_due);
CREATE TABLE IF NOT EXISTS replies (
  id INTEGER PRIMARY KEY,
  provider TEXT NOT NULL,
  phone TEXT NOT NULL,
  sign TEXT NOT NULL,
  content TEXT NOT NULL,
  at REAL NOT NULL,
  pushed INTEGER NOT NULL DEFAULT 0,
  push_tries INTEGER NOT NULL DEFAULT 0,
  next_push REAL NOT NULL DEFAULT 0,
  pulled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS ix_replies_phone ON replies (phone, at);
"""


@dataclass(frozen=True)
class Limits:
    """Per-number limits (reference §4.1): verification codes per (signature, number) 1 a
    minute, 5 an hour, 10 a day; notifications per (signature, template, number) 50 a day.
    Minute and hour windows are natural Beijing-time windows; the day window is a rolling 24 h."""

    code_minute: int = 1
    code_hour: int = 5
    code_day: int = 10
    notice_day: int = 50


@dataclass(frozen=True)
class Template:
    """A template the sandbox account has "approved": ``code`` (verification code) or
    ``notice``, and its text (Aliyun: ``${name}`` placeholders; Tencent: ``{1}``, ``{2}``…)."""

    kind: str
    text: str = ""


@dataclass(frozen=True)
class Message:
    id: int
    provider: str
    phone: str
    sign: str
    template: str
    kind: str
    content: str
    parts: int
    out_id: str
    remote_id: str
    status: str  # pending | delivered | failed
    err_code: str
    err_msg: str
    submitted_at: float
    reported_at: float | None

    @property
    def text(self) -> str:
        return f"【{self.sign}】{self.content}"


@dataclass(frozen=True)
class Reply:
    id: int
    provider: str
    phone: str
    sign: str
    content: str
    at: float


@dataclass(frozen=True)
class Accepted:
    """One number of an accepted request, as the emulator wants it recorded."""

    phone: str  # 11 national digits
    remote_id: str
    status: str = "pending"  # pending | failed (refused for the number, reported as failed)
    err_code: str = ""
    err_msg: str = ""
    counted: bool = True


MESSAGE_COLUMNS = ("id, provider, phone, sign, template, kind, content, parts, out_id, remote_id, "
                   "status, err_code, err_msg, submitted_at, reported_at")


class SmsCenter:
    def __init__(self, path: str | Path = ":memory:", *, clock: Callable[[], float] = time.time,
                 limits: Limits | None = None, report_delay: float = 0.3,
                 unreachable: Iterable[str] = ()) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = str(path)
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(SCHEMA)
        self.lock = threading.Lock()
        self.clock = clock
        self.limits = limits or Limits()
        self.report_delay = report_delay
        #: numbers (11 digits) whose handset is off: their messages fail with a report
        self.unreachable = set(unreachable)

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ limits
    def over_limit(self, provider: str, account: str, phones: Sequence[str], *, kind: str,
                   sign: str, template: str) -> dict[str, tuple[str, int]]:
        """Numbers that may not receive one more message now: phone → (window, permits), where
        window is ``minute``, ``hour`` or ``day``."""
        if not phones:
            return {}
        now = self.clock()
        local = datetime.fromtimestamp(now, BEIJING)
        minute_start = local.replace(second=0, microsecond=0).timestamp()
        hour_start = local.replace(minute=0, second=0, microsecond=0).timestamp()
        day_start = now - 86400
        args: tuple[str, ...]
        if kind == "code":
            windows = [("minute", minute_start, self.limits.code_minute),
                       ("hour", hour_start, self.limits.code_hour),
                       ("day", day_start, self.limits.code_day)]
            extra, args = "", ()
        else:
            windows = [("day", day_start, self.limits.notice_day)]
            extra, args = " AND template = ?", (template,)
        over: dict[str, tuple[str, int]] = {}
        unique = list(dict.fromkeys(phones))
        with self.lock:
            for start in range(0, len(unique), 900):
                chunk = unique[start:start + 900]
                marks = ",".join("?" * len(chunk))
                for window, since, permits in windows:
                    rows = self.db.execute(
                        f"SELECT phone, COUNT(*) FROM messages INDEXED BY ix_messages_phone "
                        f"WHERE phone IN ({marks}) AND provider = ? "
                        f"AND account = ? AND sign = ? AND kind = ? AND counted = 1 AND submitted_at >= ?{extra} "
                        f"GROUP BY phone", (*chunk, provider, account, sign, kind, since, *args))
                    for phone, count in rows:
                        if count >= permits and phone not in over:
                            over[phone] = (window, permits)
        return over

    # ------------------------------------------------------------------ sending
    def record(self, provider: str, account: str, numbers: Sequence[Accepted], *, sign: str,
               template: str, kind: str, content: str, parts: int, out_id: str = "") -> None:
        now = self.clock()
        rows = []
        for n in numbers:
            status, code, msg = n.status, n.err_code, n.err_msg
            if status == "pending" and n.phone in self.unreachable:
                status, code, msg = "failing", "UNDELIV", "用户关机或不在服务区"
            rows.append((provider, account, n.phone, sign, template, kind, content, parts, out_id,
                         n.remote_id, int(n.counted), status, code, msg, now,
                         now + (0 if n.status == "failed" else self.report_delay)))
        with self.lock:
            self.db.execute("BEGIN")
            self.db.executemany(
                "INSERT INTO messages (provider, account, phone, sign, template, kind, content, parts, "
                "out_id, remote_id, counted, status, err_code, err_msg, submitted_at, report_due) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
            self.db.execute("COMMIT")

    # ------------------------------------------------------------------ reports
    def settle_due(self) -> None:
        """The carrier's answer arrives: pending messages past their delay become delivered
        (or failed, for unreachable handsets)."""
        now = self.clock()
        with self.lock:
            self.db.execute("BEGIN")
            self.db.execute("UPDATE messages SET status = 'delivered', reported_at = ? "
                            "WHERE status = 'pending' AND report_due <= ?", (now, now))
            self.db.execute("UPDATE messages SET status = 'failed', reported_at = ? "
                            "WHERE status = 'failing' AND report_due <= ?", (now, now))
            self.db.execute("UPDATE messages SET reported_at = ? WHERE status = 'failed' "
                            "AND reported_at IS NULL AND report_due <= ?", (now, now))
            self.db.execute("COMMIT")

    def reports_to_push(self, provider: str, limit: int = 500) -> list[Message]:
        self.settle_due()
        now = self.clock()
        with self.lock:
            rows = self.db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider = ? AND pushed = 0 "
                "AND reported_at IS NOT NULL AND next_push <= ? ORDER BY id LIMIT ?",
                (provider, now, limit)).fetchall()
        return [Message(*r) for r in rows]

    def mark_pushed(self, ids: Sequence[int], ok: bool, retry_in: Sequence[float] = (60, 300, 600)) -> None:
        """After a push: done, or tried again later (the real services retry after 1, 5 and 10
        minutes, three tries in all, then give up)."""
        if not ids:
            return
        now = self.clock()
        with self.lock:
            self.db.execute("BEGIN")
            if ok:
                self.db.executemany("UPDATE messages SET pushed = 1 WHERE id = ?", [(i,) for i in ids])
            else:
                for i in ids:
                    tries = self.db.execute("SELECT push_tries FROM messages WHERE id = ?", (i,)).fetchone()[0]
                    if tries >= len(retry_in):
                        self.db.execute("UPDATE messages SET pushed = 2, push_tries = ? WHERE id = ?", (tries + 1, i))
                    else:
                        self.db.execute("UPDATE messages SET push_tries = ?, next_push = ? WHERE id = ?",
                                        (tries + 1, now + retry_in[tries], i))
            self.db.execute("COMMIT")

    def pull_reports(self, provider: str, account: str, limit: int) -> list[Message]:
        """Reports not pulled yet (Tencent PullSmsSendStatus); each is handed out once."""
        self.settle_due()
        with self.lock:
            rows = self.db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE provider = ? AND account = ? AND pulled = 0 "
                "AND reported_at IS NOT NULL ORDER BY id LIMIT ?", (provider, account, limit)).fetchall()
            self.db.executemany("UPDATE messages SET pulled = 1 WHERE id = ?", [(r[0],) for r in rows])
        return [Message(*r) for r in rows]

    def reports_of(self, provider: str, account: str, phone: str, since: float, until: float,
                   offset: int, limit: int) -> list[Message]:
        """Reports of one number in a time range (Tencent PullSmsSendStatusByPhoneNumber)."""
        self.settle_due()
        with self.lock:
            rows = self.db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages INDEXED BY ix_messages_phone WHERE provider = ? AND account = ? "
                "AND phone = ? AND submitted_at >= ? AND submitted_at <= ? AND reported_at IS NOT NULL "
                "ORDER BY id LIMIT ? OFFSET ?", (provider, account, phone, since, until, limit, offset)).fetchall()
        return [Message(*r) for r in rows]

    def query(self, provider: str, account: str, phone: str, day: str, remote_id: str = "") -> list[Message]:
        """Messages to one number on one Beijing-time day (Aliyun QuerySendDetails)."""
        self.settle_due()
        start = datetime.strptime(day, "%Y%m%d").replace(tzinfo=BEIJING).timestamp()
        sql = (f"SELECT {MESSAGE_COLUMNS} FROM messages INDEXED BY ix_messages_phone WHERE provider = ? "
               "AND account = ? AND phone = ? AND submitted_at >= ? AND submitted_at < ?")
        args: list = [provider, account, phone, start, start + 86400]
        if remote_id:
            sql += " AND remote_id = ?"
            args.append(remote_id)
        with self.lock:
            rows = self.db.execute(sql + " ORDER BY id", args).fetchall()
        return [Message(*r) for r in rows]

    # ------------------------------------------------------------------ handsets
    def inbox(self, phone: str, limit: int = 200) -> list[Message]:
        self.settle_due()
        with self.lock:
            rows = self.db.execute(
                f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE phone = ? AND status != 'failed' "
                "AND status != 'failing' ORDER BY id DESC LIMIT ?", (phone, limit)).fetchall()
        return [Message(*r) for r in reversed(rows)]

    def all_messages(self, phone: str) -> list[Message]:
        self.settle_due()
        with self.lock:
            rows = self.db.execute(f"SELECT {MESSAGE_COLUMNS} FROM messages WHERE phone = ? ORDER BY id",
                                   (phone,)).fetchall()
        return [Message(*r) for r in rows]

    def counts(self, provider: str | None = None) -> dict[str, int]:
        """Messages accepted for a handset (not refused for the number), per number."""
        sql = "SELECT phone, COUNT(*) FROM messages WHERE counted = 1"
        args: tuple = ()
        if provider:
            sql += " AND provider = ?"
            args = (provider,)
        with self.lock:
            return dict(self.db.execute(sql + " GROUP BY phone", args).fetchall())

    def handsets(self, search: str = "", limit: int = 100, offset: int = 0) -> list[tuple[str, int, float]]:
        """Numbers with messages, most recent first: (phone, messages, last time)."""
        with self.lock:
            return self.db.execute(
                "SELECT phone, COUNT(*), MAX(submitted_at) FROM messages WHERE phone LIKE ? "
                "GROUP BY phone ORDER BY MAX(submitted_at) DESC LIMIT ? OFFSET ?",
                (f"%{search}%", limit, offset)).fetchall()

    def total(self) -> int:
        with self.lock:
            return self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0]

    # ------------------------------------------------------------------ replies (uplink)
    def reply(self, phone: str, content: str) -> Reply:
        """A reply typed on the handset goes to the provider (and signature) that last wrote to
        this number."""
        with self.lock:
            last = self.db.execute("SELECT provider, sign FROM messages WHERE phone = ? "
                                   "ORDER BY id DESC LIMIT 1", (phone,)).fetchone()
        provider, sign = last if last else ("aliyun", "")
        now = self.clock()
        with self.lock:
            cur = self.db.execute("INSERT INTO replies (provider, phone, sign, content, at) VALUES (?, ?, ?, ?, ?)",
                                  (provider, phone, sign, content, now))
        assert cur.lastrowid is not None  # set by the INSERT
        return Reply(cur.lastrowid, provider, phone, sign, content, now)

    def replies_of(self, phone: str) -> list[Reply]:
        with self.lock:
            rows = self.db.execute("SELECT id, provider, phone, sign, content, at FROM replies WHERE phone = ? "
                                   "ORDER BY id", (phone,)).fetchall()
        return [Reply(*r) for r in rows]

    def replies_to_push(self, provider: str, limit: int = 100) -> list[Reply]:
        now = self.clock()
        with self.lock:
            rows = self.db.execute("SELECT id, provider, phone, sign, content, at FROM replies "
                                   "WHERE provider = ? AND pushed = 0 AND next_push <= ? ORDER BY id LIMIT ?",
                                   (provider, now, limit)).fetchall()
        return [Reply(*r) for r in rows]

    def mark_replies_pushed(self, ids: Sequence[int], ok: bool, retry_in: Sequence[float] = (60, 300, 600)) -> None:
        now = self.clock()
        with self.lock:
            for i in ids:
                if ok:
                    self.db.execute("UPDATE replies SET pushed = 1 WHERE id = ?", (i,))
                    continue
                tries = self.db.execute("SELECT push_tries FROM replies WHERE id = ?", (i,)).fetchone()[0]
                if tries >= len(retry_in):
                    self.db.execute("UPDATE replies SET pushed = 2 WHERE id = ?", (i,))
                else:
                    self.db.execute("UPDATE replies SET push_tries = ?, next_push = ? WHERE id = ?",
                                    (tries + 1, now + retry_in[tries], i))

    def pull_replies(self, provider: str, limit: int) -> list[Reply]:
        with self.lock:
            rows = self.db.execute("SELECT id, provider, phone, sign, content, at FROM replies "
                                   "WHERE provider = ? AND pulled = 0 ORDER BY id LIMIT ?",
                                   (provider, limit)).fetchall()
            self.db.executemany("UPDATE replies SET pulled = 1 WHERE id = ?", [(r[0],) for r in rows])
        return [Reply(*r) for r in rows]
