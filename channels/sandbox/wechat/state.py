"""Everything the emulated account holds: tokens, materials, drafts, publications, mass sends,
template messages, followers and tags.

Every change is a JSON record applied by :meth:`State.apply` — the same code path live and when
the journal is replayed at start, so the state after a restart is the state before it."""
from __future__ import annotations

import base64
import hashlib
from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from channels.sandbox.wechat.config import EmulatorConfig
from channels.sandbox.wechat.journal import Journal

RECENT = 500  # template messages kept in memory for the follower page (all are journaled)
CLIENTMSGID_SECONDS = 24 * 3600  # how long a mass send's clientmsgid dedupes


@dataclass
class Token:
    value: str
    kind: str  # basic | stable
    expires_at: float
    revoked: int = 0  # 0 = usable; else the errcode it now gets (40001 invalidated, 42001 expired)


@dataclass
class Follower:
    openid: str
    subscribed: bool
    since: float
    tags: set[int] = field(default_factory=set)
    received: Counter = field(default_factory=Counter)  # month "YYYY-MM" -> pushes received


@dataclass
class Publication:
    """A freepublish job or a mass send: what followers see as one message of 1-8 articles."""

    key: str  # publish_id, or "mass:<msg_id>"
    kind: str  # publish | mass
    media_id: str
    articles: list[dict[str, Any]]
    at: float
    status: int = 1  # freepublish statuses: 0 ok, 1 publishing, 2-6 failed/deleted
    article_id: str = ""
    fail_idx: list[int] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)  # 1-based article indexes deleted
    done_at: float | None = None
    # mass sends only
    msg_id: int = 0
    msg_data_id: int = 0
    clientmsgid: str = ""
    to_all: bool = False
    tag_id: int | None = None
    openids: list[str] = field(default_factory=list)  # message/mass/send: the listed followers
    text: str = ""  # a text mass send (no articles)
    recipients: int = 0
    filtered: int = 0
    preview: bool = False
    mass_status: str = ""  # SENDING | SEND_SUCCESS | SEND_FAIL | DELETE
    fail_reason: str = ""  # the Status text of a failed mass send, e.g. "err(10001)"

    def url(self, public_url: str, idx: int) -> str:
        return f"{public_url}/s/{self.article_id}/{idx}"


