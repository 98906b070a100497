"""Front matter is bounded before anything is built: YAML aliases and anchors are refused (a
400-byte alias bomb once took 1.48 GB and stored a 351 MB tag), nesting and size are limited,
and NUL and other control characters are refused in every field and in the body — on SQLite
and on PostgreSQL, with one Chinese line and nothing stored."""
from __future__ import annotations

import resource
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from content import frontmatter, workflow
from content.errors import InputError
from content.models import AuditEvent, Item
from tests.botproc import bot_env, cli_json, invoke


def _bomb() -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for prev, name in zip("abcdefgh", "bcdefghi"):
        lines.append(f"{name}: &{name} [" + ",".join([f"*{prev}"] * 9) + "]")
    return "---\nkind: news\ntitle: 炸弹\n" + "\n".join(lines) + "\ntags: *i\n---\n正文\n"


def _peak_kb() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def test_an_alias_bomb_is_refused_at_once() -> None:
    text = _bomb()
    assert len(text.encode()) < 700
    before, started = _peak_kb(), time.monotonic()
    with pytest.raises(InputError) as err:
        frontmatter.parse(text)
    assert "不支持 YAML 锚点（&名称）" in err.value.message and "第 4 行" in err.value.message
    assert time.monotonic() - started < 1 and _peak_kb() - before < 50_000


