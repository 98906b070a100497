"""Faults a test (or the admin endpoint) can switch on: latency, HTTP 5xx, an error code, a
call that is carried out but never answered, tokens that expire or are invalidated mid-run, and
publish jobs that end in failure."""
from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Faults:
    latency: float = 0.0  # seconds added to every API call
    reject_all_tokens: bool = False  # every call answers 40001 (a broken account)
    http_errors: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    errcodes: dict[str, deque[int]] = field(default_factory=lambda: defaultdict(deque))
    hangs: dict[str, deque[float]] = field(default_factory=lambda: defaultdict(deque))
    token_revocations: deque[tuple[int, int]] = field(default_factory=deque)  # (after calls, code)
    publish_outcomes: deque[tuple[int, list[int]]] = field(default_factory=deque)
    mass_outcomes: deque[str] = field(default_factory=deque)
    calls: int = 0  # authenticated API calls answered so far

    def http_error(self, endpoint: str, status: int = 503, times: int = 1) -> None:
        """Answer ``endpoint`` with an HTTP error before doing anything."""
        self.http_errors[endpoint].extend([status] * times)

    def errcode(self, endpoint: str, code: int, times: int = 1) -> None:
        """Answer ``endpoint`` with a WeChat error code before doing anything."""
        self.errcodes[endpoint].extend([code] * times)

    def hang_after_accept(self, endpoint: str, seconds: float = 3600.0, times: int = 1) -> None:
        """Carry the call out, then keep the caller waiting (a timeout after accepting)."""
        self.hangs[endpoint].extend([seconds] * times)

    def expire_tokens(self, after_calls: int = 0) -> None:
        """Every token issued so far answers 42001 once ``after_calls`` more calls are made."""
        self.token_revocations.append((self.calls + after_calls, 42001))

    def invalidate_tokens(self, after_calls: int = 0) -> None:
        """Every token issued so far answers 40001 once ``after_calls`` more calls are made."""
        self.token_revocations.append((self.calls + after_calls, 40001))

    def fail_next_publish(self, status: int = 3, fail_idx: list[int] | None = None) -> None:
        """The next publish job ends with ``status`` (2 原创失败, 3 常规失败, 4 审核不通过)."""
        self.publish_outcomes.append((status, list(fail_idx or [1])))

    def fail_next_mass(self, status: str = "send fail") -> None:
        self.mass_outcomes.append(status)

    @staticmethod
    def take(queue: deque) -> Any:
        return queue.popleft() if queue else None

    def configure(self, spec: dict[str, Any]) -> None:
        """The admin endpoint's JSON form of the methods above."""
        if "latency" in spec:
            self.latency = float(spec["latency"])
        if "reject_all_tokens" in spec:
            self.reject_all_tokens = bool(spec["reject_all_tokens"])
        for item in spec.get("http_errors", []):
            self.http_error(item["endpoint"], int(item.get("status", 503)), int(item.get("times", 1)))
        for item in spec.get("errcodes", []):
            self.errcode(item["endpoint"], int(item["code"]), int(item.get("times", 1)))
        for item in spec.get("hangs", []):
            self.hang_after_accept(item["endpoint"], float(item.get("seconds", 3600)),
                                   int(item.get("times", 1)))
        if "expire_tokens_after" in spec:
            self.expire_tokens(int(spec["expire_tokens_after"]))
        if "invalidate_tokens_after" in spec:
            self.invalidate_tokens(int(spec["invalidate_tokens_after"]))
        for item in spec.get("publish_failures", []):
            self.fail_next_publish(int(item.get("status", 3)), item.get("fail_idx"))
        if spec.get("clear"):
            self.http_errors.clear()
            self.errcodes.clear()
            self.hangs.clear()
            self.token_revocations.clear()
            self.publish_outcomes.clear()
            self.latency = 0.0
            self.reject_all_tokens = False
