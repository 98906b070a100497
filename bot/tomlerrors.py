"""tomllib's syntax errors said in Chinese, with the line and column they name."""
from __future__ import annotations

import re
import tomllib

_PLACE = re.compile(r"\s*\(at (?:line (\d+), column (\d+)|end of document)\)\s*$")
_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), c) for p, c in (
    (r"Expected '=' after a key in a key/value pair", "键后面缺少“=”"),
    (r"Expected ']' at the end of a table declaration", "表名后面缺少“]”"),
    (r"Expected ']]' at the end of an array declaration", "表数组名后面缺少“]]”"),
    (r"Expected newline or end of document after a statement", "一行只能写一项，后面多了内容"),
    (r"Invalid date or datetime", "日期或时间无效"),
    (r"Invalid hex value", "转义字符中的十六进制数无效"),
    (r"Invalid initial character for a key part", "键名的开头字符无效（键名用字母、数字、_ 或 -，其他写法加引号）"),
    (r"Invalid statement", "无法识别这一行"),
    (r"Invalid value", "值无效（文本要加引号，如 key = \"值\"）"),
    (r"Unclosed array", "数组缺少结尾的“]”"),
    (r"Unclosed inline table", "内联表缺少结尾的“}”"),
    (r"Unterminated string", "字符串缺少结尾的引号"),
    (r"Unescaped '\\\\' in a string", "字符串中的“\\”要写成“\\\\”，或改用单引号"),
    (r"Escaped character is not a Unicode scalar value", "转义字符不是有效的 Unicode 字符"),
    (r"Cannot overwrite a value", "同一个键写了两次"),
    (r"Cannot declare (.+) twice", r"\1 声明了两次"),
    (r"Cannot mutate immutable namespace (.+)", r"\1 已经定义，不能再添加内容"),
    (r"Cannot redefine namespace (.+)", r"\1 已经定义，不能重新定义"),
    (r"Duplicate inline table key (.+)", r"内联表中的键 \1 重复"),
    (r"Found invalid character (.+)", r"出现了无效字符 \1"),
    (r"Illegal character (.+)", r"出现了不允许的字符 \1"),
    (r"Expected (.+)", r"这里应为 \1"),
))


def describe(exc: tomllib.TOMLDecodeError) -> str:
    """``第 3 行第 5 列：键后面缺少“=”`` (or the original text when tomllib says something new)."""
    text = str(exc)
    place = _PLACE.search(text)
    where = ""
    if place:
        text = text[: place.start()]
        where = f"第 {place[1]} 行第 {place[2]} 列：" if place[1] else "文件末尾："
    for pattern, chinese in _MESSAGES:
        match = pattern.fullmatch(text)
        if match:
            return where + match.expand(chinese)
    return where + text
