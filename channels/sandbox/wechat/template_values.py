"""The value rules of template and subscribe messages: a data key's type is its prefix
(``thing1`` → thing) and each type limits what its value may hold. ``thing`` ≤ 20 characters is
in the protocol reference (§1.7); the other types follow the official subscribe-notification
page (service/api/notify/notify/api_sendnewsubscribemsg: "thing 20个以内字符", "number 32位以内
数字", "symbol 5位以内", …). Keys of no known type (legacy ``first``, ``keyword1``, ``remark``)
are not checked. A value that breaks its rule answers 47003 naming the key, as WeChat does."""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from channels.sandbox.wechat.wire import Failure

CJK = "\u3400-\u4dbf\u4e00-\u9fff"
CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _is(pattern: str) -> Callable[[str], bool]:
    compiled = re.compile(pattern)
    return lambda value: compiled.fullmatch(value) is not None


def _name(value: str) -> bool:
    if re.search(f"[{CJK}]", value):
        return len(value) <= 10
    return len(value) <= 20


#: type -> (most characters, what else the value must be)
RULES: dict[str, tuple[int, Callable[[str], bool]]] = {
    "thing": (20, lambda v: True),
    "number": (32, _is(r"[0-9]+(\.[0-9]+)?")),
    "letter": (32, _is(r"[A-Za-z]+")),
    "symbol": (5, _is(f"[^A-Za-z0-9{CJK}\\s]+")),
    "character_string": (32, _is(r"[\x21-\x7e]+")),
    "time": (64, _is(r".*[0-9]{1,2}:[0-9]{2}(:[0-9]{2})?.*")),  # 24-hour time, a date may lead
    "date": (64, _is(r".*[0-9].*")),
    "amount": (14, _is(r"[^0-9A-Za-z\s]?[0-9]{1,10}(\.[0-9]+)?元?")),
    "phone_number": (17, _is(r"[0-9+\-() ]+")),
    "car_number": (8, _is(f"[{CJK}A-Za-z0-9]?[A-Za-z0-9]*[{CJK}A-Za-z0-9]?")),
    "name": (20, _name),
    "phrase": (5, _is(f"[{CJK}]+")),
}
#: longest prefix first, so "character_string2" is not read as something shorter
PREFIXES = sorted(RULES, key=len, reverse=True)


def kind_of(key: str) -> str | None:
    return next((p for p in PREFIXES if key.startswith(p) and key[len(p):].isdigit()), None)


def check(data: Any) -> dict[str, Any]:
    """The ``data`` of a template or subscribe message, or 47001 (not the documented shape) /
    47003 (a value its type does not allow)."""
    if not isinstance(data, dict) or not data or not all(
            isinstance(v, dict) and isinstance(v.get("value"), str) for v in data.values()):
        raise Failure(47001)
    for key, entry in data.items():
        kind = kind_of(str(key))
        if kind is None:
            continue
        value = entry["value"]
        limit, allowed = RULES[kind]
        if not value:
            raise Failure(47003, errmsg=f"argument invalid! data.{key}.value is empty")
        if len(value) > limit:
            raise Failure(47003, errmsg=f"argument invalid! data.{key}.value exceed max length {limit}")
        if CONTROL.search(value) or not allowed(value):
            raise Failure(47003, errmsg=f"argument invalid! data.{key}.value invalid")
    return data
