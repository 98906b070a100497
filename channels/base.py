"""The one small interface every channel implements, and the values that cross it.

A delivery runs intent → call → outcome → reconcile:

* the runner records the attempt (intent) before calling :meth:`Channel.deliver`;
* the channel returns a typed :class:`Result`; it never raises for a remote failure;
* after a crash or a timeout the attempt has no outcome; the runner then calls
  :meth:`Channel.reconcile`, which asks the remote side what happened instead of resending.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, runtime_checkable

from content.views import ItemView

if TYPE_CHECKING:
    from content.clock import Clock
    from content.db import Store
    from content.render import Renderer


class Outcome(StrEnum):
    """What one call to a channel achieved."""

    SENT = "sent"            # delivered and confirmed
    SUBMITTED = "submitted"  # accepted; the remote side confirms later (event or poll)
    RETRY = "retry"          # did not reach the remote side (or was refused before acting): try again
    FAILED = "failed"        # will not succeed by retrying; staff must act
    UNKNOWN = "unknown"      # may or may not have reached the remote side: reconcile, never resend
    PAUSED = "paused"        # the channel cannot act now (e.g. expired token): wait, do not fail
    #: A rate limit or quota (the remote side's or the bot's own ceiling): wait ``retry_after``
    #: seconds and go on where it stopped. Never a failure, never counted toward the attempt limit.
    THROTTLED = "throttled"


class Purpose(StrEnum):
    PUBLISH = "publish"
    CORRECT = "correct"
    RETRACT = "retract"


@dataclass(frozen=True)
class Pace:
    """How fast a throttled delivery can drain: ``remaining`` units (posts, messages) still to
    send, at most ``per_window`` of them per ``window_seconds`` (None = not known)."""

    remaining: int
    per_window: int | None = None
    window_seconds: float = 3600.0

    def to_json(self) -> dict[str, Any]:
        return {"remaining": self.remaining, "per_window": self.per_window,
                "window_seconds": self.window_seconds}


@dataclass(frozen=True)
class Result:
    outcome: Outcome
    detail: str = ""  # for staff, in Chinese
    receipt: Mapping[str, Any] = field(default_factory=dict)  # remote ids, URLs
    progress: Mapping[str, Any] | None = None  # fan-out position to resume from
    retry_after: float | None = None  # seconds, when the remote side says so
    pace: Pace | None = None  # with THROTTLED: what is left and the rate it may go at


@dataclass(frozen=True)
class Job:
    """One delivery: a release's items (policy first) for one channel."""

    delivery_id: int
    release_id: int
    channel: str
    purpose: Purpose
    items: tuple[ItemView, ...]
    options: Mapping[str, Any]
    attempt: int
    receipt: Mapping[str, Any]
    progress: Mapping[str, Any]
    due_at: datetime
    published_at: datetime | None
    #: Record fan-out progress (resumed from after a crash) and extend the runner's lease.
    checkpoint: Callable[[Mapping[str, Any]], Awaitable[None]] | None = field(
        default=None, compare=False, repr=False)

    @property
    def idempotency_key(self) -> str:
        """Stable across retries and restarts: what a remote dedupe key should be."""
        return f"gongkai-r{self.release_id}-{self.channel}-{self.purpose.value}"


@dataclass(frozen=True)
class LengthCheck:
    name: str
    limit: int
    actual: int
    unit: str = "字"
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.actual <= self.limit


@dataclass(frozen=True)
class Rendition:
    """Exactly what a channel would send for one item (or one bundle), with its checks."""

    label: str
    text: str
    checks: tuple[LengthCheck, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass(frozen=True)
class Capabilities:
    """What the runner may assume about a channel."""

    idempotent: bool  # sending again is harmless (the runner may retry an unknown outcome)
    bundle_atomic: bool = False  # a bundle goes out as one remote operation
    retract: bool = False
    correct: bool = False
    max_attempts: int = 5


@dataclass(frozen=True)
class ChannelContext:
    """Everything a channel may use, handed over by the bot."""

    settings: Any  # the channel's own config section (a pydantic model)
    store: Store
    clock: Clock
    renderer: Renderer
    site_url: str  # public base URL of the website, for links in what is sent
    data_dir: Any
    local_url: str = ""  # where this bot listens (http://host:port): sandbox APIs and callbacks

    def sandbox_url(self, name: str) -> str:
        """The API base of the bot's own emulator of ``name`` (mounted at /sandbox/<name>/api)."""
        return f"{self.local_url}/sandbox/{name}/api"


@runtime_checkable
class Channel(Protocol):
    name: ClassVar[str]
    label: ClassVar[str]
    capabilities: ClassVar[Capabilities]

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    def render(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[Rendition]:
        """What :meth:`deliver` would send for these items; used by ``post preview``."""
        ...

    async def deliver(self, job: Job) -> Result: ...

    async def reconcile(self, job: Job) -> Result:
        """Settle an attempt whose outcome was not recorded (crash, timeout)."""
        ...


@dataclass(frozen=True)
class DutySent:
    """What a channel's ``send_duty(address, values)`` did with one warning to a duty contact:
    sent (with the remote id), or not, with an error in Chinese; ``final`` when retrying cannot
    help (no such recipient, no template configured), so the message fails at once."""

    remote_id: str = ""
    error: str | None = None
    final: bool = False


@dataclass(frozen=True)
class Reach:
    """How many people a release would reach on one channel, for the mass-action confirmation."""

    channel: str
    people: int
    parts: int | None  # billed parts per person (SMS segments); None where nothing is billed
    label: str  # for staff, in Chinese: 短信订阅号码 / 微信粉丝（群发）


class ChannelExtras(Protocol):
    """Optional methods a channel may add; the bot calls them when present.

    * ``async precheck(items, options) -> list[str]``: before ``release create`` stores a
      release; returns warnings to show, or raises ``content.errors.InputError`` to refuse
      (e.g. a WeChat push over the account's quota). ``options`` holds the release options and
      ``due_at``, the release instant.
    * ``async alerts() -> list[str]``: lines for ``gongkai status`` (e.g. a token about to expire).
    * ``async reach(items, options) -> Reach | None``: how many people a release of ``items``
      would message or push to (None: nobody); a release that reaches anyone asks for
      confirmation first.
    * ``async calendar_notes(first, last) -> list[channels.plan_notes.DayNote]``: lines for the
      console's release calendar (a day's push quota use, quiet hours).
    * ``async send_duty(address, values) -> DutySent``: a compliance warning or miss to one duty
      contact (``values`` from ``schedules.notices.duty_params`` plus ``url``); may raise on a
      transient failure (the message is retried).
    """

    async def precheck(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> list[str]: ...

    async def alerts(self) -> list[str]: ...

    async def reach(self, items: tuple[ItemView, ...], options: Mapping[str, Any]) -> Reach | None: ...
