"""Retracting an item from WeChat: every published article of it (the original and any
correction) is deleted — ``freepublish/delete`` with the article's position in its publication,
or ``message/mass/delete`` for an article that was pushed. Only that item's article goes; the
other articles of a bundle stay. Deleting is idempotent (53600 = already gone)."""
from __future__ import annotations

from typing import TYPE_CHECKING

from channels.base import Job, Outcome, Result
from channels.wechat import outcomes
from channels.wechat.errors import WechatError, WechatTransportError
from channels.wechat.publish import earlier_articles

if TYPE_CHECKING:
    from channels.wechat.channel import WechatChannel


async def retract(channel: WechatChannel, job: Job) -> Result:
    deleted: list[str] = []
    for item in job.items:
        async with channel.store.sessions() as session:
            earlier = await earlier_articles(session, item.id)
        for article in earlier:
            row = article.row
            if article.index in (row.deleted or []):
                continue
            try:
                if row.mode == "push":
                    await channel.api.mass_delete(row.msg_id, article.index)
                else:
                    await channel.api.publish_delete(row.article_id, article.index)
            except WechatError as exc:
                if exc.code != 53600:
                    return outcomes.for_error(exc, channel.clock.now(), f"删除稿件 {item.id} 的微信文章",
                                              {"deleted": deleted})
            except WechatTransportError as exc:
                return Result(Outcome.RETRY, f"删除稿件 {item.id} 的微信文章：{exc}；稍后重试（删除可重复）",
                              {"deleted": deleted})
            await channel.publisher.save(row, deleted=sorted({*(row.deleted or []), article.index}))
            deleted.append(f"稿件 {item.id}（{'群发' if row.mode == 'push' else '发表'} "
                           f"{row.msg_id or row.article_id} 第 {article.index} 篇）")
    if not deleted:
        return Result(Outcome.SENT, "公众号上没有这些稿件的已发布文章，无需删除", {"deleted": []})
    return Result(Outcome.SENT, "已从微信公众号删除：" + "；".join(deleted), {"deleted": deleted})
