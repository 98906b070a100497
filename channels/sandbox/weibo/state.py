"""What the Weibo emulator remembers: the registered app, the sandbox account, authorisation
codes, access tokens, the account's posts (with t.cn-style short links), hourly request counters
and a log of refused requests. Kept in memory and, when a directory is given, in a JSON file
(written atomically) so that tokens and posts survive a restart of the bot."""
from __future__ import annotations

import json
import os
import secrets
import tempfile
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any


@dataclass
class SandboxConfig:
    app_key: str
    app_secret: str
    safe_domains: tuple[str, ...]
    app_name: str = "政务公开发布（沙箱应用）"
    redirect_uris: tuple[str, ...] = ()  # the app's 授权回调页; the emulator's default page is always allowed
    token_lifetime: timedelta = timedelta(days=7)
    code_lifetime: timedelta = timedelta(minutes=10)
    max_chars: int = 140
    duplicate_window: timedelta = timedelta(hours=24)
    share_per_hour: int = 30  # per user, statuses/share (10024)
    user_per_hour: int = 150  # per user, all rate-limited calls (10023)
    ip_per_hour: int = 1000  # per client address (10022)
    max_pic_bytes: int = 5 * 1024 * 1024
    uid: str = "5836109200"
    screen_name: str = "示例市发布"
    state_dir: Path | None = None


@dataclass
class TokenRecord:
    token: str
    app_key: str
    uid: str
    created_at: datetime
    expires_at: datetime
    revoked: bool = False


@dataclass
class CodeRecord:
    code: str
    app_key: str
    redirect_uri: str
    created_at: datetime
    used: bool = False


@dataclass
class StatusRecord:
    id: int
    text: str  # as shown: links replaced by short links
    original: str  # as submitted
    created_at: datetime
    rip: str
    app_key: str
    pic: str = ""  # stored picture file name
    chars: int = 0

    @property
    def idstr(self) -> str:
        return str(self.id)


@dataclass
class Refusal:
    at: datetime
    request: str
    code: int
    message: str


@dataclass
class Fault:
    """A scripted misbehaviour for the next matching call (tests and drills).

    ``mode``: ``error`` (answer with ``error_code``, post nothing), ``lose_response`` (post, then
    hold the answer for ``hold`` seconds), ``stall`` (hold ``hold`` seconds, then 503, post nothing).
    The first ``skip`` matching calls are answered normally.
    """

    endpoint: str
    mode: str = "error"
    error_code: int = 0
    hold: float = 30.0
    times: int = 1
    skip: int = 0


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


