"""Replies to what followers write to the account: the interpretations keyword gets the latest
published interpretations as a news reply; "订阅 栏目名" and "退订 [栏目名]" manage the topics a
follower is notified about; configured keywords get fixed answers; anything else the default
reply. Runs inside the callback's transaction."""
from __future__ import annotations

import re
from typing import Any

from sqlalchemy import select
from wechatpy.replies import ArticlesReply, TextReply

from channels.wechat.config import NO_REMINDERS
from content import audit, subscribers
from content.kinds import ItemState, Kind
from content.models import Item
from content.topics import ALL, EMERGENCY
from content.views import load_views

TOPIC_ALIASES = {"全部": ALL, "所有": ALL, "all": ALL, "突发": EMERGENCY, "突发事件": EMERGENCY,
                 "emergency": EMERGENCY}
TOPIC_NAMES = {ALL: "全部", EMERGENCY: "突发事件"}


class Replies:
    def __init__(self, settings: Any, site_url: str) -> None:
        self.settings = settings
        self.site_url = site_url

    async def text(self, session: Any, message: Any, now: Any) -> Any:
        text = re.sub(r"\s+", " ", message.content or "").strip()
        s = self.settings
        if text == s.interpretations_keyword:
            return await self._interpretations(session, message)
        if s.notify == "off" and text.startswith((s.subscribe_keyword, s.unsubscribe_keyword)):
            return TextReply(message=message, content=NO_REMINDERS)
        if text.startswith(s.unsubscribe_keyword):
            return await self._unsubscribe(session, message, text[len(s.unsubscribe_keyword):].strip(), now)
        if text.startswith(s.subscribe_keyword):
            return await self._subscribe(session, message, text[len(s.subscribe_keyword):].strip(), now)
        if text in s.keyword_replies:
            return TextReply(message=message, content=s.keyword_replies[text])
        return TextReply(message=message, content=s.default_reply)

    async def _interpretations(self, session: Any, message: Any) -> Any:
        ids = list(await session.scalars(select(Item.id).where(
            Item.kind == Kind.INTERPRETATION.value,
            Item.state.in_([ItemState.PUBLISHED.value, ItemState.CORRECTED.value]))
            .order_by(Item.published_at.desc(), Item.id.desc()).limit(self.settings.interpretations_in_reply)))
        if not ids:
            return TextReply(message=message, content="暂时没有已发布的政策解读。")
        site = self.site_url.rstrip("/")
        articles = [{"title": v.title, "description": v.excerpt, "url": f"{site}/{v.path}",
                     "image": f"{site}{v.cover.url_path}" if v.cover else ""}
                    for v in await load_views(session, ids)]
        return ArticlesReply(message=message, articles=articles)

    async def _topics(self, session: Any) -> dict[str, str]:
        """Topics a follower can subscribe to: name shown → topic."""
        rows = await session.execute(select(Item.column_name, Item.department).where(
            Item.state.in_([ItemState.PUBLISHED.value, ItemState.CORRECTED.value])).distinct())
        names = {TOPIC_NAMES[ALL]: ALL, TOPIC_NAMES[EMERGENCY]: EMERGENCY}
        for column, department in rows:
            for value in (column, department):
                if value:
                    names[value] = value
        return names

    @staticmethod
    def _shown(topics: list[str]) -> str:
        return "、".join(TOPIC_NAMES.get(t, t) for t in topics) or "无"

    async def _subscriber(self, session: Any, openid: str, now: Any) -> Any:
        sub = await subscribers.get(session, "wechat", openid)
        if sub is None or sub.status != "active":  # followed before the bot knew, or came back
            sub = await subscribers.upsert(session, "wechat", openid, now=now, status="active",
                                           source="wechat_message", consent_method="wechat_message",
                                           consent_from="wechat")
        return sub

    async def _subscribe(self, session: Any, message: Any, wanted: str, now: Any) -> Any:
        available = await self._topics(session)
        sub = await self._subscriber(session, message.source, now)
        current = await subscribers.topics_of(session, sub.id)
        topic = TOPIC_ALIASES.get(wanted) or available.get(wanted)
        if not wanted or topic is None:
            lead = f"没有名为“{wanted}”的栏目。" if wanted else ""
            return TextReply(message=message, content=(
                f"{lead}可订阅：{'、'.join(available)}。回复“{self.settings.subscribe_keyword} 栏目名”订阅，"
                f"如“{self.settings.subscribe_keyword} 全部”。当前订阅：{self._shown(current)}。"))
        topics = sorted({*current, topic})
        await subscribers.set_topics(session, sub.id, topics)
        sub.consent_at, sub.consent_method, sub.consent_from = now, "wechat_message", "wechat"
        audit.record(session, at=now, actor=f"wechat:{message.source}", action="wechat_topic_subscribe",
                     topic=topic)
        return TextReply(message=message, content=(
            f"已订阅“{TOPIC_NAMES.get(topic, topic)}”，有新内容时将通知您。当前订阅：{self._shown(topics)}。"
            f"回复“{self.settings.unsubscribe_keyword}”取消全部提醒。"))

    async def _unsubscribe(self, session: Any, message: Any, wanted: str, now: Any) -> Any:
        sub = await subscribers.get(session, "wechat", message.source)
        current = await subscribers.topics_of(session, sub.id) if sub else []
        if wanted:
            topic = TOPIC_ALIASES.get(wanted, wanted)
            if topic not in current:
                return TextReply(message=message, content=f"您没有订阅“{wanted}”。当前订阅：{self._shown(current)}。")
            remaining = [t for t in current if t != topic]
        else:
            remaining = []
        if sub is not None:
            await subscribers.set_topics(session, sub.id, remaining)
            audit.record(session, at=now, actor=f"wechat:{message.source}", action="wechat_topic_unsubscribe",
                         topic=wanted or "*")
        if remaining:
            return TextReply(message=message, content=f"已退订“{wanted}”。当前订阅：{self._shown(remaining)}。")
        return TextReply(message=message, content=(
            f"已退订全部提醒，不会再收到通知（仍可在公众号查看文章）。回复“{self.settings.subscribe_keyword}”重新订阅。"))
