"""Characters that never belong in stored text: NUL (PostgreSQL refuses it in text columns),
the other C0/C1 control characters except tab and line breaks, and the bidirectional overrides
that make text read differently from what it contains."""
from __future__ import annotations

import re

from content.errors import InputError

_FORBIDDEN = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def refuse_controls(text: str, *, field: str | None, first_line: int = 1) -> None:
    """Raise for the first forbidden character in ``text``, naming its code point and line
    (``first_line`` is the file line of the text's first line)."""
    match = _FORBIDDEN.search(text)
    if match is None:
        return
    line = text.count("\n", 0, match.start()) + first_line
    where = f"第 {line} 行" if "\n" in text or first_line != 1 else ""
    raise InputError(f"{where}含有控制字符 U+{ord(match.group()):04X}",
                     field=field, fix="删除该字符（常见于从其他软件复制的文字）后重新保存")