class SandboxState:
    FIRST_ID = 9_100_000_000_000_000  # above 2**53: clients must use idstr, not a float of id

    def __init__(self, config: SandboxConfig) -> None:
        self.config = config
        self.tokens: dict[str, TokenRecord] = {}
        self.codes: dict[str, CodeRecord] = {}
        self.statuses: list[StatusRecord] = []
        self.short_links: dict[str, str] = {}  # long URL → short code
        self.counters: dict[tuple[str, str, str], int] = {}
        self.refusals: list[Refusal] = []
        self.faults: list[Fault] = []
        self.pictures: dict[str, bytes] = {}
        self.next_id = self.FIRST_ID
        self._load()

    # ------------------------------------------------------------------------ persistence
    @property
    def _file(self) -> Path | None:
        d = self.config.state_dir
        return Path(d) / "state.json" if d else None

    def picture_path(self, name: str) -> Path | None:
        d = self.config.state_dir
        return Path(d) / "pics" / name if d else None

    def _load(self) -> None:
        path = self._file
        if path is None or not path.exists():
            return
        data = json.loads(path.read_text(encoding="utf-8"))
        self.next_id = int(data.get("next_id", self.FIRST_ID))
        self.short_links = dict(data.get("short_links", {}))
        for t in data.get("tokens", []):
            self.tokens[t["token"]] = TokenRecord(**{**t, "created_at": _dt(t["created_at"]),
                                                     "expires_at": _dt(t["expires_at"])})
        for s in data.get("statuses", []):
            self.statuses.append(StatusRecord(**{**s, "created_at": _dt(s["created_at"])}))

    def save(self) -> None:
        path = self._file
        if path is None:
            return
        path.parent.mkdir(parents=True, exist_ok=True)

        def plain(obj: Any) -> Any:
            return obj.isoformat() if isinstance(obj, datetime) else obj

        data = {"next_id": self.next_id, "short_links": self.short_links,
                "tokens": [{k: plain(v) for k, v in asdict(t).items()} for t in self.tokens.values()],
                "statuses": [{k: plain(v) for k, v in asdict(s).items()} for s in self.statuses]}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".state-")
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
        os.replace(tmp, path)

    def store_picture(self, name: str, data: bytes) -> None:
        path = self.picture_path(name)
        if path is None:
            self.pictures[name] = data
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def load_picture(self, name: str) -> bytes | None:
        if name in self.pictures:
            return self.pictures[name]
        path = self.picture_path(name)
        return path.read_bytes() if path is not None and path.is_file() else None

    # ------------------------------------------------------------------------- oauth
    def issue_code(self, redirect_uri: str, now: datetime) -> str:
        code = secrets.token_hex(16)
        self.codes[code] = CodeRecord(code, self.config.app_key, redirect_uri, now)
        return code

    def issue_token(self, now: datetime) -> TokenRecord:
        token = "2.00" + secrets.token_urlsafe(24).replace("-", "x").replace("_", "y")
        record = TokenRecord(token, self.config.app_key, self.config.uid, now, now + self.config.token_lifetime)
        self.tokens[token] = record
        self.save()
        return record

    def expire_tokens(self, now: datetime) -> int:
        n = 0
        for t in self.tokens.values():
            if t.expires_at > now and not t.revoked:
                t.expires_at = now
                n += 1
        self.save()
        return n

    # ------------------------------------------------------------------------- posts
    def shorten(self, url: str) -> str:
        code = self.short_links.get(url)
        if code is None:
            n = len(self.short_links) + 1
            alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
            code = "A6"
            while n:
                n, r = divmod(n, 62)
                code += alphabet[r]
            self.short_links[url] = code
        return f"http://t.cn/{code}"

    def long_url(self, short: str) -> str | None:
        code = short.rsplit("/", 1)[-1]
        for url, c in self.short_links.items():
            if c == code:
                return url
        return None

    def add_status(self, text: str, original: str, rip: str, pic: str, chars: int, now: datetime) -> StatusRecord:
        self.next_id += 1 + secrets.randbelow(997)
        record = StatusRecord(self.next_id, text, original, now, rip, self.config.app_key, pic, chars)
        self.statuses.append(record)
        self.save()
        return record

    # ---------------------------------------------------------------------- limits, log
    def hit(self, kind: str, key: str, now: datetime) -> int:
        hour = now.astimezone(UTC).strftime("%Y%m%d%H")
        slot = (kind, key, hour)
        self.counters[slot] = self.counters.get(slot, 0) + 1
        if len(self.counters) > 10000:  # forget old hours
            self.counters = {k: v for k, v in self.counters.items() if k[2] == hour}
        return self.counters[slot]

    def used(self, kind: str, key: str, now: datetime) -> int:
        return self.counters.get((kind, key, now.astimezone(UTC).strftime("%Y%m%d%H")), 0)

    def refuse(self, now: datetime, request: str, code: int, message: str) -> None:
        self.refusals.append(Refusal(now, request, code, message))
        del self.refusals[:-50]

    def take_fault(self, endpoint: str) -> Fault | None:
        for fault in self.faults:
            if fault.endpoint == endpoint:
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                fault.times -= 1
                if fault.times <= 0:
                    self.faults.remove(fault)
                return fault
        return None

