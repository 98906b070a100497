"""Weibo's length rule and the fitting of posts to 140 字: Chinese, mixed ASCII, long URLs, topic
markers; the adapter's count agrees with the emulator's independent one."""
from __future__ import annotations

import random
from zoneinfo import ZoneInfo

import pytest

from channels.base import Purpose
from channels.sandbox.weibo import counting
from channels.weibo.compose import Composer
from channels.weibo.errors import Kind, parse_error
from channels.weibo.length import LINK, strip_topics, weibo_length
from content.render import Renderer
from content.views import ItemView

SITE = "https://www.gov.example.cn"
RENDERER = Renderer(ZoneInfo("Asia/Shanghai"))


def view(item_id: int = 7, kind: str = "policy", title: str = "示例市关于进一步做好政务公开工作的通知",
         summary: str = "", **kw) -> ItemView:
    fields = {"id": item_id, "kind": kind, "state": "approved", "revision": 1, "title": title,
              "summary": summary, "body_html": "<p>正文。</p>", "body_md": "正文。", "department": "市政府办公厅",
              "column": "", "index_no": "", "doc_no": "", "issuer": "", "topic": "", "issued": None,
              "validity": "", "normative": False, "tags": (), "extra": {}, "correction_note": "",
              "published_at": None, "first_published_at": None, "retracted_at": None, "retract_reason": None}
    fields.update(kw)
    return ItemView(**fields)


def composer(site: str = SITE, domain: str = "gov.example.cn") -> Composer:
    return Composer(RENDERER, site, domain)


@pytest.mark.parametrize("text, expected", [
    ("政务公开", 4),
    ("Weibo", 3),  # five half-width characters = 2.5 → 3
    ("", 0),
    ("   ", 0),
    ("2026年11月", 5),
    ("政务 https://www.gov.cn/x.html", 13),  # 2 + 0.5 + a link as 10
    ("http://t.cn/A6abcd", 9),  # a t.cn link counts as written
    ("https://weibo.com/123", 11),  # a short weibo.com link counts as written
    ("😀", 2),  # outside the BMP: two UTF-16 units
    ("a\r\nb", 2),  # CRLF is one character
    ("详见https://www.gov.example.cn/" + "a" * 113, 12),  # a 140-byte link: still 10
    ("详见https://www.gov.example.cn/" + "a" * 114, 13),  # 141 bytes: 141 − 120 = 21 → 10.5
    ("详见https://www.gov.example.cn/" + "a" * 123, 17),  # 150 bytes: 30
    ("见https://a-b.example.cn/x", 11),  # hyphenated hosts are links too
])
def test_length_as_weibo_counts_it(text: str, expected: int) -> None:
    assert weibo_length(text) == expected


def test_the_adapter_and_the_emulator_count_alike() -> None:
    rng = random.Random(20261120)
    pieces = ["政务", "公开", "Weibo", " ", "2026", "，", "。", "😀", "\n", "#话题#", "https://www.gov.cn/a/b.html",
              "http://t.cn/A6xyz", "https://www.gov.example.cn/" + "p" * 150, "（解读）", "abc-def", "www.gov.cn"]
    for _ in range(500):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        assert weibo_length(text) == counting.weibo_chars(text), text


def test_topics_are_stripped_outside_links() -> None:
    text, removed = strip_topics("#政务公开#周报：#一网通办# 上线 https://www.gov.cn/a.html#top")
    assert text == "政务公开周报：一网通办 上线 https://www.gov.cn/a.html#top"
    assert removed == ["政务公开", "一网通办"]
    assert not counting.has_topic(text)


def test_a_short_post_is_sent_as_rendered() -> None:
    post = composer().post(view(summary="明确六项要求。", doc_no="示政办发〔2026〕18号"))
    assert post.text == ("【政策文件】示例市关于进一步做好政务公开工作的通知（示政办发〔2026〕18号）：明确六项要求。"
                         f" 全文：{SITE}/items/7.html")
    assert post.ok and not post.shortened and post.length == weibo_length(post.text)


def _fits_tightly(c: Composer, v: ItemView) -> None:
    post = c.post(v)
    assert post.ok and post.shortened
    assert post.length <= 140
    url = f"{c.site_url}/items/{v.id}.html"
    assert post.text.endswith(" 全文：" + url)  # the link is whole
    kept = post.text.split("：", 1)[1].rsplit(" 全文：", 1)[0]
    assert kept.endswith("…") and v.summary.startswith(kept[:-1])
    # the cut is at most a short step back (to a punctuation mark) from the longest that fits
    longer = post.text.replace(kept, v.summary[:len(kept) - 1 + 13] + "…", 1)
    assert weibo_length(longer) > 140


def test_a_long_chinese_summary_is_shortened_not_the_link() -> None:
    summary = "明确了政策文件与解读同步发布、网站每周更新、重点部门按季度召开新闻发布会、突发事件信息第一时间发布" * 3
    _fits_tightly(composer(), view(summary=summary))


def test_mixed_ascii_counts_half_and_lets_more_characters_in() -> None:
    chinese = "一二三四五六七八九十" * 20
    mixed = "Policy 2026 No.18 update for online services, in English and 中文 " * 6
    c = composer()
    zh, en = c.post(view(summary=chinese)), c.post(view(summary=mixed))
    assert zh.length <= 140 and en.length <= 140
    zh_kept = len(zh.text.split("：", 1)[1].rsplit(" 全文：", 1)[0])
    en_kept = len(en.text.split("：", 1)[1].rsplit(" 全文：", 1)[0])
    assert en_kept > zh_kept * 1.5  # half-width characters count half


