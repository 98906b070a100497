"""Searching the site when the bot serves it: /search/?q= answered from the store with a
server-rendered page (no JavaScript), Chinese substrings, filters, and only public items."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.service import Service
from bot.settings import load
from bot.web import make_app
from tests.desk import Desk
from tests.test_website import retract


@pytest.fixture
async def bot(tmp_path: Path, database_url: str, clock):  # noqa: ANN001, ANN201
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_CHANNELS__WEBSITE__PAGE_SIZE": "5"}
    service = await Service.create(load(None, environ=env), clock=clock)
    async with TestClient(TestServer(make_app(service))) as client:
        client.desk = Desk(service.store, clock, tmp_path / "files")  # type: ignore[attr-defined]
        yield client
    await service.store.close()


def titles(html: str) -> list[str]:
    body = re.search(r"<tbody>(.*?)</tbody>", html, re.S)
    return re.findall(r'<td class="title"><a href="[^"]+">([^<]+)</a>', body.group(1)) if body else []


async def test_search_finds_chinese_substrings_of_public_items_only(bot) -> None:  # noqa: ANN001
    desk = bot.desk
    policy = await desk.approved("policy", "关于推进政务公开标准化规范化的通知",
                                 body="全面推进基层政务公开标准化工作。")
    news = await desk.approved("news", "市政府召开常务会议", body="会议审议通过了有关事项。")
    gone = await desk.approved("news", "标准化试点名单（已撤回）")
    await desk.publish([policy, news, gone])
    await retract(desk, gone, "名单有误")
    await desk.approved("news", "尚未发布的标准化草稿")

    r = await bot.get("/search/", params={"q": "标准化"})
    html = await r.text()
    assert r.status == 200 and "共找到 1 条信息" in html
    assert titles(html) == ["关于推进政务公开标准化规范化的通知"]
    assert f'href="../items/{policy}.html"' in html
    assert 'name="robots" content="noindex"' in html and "<script" not in html
    # every term must match, in the title or the body
    assert titles(await (await bot.get("/search/", params={"q": "常务  审议"})).text()) == ["市政府召开常务会议"]
    assert titles(await (await bot.get("/search/", params={"q": "常务 标准化"})).text()) == []
    # LIKE wildcards in the query are plain characters
    assert "共找到 0 条信息" in await (await bot.get("/search/", params={"q": "%"})).text()
    # markup in the query comes back as text
    echoed = await (await bot.get("/search/", params={"q": "<b>会议</b>"})).text()
    assert "&lt;b&gt;会议&lt;/b&gt;" in echoed and "<b>会议</b>" not in echoed
    # the address without the slash leads to the same page
    r = await bot.get("/search", params={"q": "会议"})
    assert r.status == 200 and str(r.url).endswith("/search/?q=%E4%BC%9A%E8%AE%AE")


async def test_column_filters_work_without_javascript(bot) -> None:  # noqa: ANN001
    desk = bot.desk
    policy = await desk.approved("policy", "关于优化营商环境的若干措施", topic="综合政务")
    other = await desk.approved("policy", "关于做好冬季供暖工作的通知", issuer="示例市城市管理委员会",
                                topic="城乡建设")
    news = await desk.approved("news", "营商环境工作动态")
    await desk.publish([policy, other, news])

    r = await bot.get("/search/", params={"column": "政策文件", "topic": "城乡建设", "issuer": "",
                                          "year": "2026"})
    html = await r.text()
    assert titles(html) == ["关于做好冬季供暖工作的通知"]
    assert '<option selected>城乡建设</option>' in html and '<option value="2026" selected>' in html
    r = await bot.get("/search/", params={"column": "政策文件", "issuer": "示例市政务服务局"})
    assert titles(await r.text()) == ["关于优化营商环境的若干措施"]
    assert titles(await (await bot.get("/search/", params={"column": "政策文件", "year": "2025"})).text()) == []
    bad = await bot.get("/search/", params={"year": "去年", "page": "x"})
    assert bad.status == 200 and "年份应为四位数字" in await bad.text()


async def test_results_are_paged(bot) -> None:  # noqa: ANN001
    desk = bot.desk
    ids = [await desk.approved("news", f"防汛工作动态第{n}条") for n in range(1, 8)]
    await desk.publish(ids)
    first = await (await bot.get("/search/", params={"q": "防汛"})).text()
    assert len(titles(first)) == 5 and "第 1 / 2 页" in first
    assert 'href="?q=%E9%98%B2%E6%B1%9B&amp;page=2"' in first
    second = await (await bot.get("/search/", params={"q": "防汛", "page": "2"})).text()
    assert len(titles(second)) == 2 and "上一页" in second
