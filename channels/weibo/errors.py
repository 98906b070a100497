"""Weibo's error bodies and what each code means for a delivery.

An error is HTTP 4xx/5xx with a JSON body such as
``{"request": "/2/statuses/share.json", "error_code": "10006", "error": "..."}``; OAuth
endpoints add ``error_description``. ``error_code`` comes as a string or as a number.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    TOKEN = "token"          # the access token cannot be used: pause until a new one is set
    RATE = "rate"            # a rate limit: back off and try again later
    DUPLICATE = "duplicate"  # Weibo already has this (or a similar) post: look for it
    TOO_LONG = "too_long"    # 20012: failed, with the length we measured
    TRANSIENT = "transient"  # refused before acting (busy, unavailable): try again
    AMBIGUOUS = "ambiguous"  # a server-side fault that may have happened after posting
    FATAL = "fatal"          # will not work by retrying: staff must act


TOKEN_CODES = frozenset({21301, 21314, 21315, 21316, 21317, 21318, 21319, 21327, 21332})
RATE_CODES = frozenset({10022, 10023, 10024, 20016})
DUPLICATE_CODES = frozenset({20017, 20019, 20111})
TRANSIENT_CODES = frozenset({10002, 10009})
AMBIGUOUS_CODES = frozenset({10001, 10003, 10010, 10011})

#: What staff should do about the errors that stop a post for good.
FIXES = {
    10006: "检查 [channels.weibo] app_key",
    10014: "应用没有该接口的权限：在微博开放平台“接口管理”中申请",
    10016: "缺少必填参数：请报告此问题",
    10017: "检查安全域名（[channels.weibo] safe_domain 须与微博应用“安全域名”一致且已通过审核）和 rip",
    20005: "封面图片须为 JPEG、GIF 或 PNG：换一张封面",
    20006: "封面图片须小于 5 MB：换一张较小的封面",
    20008: "微博正文为空：检查模板 weibo/<类型>.j2",
    20012: "缩短标题或模板中的固定文字",
    21324: "检查 [channels.weibo] app_key 与 app_secret",
    21337: "应用权限不足：在微博开放平台检查应用状态",
}


@dataclass(frozen=True)
class WeiboError:
    status: int  # HTTP status
    code: int  # 0 when the body had none
    message: str
    request: str = ""

    @property
    def kind(self) -> Kind:
        return classify(self.code, self.status)

    def describe(self) -> str:
        label = f"{self.code} {self.message}".strip() if self.code else f"HTTP {self.status} {self.message}".strip()
        return f"微博返回错误 {label}"

    @property
    def fix(self) -> str:
        return FIXES.get(self.code, "")


def classify(code: int, status: int = 400) -> Kind:
    if code in TOKEN_CODES:
        return Kind.TOKEN
    if code in RATE_CODES:
        return Kind.RATE
    if code in DUPLICATE_CODES:
        return Kind.DUPLICATE
    if code == 20012:
        return Kind.TOO_LONG
    if code in TRANSIENT_CODES:
        return Kind.TRANSIENT
    if code in AMBIGUOUS_CODES:
        return Kind.AMBIGUOUS
    if not code:
        if status == 429:
            return Kind.RATE
        if status in (502, 503, 504):
            return Kind.AMBIGUOUS
        if status >= 500:
            return Kind.AMBIGUOUS
    return Kind.FATAL


def _code(value: Any) -> int:
    """``error_code`` as an int, whether Weibo sent ``"20019"`` or ``20019``."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return 0


def parse_error(status: int, body: bytes | str) -> WeiboError | None:
    """The error in a response, or None when it is a success. A body that is not JSON with a
    4xx/5xx status is an error too (a proxy's page, an empty reply)."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    try:
        data = json.loads(text) if text.strip() else None
    except ValueError:
        data = None
    if isinstance(data, dict) and ("error_code" in data or ("error" in data and status >= 400)):
        message = str(data.get("error_description") or data.get("error") or "").strip()
        return WeiboError(status, _code(data.get("error_code")), message, str(data.get("request") or ""))
    if status >= 400:
        snippet = " ".join(text.split())[:120]
        return WeiboError(status, 0, snippet)
    return None
