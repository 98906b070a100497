"""Markdown files with front matter: good files parse, bad ones name the field and store nothing."""
from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from content import frontmatter, workflow
from content.errors import InputError
from content.models import AuditEvent, Item

GOOD = """---
kind: policy
title: 关于优化政务服务事项办理流程的通知
department: 市政务服务局
column: 政策文件
summary: 精简材料，压缩时限。
index_no: 11000000/2026-00099
doc_no: 示政服发〔2026〕7号
issuer: 示例市政务服务局
topic: 政务服务
issued: 2026-11-18
validity: 有效
tags: [政务服务, 办事指南]
normative: true
---
# 一、总体要求

各单位要**压缩办理时限**。
"""


def test_a_good_file_parses(tmp_path: Path) -> None:
    f = tmp_path / "p.md"
    f.write_text(GOOD, encoding="utf-8")
    d = frontmatter.load(f)
    assert d.kind == "policy" and d.title.startswith("关于优化")
    assert d.issued.isoformat() == "2026-11-18"
    assert d.tags == ("政务服务", "办事指南") and d.normative is True
    assert "压缩办理时限" in d.body_md


def test_default_column_follows_the_kind() -> None:
    d = frontmatter.parse("---\nkind: interpretation\ntitle: 解读\n---\n正文")
    assert d.column == "政策解读"


@pytest.mark.parametrize("text, field, words", [
    ("没有 front matter 的正文", None, "缺少 front matter"),
    ("---\ntitle: 无类型\n---\n正文", "kind", "缺少稿件类型"),
    ("---\nkind: polcy\ntitle: 错字\n---\n正文", "kind", "未知稿件类型“polcy”，是不是要写 policy？"),
    ("---\nkind: news\n---\n正文", "title", "缺少标题"),
    ("---\nkind: news\ntitle: 日期\nissued: 2026-02-30\n---\n", "issued", "日期 '2026-02-30' 无效"),
    ("---\nkind: news\ntitle: 日期\nissued: 明天\n---\n", "issued", "无效"),
    ("---\nkind: news\ntitle: 多余\nauthour: 张三\n---\n", "authour", "authour: 未知字段"),
    ("---\nkind: news\ntitle: 错误\ninterprets: 3\n---\n", "interprets", "只有 kind: interpretation"),
    ("---\nkind: news\ntitle: [a, b\n---\n", None, "front matter 第 3 行：方括号列表没有闭合或缺少逗号"),
    ("---\nkind: news\ntitle: 图片\nimages: [missing.png]\n---\n", "images", "找不到文件 missing.png"),
    ("---\nkind: news\ntitle: 图片\n---\n![图](nothere.png)", "body", "找不到文件 nothere.png"),
    ("---\nkind: news\ntitle: " + "长" * 201 + "\n---\n", "title", "标题过长"),
    ("---\nkind: news\ntitle: 布尔\nnormative: 是\n---\n", "normative", "应为 true 或 false"),
])
def test_bad_front_matter_names_the_field(tmp_path: Path, text: str, field: str | None,
                                          words: str) -> None:
    with pytest.raises(InputError) as err:
        frontmatter.parse(text, base_dir=tmp_path)
    assert err.value.field == field
    assert words in str(err.value)


async def _count(store) -> tuple[int, int]:  # noqa: ANN001
    async with store.sessions() as s:
        return (await s.scalar(select(func.count(Item.id))),
                await s.scalar(select(func.count(AuditEvent.id))))


async def test_interprets_must_name_a_policy_and_nothing_is_stored(desk) -> None:  # noqa: ANN001
    news = await desk.add("news", "一条动态")
    before = await _count(desk.store)
    for target in (news, 999, "不存在的文号"):
        draft = frontmatter.build({"kind": "interpretation", "title": "解读", "interprets": target}, "正文")
        with pytest.raises(InputError) as err:
            await desk.store.transaction(lambda s, draft=draft: workflow.add_item(
                s, draft, actor="alice", now=desk.clock.now(), files=desk.files))
        assert err.value.field == "interprets"
    assert await _count(desk.store) == before


async def test_interprets_accepts_the_policy_document_number(desk) -> None:  # noqa: ANN001
    policy = await desk.add("policy", "政策", doc_no="示政发〔2026〕3号")
    interp = await desk.add("interpretation", "解读", interprets="示政发〔2026〕3号")
    async with desk.store.sessions() as s:
        view = (await __import__("content.views", fromlist=["load_views"]).load_views(
            s, [interp], revision="current"))[0]
    assert view.interprets == (policy,)


