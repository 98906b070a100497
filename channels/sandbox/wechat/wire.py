"""The wire format the emulated API shares across its handlers: error codes with WeChat's
messages (and a ``rid``), the success body, the checks on request bodies."""
from __future__ import annotations

import json
import re
import secrets
from typing import Any

from aiohttp import web

ERRMSG = {
    -1: "system error", 40001: "invalid credential, access_token is invalid or not latest",
    40002: "invalid grant_type", 40003: "invalid openid", 40004: "invalid media type",
    40005: "invalid file type", 40006: "invalid meida size", 40007: "invalid media_id", 40008: "invalid message type",
    40009: "invalid image size", 40013: "invalid appid", 40014: "invalid access_token",
    40032: "invalid openid list size", 40130: "invalid openid list size, at least two openid", 40036: "invalid template_id size",
    40037: "invalid template_id", 40125: "invalid appsecret", 40164: "invalid ip {ip}, not in whitelist",
    41001: "access_token missing", 41005: "media data missing", 41002: "appid missing", 41004: "appsecret missing",
    42001: "access_token expired", 43004: "require subscribe",
    43101: "user refuse to accept the msg", 44002: "empty post data",
    45002: "content size out of limit", 45003: "title size out of limit",
    45004: "description size out of limit", 45008: "article size out of limit",
    45009: "reach max api daily quota limit",
    45011: "api minute-quota reach limit  mustslower  retry next minute",
    45028: "has no masssend quota", 45065: "clientmsgid exist",
    45067: "clientmsgid size out of limit", 45110: "author size out of limit",
    45157: "invalid tag name", 45158: "tag name too long", 45159: "invalid tag id",
    47001: "data format error", 47003: "argument invalid!",
    48001: "api unauthorized", 53503: "draft is being published", 53600: "Article ID 无效",
}
OPENID = re.compile(r"^[A-Za-z0-9_\-]{28}$")
UNICODE_ESCAPE = re.compile(rb"\\u[0-9a-fA-F]{4}")


class Failure(Exception):
    def __init__(self, code: int, **extra: Any) -> None:
        self.code = code
        self.extra = extra


def error_body(code: int, ip: str = "", errmsg: str = "", **extra: Any) -> dict[str, Any]:
    rid = "-".join(secrets.token_hex(4) for _ in range(3))
    text = errmsg or ERRMSG.get(code, "error").format(ip=ip)
    return {"errcode": code, "errmsg": f"{text} rid: {rid}", **extra}


def ok(**extra: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **extra}


async def read_json(request: web.Request) -> dict[str, Any]:
    """A JSON object body, or 44002 (empty) / 47001 (not UTF-8 JSON)."""
    raw = await request.read()
    if not raw.strip():
        raise Failure(44002)
    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise Failure(47001) from None
    if not isinstance(data, dict):
        raise Failure(47001)
    return data
