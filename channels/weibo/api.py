"""A small aiohttp client for the Weibo open API calls the channel makes: statuses/share,
statuses/user_timeline and account/rate_limit_status.

Transport failures are sorted by whether the request can have reached Weibo:
:class:`Unreachable` (no connection was made: safe to try again) and :class:`Uncertain` (the
request may have been acted on; its response was lost).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import aiohttp

from channels.weibo.errors import WeiboError, parse_error

MONTHS = {m: n for n, m in enumerate(
    ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"), start=1)}


class Unreachable(Exception):
    """The request did not reach Weibo (connection refused, DNS, connect timeout)."""


class Uncertain(Exception):
    """The request may have reached Weibo, but no usable answer came back."""


@dataclass(frozen=True)
class Status:
    idstr: str
    text: str
    created_at: datetime | None
    uid: str = ""
    has_pic: bool = False


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    location: str = ""


@dataclass(frozen=True)
class Picture:
    filename: str
    data: bytes
    mime: str


def parse_created_at(value: str) -> datetime | None:
    """``"Wed Oct 24 23:49:17 +0800 2012"`` → an aware datetime (locale-independent)."""
    try:
        _dow, mon, day, clock, offset, year = value.split()
        hh, mm, ss = (int(x) for x in clock.split(":"))
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        return datetime(int(year), MONTHS[mon], int(day), hh, mm, ss, tzinfo=tz).astimezone(UTC)
    except (ValueError, KeyError, IndexError, AttributeError):
        return None


def status_from(data: dict[str, Any]) -> Status:
    idstr = str(data.get("idstr") or data.get("mid") or data.get("id") or "")
    raw_user = data.get("user")
    user: dict[str, Any] = raw_user if isinstance(raw_user, dict) else {}
    return Status(idstr=idstr, text=str(data.get("text") or ""),
                  created_at=parse_created_at(str(data.get("created_at") or "")),
                  uid=str(user.get("idstr") or user.get("id") or data.get("uid") or ""),
                  has_pic=bool(data.get("original_pic") or data.get("pic_ids")))


class WeiboApi:
    """``base`` is the API host root, e.g. ``https://api.weibo.com`` (paths start with /2/)."""

    def __init__(self, base: str, timeout: float) -> None:
        self.base = base.rstrip("/")
        self.timeout = timeout
        self._session: aiohttp.ClientSession | None = None

    async def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.timeout, sock_connect=min(self.timeout, 10.0)))
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def call(self, method: str, path: str, **kw: Any) -> Reply:
        session = await self.session()
        try:
            async with session.request(method, self.base + path, allow_redirects=False, **kw) as resp:
                return Reply(resp.status, await resp.read(), resp.headers.get("Location", ""))
        except (aiohttp.ClientConnectorError, aiohttp.ConnectionTimeoutError, aiohttp.InvalidURL) as exc:
            raise Unreachable(f"无法连接微博接口 {self.base}：{exc}") from exc
        except TimeoutError as exc:
            raise Uncertain(f"微博接口 {self.timeout:.0f} 秒内没有回答") from exc
        except aiohttp.ClientError as exc:
            raise Uncertain(f"与微博接口的连接中断：{type(exc).__name__} {exc}") from exc

    @staticmethod
    def json(status: int, body: bytes) -> dict[str, Any] | WeiboError:
        error = parse_error(status, body)
        if error is not None:
            return error
        try:
            data = json.loads(body)
        except ValueError:
            data = None
        if not isinstance(data, dict):
            raise Uncertain(f"微博接口返回了无法解析的内容（HTTP {status}）")
        return data

    # --------------------------------------------------------------------------- statuses
    async def share(self, token: str, text: str, rip: str, pic: Picture | None = None) -> Status | WeiboError:
        """POST statuses/share: form-encoded, or multipart/form-data when a picture goes along."""
        if pic is None:
            payload: Any = {"access_token": token, "status": text, "rip": rip}
        else:
            payload = aiohttp.FormData()
            payload.add_field("access_token", token)
            payload.add_field("status", text)
            payload.add_field("rip", rip)
            payload.add_field("pic", pic.data, filename=pic.filename, content_type=pic.mime)
        reply = await self.call("POST", "/2/statuses/share.json", data=payload)
        data = self.json(reply.status, reply.body)
        if isinstance(data, WeiboError):
            return data
        posted = status_from(data)
        if not posted.idstr:
            raise Uncertain("微博接口的回答中没有微博编号（idstr）")
        return posted

    async def user_timeline(self, token: str, count: int = 100) -> list[Status] | WeiboError:
        reply = await self.call("GET", "/2/statuses/user_timeline.json",
                                params={"access_token": token, "count": str(count), "trim_user": "1"})
        data = self.json(reply.status, reply.body)
        if isinstance(data, WeiboError):
            return data
        return [status_from(s) for s in data.get("statuses") or [] if isinstance(s, dict)]

    async def rate_limit_status(self, token: str) -> dict[str, Any] | WeiboError:
        reply = await self.call("GET", "/2/account/rate_limit_status.json", params={"access_token": token})
        return self.json(reply.status, reply.body)
