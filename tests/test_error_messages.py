"""An error that names its field is shown as "field: message", so a message that repeats the
field reads "interprets: interprets: …". Every error raised with a fixed ``field=`` anywhere in
the program is checked here, and one real case end to end."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from content import frontmatter, workflow
from content.errors import InputError

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("content", "bot", "channels", "schedules")


def _leading_text(node: ast.expr) -> str:
    """The literal text a message expression starts with."""
    while isinstance(node, ast.BinOp):
        node = node.left
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr) and node.values and isinstance(node.values[0], ast.Constant):
        return str(node.values[0].value)
    return ""


def _literal_parts(node: ast.expr) -> list[str]:
    return [n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)]


def _repeating_calls() -> list[str]:
    found = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call) or not node.args:
                    continue
                field = next((k.value for k in node.keywords if k.arg == "field"), None)
                if not (isinstance(field, ast.Constant) and isinstance(field.value, str)):
                    continue
                name = field.value
                head = _leading_text(node.args[0]).lstrip()
                parts = _literal_parts(node.args[0])
                if head.startswith((name, name.lstrip("-"))) or any(
                        f"{name}:" in p or f"{name}：" in p for p in parts):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} field={name}")
    return found


def test_no_error_message_repeats_its_field() -> None:
    assert _repeating_calls() == []


async def test_an_unknown_document_number_is_reported_once(desk) -> None:  # noqa: ANN001
    draft = frontmatter.build({"kind": "interpretation", "title": "解读", "interprets": "不存在的文号"}, "正文")
    with pytest.raises(InputError) as err:
        await desk.store.transaction(lambda s: workflow.add_item(
            s, draft, actor="alice", now=desk.clock.now(), files=desk.files))
    assert str(err.value).startswith("interprets: 文号或索引号 '不存在的文号' 没有对应的稿件")
    assert str(err.value).count("interprets") == 1
