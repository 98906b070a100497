"""The item form (console, API): which metadata fields a kind shows, in Chinese, which are
required, and the way a filled-in form becomes an :class:`ItemDraft`.

A form is turned into the same mapping a Markdown file's front matter gives and passed to
:func:`content.frontmatter.build`, so a form and ``post add FILE.md`` are checked by the same
code and produce the same item. Uploaded files are named by their staged path
(:mod:`content.uploads`) and the stage folder plays the part of the Markdown file's folder.
"""
from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from content.frontmatter import FIELD_LABELS, ItemDraft, build
from content.kinds import KINDS, SERVICE_GUIDE_FIELDS, Kind, parse_kind
from content.uploads import Staged

COMMON = ("title", "summary", "department", "column", "index_no", "doc_no", "issuer", "topic",
          "issued", "validity", "normative", "tags", "formed_on")
BY_KIND: dict[Kind, tuple[str, ...]] = {
    Kind.POLICY: ("interpretation", "interpretation_reason"),
    Kind.INTERPRETATION: ("interprets",),
    Kind.DECISION: ("meeting_date",),
    Kind.LIST_CHANGE: ("changed_on",),
    Kind.SERVICE_GUIDE: tuple(SERVICE_GUIDE_FIELDS),
    Kind.NEWS: ("follows",),
    Kind.EMERGENCY: ("follows",),
}
DATES = ("issued", "meeting_date", "changed_on", "formed_on")
LONG = ("summary", "basis", "process", "materials", "interpretation_reason")
HINTS = {
    "tags": "多个标签用逗号或顿号分隔",
    "interpretation": "不需要解读时选择“不需要”，并写明理由",
    "interprets": "搜索政策文件的标题或文号，选择后填入稿件编号",
    "follows": "所跟进稿件的编号",
    "column": "留空则使用该类型的默认栏目",
    "formed_on": "信息形成之日起 20 个工作日内应当公开",
}


@dataclass(frozen=True)
class FormField:
    name: str
    label: str
    required: bool
    widget: str  # text | textarea | date | checkbox | choice | item
    hint: str = ""


def fields_for(kind: Kind | str) -> list[FormField]:
    kind = parse_kind(kind)
    required = set(KINDS[kind].required) | {"title"}
    out = []
    special = BY_KIND.get(kind, ())
    first = tuple(n for n in special if n == "interprets")  # what an interpretation is about
    for name in (*COMMON[:2], *first, *COMMON[2:], *(n for n in special if n not in first)):
        widget = ("date" if name in DATES else "textarea" if name in LONG else
                  "checkbox" if name == "normative" else "choice" if name == "interpretation" else
                  "item" if name in ("interprets", "follows") else "text")
        out.append(FormField(name, FIELD_LABELS.get(name, name), name in required, widget,
                             HINTS.get(name, "")))
    return out


def meta_from_form(kind: str, form: Mapping[str, str]) -> dict[str, object]:
    """The front matter a filled-in form stands for: empty fields left out, as a person writing
    the file would leave them out."""
    meta: dict[str, object] = {"kind": kind}
    for f in fields_for(kind):
        raw = form.get(f.name)
        if f.widget == "checkbox":
            if raw:
                meta[f.name] = True
            continue
        value = (raw or "").replace("\r\n", "\n")
        if value.strip():
            meta[f.name] = value
    return meta


def draft_from_form(kind: str, form: Mapping[str, str], body: str, files: Sequence[tuple[Staged, str]],
                    stage_root: Path) -> ItemDraft:
    """Build the draft of a form. ``files`` are the staged uploads with their descriptions
    (alt); an image the body already shows (``![说明](<staged path>)``) is not listed again."""
    meta = meta_from_form(kind, form)
    body = body.replace("\r\n", "\n").strip("\n")
    images, attachments = [], []
    for staged, alt in files:
        if staged.role == "attachment":
            attachments.append({"path": staged.ref, "alt": alt} if alt else staged.ref)
        elif not re.search(r"\]\(" + re.escape(staged.ref) + r"[\s)]", body):
            images.append({"path": staged.ref, "alt": alt} if alt else staged.ref)
    if images:
        meta["images"] = images
    if attachments:
        meta["attachments"] = attachments
    return build(meta, body, base_dir=stage_root)


def form_from_draft_values(values: Mapping[str, object]) -> dict[str, str]:
    """Form field values (text) from stored metadata, for the edit form."""
    out = {}
    for name, value in values.items():
        if value is None or value == "" or value == () or value is False:
            continue
        if value is True:
            out[name] = "on"
        elif isinstance(value, (list, tuple)):
            out[name] = "、".join(map(str, value))
        else:
            out[name] = str(value)
    return out
