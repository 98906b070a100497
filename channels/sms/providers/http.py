"""One HTTP exchange with a provider, with network failures sorted into "never reached" (safe to
retry) and "may have been processed" (reconcile before doing anything else)."""
from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from yarl import URL

from channels.sms.providers.base import Failure, ProviderError


async def post(session: aiohttp.ClientSession, url: str, *, headers: dict[str, str], body: bytes = b"",
               timeout: float, provider: str) -> tuple[int, Any]:
    try:
        async with session.post(URL(url, encoded=True), data=body or None, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout)) as resp:
            raw = await resp.read()
            status = resp.status
    except aiohttp.ClientConnectorError as exc:  # refused, DNS, unreachable: nothing was sent
        raise ProviderError(Failure.UNREACHABLE, "ConnectionFailed",
                            f"无法连接{provider}（{url.split('?')[0]}）：{exc.os_error or exc}") from exc
    except (asyncio.TimeoutError, aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError,
            aiohttp.ClientOSError) as exc:
        raise ProviderError(Failure.UNCERTAIN, "NoAnswer",
                            f"{provider}在 {timeout:.0f} 秒内没有完整应答（{type(exc).__name__}）") from exc
    except aiohttp.ClientError as exc:
        raise ProviderError(Failure.UNCERTAIN, "ClientError", f"与{provider}通信出错：{exc}") from exc
    if status >= 500:
        raise ProviderError(Failure.UNCERTAIN, f"HTTP{status}", f"{provider}返回 HTTP {status}")
    try:
        return status, json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        if 400 <= status < 500:  # refused before acting (a wrong URL or method, a proxy): nothing was sent
            failure = Failure.THROTTLED if status == 429 else Failure.REJECTED
            answer = raw[:80].decode("utf-8", "replace").strip() or f"HTTP {status}"
            raise ProviderError(failure, f"HTTP{status}", f"{answer}（请检查服务地址 base_url）",
                                retry_after=1.0 if status == 429 else None) from None
        raise ProviderError(Failure.UNCERTAIN, "BadAnswer",
                            f"{provider}返回了无法解析的内容（HTTP {status}）：{raw[:120]!r}") from None
