"""What an item becomes as a WeChat article, before anything is uploaded: the title rule, the
digest, and the HTML cleaning WeChat would otherwise do (and hide) itself."""
from __future__ import annotations

from channels.wechat.rendition import clean, shorten_title


def test_titles_that_fit_are_kept() -> None:
    assert shorten_title("关于推行一网通办的通知") == ("关于推行一网通办的通知", "")
    assert shorten_title("  两个   空格  ")[0] == "两个 空格"


def test_a_long_title_loses_its_formula_first() -> None:
    title = "关于进一步优化营商环境推行政务服务“一网通办”和“跨省通办”若干措施的通知"
    short, how = shorten_title(title)
    assert short == "进一步优化营商环境推行政务服务“一网通办”和“跨省通办”若干措施" and len(short) <= 32
    assert "去掉开头的“关于”和结尾的“的通知”" in how


def test_a_title_still_too_long_is_cut_with_an_ellipsis() -> None:
    title = "关于" + "很长" * 30 + "的实施意见"
    short, how = shorten_title(title)
    assert len(short) == 32 and short.endswith("…") and short.startswith("很长")
    assert "前 31 字" in how
    assert shorten_title("没有套语" * 10)[0] == ("没有套语" * 10)[:31] + "…"


def test_cleaning_keeps_item_images_and_drops_what_wechat_would() -> None:
    html = ('<p onclick="x()">正文<a href="http://example.com">外链</a></p><script>alert(1)</script>'
            '<iframe src="http://x"></iframe><img src="/files/abc.png" alt="图"><img src="http://x/y.png">'
            '<p><a href="https://mp.weixin.qq.com/s/keep">原文</a></p>')
    out, notes, images = clean(html, frozenset({"https://mp.weixin.qq.com/s/keep"}))
    assert images == ["abc.png"]
    assert "script" not in out and "iframe" not in out and "onclick" not in out
    assert "http://x/y.png" not in out and "example.com" not in out and "外链" in out
    assert 'href="https://mp.weixin.qq.com/s/keep"' in out
    assert any("外部链接" in n for n in notes) and any("外部图片" in n for n in notes)
