"""The website channel: static pages built from the store through the real workflow."""
from __future__ import annotations

import hashlib
import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from channels.base import ChannelContext, Job, Outcome, Purpose
from channels.website.config import WebsiteSettings
from channels.registry import channel_class
from channels.website.builder import SiteBuilder
from channels.website.channel import WebsiteChannel
from channels.website.scopes import Scope, column_slug
from channels.website.writer import TEMP_PREFIX, SiteWriter
from content import workflow
from content.frontmatter import build
from content.render import Renderer
from content.views import load_views
from schedules import releases

BASE = "https://gk.example.gov.cn"
TZ = ZoneInfo("Asia/Shanghai")


# -- helpers shared with test_feeds -------------------------------------------------------
def settings(**kw) -> WebsiteSettings:
    values = dict(site_title="示例市政务公开", site_owner="示例市人民政府办公厅", page_size=5,
                  feed_size=5, home_size=3)
    values.update(kw)
    return WebsiteSettings(**values)


@pytest.fixture
def site_dir(tmp_path: Path) -> Path:
    return tmp_path / "site"


@pytest.fixture
def builder(desk, site_dir: Path) -> SiteBuilder:
    return SiteBuilder(desk.store, Renderer(TZ), site_dir, desk.files, BASE + "/",
                       settings(websub_hub="https://hub.example.org/"))


def page(site_dir: Path, rel: str) -> str:
    return (site_dir / rel).read_text(encoding="utf-8")


async def correct(desk, item_id: int, *, title: str, body: str, note: str, **meta) -> None:
    """Write, review and release a correction through the real workflow."""
    views = await _views(desk, [item_id])
    draft = build({"kind": views[0].kind, "title": title, "department": views[0].department,
                   **meta}, body)
    now = desk.clock.advance(minutes=30)
    await desk.store.transaction(lambda s: workflow.correct(
        s, item_id, draft, actor="alice", now=now, files=desk.files, note=note))
    await desk.approve(item_id)
    release = await desk.store.transaction(lambda s: releases.create_followup(
        s, "correct", [item_id], channels=["website"], actor="carol", now=now, reason=note))
    assert (await desk.fire(release.id)).outcome == "published"


async def retract(desk, item_id: int, reason: str) -> None:
    now = desk.clock.advance(minutes=30)
    await desk.store.transaction(lambda s: workflow.retract(
        s, item_id, actor="carol", now=now, reason=reason))
    release = await desk.store.transaction(lambda s: releases.create_followup(
        s, "retract", [item_id], channels=["website"], actor="carol", now=now, reason=reason))
    assert (await desk.fire(release.id)).outcome == "published"


async def _views(desk, ids):
    async with desk.store.sessions() as session:
        return await load_views(session, ids)


class Outline(HTMLParser):
    """What the accessibility checks look at."""

    def __init__(self) -> None:
        super().__init__()
        self.lang = None
        self.headings: list[int] = []
        self.images: list[dict] = []
        self.tags: set[str] = set()
        self.skip_link = False

    def handle_starttag(self, tag, attrs):  # noqa: ANN001
        a = dict(attrs)
        self.tags.add(tag)
        if tag == "html":
            self.lang = a.get("lang")
        elif re.fullmatch(r"h[1-6]", tag):
            self.headings.append(int(tag[1]))
        elif tag == "img":
            self.images.append(a)
        elif tag == "a" and a.get("href") == "#main" and not self.headings:
            self.skip_link = True


def outline(html: str) -> Outline:
    parser = Outline()
    parser.feed(html)
    return parser


def temp_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def picture(directory: Path, name: str, payload: bytes) -> str:
    (directory / name).write_bytes(payload)
    return name


