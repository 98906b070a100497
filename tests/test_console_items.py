"""The console's item pages (稿件, 编辑, 预览, 审核) and what they stand on: the Chinese search of
the item list, uploads, the form that builds the same item as ``post add``, the correction diff."""
from __future__ import annotations

from datetime import date

import pytest

from content.errors import InputError
from content.item_search import ItemFilters, search


# ----------------------------------------------------------------------------------- search
async def test_search_finds_chinese_words_in_bodies_and_titles(desk, store):
    first = await desk.add("news", "市政府召开常务会议", body="会议研究部署基层政务公开标准化规范化工作。")
    second = await desk.add("news", "关于推进政务公开标准化的通知", body="各区县人民政府：现将有关事项通知如下。")
    await desk.add("news", "天气预报", body="明日多云转晴。")
    async with store.sessions() as s:
        in_body = await search(s, ItemFilters(text="标准化规范化"))
        both = await search(s, ItemFilters(text="政务公开标准化"))
        two_chars = await search(s, ItemFilters(text="会议"))
        two_terms = await search(s, ItemFilters(text="政务公开 通知"))
        none = await search(s, ItemFilters(text="不存在的词语"))
    assert [r.id for r in in_body.rows] == [first]
    assert [r.id for r in both.rows] == [second, first]
    assert [r.id for r in two_chars.rows] == [first]  # shorter than a trigram: LIKE
    assert [r.id for r in two_terms.rows] == [second]
    assert none.rows == () and none.total == 0


async def test_search_sees_only_the_current_revision(desk, store):
    from content import workflow
    from content.frontmatter import build

    item = await desk.add("news", "旧标题", body="原来的正文内容在这里。")
    draft = build({"kind": "news", "title": "新标题", "department": "市政务服务局"}, "改写后的正文内容。")
    await store.transaction(lambda s: workflow.edit_item(s, item, draft, actor="alice",
                                                         now=desk.clock.now(), files=desk.files))
    async with store.sessions() as s:
        assert (await search(s, ItemFilters(text="改写后的正文"))).total == 1
        assert (await search(s, ItemFilters(text="原来的正文"))).total == 0


async def test_the_list_filters_by_state_kind_department_column_author_and_dates(desk, store):
    policy = await desk.add("policy", "某政策", author="alice")
    news = await desk.add("news", "某动态", author="dave", department="市财政局")
    await desk.approve(news, author="dave")
    async with store.sessions() as s:
        assert [r.id for r in (await search(s, ItemFilters(kind="policy"))).rows] == [policy]
        assert [r.id for r in (await search(s, ItemFilters(kind="政策文件"))).rows] == [policy]
        assert [r.id for r in (await search(s, ItemFilters(state="approved"))).rows] == [news]
        assert [r.id for r in (await search(s, ItemFilters(department="市财政局"))).rows] == [news]
        assert [r.id for r in (await search(s, ItemFilters(column="政策文件"))).rows] == [policy]
        assert [r.id for r in (await search(s, ItemFilters(author="dave"))).rows] == [news]
        day = desk.clock.now().date()
        assert (await search(s, ItemFilters(since=day, until=day))).total == 2
        assert (await search(s, ItemFilters(until=date(2026, 1, 1)))).total == 0
        with pytest.raises(InputError) as bad:
            await search(s, ItemFilters(state="lost"))
        assert bad.value.field == "state"
        with pytest.raises(InputError):
            await search(s, ItemFilters(since=date(2026, 12, 1), until=date(2026, 11, 1)))


async def test_pages_go_forward_and_back_by_id(desk, store):
    ids = [await desk.add("news", f"第{n}篇动态", body="政务公开工作动态。") for n in range(7)]
    async with store.sessions() as s:
        first = await search(s, ItemFilters(text="政务公开"), per_page=3)
        second = await search(s, ItemFilters(text="政务公开"), before=first.before, per_page=3)
        third = await search(s, ItemFilters(text="政务公开"), before=second.before, per_page=3)
        back = await search(s, ItemFilters(text="政务公开"), after=third.after, per_page=3)
    newest = ids[::-1]
    assert [r.id for r in first.rows] == newest[:3] and first.after is None and first.total == 7
    assert [r.id for r in second.rows] == newest[3:6]
    assert [r.id for r in third.rows] == newest[6:] and third.before is None
    assert [r.id for r in back.rows] == newest[3:6] and back.after == newest[3]
