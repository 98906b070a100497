"""Weibo's console panel: whether the channel is authorised and until when (never the token)."""
from __future__ import annotations

from channels.extension import Host
from channels.weibo.tokens import TokenStore


async def status(host: Host) -> dict[str, str]:
    now = host.clock.now()
    token = await TokenStore(host.store).get()
    if token is None:
        return {"授权": "尚未授权（运行 gongkai channel weibo authorize）"}
    problem = token.problem(now, host.renderer.local)
    left = token.expires_at - now
    return {
        "授权": problem or "有效",
        "访问令牌到期": host.renderer.local(token.expires_at)
                     + (f"（还剩 {left.days} 天）" if left.total_seconds() > 0 else ""),
        "取得于": host.renderer.local(token.obtained_at),
    }