# -- tests ----------------------------------------------------------------------------------
async def test_bundle_goes_out_in_one_rebuild_and_links_both_ways(desk, clock, site_dir, tmp_path):
    policy = await desk.approved("policy", "关于进一步做好政务公开工作的通知",
                                 body="# 一、工作目标\n\n全面推进决策、执行、管理、服务、结果公开。")
    reading = await desk.approved("interpretation", "一图读懂政务公开工作通知", interprets=policy,
                                  body="本解读说明通知的主要内容。")
    await desk.publish([policy, reading])
    ctx = ChannelContext(settings=settings(site_dir=str(site_dir)), store=desk.store, clock=clock,
                         renderer=Renderer(TZ), site_url=BASE, data_dir=tmp_path)
    channel = channel_class("website")(ctx)
    assert isinstance(channel, WebsiteChannel) and channel.label == "网站"
    assert channel.capabilities.bundle_atomic and channel.capabilities.idempotent
    await channel.open()
    assert channel.needs_full_build()
    views = tuple(await _views(desk, [policy, reading]))
    job = Job(delivery_id=1, release_id=1, channel="website", purpose=Purpose.PUBLISH, items=views,
              options={}, attempt=1, receipt={}, progress={}, due_at=clock.now(),
              published_at=clock.now())

    result = await channel.deliver(job)

    assert result.outcome is Outcome.SENT
    assert result.receipt["urls"] == [f"{BASE}/items/{policy}.html", f"{BASE}/items/{reading}.html"]
    policy_page = page(site_dir, f"items/{policy}.html")
    reading_page = page(site_dir, f"items/{reading}.html")
    stamp = re.compile(r"<dt>发布时间</dt><dd><time datetime=\"([^\"]+)\">")
    assert stamp.search(policy_page).group(1) == "2026-11-20T10:05+0800"
    assert stamp.search(reading_page).group(1) == "2026-11-20T10:05+0800"
    assert "相关解读" in policy_page and f'href="../items/{reading}.html"' in policy_page
    assert "本文解读的政策文件" in reading_page and f'href="../items/{policy}.html"' in reading_page
    # both entries are in the same feed build, with the same publication time
    rss = page(site_dir, "rss.xml")
    assert rss.count("<pubDate>Fri, 20 Nov 2026 02:05:00 +0000</pubDate>") == 2
    # the preview shows exactly the written page
    rendered = channel.render(views, {})
    assert [r.label for r in rendered] == [v.title for v in views]
    assert rendered[0].text == policy_page and rendered[1].text == reading_page
    # delivering again (reconcile) changes nothing on disk
    again = await channel.reconcile(job)
    assert again.outcome is Outcome.SENT
    assert (await channel.builder.rebuild_for([policy, reading])).written == 0
    await channel.close()


