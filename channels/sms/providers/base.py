"""What a provider call can answer, in the provider-neutral terms the fan-out works with."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple, Protocol


class Failure(StrEnum):
    """Why a whole call failed, which decides what happens next."""

    AUTH = "auth"  # credentials, permissions, account state, clock: the provider is unusable → failover / pause
    QUOTA = "quota"  # balance or daily quota of the account exhausted → failover / pause
    THROTTLED = "throttled"  # provider-wide rate limit: back off and try again
    REJECTED = "rejected"  # the request itself is wrong (template, signature, parameters): staff must fix
    NUMBERS = "numbers"  # a per-number refusal in a multi-number call: send those numbers one by one
    UNREACHABLE = "unreachable"  # never reached the provider (connection refused, DNS): safe to retry
    UNCERTAIN = "uncertain"  # may or may not have been processed (timeout, 5xx, garbled answer)


class ProviderError(Exception):
    def __init__(self, failure: Failure, code: str, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.failure = failure
        self.code = code
        self.message = message
        self.retry_after = retry_after


class NumberResult(NamedTuple):  # a tuple: a thousand are made per call
    phone: str  # +86…
    status: str  # sent | skipped | failed
    remote_id: str = ""  # Aliyun BizId (one per call), Tencent SerialNo (one per number)
    code: str = ""
    message: str = ""


@dataclass(frozen=True)
class Report:
    """A delivery report (receipt) for one number."""

    phone: str
    remote_id: str
    marker: str  # our OutId / SessionContext, echoed back
    delivered: bool
    code: str
    message: str
    at: datetime | None = None


@dataclass(frozen=True)
class Reply:
    """A text a subscriber sent back (uplink / MO)."""

    phone: str
    text: str
    at: datetime | None = None
    sign: str = ""


@dataclass(frozen=True)
class Found:
    """What the provider's status query says about one number of one of our calls."""

    phone: str
    status: str  # sent (accepted, no receipt yet) | delivered | failed
    code: str = ""


class Provider(Protocol):
    name: str
    label: str
    max_batch: int
    #: True when a status query that finds nothing proves the call was not accepted (Aliyun
    #: QuerySendDetails lists every accepted message); False when only receipts can be found.
    proves_absence: bool

    async def send(self, phones: Sequence[str], template: str, params: Mapping[str, str], *,
                   marker: str) -> list[NumberResult]:
        """One provider call for ``phones`` (≤ max_batch). Raises :class:`ProviderError`."""
        ...

    async def lookup(self, phone: str, marker: str, since: datetime) -> Found | None:
        """Was a message of our call ``marker`` accepted for ``phone``? Raises ProviderError."""
        ...

    async def pull_reports(self, limit: int = 100) -> list[Report]: ...

    async def pull_replies(self, limit: int = 100) -> list[Reply]: ...