def test_a_long_url_costs_more_and_the_summary_pays_for_it() -> None:
    summary = "推行线上办理，压缩办理时限，让群众少跑腿、好办事。" * 6
    short_site, long_site = composer(), composer(SITE + "/" + "zwgk/" * 30)
    short, long = short_site.post(view(summary=summary)), long_site.post(view(summary=summary))
    assert f"{long_site.site_url}/items/7.html" in long.text
    assert long.length <= 140 and short.length <= 140
    assert len(long.text.split("：", 1)[1]) - len(long_site.site_url) < len(short.text.split("：", 1)[1]) - len(SITE)
    assert LINK.findall(long.text) == [f"{long_site.site_url}/items/7.html"]


def test_an_interpretation_links_its_own_page_and_its_policys() -> None:
    post = composer().post(view(item_id=8, kind="interpretation", title="《通知》解读",
                                summary="三问三答。", interprets=(7,)))
    assert post.text == f"【政策解读】《通知》解读：三问三答。 解读：{SITE}/items/8.html 政策原文：{SITE}/items/7.html"


def test_a_bundle_is_ordered_policy_first() -> None:
    interp = view(item_id=8, kind="interpretation", title="解读", interprets=(7,))
    posts = composer().posts((interp, view()), Purpose.PUBLISH)
    assert [p.item_id for p in posts] == [7, 8]


def test_a_very_long_title_is_shortened_after_the_summary() -> None:
    title = "关于" + "进一步加强和改进全市各级各部门政务公开工作" * 8 + "的通知"
    post = composer().post(view(title=title, summary="摘要"))
    assert post.ok and post.length <= 140
    assert any("标题已缩短" in n for n in post.notes) and any("摘要已全部删去" in n for n in post.notes)
    assert post.text.endswith(f"{SITE}/items/7.html")


def test_topic_markers_in_a_title_are_removed_with_a_note() -> None:
    post = composer().post(view(kind="news", title="#政务公开#一周回顾", summary="本周要闻。"))
    assert "#" not in post.text and "政务公开一周回顾" in post.text
    assert any("#政务公开#" in n for n in post.notes)


def test_a_post_without_a_link_on_the_safe_domain_is_flagged() -> None:
    post = composer(domain="other.example.org").post(view())
    assert not post.ok and "安全域名 other.example.org" in post.problems[0]
    rendition = post.rendition("other.example.org")
    assert not rendition.ok and any(c.name == "缺少安全域名链接" for c in rendition.checks)


def test_a_correction_uses_the_correction_note() -> None:
    post = composer().post(view(correction_note="第三条中的日期更正为12月1日。"), Purpose.CORRECT)
    assert post.text.startswith("【更正】示例市关于进一步做好政务公开工作的通知：第三条中的日期更正为12月1日。")


@pytest.mark.parametrize("status, body, code, kind", [
    (400, b'{"request":"/2/statuses/share.json","error_code":"20019","error":"repeated"}', 20019, Kind.DUPLICATE),
    (400, b'{"request":"/2/statuses/share.json","error_code":20017,"error":"similar"}', 20017, Kind.DUPLICATE),
    (403, b'{"error_code":"10023","error":"User requests out of rate limit"}', 10023, Kind.RATE),
    (401, b'{"error":"expired_token","error_code":21327,"error_description":"expired"}', 21327, Kind.TOKEN),
    (400, b'{"error_code":"20012","error":"too long"}', 20012, Kind.TOO_LONG),
    (400, b'{"error_code":10017,"error":"text not find domain!"}', 10017, Kind.FATAL),
    (502, b"<html>Bad Gateway</html>", 0, Kind.AMBIGUOUS),
])
def test_error_codes_are_read_as_strings_or_numbers(status: int, body: bytes, code: int, kind: Kind) -> None:
    error = parse_error(status, body)
    assert error is not None and error.code == code and error.kind is kind


def test_a_success_is_not_an_error() -> None:
    assert parse_error(200, b'{"idstr": "1", "text": "x"}') is None


def test_covers_are_sent_as_weibo_accepts_them(tmp_path) -> None:  # noqa: ANN001
    import io
    import os

    from PIL import Image

    from channels.weibo.images import MAX_BYTES, prepare

    small = tmp_path / "small.png"
    Image.new("RGB", (40, 30), (1, 2, 3)).save(small, "PNG")
    pic, note = prepare(small, "封面.png")
    assert pic.mime == "image/png" and pic.data == small.read_bytes() and note == ""
    noise = tmp_path / "noise.png"
    Image.frombytes("RGB", (1600, 1600), os.urandom(1600 * 1600 * 3)).save(noise, "PNG")
    assert noise.stat().st_size >= MAX_BYTES
    pic, note = prepare(noise, "noise.png")
    assert pic.mime == "image/jpeg" and len(pic.data) < MAX_BYTES and "已压缩" in note
    assert Image.open(io.BytesIO(pic.data)).format == "JPEG"
    missing, note = prepare(tmp_path / "gone.png", "gone.png")
    assert missing is None and "无法读取" in note