async def test_item_page_shows_disclosure_metadata_files_and_service_fields(desk, builder, site_dir,
                                                                          tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chart = picture(tmp_path, "chart.png", b"\x89PNG\r\n\x1a\n-chart")
    extra = picture(tmp_path, "flow.png", b"\x89PNG\r\n\x1a\n-flow")
    (tmp_path / "申请表.pdf").write_bytes(b"%PDF-1.4 form")
    policy = await desk.approved(
        "policy", "关于优化营业执照办理流程的通知", validity="有效", normative=True,
        body=f"正文第一段。\n\n![办理流程示意]({chart})", images=[extra], attachments=["申请表.pdf"])
    guide = await desk.approved(
        "service_guide", "营业执照办理指南", matter="营业执照核发", basis="《市场主体登记管理条例》",
        office="市市场监管局政务服务窗口", process="申请、受理、审核、发证", materials="申请书、身份证明",
        fees="不收费", time_limit="3个工作日", phone="010-12345678")
    await desk.publish([policy, guide])
    stats = await builder.rebuild_for([policy, guide])

    html = page(site_dir, f"items/{policy}.html")
    for label, value in [("索引号", "11000000/2026-00123"), ("文号", "京政服发〔2026〕12号"),
                         ("发文机关", "示例市政务服务局"), ("主题分类", "政务公开"),
                         ("成文日期", "2026年11月18日"), ("有效性", "有效"),
                         ("发布部门", "市政务服务局")]:
        assert re.search(f"<dt>{label}</dt><dd[^>]*>{value}</dd>", html), label
    assert "<dt>发布时间</dt>" in html
    names = {f.filename: f.name for f in (await _views(desk, [policy]))[0].files}
    assert f'<img alt="办理流程示意" src="../files/{names["chart.png"]}">' in html
    assert f'src="../files/{names["flow.png"]}" alt="关于优化营业执照办理流程的通知（图1）"' in html
    assert f'href="../files/{names["申请表.pdf"]}" download="申请表.pdf"' in html
    for name in names.values():
        assert (site_dir / "files" / name).is_file()
        assert f"files/{name}" in stats.paths
    guide_html = page(site_dir, f"items/{guide}.html")
    for label, value in [("事项名称", "营业执照核发"), ("受理单位", "市市场监管局政务服务窗口"),
                         ("办理时限", "3个工作日"), ("咨询电话", "010-12345678")]:
        assert f"<dt>{label}</dt><dd>{value}</dd>" in guide_html
    column = Scope.of_column("办事指南")
    assert column.dir == "columns/ban-shi-zhi-nan/"
    assert "营业执照办理指南" in page(site_dir, column.index)
    # the column's old hashed address still leads to it
    old = f"columns/{hashlib.sha1('办事指南'.encode()).hexdigest()[:8]}/index.html"
    assert 'url=../../columns/ban-shi-zhi-nan/index.html"' in page(site_dir, old)


async def test_every_page_is_accessible_chinese_html(desk, builder, site_dir, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    chart = picture(tmp_path, "chart.png", b"\x89PNG\r\n\x1a\n-a11y")
    news = await desk.approved("news", "市政府召开政务公开工作会议",
                               body=f"# 会议情况\n\n### 小节\n\n![]({chart})", images=[chart])
    gone = await desk.approved("news", "一篇将被撤回的动态")
    await desk.publish([news, gone])
    await retract(desk, gone, "信息有误")
    await builder.rebuild_all()

    pages = sorted(site_dir.rglob("*.html"))
    # home, gazette, column index + page 1 (+ its old address), two items, 404, search, and the
    # 政府信息公开 index with its five entries
    assert len(pages) == 15
    for path in pages:
        html = path.read_text(encoding="utf-8")
        o = outline(html)
        where = path.relative_to(site_dir)
        assert o.lang == "zh-CN", where
        assert o.headings.count(1) == 1 and o.headings[0] == 1, where
        assert all(b <= a + 1 for a, b in zip(o.headings, o.headings[1:], strict=False)), (where, o.headings)
        assert all("alt" in img for img in o.images), where
        assert {"nav", "main", "footer"} <= o.tags and o.skip_link, where
        assert 'type="application/rss+xml"' in html and 'type="application/atom+xml"' in html, where
    column = Scope.of_column("工作动态")
    index = page(site_dir, column.index)
    assert f'href="../../{column.rss}"' in index and f'href="../../{column.atom}"' in index
    assert outline(page(site_dir, f"items/{news}.html")).images


async def test_retracted_item_becomes_a_notice_and_leaves_lists_and_feeds(desk, builder, site_dir,
                                                                         tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "名单.xlsx").write_bytes(b"PK\x03\x04-secret-list")
    keep = await desk.approved("news", "保留的工作动态")
    await desk.publish([keep])
    bad = await desk.approved("news", "含有个人信息的公示", body="这段原文不应再出现。",
                              attachments=["名单.xlsx"])
    await desk.publish([bad])
    await builder.rebuild_all()
    attachment = (await _views(desk, [bad]))[0].attachments[0].name
    assert (site_dir / "files" / attachment).exists()

    await retract(desk, bad, "公示内容包含个人信息")
    stats = await builder.rebuild_for([bad])

    html = page(site_dir, f"items/{bad}.html")
    assert "已撤回" in html and "公示内容包含个人信息" in html and "2026-11-20 10:40" in html
    assert "这段原文不应再出现" not in html and "含有个人信息的公示" not in html
    assert 'name="robots" content="noindex"' in html
    assert stats.removed == 1 and not (site_dir / "files" / attachment).exists()
    column = Scope.of_column("工作动态")
    for rel in ("index.html", "rss.xml", "atom.xml", column.index, column.archive(1), column.rss):
        text = page(site_dir, rel)
        assert f"items/{bad}.html" not in text, rel
        assert f"items/{keep}.html" in text, rel
    assert outline(html).headings[0] == 1


async def test_corrected_item_is_marked_with_note_and_time(desk, builder, site_dir):
    item = await desk.approved("policy", "关于调整办事时间的通知", body="办理时间为周一至周五。")
    await desk.publish([item])
    await builder.rebuild_all()
    await correct(desk, item, title="关于调整办事时间的通知", body="办理时间为周一至周六。",
                  note="更正办理时间", doc_no="京政服发〔2026〕12号")
    await builder.rebuild_for([item])

    html = page(site_dir, f"items/{item}.html")
    assert '<span class="badge">已更正</span>' in html
    assert "更正说明" in html and "更正办理时间" in html and "2026-11-20 10:35" in html
    assert "周一至周六" in html and "周一至周五" not in html
    assert '<dt>发布时间</dt><dd><time datetime="2026-11-20T10:05+0800">' in html
    assert "已更正" in page(site_dir, "index.html")
    assert "已更正" in page(site_dir, Scope.of_column("政策文件").archive(1))


async def test_column_archive_pages_stay_put_when_items_are_added(desk, builder, site_dir):
    column = Scope.of_column("工作动态")
    first = [await desk.approved("news", f"工作动态第{n}条") for n in range(1, 7)]
    await desk.publish(first[:5])
    await desk.publish(first[5:])
    await builder.rebuild_all()
    assert column.dir == f"columns/{column_slug('工作动态')}/"
    page_one = (site_dir / column.archive(1)).stat()
    archive = page(site_dir, column.archive(1))
    assert [f"工作动态第{n}条" in archive for n in range(1, 7)] == [True] * 5 + [False]

    added = await desk.approved("news", "工作动态第7条")
    await desk.publish([added])
    stats = await builder.rebuild_for([added])

    assert column.index in stats.paths and column.archive(2) in stats.paths
    assert column.archive(1) not in stats.paths
    assert (site_dir / column.archive(1)).stat().st_mtime_ns == page_one.st_mtime_ns
    assert "工作动态第7条" in page(site_dir, column.archive(2))
    assert f'href="../../{column.archive(1)}"' in page(site_dir, column.archive(2))
    index = page(site_dir, column.index)
    assert f'href="../../{column.archive(2)}"' in index and f'href="../../{column.archive(1)}"' in index
    assert "工作动态第2条" not in index and "工作动态第3条" in index  # the newest five

    # a retraction rewrites only the page that held the item, and the page keeps its place
    await retract(desk, first[1], "重复发布")
    stats = await builder.rebuild_for([first[1]])
    assert column.archive(1) in stats.paths and column.archive(2) not in stats.paths
    assert "工作动态第2条" not in page(site_dir, column.archive(1))
    assert "工作动态第6条" not in page(site_dir, column.archive(1))


async def test_gazette_lists_normative_documents_only(desk, builder, site_dir):
    normative = await desk.approved("policy", "示例市行政规范性文件管理办法", normative=True)
    ordinary = await desk.approved("policy", "关于召开年度工作会议的通知",
                                   index_no="11000000/2026-00124", doc_no="京政服函〔2026〕3号")
    await desk.publish([normative, ordinary])
    await builder.rebuild_for([normative, ordinary])

    gazette = Scope.gazette()
    for rel in (gazette.index, gazette.archive(1), gazette.rss):
        text = page(site_dir, rel)
        assert "示例市行政规范性文件管理办法" in text and "年度工作会议" not in text, rel
    assert "京政服发〔2026〕12号" in page(site_dir, gazette.index)
    assert "已收入" in page(site_dir, f"items/{normative}.html")
    assert "已收入" not in page(site_dir, f"items/{ordinary}.html")
    home = page(site_dir, "index.html")
    assert 'href="gazette/index.html"' in home
    assert f'href="{Scope.of_column("政策文件").index}"' in home


async def test_writes_are_atomic_and_only_when_bytes_change(desk, builder, site_dir, tmp_path,
                                                           clock):
    item = await desk.approved("news", "原子写入测试")
    await desk.publish([item])
    first = await builder.rebuild_all()
    assert first.written > 0 and not temp_files(site_dir)
    mtimes = {p: p.stat().st_mtime_ns for p in site_dir.rglob("*") if p.is_file()}
    second = await builder.rebuild_all()
    assert second.written == 0 and second.unchanged == first.written
    assert {p: p.stat().st_mtime_ns for p in site_dir.rglob("*") if p.is_file()} == mtimes

    # a write that fails (a directory stands where the page goes) leaves no temporary file
    writer = SiteWriter(tmp_path / "w")
    (tmp_path / "w" / "items" / "1.html").mkdir(parents=True)
    with pytest.raises(OSError):
        writer.write("items/1.html", "<p>新</p>")
    assert not temp_files(tmp_path / "w")

    # the channel turns such a failure into a retry with a message for staff
    blocked = await desk.approved("news", "无法写入的稿件")
    await desk.publish([blocked])
    (site_dir / "items" / f"{blocked}.html").mkdir()
    ctx = ChannelContext(settings=settings(site_dir=str(site_dir)), store=desk.store, clock=clock,
                         renderer=Renderer(TZ), site_url=BASE, data_dir=tmp_path)
    channel = WebsiteChannel(ctx)
    await channel.open()
    job = Job(delivery_id=1, release_id=1, channel="website", purpose=Purpose.PUBLISH,
              items=tuple(await _views(desk, [blocked])), options={}, attempt=1, receipt={},
              progress={}, due_at=clock.now(), published_at=clock.now())
    result = await channel.deliver(job)
    assert result.outcome is Outcome.RETRY and "网站目录" in result.detail
    assert not temp_files(site_dir)
    await channel.close()


async def test_follow_ups_link_to_the_first_brief(desk, builder, site_dir):
    brief = await desk.approved("emergency", "关于某路段交通管制的简要信息")
    await desk.publish([brief])
    desk.clock.advance(hours=1)
    update = await desk.approved("emergency", "交通管制后续情况", follows=brief)
    await desk.publish([update], at=desk.clock.now() + timedelta(minutes=1))
    await builder.rebuild_for([update])
    assert f'href="../items/{update}.html"' in page(site_dir, f"items/{brief}.html")
    assert "前序信息" in page(site_dir, f"items/{update}.html")


async def test_correction_that_moves_an_item_rewrites_both_columns(desk, builder, site_dir):
    moved = await desk.approved("news", "放错栏目的通知")
    stays = await desk.approved("news", "留在原栏目的动态")
    await desk.publish([moved, stays])
    await builder.rebuild_all()
    old, new = Scope.of_column("工作动态"), Scope.of_column("通知公告")
    assert "放错栏目的通知" in page(site_dir, old.archive(1))

    await correct(desk, moved, title="放错栏目的通知", body="正文。", note="调整栏目",
                  column="通知公告")
    stats = await builder.rebuild_for([moved])

    assert {old.index, old.archive(1), new.index, new.archive(1)} <= set(stats.paths)
    for rel in (old.index, old.archive(1), old.rss):
        assert "放错栏目的通知" not in page(site_dir, rel) and "留在原栏目的动态" in page(site_dir, rel)
    for rel in (new.index, new.archive(1), new.rss):
        assert "放错栏目的通知" in page(site_dir, rel)
    assert f'href="../{new.index}"' in page(site_dir, f"items/{moved}.html")


async def test_retracting_a_policy_updates_its_interpretation_page(desk, builder, site_dir):
    policy = await desk.approved("policy", "关于试行弹性工作时间的通知")
    reading = await desk.approved("interpretation", "弹性工作时间通知解读", interprets=policy)
    await desk.publish([policy, reading])
    await builder.rebuild_for([policy, reading])
    assert "（已撤回）" not in page(site_dir, f"items/{reading}.html")

    await retract(desk, policy, "政策暂缓实施")
    stats = await builder.rebuild_for([policy])

    assert f"items/{reading}.html" in stats.paths
    assert "关于试行弹性工作时间的通知</a>（已撤回）" in page(site_dir, f"items/{reading}.html")
    assert "政策暂缓实施" in page(site_dir, f"items/{policy}.html")


async def test_disclosure_office_pages_footer_and_column_table(desk, site_dir, tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("# 本机关的指南\n\n申请请寄送{{owner}}。", encoding="utf-8")
    builder = SiteBuilder(desk.store, Renderer(TZ), site_dir, desk.files, BASE, settings(
        site_code="1100000001", icp_record="京ICP备00000000号", disclosure={
            "guide": str(guide), "annual_report": "## 2025 年度报告\n\n见附件。"}))
    policy = await desk.approved("policy", "关于推进政务公开标准化的通知")
    await desk.publish([policy])
    await builder.rebuild_all()

    entries = page(site_dir, "xxgk/index.html")
    for title in ("政府信息公开指南", "政府信息公开制度", "法定主动公开内容", "政府信息公开年报", "依申请公开"):
        assert f">{title}</a>" in entries
    assert "申请请寄送示例市人民政府办公厅" in page(site_dir, "xxgk/zhinan.html")
    assert "2025 年度报告" in page(site_dir, "xxgk/nianbao.html")
    assert "依申请" in page(site_dir, "xxgk/ysqgk.html")  # the shipped default text
    home = page(site_dir, "index.html")
    assert "网站标识码：1100000001" in home and "京ICP备00000000号" in home
    assert "公安" not in home and "党政机关" not in home  # not configured: not shown
    assert 'href="xxgk/index.html"' in home

    column = page(site_dir, Scope.of_column("政策文件").index)
    header = re.search(r"<thead>(.*?)</thead>", column, re.S).group(1)
    assert re.findall(r"<th scope=\"col\">(.*?)</th>", header) == ["标题", "索引号", "文号", "成文日期", "发布日期"]
    row = re.search(r"<tbody>(.*?)</tbody>", column, re.S).group(1)
    assert "11000000/2026-00123" in row and "京政服发〔2026〕12号" in row and "2026-11-18" in row
    # filters without JavaScript: a form to the search fallback with the column's values
    form = re.search(r'<form class="filters" action="../../search/".*?</form>', column, re.S).group(0)
    assert 'name="column" value="政策文件"' in form
    assert "<option>政务公开</option>" in form and "<option>示例市政务服务局</option>" in form
    assert '<option value="2026">2026 年</option>' in form
    # one page of items: no lone link to 往期信息 第 1 页
    assert "往期信息" not in column


async def test_a_missing_page_gets_the_site_404(desk, builder, site_dir):
    item = await desk.approved("news", "一条动态")
    await desk.publish([item])
    await builder.rebuild_for([item])
    html = page(site_dir, "404.html")
    assert "页面不存在" in html and 'href="/index.html"' in html and 'class="site-header"' in html
    assert 'action="/search/"' in html


async def test_emergency_briefs_are_pinned_on_the_home_page_for_a_while(desk, clock, site_dir):
    builder = SiteBuilder(desk.store, Renderer(TZ), site_dir, desk.files, BASE,
                          settings(emergency_pin_hours=24), clock=clock)
    brief = await desk.approved("emergency", "关于暴雨红色预警的紧急通知")
    await desk.publish([brief])
    news = [await desk.approved("news", f"工作动态{n}") for n in range(4)]
    await desk.publish(news)
    await builder.rebuild_for(news)

    home = page(site_dir, "index.html")
    pinned = re.search(r'<section class="pinned".*?</section>', home, re.S).group(0)
    assert "关于暴雨红色预警的紧急通知" in pinned and "紧急" in pinned
    assert home.index("关于暴雨红色预警") < home.index("工作动态3")

    clock.advance(hours=25)
    later = await desk.approved("news", "第二天的动态")
    await desk.publish([later])
    await builder.rebuild_for([later])
    assert 'class="pinned"' not in page(site_dir, "index.html")


async def test_a_corrected_page_links_its_earlier_version_which_stays_available(desk, builder, site_dir):
    item = await desk.approved("policy", "关于调整办事时间的通知", body="办理时间为周一至周五。")
    await desk.publish([item])
    await builder.rebuild_all()
    await correct(desk, item, title="关于调整办事时间的通知", body="办理时间为周一至周六。",
                  note="更正办理时间")
    stats = await builder.rebuild_for([item])

    html = page(site_dir, f"items/{item}.html")
    assert f'href="../items/{item}-v1.html"' in html and "更正前的版本" in html
    assert f"items/{item}-v1.html" in stats.paths
    older = page(site_dir, f"items/{item}-v1.html")
    assert "周一至周五" in older and "周一至周六" not in older
    assert "此页为更正前的版本" in older and f'href="../items/{item}.html"' in older
    assert 'name="robots" content="noindex"' in older and "data-pagefind-body" not in older
    assert outline(older).headings.count(1) == 1
    await builder.rebuild_all()  # a full build keeps it
    assert "周一至周五" in page(site_dir, f"items/{item}-v1.html")

    await retract(desk, item, "政策废止")
    await builder.rebuild_for([item])
    older = page(site_dir, f"items/{item}-v1.html")
    assert "周一至周五" not in older and "政策废止" in older  # retracting takes it down too


def test_a_missing_disclosure_file_is_named_in_one_config_error(tmp_path):
    from bot.settings import ConfigError, load

    with pytest.raises(ConfigError) as err:
        load(None, environ={"GONGKAI_CHANNELS__WEBSITE__DISCLOSURE__GUIDE": str(tmp_path / "无.md")})
    assert "channels.website.disclosure.guide" in str(err.value)
    assert "找不到 Markdown 文件" in str(err.value) and "留空则使用默认文本" in str(err.value)


async def test_column_filters_follow_new_and_corrected_items(desk, builder, site_dir):
    first = await desk.approved("policy", "关于加强安全生产的通知", topic="安全生产")
    await desk.publish([first])
    await builder.rebuild_all()
    column = Scope.of_column("政策文件")
    added = await desk.approved("policy", "关于做好防汛工作的通知", topic="应急管理",
                                issuer="示例市应急管理局")
    await desk.publish([added])
    await builder.rebuild_for([added])
    form = re.search(r'<form class="filters".*?</form>', page(site_dir, column.index), re.S).group(0)
    assert "<option>安全生产</option>" in form and "<option>应急管理</option>" in form
    assert "<option>示例市应急管理局</option>" in form

    await correct(desk, added, title="关于做好防汛工作的通知", body="正文。", note="更正分类",
                  topic="城乡建设", issuer="示例市应急管理局", department="市政务服务局")
    await builder.rebuild_for([added])
    form = re.search(r'<form class="filters".*?</form>', page(site_dir, column.index), re.S).group(0)
    assert "<option>应急管理</option>" not in form and "<option>城乡建设</option>" in form
