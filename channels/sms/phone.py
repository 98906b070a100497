"""Mainland China mobile numbers: validation and the one normalised form we store (+86…).

This is the one validator: the subscription page, the staff import, and the numbers in the
providers' reports and replies all go through :func:`normalise`. Only ASCII digits make a number;
full-width digits (as typed with a Chinese input method) are made half-width first. Digits of
other scripts (Arabic-Indic ٩, Devanagari ९, superscripts, circled or mathematical digits) are
refused rather than folded, so no spelling of a number can pass for a different number."""
from __future__ import annotations

import re

from content.errors import InputError

MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
ASCII_DIGITS = re.compile(r"^[0-9]+$")
# Spaces (any), dashes and hyphens, brackets and dots people write between groups of digits.
SEPARATORS = re.compile(r"[\s\-\u2010-\u2015\u2212\uff0d()（）.．]")
# Full-width digits and plus sign → ASCII (nothing else is folded).
HALF_WIDTH = str.maketrans("０１２３４５６７８９＋", "0123456789+")
FIX = "请填写 11 位中国大陆手机号码，如 13812345678（可带 +86）"


def normalise(raw: str, *, field: str | None = None) -> str:
    """``"+86 138-1234-5678"``, ``"008613812345678"``, ``"１３８１２３４５６７８"`` → ``"+8613812345678"``.
    Raises :class:`InputError` naming the problem and the fix."""
    text = str(raw or "").strip()
    if not text:
        raise InputError("手机号码为空", field=field, fix=FIX)
    digits = SEPARATORS.sub("", text.translate(HALF_WIDTH))
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    if digits.startswith("+"):
        raise InputError(f"手机号码 {text} 不是中国大陆号码", field=field,
                         fix="本服务只支持中国大陆手机号码；" + FIX)
    if not ASCII_DIGITS.match(digits):
        raise InputError(f"手机号码 {text} 含有数字以外的字符", field=field,
                         fix="请只用阿拉伯数字 0–9（半角或全角）填写；" + FIX)
    if len(digits) != 11:
        raise InputError(f"手机号码 {text} 是 {len(digits)} 位数字，应为 11 位", field=field, fix=FIX)
    if not MOBILE.match(digits):
        raise InputError(f"手机号码 {text} 不是有效的手机号段（应以 13–19 开头）", field=field, fix=FIX)
    return "+86" + digits


def is_valid(raw: str) -> bool:
    try:
        normalise(raw)
    except InputError:
        return False
    return True


def national(phone: str) -> str:
    """``+8613812345678`` → ``13812345678`` (what Aliyun takes and reports)."""
    return phone[3:] if phone.startswith("+86") else phone


def masked(phone: str) -> str:
    """``+8613812345678`` → ``138****5678``, for logs and public pages."""
    n = national(phone)
    return f"{n[:3]}****{n[-4:]}" if len(n) == 11 else "***"
