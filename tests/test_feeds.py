"""The site's RSS and Atom feeds, checked with feedparser as an independent reader."""
from __future__ import annotations

from datetime import datetime, timezone

import feedparser

from channels.website.scopes import Scope
from tests.test_website import BASE, builder, correct, page, retract, site_dir  # noqa: F401 - fixtures

COLUMN = Scope.of_column("政策文件")


def parse(root, rel: str):  # noqa: ANN001, ANN201
    feed = feedparser.parse((root / rel).read_bytes())
    assert feed.bozo == 0, (rel, feed.get("bozo_exception"))
    return feed


async def publish_three(desk):  # noqa: ANN001, ANN201
    policy = await desk.approved("policy", "关于推行政务服务“一网通办”的实施意见",
                                 body="# 总体要求\n\n详见[附件说明](/items/1.html)。")
    reading = await desk.approved("interpretation", "《实施意见》政策解读", interprets=policy)
    await desk.publish([policy, reading])
    news = await desk.approved("news", "市政务服务中心延长周末服务时间", department="市政务服务中心")
    await desk.publish([news])
    return policy, reading, news


async def test_feeds_are_well_formed_with_expected_entries(desk, builder, site_dir):  # noqa: F811
    policy, reading, news = await publish_three(desk)
    await builder.rebuild_for([policy, reading])
    await builder.rebuild_for([news])

    rss, atom = parse(site_dir, "rss.xml"), parse(site_dir, "atom.xml")
    assert rss.version == "rss20" and atom.version == "atom10"
    for feed in (rss, atom):
        assert [e.title for e in feed.entries] == [
            "市政务服务中心延长周末服务时间", "《实施意见》政策解读", "关于推行政务服务“一网通办”的实施意见"]
        assert [e.link for e in feed.entries] == [f"{BASE}/items/{i}.html" for i in (news, reading, policy)]
        assert [e.id for e in feed.entries] == [f"{BASE}/items/{i}.html" for i in (news, reading, policy)]
        assert [t.term for t in feed.entries[2].tags] == ["政策文件"]
        assert [t.term for t in feed.entries[0].tags] == ["工作动态"]
        assert feed.entries[1].published_parsed == feed.entries[2].published_parsed
    assert rss.feed.language == "zh-CN"
    assert rss.feed.link == f"{BASE}/index.html"  # alternate, not the hub
    assert atom.entries[2].author == "示例市政务服务局"  # issuer (发文机关)
    assert rss.entries[0].author == "市政务服务中心"     # department when no issuer
    content = atom.entries[2].content[0].value
    assert f'href="{BASE}/items/1.html"' in content and 'href="/' not in content
    assert "<script" not in content
    assert atom.entries[2].summary.startswith("总体要求")
    for feed in (rss, atom):
        assert any(link.rel == "hub" and link.href == "https://hub.example.org/"
                   for link in feed.feed.links)
        assert any(link.rel == "self" for link in feed.feed.links)

    column = parse(site_dir, COLUMN.rss)
    assert [e.title for e in column.entries] == ["关于推行政务服务“一网通办”的实施意见"]
    assert column.feed.link == f"{BASE}/{COLUMN.index}"
    assert parse(site_dir, COLUMN.atom).feed.id == f"{BASE}/{COLUMN.index}"


async def test_feed_bytes_do_not_change_without_content_changes(desk, builder, site_dir):  # noqa: F811
    policy, reading, news = await publish_three(desk)
    await builder.rebuild_all()
    before = {rel: (site_dir / rel).read_bytes() for rel in ("rss.xml", "atom.xml", COLUMN.rss, COLUMN.atom)}
    stamps = {rel: (site_dir / rel).stat().st_mtime_ns for rel in before}

    desk.clock.advance(days=3)  # time passing alone must not touch the feeds
    stats = await builder.rebuild_for([policy, reading, news])
    await builder.rebuild_all()

    assert not set(before) & set(stats.paths)
    assert {rel: (site_dir / rel).read_bytes() for rel in before} == before
    assert {rel: (site_dir / rel).stat().st_mtime_ns for rel in before} == stamps
    assert b"<lastBuildDate>Fri, 20 Nov 2026 02:10:00 +0000</lastBuildDate>" in before["rss.xml"]
    assert b"<updated>2026-11-20T02:10:00+00:00</updated>" in before["atom.xml"]


async def test_correction_updates_entry_and_retraction_removes_it(desk, builder, site_dir):  # noqa: F811
    policy, reading, news = await publish_three(desk)
    await builder.rebuild_all()

    await correct(desk, policy, title="关于推行政务服务“一网通办”的实施意见（更正）",
                  body="更正后的正文。", note="更正标题", doc_no="京政服发〔2026〕12号",
                  issuer="示例市政务服务局", index_no="11000000/2026-00123", issued="2026-11-18")
    await builder.rebuild_for([policy])
    atom = parse(site_dir, "atom.xml")
    entry = next(e for e in atom.entries if e.id == f"{BASE}/items/{policy}.html")
    assert entry.title.endswith("（更正）")
    assert entry.updated == "2026-11-20T02:40:00+00:00" and entry.published == "2026-11-20T02:05:00+00:00"
    assert "更正标题" in entry.content[0].value
    assert atom.feed.updated == "2026-11-20T02:40:00+00:00"

    await retract(desk, news, "发布渠道有误")
    await builder.rebuild_for([news])
    for rel in ("rss.xml", "atom.xml", Scope.of_column("工作动态").rss):
        feed = parse(site_dir, rel)
        assert f"{BASE}/items/{news}.html" not in [e.link for e in feed.entries], rel
    # the retraction moves the feed's date forward, so conditional GET clients see the change
    retracted_at = datetime(2026, 11, 20, 3, 10, tzinfo=timezone.utc)
    assert parse(site_dir, "atom.xml").feed.updated == retracted_at.isoformat()
    assert "发布渠道有误" in page(site_dir, f"items/{news}.html")


def decoded(xml: bytes, path: str) -> list[str]:
    """The text of every element at ``path``, as a feed reader gets it after XML decoding."""
    import xml.etree.ElementTree as ET

    return [e.text or "" for e in ET.fromstring(xml).iter(path)]


async def test_markup_in_a_summary_reaches_no_feed_reader_as_markup(desk, builder, site_dir):  # noqa: F811
    hostile = '摘要<script>alert("x")</script><img src=x onerror=alert(1)>结束'
    item = await desk.approved("news", "摘要含有标记的动态", summary=hostile)
    await desk.publish([item])
    await builder.rebuild_for([item])

    for rel in ("rss.xml", Scope.of_column("工作动态").rss):
        # RSS <description> is HTML to readers: the markup must arrive as text, not as tags
        (description,) = decoded((site_dir / rel).read_bytes(), "description")[1:]
        assert "<script" not in description and "<img" not in description, rel
        assert "&lt;script&gt;" in description and description.startswith("摘要"), rel
        entry = parse(site_dir, rel).entries[0]
        assert "&lt;script&gt;" in entry.summary, rel  # shown as text by an HTML-aware reader
    atom = parse(site_dir, "atom.xml").entries[0]
    assert "<script" not in atom.summary and "&lt;script&gt;" in atom.summary
    for rel in ("index.html", f"items/{item}.html"):
        assert "<script>alert" not in page(site_dir, rel), rel
