"""What changed between two revisions of an item, for a reviewer: the metadata fields side by
side and the body compared character by character (Chinese has no spaces to cut words at; runs
of Latin letters and digits are kept whole), rendered as escaped HTML with ``<ins>``/``<del>``."""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

from content.frontmatter import FIELD_LABELS
from content.models import Revision

_TOKEN = re.compile(r"[A-Za-z0-9_]+|\s+|.", re.S)
FIELDS = ("title", "summary", "department", "column_name", "index_no", "doc_no", "issuer", "topic",
          "issued", "validity", "normative", "tags")


@dataclass(frozen=True)
class FieldChange:
    name: str
    label: str
    old: str
    new: str
    diff: Markup


@dataclass(frozen=True)
class RevisionDiff:
    old_number: int | None
    new_number: int
    fields: tuple[FieldChange, ...]
    body: Markup
    body_changed: bool


def tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def inline(old: str, new: str) -> Markup:
    """``new`` with what was removed from ``old`` in ``<del>`` and what was added in ``<ins>``;
    every character escaped."""
    a, b = tokens(old), tokens(new)
    out: list[str] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(f"<del>{escape(''.join(a[i1:i2]))}</del>")
        if j2 > j1:
            out.append(f"<ins>{escape(''.join(b[j1:j2]))}</ins>")
    return Markup("".join(out))


def body_diff(old: str, new: str) -> Markup:
    """Line by line; changed lines compared character by character."""
    a, b = old.splitlines(), new.splitlines()
    out: list[str] = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out += [f'<div class="same">{escape(line) or "&nbsp;"}</div>' for line in a[i1:i2]]
        elif op == "replace" and i2 - i1 == j2 - j1:
            out += [f'<div class="changed">{inline(x, y)}</div>' for x, y in zip(a[i1:i2], b[j1:j2])]
        elif op == "replace":
            out.append(f'<div class="changed">{inline(chr(10).join(a[i1:i2]), chr(10).join(b[j1:j2]))}</div>')
        elif op == "delete":
            out += [f'<div class="removed"><del>{escape(line) or "&nbsp;"}</del></div>' for line in a[i1:i2]]
        else:
            out += [f'<div class="added"><ins>{escape(line) or "&nbsp;"}</ins></div>' for line in b[j1:j2]]
    return Markup("".join(out))


def _value(rev: Revision, name: str) -> str:
    value = getattr(rev, name)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, list):
        return "、".join(map(str, value))
    return str(value)


def compare(old: Revision | None, new: Revision) -> RevisionDiff:
    """The change from ``old`` (None: a first revision, everything is new) to ``new``."""
    changes = []
    names = [*FIELDS, *sorted(set(new.extra or {}) | set((old.extra if old else None) or {}))]
    for name in names:
        if name in FIELDS:
            before = _value(old, name) if old else ""
            after = _value(new, name)
        else:
            before = str((old.extra or {}).get(name, "")) if old else ""
            after = str((new.extra or {}).get(name, ""))
        if before != after:
            label = FIELD_LABELS.get("column" if name == "column_name" else name, name)
            changes.append(FieldChange(name, label, before, after, inline(before, after)))
    old_body = old.body_md if old else ""
    return RevisionDiff(old.number if old else None, new.number, tuple(changes),
                        body_diff(old_body, new.body_md), old_body != new.body_md)