@pytest.mark.parametrize("yaml_text, words", [
    ("kind: news\ntitle: *t\n", "第 3 行：不支持 YAML 别名（*名称）"),
    ("kind: news\ntitle: &t 标题\n", "第 3 行：不支持 YAML 锚点（&名称）"),
    ("kind: news\ntitle: !!binary aGVsbG8=\n", "不支持 YAML 标签 tag:yaml.org,2002:binary"),
    ("kind: news\ntitle: 一\ntitle: 二\n", "第 4 行：字段 title 写了两次"),
    ("kind: news\ntitle: 深\ntags: " + "[" * 5000 + "]" * 5000 + "\n", "嵌套超过 8 层"),
    ("kind: news\ntitle: 大\nsummary: '" + "长" * 30000 + "'\n", "超过上限 65536 字节"),
])
def test_yaml_beyond_the_bounds_is_refused(yaml_text: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        frontmatter.parse(f"---\n{yaml_text}---\n正文\n")
    assert words in err.value.message


@pytest.mark.parametrize("text, field, words", [
    ("---\nkind: news\ntitle: 有\x00空字符\n---\n正文\n", None, "第 3 行含有控制字符 U+0000"),
    ('---\nkind: news\ntitle: "转义\\0空字符"\n---\n正文\n', "title", "含有控制字符 U+0000"),
    ('---\nkind: news\ntitle: 标题\ndoc_no: "示\\x07发"\n---\n正文\n', "doc_no", "U+0007"),
    ('---\nkind: news\ntitle: 标题\ntags: ["\\u202e反向"]\n---\n正文\n', "tags", "U+202E"),
    ("---\nkind: news\ntitle: 标题\n---\n第一段\n\n第二段\x00\n", "body", "第 7 行含有控制字符 U+0000"),
    ("---\nkind: news\ntitle: 标题\n---\n响铃\x1b[31m\n", "body", "U+001B"),
])
def test_control_characters_are_refused_with_their_line(text: str, field: str | None,
                                                        words: str) -> None:
    with pytest.raises(InputError) as err:
        frontmatter.parse(text)
    assert err.value.field == field and words in err.value.message


def test_tabs_and_line_breaks_stay_allowed() -> None:
    draft = frontmatter.parse("---\r\nkind: news\r\ntitle: 标题\r\nsummary: \"一\\t二\"\r\n---\r\n甲\t乙\r\n丙\n")
    assert draft.summary == "一\t二" and "甲\t乙" in draft.body_md


async def _counts(store) -> tuple[int, int]:  # noqa: ANN001
    async with store.sessions() as s:
        return (await s.scalar(select(func.count(Item.id))),
                await s.scalar(select(func.count(AuditEvent.id))))


@pytest.mark.parametrize("meta, body, field", [
    ({"title": "空\x00字符"}, "正文", "title"),
    ({"title": "标题", "doc_no": "示发\x00〔2026〕1号"}, "正文", "doc_no"),
    ({"title": "标题", "tags": ["甲", "乙\x00"]}, "正文", "tags"),
    ({"title": "标题", "kind": "service_guide", "fees": "不收费\x00"}, "正文", "fees"),
    ({"title": "标题"}, "正文\x00", "body"),
    ({"title": "标题", "doc_no": "长" * 101}, "正文", "doc_no"),
    ({"title": "标题", "issuer": "长" * 201}, "正文", "issuer"),
    ({"title": "标题", "tags": ["长" * 51]}, "正文", "tags"),
    ({"title": "标题", "tags": [f"t{n}" for n in range(31)]}, "正文", "tags"),
])
async def test_the_store_never_sees_what_it_cannot_hold(desk, meta: dict, body: str,  # noqa: ANN001
                                                         field: str) -> None:
    """NUL ends PostgreSQL text and over-long values overflow its columns: both used to end in
    a traceback there. Each is now an InputError before the store is touched, on both stores."""
    before = await _counts(desk.store)
    with pytest.raises(InputError) as err:
        draft = frontmatter.build({"kind": "news", "department": "办公室", **meta}, body)
        await desk.store.transaction(lambda s: workflow.add_item(
            s, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    assert err.value.field == field
    assert await _counts(desk.store) == before


async def test_values_at_the_limits_are_stored(desk) -> None:  # noqa: ANN001
    item = await desk.add("policy", "长" * 200, doc_no="号" * 100, issuer="机" * 200,
                          index_no="1" * 100, topic="题" * 100, validity="有" * 200,
                          tags=["签" * 50] * 1)
    assert item > 0


def test_an_oversized_file_is_not_read_whole(tmp_path: Path) -> None:
    f = tmp_path / "big.md"
    f.write_bytes(b"---\nkind: news\ntitle: big\n---\n" + b"a" * (frontmatter.MAX_SOURCE + 10))
    with pytest.raises(InputError, match="超过"):
        frontmatter.load(f)


def test_post_add_reports_a_bomb_in_one_line_and_stores_nothing(tmp_path: Path,
                                                                 database_url: str) -> None:
    env = bot_env(tmp_path, database_url)
    for name, text in (("bomb.md", _bomb()),
                       ("nul.md", '---\nkind: news\ntitle: "a\\0b"\ndepartment: 办公室\n---\n正文\n'),
                       ("deep.md", "---\nkind: news\ntitle: x\ntags: " + "[" * 300 + "]" * 300 + "\n---\n")):
        (tmp_path / name).write_text(text, encoding="utf-8")
        result = invoke(env, "post", "add", str(tmp_path / name), code=2)
        assert len(result.output.strip().splitlines()) == 1, result.output
        assert result.output.startswith("错误：") and "Traceback" not in result.output
    assert cli_json(env, "post", "list")["items"] == []



async def test_review_texts_refuse_control_characters_too(desk) -> None:  # noqa: ANN001
    """Comments, reasons, notes and override reasons reach the store as well (and the web
    console can send any character the command line cannot)."""
    item = await desk.add("news", "动态")
    await desk.store.transaction(lambda s: workflow.submit(
        s, item, actor="alice", now=desk.clock.now(), rules=desk.rules, files=desk.files))
    before = await _counts(desk.store)
    steps = [
        ("--comment", lambda s: workflow.return_item(s, item, actor="bob", now=desk.clock.now(),
                                                     comment="请修改\x00")),
        ("--override", lambda s: workflow.approve(s, item, actor="bob", now=desk.clock.now(),
                                                  override_reason="同意\x00")),
    ]
    for field, step in steps:
        with pytest.raises(InputError) as err:
            await desk.store.transaction(step)
        assert err.value.field == field and "U+0000" in err.value.message
    assert await _counts(desk.store) == before
