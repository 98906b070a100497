"""Bounded YAML for front matter: no anchors or aliases, no explicit tags, no duplicate keys,
a size and a nesting limit checked before anything is built, and Chinese one-line errors that
carry the line number in the Markdown file.

PyYAML's safe loader still expands aliases (a few hundred bytes can become gigabytes) and
recurses once per nesting level; both are refused here while the document is being composed.
"""
from __future__ import annotations

import re
from typing import Any

import yaml
from yaml.events import AliasEvent, CollectionStartEvent, ScalarEvent
from yaml.nodes import MappingNode

from content.errors import InputError

MAX_BYTES = 64 * 1024
MAX_DEPTH = 8

#: Line 1 of the file is the opening ``---``; YAML line 0 is file line 2.
FIRST_LINE = 2

_FULL_WIDTH_KEY = re.compile(r"^(\s*-?\s*)([^\s:#'\"][^:]*?)\s*：")

# PyYAML problem text → what to tell the author (the first match wins).
_PROBLEMS = (
    ("found character '\\t'", "用了制表符（Tab）缩进", "YAML 只能用空格缩进，把 Tab 换成空格"),
    ("mapping values are not allowed", "冒号位置不对：值里含有“: ”，或缩进不一致",
     "值里有冒号时给整个值加引号，如 title: \"标题：副标题\"；字段行不要缩进"),
    ("could not find expected ':'", "缺少冒号，应写成“字段: 值”", "在字段名后加半角冒号和空格"),
    ("expected ',' or ']'", "方括号列表没有闭合或缺少逗号", "写成 [项一, 项二]"),
    ("expected ',' or '}'", "花括号没有闭合或缺少逗号", "写成 {path: 文件, alt: 说明}"),
    ("found unexpected end of stream", "引号或括号没有闭合", "检查这一行的引号和括号是否成对"),
    ("found unknown escape character", "双引号里有无效的转义符“\\”", "改用单引号，或把 \\ 写成 \\\\"),
    ("expected <block end>", "缩进不一致", "同一层的字段或列表项应左对齐"),
    ("found unhashable key", "字段名不能是列表或映射", "每行写成“字段: 值”"),
    ("while scanning an alias", "“*”不能用在值的开头", "给整个值加引号"),
    ("while scanning an anchor", "“&”不能用在值的开头", "给整个值加引号"),
    ("found undefined alias", "不支持 YAML 别名（*名称）", "直接写出内容，值以 * 开头时加引号"),
    ("unacceptable character", "含有不允许的控制字符", "删除该字符后重新保存"),
)


class _Refused(yaml.MarkedYAMLError):
    """A document we will not compose (the message is already Chinese)."""

    def __init__(self, problem: str, fix: str, mark: Any) -> None:
        super().__init__(problem=problem, problem_mark=mark)
        self.fix = fix


class BoundedLoader(yaml.SafeLoader):
    """Safe YAML that keeps dates as text, refuses aliases, anchors, explicit tags and
    duplicate keys, and stops at ``MAX_DEPTH`` levels of nesting."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            raise _Refused("不支持 YAML 别名（*名称）", "直接写出内容；值以 * 开头时给整个值加引号",
                           event.start_mark)
        if getattr(event, "anchor", None):
            raise _Refused("不支持 YAML 锚点（&名称）", "删除 &名称；值以 & 开头时给整个值加引号",
                           event.start_mark)
        if isinstance(event, (ScalarEvent, CollectionStartEvent)) and event.tag not in (None, "!"):
            raise _Refused(f"不支持 YAML 标签 {event.tag}", "删除以 ! 开头的标签，直接写值",
                           event.start_mark)
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(f"嵌套超过 {MAX_DEPTH} 层", "front matter 只需要字段、列表和 path/alt 条目",
                               event.start_mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[str] = set()
        for key_node, _ in node.value:
            key = getattr(key_node, "value", None)
            if isinstance(key, str):
                if key in seen:
                    raise _Refused(f"字段 {key} 写了两次", "删除重复的一行", key_node.start_mark)
                seen.add(key)
        return super().construct_mapping(node, deep=deep)


BoundedLoader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def load(text: str) -> Any:
    """Parse a front matter block (the text between the ``---`` lines)."""
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        raise InputError(f"front matter 有 {size} 字节，超过上限 {MAX_BYTES} 字节",
                         fix="front matter 只放字段；长文字写进正文，文件作附件")
    try:
        return yaml.load(text, Loader=BoundedLoader)
    except _Refused as exc:
        raise InputError(f"front matter {_where(exc.problem_mark)}{exc.problem}", fix=exc.fix) from None
    except yaml.YAMLError as exc:
        raise _explain(text, exc) from None


def full_width_colon(text: str) -> InputError | None:
    """The error for the first key written with a full-width colon, if any."""
    for number, line in enumerate(text.splitlines()):
        match = _FULL_WIDTH_KEY.match(line)
        if match and not line.startswith((" ", "\t")):
            return InputError(f"第 {number + FIRST_LINE} 行的键后用了全角冒号“：”，请改为半角冒号“:”",
                              fix=f"写成 {match.group(2).strip()}: 值")
    return None


def _explain(text: str, exc: yaml.YAMLError) -> InputError:
    colon = full_width_colon(text)
    if colon is not None:
        return colon
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = f"{getattr(exc, 'context', '') or ''} {getattr(exc, 'problem', '') or exc}"
    for needle, message, fix in _PROBLEMS:
        if needle in problem:
            return InputError(f"front matter {_where(mark)}{message}", fix=fix)
    return InputError(f"front matter {_where(mark)}不是有效的 YAML", fix="检查冒号、引号和缩进")


def _where(mark: Any) -> str:
    return f"第 {mark.line + FIRST_LINE} 行：" if mark is not None else ""
