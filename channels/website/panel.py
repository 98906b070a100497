"""The website's console panel: where the site is, what it holds, its feeds and search index."""
from __future__ import annotations

from sqlalchemy import func, select

from channels.extension import Host
from content.models import Item

LIVE_STATES = ("published", "corrected")


async def status(host: Host) -> dict[str, str]:
    base = host.settings.base_url
    site = host.settings.site_path
    async with host.store.sessions() as session:
        count, last = (await session.execute(select(func.count(Item.id), func.max(Item.published_at))
                                             .where(Item.state.in_(LIVE_STATES)))).one()
    return {
        "网站地址": base + "/",
        "在网站上的稿件": f"{count} 篇",
        "最近发布": host.renderer.local(last) if last else "尚无",
        "订阅源": f"{base}/rss.xml 、{base}/atom.xml",
        "站内搜索索引": "已建立" if (site / "pagefind").is_dir() else "尚未建立（首次发布后生成）",
    }
