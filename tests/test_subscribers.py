"""Subscribers and topics: fan-out streams only active subscribers of the release's topics."""
from __future__ import annotations

from content import subscribers
from content.topics import release_topics
from content.views import load_views


async def test_stream_pages_through_matching_active_subscribers(desk) -> None:  # noqa: ANN001
    now = desk.clock.now()

    async def seed(s):  # noqa: ANN001, ANN202
        for n in range(25):
            topics = ["政策文件"] if n % 2 else ["工作动态"]
            status = "unsubscribed" if n % 5 == 0 else "active"
            await subscribers.upsert(s, "sms", f"+86138000000{n:02d}", now=now, status=status,
                                     topics=topics, source="test")
        await subscribers.upsert(s, "wechat", "openid-1", now=now, status="active", topics=["all"])

    await desk.store.transaction(seed)
    pages = [page async for page in subscribers.stream(desk.store, "sms", {"政策文件", "all"}, page_size=4)]
    got = [r.address for page in pages for r in page]
    expected = [f"+86138000000{n:02d}" for n in range(25) if n % 2 and n % 5]
    assert got == expected and max(len(p) for p in pages) == 4
    resumed = [r.address async for page in subscribers.stream(
        desk.store, "sms", {"政策文件"}, after_id=pages[0][-1].id) for r in page]
    assert resumed == expected[4:]


async def test_release_topics_cover_columns_departments_all_and_emergency(desk) -> None:  # noqa: ANN001
    news = await desk.add("news", "动态", column="工作动态", department="市应急局")
    alert = await desk.add("emergency", "暴雨预警", department="市应急局")
    async with desk.store.sessions() as s:
        views = await load_views(s, [news, alert], revision="current")
    assert release_topics(views[:1]) == {"all", "工作动态", "市应急局"}
    assert release_topics(views) == {"all", "工作动态", "市应急局", "突发事件", "emergency"}
