"""The static search index (Pagefind, extended release) built from the generated site."""
from __future__ import annotations

import json

from channels.website.search_index import BUNDLE, IndexOutcome, PagefindIndexer
from tests.test_website import BASE, TZ, settings
from channels.website.builder import SiteBuilder
from content.render import Renderer


async def test_the_static_site_gets_a_chinese_search_index(desk, tmp_path):
    site_dir = tmp_path / "site"
    builder = SiteBuilder(desk.store, Renderer(TZ), site_dir, desk.files, BASE, settings(), fsync=False)
    policy = await desk.approved("policy", "关于推进政务公开标准化规范化的通知",
                                 body="全面推进基层政务公开标准化工作。")
    news = await desk.approved("news", "市政府召开常务会议")
    await desk.publish([policy, news])
    await builder.rebuild_all()
    indexer = PagefindIndexer(site_dir, delay=0)

    result = await indexer.index()

    assert result.outcome is IndexOutcome.BUILT, result.detail
    entry = json.loads((site_dir / BUNDLE / "pagefind-entry.json").read_text(encoding="utf-8"))
    # item pages and the five 政府信息公开 pages are indexed; lists, search and 404 are not
    assert entry["languages"]["zh-cn"]["page_count"] == 2 + 5
    assert (site_dir / BUNDLE / "pagefind-ui.js").is_file()
    assert (site_dir / BUNDLE / "filter").is_dir()  # 主题分类, 发文机关, 栏目, 年份
    assert not (site_dir / ".pagefind-new").exists() and not (site_dir / ".pagefind-old").exists()
    search_page = (site_dir / "search" / "index.html").read_text(encoding="utf-8")
    assert 'src="../pagefind/pagefind-ui.js"' in search_page and "<noscript>" in search_page


async def test_requests_during_a_run_share_the_next_one(tmp_path):
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    (site_dir / "index.html").write_text(
        '<!DOCTYPE html><html lang="zh-CN"><body><main data-pagefind-body>政务公开</main></body></html>',
        encoding="utf-8")
    indexer = PagefindIndexer(site_dir, delay=0)
    for _ in range(5):
        indexer.request()
    result = await indexer.idle()
    assert result is not None and result.outcome is IndexOutcome.BUILT
    assert indexer.runs == 1  # a burst of requests, one run
    assert (site_dir / BUNDLE / "pagefind-entry.json").is_file()