async def test_local_images_are_stored_and_linked(desk, tmp_path: Path) -> None:  # noqa: ANN001
    png = tmp_path / "chart.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
    f = tmp_path / "n.md"
    f.write_text("---\nkind: news\ntitle: 图解\ndepartment: 办公室\n---\n![数据图解](chart.png)\n",
                 encoding="utf-8")
    draft = frontmatter.load(f)
    item = await desk.store.transaction(lambda s: workflow.add_item(
        s, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    from content.views import load_views
    async with desk.store.sessions() as s:
        view = (await load_views(s, [item.id], revision="current"))[0]
    assert view.images[0].alt == "数据图解"
    assert f'src="/files/{view.images[0].name}"' in view.body_html
    assert desk.files.path(view.images[0].name).read_bytes() == png.read_bytes()


@pytest.mark.parametrize("name, kind", [
    ("政策文件", "policy"), ("政策解读", "interpretation"), ("决策", "decision"),
    ("会议决定", "decision"), ("重大决策", "decision"), ("清单调整", "list_change"),
    ("名单变更", "list_change"), ("突发事件", "emergency"), ("新闻发布会", "press_conference"),
    ("办事指南", "service_guide"), ("工作动态", "news"), ("新闻", "news"), ("Policy", "policy"),
])
def test_kinds_can_be_written_in_chinese(name: str, kind: str) -> None:
    assert frontmatter.parse(f"---\nkind: {name}\ntitle: 标题\n---\n正文").kind == kind


@pytest.mark.parametrize("text, field, message", [
    ("---\nkind: interpretation\ntitle: 解读\ninterpret: 3\n---\n", "interpret", "未知字段，是不是要写 interprets？"),
    ("---\nkind: news\ntitle: 标题\n文号: 示发〔2026〕1号\n---\n", "文号", "未知字段，是不是要写 doc_no？"),
    ("---\nkind: 解读\ntitle: 解读\n---\n", "kind", "未知稿件类型“解读”，是不是要写 政策解读？"),
    ("---\nkind: newz\ntitle: 标题\n---\n", "kind", "未知稿件类型“newz”，是不是要写 news？"),
])
def test_unknown_names_get_the_nearest_known_one(text: str, field: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        frontmatter.parse(text)
    assert err.value.field == field and err.value.message == message
    assert str(err.value).count(f"{field}:") == 1


@pytest.mark.parametrize("text", [
    "---\nkind: news\ntitle：标题\n---\n",
    "---\ntitle：标题\nkind: news\n---\n",
    "---\nkind: news\ntitle： 标题\ndepartment: 办公室\n---\n",
])
def test_a_full_width_colon_after_a_key_is_named(text: str) -> None:
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "：" in row)
    with pytest.raises(InputError) as err:
        frontmatter.parse(text)
    assert err.value.message == f"第 {line} 行的键后用了全角冒号“：”，请改为半角冒号“:”"
    assert err.value.fix == "写成 title: 值"


def test_a_full_width_colon_inside_a_value_is_fine() -> None:
    d = frontmatter.parse("---\nkind: news\ntitle: 通知：关于放假\nsummary: |\n  一、目标：公开\n---\n")
    assert d.title == "通知：关于放假" and d.summary == "一、目标：公开"


@pytest.mark.parametrize("yaml_text, message", [
    ("kind: news\n\ttitle: 标题\n", "第 3 行：用了制表符（Tab）缩进"),
    ("kind: news\ntitle: 标题: 副标题\n", "第 3 行：冒号位置不对"),
    ("kind: news\ntitle: \"标题\n", "引号或括号没有闭合"),
    ("kind: news\ntitle: 标题\n  department: 办公室\n", "第 4 行：冒号位置不对"),
    ("kind: news\ntitle: \"a\\q\"\n", "第 3 行：双引号里有无效的转义符"),
])
def test_yaml_errors_are_one_chinese_line_with_the_line_number(yaml_text: str, message: str) -> None:
    with pytest.raises(InputError) as err:
        frontmatter.parse(f"---\n{yaml_text}---\n正文\n")
    rendered = str(err.value)
    assert message in rendered and "\n" not in rendered
    assert not any(english in rendered for english in ("mapping", "expected", "found", "scanning"))


def test_cli_options_take_chinese_kind_names(tmp_path: Path, sqlite_url: str) -> None:
    from tests.botproc import bot_env, cli_json, invoke

    env = bot_env(tmp_path, sqlite_url)
    (tmp_path / "n.md").write_text("---\nkind: 工作动态\ntitle: 动态\ndepartment: 办公室\n---\n正文\n",
                                   encoding="utf-8")
    added = cli_json(env, "post", "add", str(tmp_path / "n.md"))
    assert added["kind"] == "news"
    assert [i["id"] for i in cli_json(env, "post", "list", "--kind", "工作动态")["items"]] == [added["id"]]
    assert cli_json(env, "post", "list", "--kind", "政策文件")["items"] == []
    result = invoke(env, "post", "list", "--kind", "动态", code=2)
    assert result.output.startswith("错误：--kind: 未知稿件类型“动态”，是不是要写 工作动态？")
