"""From what the platform answered to the outcome the runner records, with a message staff
understand. A failure that waits for a person (wrong credentials, IP not whitelisted) pauses the
channel instead of failing the release; a quota or rate limit (45009 the day's API quota, 45011
too frequent, -1 busy) is a wait (throttled) that never uses up the attempt limit. 45028 (no mass
send quota) is handled where the push is made (publish without the push, or wait)."""
from __future__ import annotations

from datetime import datetime, timedelta

from channels.base import Outcome, Result
from channels.wechat.errors import (
    CREDENTIAL_ERRORS,
    TOKEN_ERRORS,
    WechatError,
    WechatTransportError,
)
from channels.wechat.push import WECHAT_TZ

THROTTLED_CODES = frozenset({-1, 45011})

PUBLISH_STATUS = {
    0: "发布成功", 1: "发布中", 2: "原创声明校验失败", 3: "常规失败", 4: "平台审核不通过",
    5: "发布成功后全部文章已被删除", 6: "发布成功后全部文章被系统封禁",
}


def seconds_to_midnight(now: datetime) -> float:
    local = now.astimezone(WECHAT_TZ)
    tomorrow = (local + timedelta(days=1)).replace(hour=0, minute=5, second=0, microsecond=0)
    return (tomorrow - local).total_seconds()


def for_error(exc: WechatError, now: datetime, doing: str, receipt: dict | None = None) -> Result:
    detail = f"{doing}失败：{exc.describe()}"
    receipt = receipt or {}
    if exc.code == 45009:  # the day's quota: a wait, never a failure
        return Result(Outcome.THROTTLED, detail + "；将于次日 0 点后自动继续", receipt,
                      retry_after=seconds_to_midnight(now))
    if exc.code in THROTTLED_CODES:  # busy or too frequent: however often, wait and go on
        return Result(Outcome.THROTTLED, detail + "；1 分钟后自动继续", receipt, retry_after=60)
    if exc.code in CREDENTIAL_ERRORS or exc.code == 48001 or (
            exc.code in TOKEN_ERRORS and exc.endpoint in ("token", "stable_token")):
        return Result(Outcome.PAUSED, detail + "；修正后渠道自动继续", receipt, retry_after=600)
    if exc.code in TOKEN_ERRORS:
        return Result(Outcome.PAUSED, detail + "（刷新令牌并重试一次后仍被拒绝）；稍后自动再试", receipt,
                      retry_after=300)
    return Result(Outcome.FAILED, detail, receipt)


def for_transport(exc: WechatTransportError, doing: str, *, intent_recorded: bool,
                  receipt: dict | None = None) -> Result:
    """Before any publish/push call an unclear answer is simply retried (nothing public
    happened); after one, the outcome is unknown and is reconciled, never resent blindly."""
    if intent_recorded and exc.reached:
        return Result(Outcome.UNKNOWN, f"{doing}：{exc}，结果未知；将向微信核对，不会重复发送", receipt or {})
    return Result(Outcome.RETRY, f"{doing}：{exc}；稍后重试", receipt or {})