class State:
    def __init__(self, config: EmulatorConfig, journal: Journal) -> None:
        self.config = config
        self.journal = journal
        self.tz = ZoneInfo(config.timezone)
        self.tokens: dict[str, Token] = {}
        self.stable_current: str | None = None
        self.basic_current: str | None = None
        self.force_refreshes: list[float] = []
        self.media: dict[str, dict[str, Any]] = {}  # permanent material
        self.images: dict[str, dict[str, Any]] = {}  # uploadimg, by file name
        self.memory_files: dict[str, bytes] = {}  # when not persisted
        self.drafts: dict[str, dict[str, Any]] = {}
        self.publications: dict[str, Publication] = {}
        self.by_article: dict[str, str] = {}
        self.by_msg_id: dict[int, str] = {}
        self.clientmsgids: dict[str, int] = {}
        self.clientmsgid_at: dict[str, float] = {}
        self.followers: dict[str, Follower] = {}
        self.follower_order: list[str] = []
        self.tags: dict[int, str] = {}
        self.templates: deque[dict[str, Any]] = deque(maxlen=RECENT)
        self.template_counts: Counter[str] = Counter()  # template | bizsend
        self.refusers: set[str] = set()  # bizsend: followers who refused (43101)
        self.calls: Counter[tuple[str, str]] = Counter()  # (day, endpoint), not persisted
        self.counters: Counter[str] = Counter()  # id sequences
        self.follow_log: deque[dict[str, Any]] = deque(maxlen=200)
        for record in journal.replay():
            self.apply(record)

    # ------------------------------------------------------------------ helpers
    def day(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.tz).strftime("%Y-%m-%d")

    def month(self, ts: float) -> str:
        return datetime.fromtimestamp(ts, self.tz).strftime("%Y-%m")

    def next_id(self, name: str, start: int) -> int:
        self.counters[name] = max(self.counters[name], start) + 1
        return self.counters[name]

    def commit(self, record: dict[str, Any]) -> Any:
        result = self.apply(record)
        self.journal.append(record)
        return result

    def save_file(self, name: str, data: bytes) -> None:
        if self.journal.directory is None:
            self.memory_files[name] = data
        else:
            self.journal.save_file(name, data)

    def load_file(self, name: str) -> bytes | None:
        return self.memory_files.get(name) or self.journal.load_file(name)

    def active_followers(self) -> list[Follower]:
        return [f for f in (self.followers[o] for o in self.follower_order) if f.subscribed]

    @staticmethod
    def bulk_openid(app_id: str, n: int) -> str:
        digest = hashlib.sha1(f"{app_id}:{n}".encode()).digest()
        return "o" + base64.urlsafe_b64encode(digest).decode()[:27]

    # ------------------------------------------------------------------ applying records
    def apply(self, r: dict[str, Any]) -> Any:  # noqa: C901 - one branch per record type
        kind = r["t"]
        if kind == "token":
            token = Token(r["value"], r["kind"], r["expires_at"])
            self.tokens[token.value] = token
            if token.kind == "stable":
                self.stable_current = token.value
            else:
                previous = self.tokens.get(self.basic_current or "")
                if previous is not None:  # the old token works five more minutes
                    previous.expires_at = min(previous.expires_at, r["at"] + 300)
                self.basic_current = token.value
            if r.get("forced"):
                self.force_refreshes.append(r["at"])
                for old in r.get("revoke", ()):
                    if old in self.tokens:
                        self.tokens[old].revoked = 40001
            return token
        if kind == "token_revoke":
            for token in self.tokens.values():
                if not token.revoked and (not r.get("kind") or token.kind == r["kind"]):
                    token.revoked = r["code"]
            self.stable_current = None
            return None
        if kind == "media":
            self.media[r["media_id"]] = r
            return r
        if kind == "image":
            self.images[r["name"]] = r
            return r
        if kind == "draft":
            self.drafts[r["media_id"]] = {"articles": r["articles"], "at": r["at"]}
            return r
        if kind == "draft_delete":
            self.drafts.pop(r["media_id"], None)
            return None
        if kind == "publish":
            pub = Publication(key=r["publish_id"], kind="publish", media_id=r["media_id"],
                              articles=r["articles"], at=r["at"], msg_data_id=r["msg_data_id"])
            self.publications[pub.key] = pub
            self.counters["publish"] = max(self.counters["publish"], int(r["publish_id"]))
            return pub
        if kind == "publish_done":
            pub = self.publications[r["publish_id"]]
            pub.status, pub.done_at = r["status"], r["at"]
            pub.article_id, pub.fail_idx = r.get("article_id", ""), r.get("fail_idx", [])
            if pub.status == 0:
                self.by_article[pub.article_id] = pub.key
                self.drafts.pop(pub.media_id, None)  # a published draft leaves the draft box
            return pub
        if kind == "publish_delete":
            pub = self.publications[self.by_article[r["article_id"]]]
            index = r["index"]
            pub.deleted.update(range(1, len(pub.articles) + 1) if index == 0 else {index})
            if len(pub.deleted) == len(pub.articles):
                pub.status = 5
            return pub
        if kind == "mass":
            return self._apply_mass(r)
        if kind == "mass_done":
            pub = self.publications[f"mass:{r['msg_id']}"]
            pub.mass_status, pub.done_at = r["status"], r["at"]
            pub.status = 0 if r["status"] == "SEND_SUCCESS" else 3
            pub.fail_reason = r.get("reason", "")
            pub.article_id = r.get("article_id", "")
            if pub.article_id:
                self.by_article[pub.article_id] = pub.key
            return pub
        if kind == "mass_delete":
            pub = self.publications[f"mass:{r['msg_id']}"]
            index = r["article_idx"]
            pub.deleted.update(range(1, len(pub.articles) + 1) if index == 0 else {index})
            if len(pub.deleted) == len(pub.articles):
                pub.mass_status = "DELETE"
            return pub
        if kind == "template":
            self.templates.append(r)
            self.template_counts[r["kind"]] += 1
            self.counters["template"] = max(self.counters["template"], r["msgid"])
            return r
        if kind == "follow":
            follower = self.followers.get(r["openid"])
            if follower is None:
                follower = Follower(r["openid"], True, r["at"])
                self.followers[r["openid"]] = follower
                self.follower_order.append(r["openid"])
            follower.subscribed, follower.since = True, r["at"]
            self.follow_log.append(r)
            return follower
        if kind == "unfollow":
            follower = self.followers.get(r["openid"])
            if follower is not None:
                follower.subscribed = False
            self.follow_log.append(r)
            return follower
        if kind == "followers_bulk":
            for n in range(r["start"], r["start"] + r["count"]):
                openid = self.bulk_openid(self.config.app_id, n)
                if openid not in self.followers:
                    self.followers[openid] = Follower(openid, True, r["at"])
                    self.follower_order.append(openid)
            self.counters["bulk"] = max(self.counters["bulk"], r["start"] + r["count"])
            return r["count"]
        if kind == "refuse":
            self.refusers.add(r["openid"])
            return None
        if kind == "tag":
            self.tags[r["id"]] = r["name"]
            self.counters["tag"] = max(self.counters["tag"], r["id"])
            return r["id"]
        if kind == "tagging":
            for openid in r["openids"]:
                follower = self.followers.get(openid)
                if follower is not None:
                    (follower.tags.add if r["add"] else follower.tags.discard)(r["tag_id"])
            return None
        raise ValueError(f"unknown record {kind!r}")

    def _apply_mass(self, r: dict[str, Any]) -> Publication:
        pub = Publication(key=f"mass:{r['msg_id']}", kind="mass", media_id=r["media_id"],
                          articles=r["articles"], at=r["at"], msg_id=r["msg_id"],
                          msg_data_id=r["msg_data_id"], clientmsgid=r.get("clientmsgid", ""),
                          to_all=r["to_all"], tag_id=r.get("tag_id"), preview=r.get("preview", False),
                          openids=r.get("openids") or [], text=r.get("text", ""), mass_status="SENDING")
        self.counters["mass"] = max(self.counters["mass"], r["msg_id"])
        if pub.clientmsgid:
            self.clientmsgids[pub.clientmsgid] = pub.msg_id
            self.clientmsgid_at[pub.clientmsgid] = pub.at
        if pub.preview:
            pub.recipients = 1
        else:
            month = self.month(r["at"])
            limit = self.config.per_follower_per_month if self.config.account_type == "service" else 0
            if pub.openids:
                listed = [self.followers.get(o) for o in pub.openids]
                audience = [f for f in listed if f is not None and f.subscribed]
                pub.filtered += len(listed) - len(audience)
            else:
                audience = [f for f in self.active_followers() if pub.to_all or pub.tag_id in f.tags]
            for follower in audience:
                if limit and follower.received[month] >= limit:
                    pub.filtered += 1
                    continue
                follower.received[month] += 1
                pub.recipients += 1
            if pub.media_id:
                self.drafts.pop(pub.media_id, None)  # a mass-sent draft leaves the draft box
        self.publications[pub.key] = pub
        self.by_msg_id[pub.msg_id] = pub.key
        return pub

    # ------------------------------------------------------------------ queries
    def mass_sends(self) -> list[Publication]:
        return [p for p in self.publications.values() if p.kind == "mass" and not p.preview]

    def recent_clientmsgid(self, clientmsgid: str, now: float) -> int | None:
        """The msg_id of the mass send that used ``clientmsgid`` in the last 24 hours."""
        at = self.clientmsgid_at.get(clientmsgid)
        if at is None or now - at >= CLIENTMSGID_SECONDS:
            return None
        return self.clientmsgids[clientmsgid]

    def pushes_today(self, now: float) -> int:
        today = self.day(now)
        return sum(1 for p in self.mass_sends() if self.day(p.at) == today and p.status in (0, 1))

    def to_all_this_month(self, now: float) -> int:
        month = self.month(now)
        return sum(1 for p in self.mass_sends()
                   if p.to_all and self.month(p.at) == month and p.status in (0, 1))

    def summary(self) -> dict[str, Any]:
        """A JSON view for tests, the bench and the admin endpoint."""
        pubs = []
        for p in self.publications.values():
            pubs.append({"key": p.key, "kind": p.kind, "status": p.status, "article_id": p.article_id,
                         "msg_id": p.msg_id, "clientmsgid": p.clientmsgid, "to_all": p.to_all,
                         "tag_id": p.tag_id, "openids": len(p.openids), "text": p.text,
                         "recipients": p.recipients, "filtered": p.filtered,
                         "preview": p.preview, "mass_status": p.mass_status,
                         "deleted": sorted(p.deleted), "fail_idx": p.fail_idx,
                         "titles": [a["title"] for a in p.articles],
                         "urls": [p.url(self.config.public_url, i + 1) for i in range(len(p.articles))]
                         if p.article_id else []})
        return {"publications": pubs, "drafts": len(self.drafts),
                "followers": sum(1 for f in self.followers.values() if f.subscribed),
                "templates": dict(self.template_counts), "clientmsgids": dict(self.clientmsgids),
                "media": len(self.media), "images": len(self.images),
                "tokens_issued": len(self.tokens)}
