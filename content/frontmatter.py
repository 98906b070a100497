"""Markdown files with YAML front matter → validated item drafts.

A file looks like::

    ---
    kind: policy
    title: 关于……的通知
    department: 市政务服务局
    issued: 2026-11-20
    ---
    正文（Markdown）

Every problem names the field and the fix; nothing is stored until the whole file is valid.
"""
from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal, overload

from content import yamlsafe
from content.cadence_fields import CADENCE_FIELDS, cadence_fields
from content.errors import InputError
from content.files import local_source
from content.kinds import (
    DEADLINE_FIELDS,
    KINDS,
    METADATA_LABELS,
    SERVICE_GUIDE_FIELDS,
    Kind,
    parse_kind,
)
from content.textguard import refuse_controls

MAX_TITLE = 200
MAX_SUMMARY = 1000
MAX_BODY = 200_000
#: The largest Markdown file read: the front matter limit plus a body of MAX_BODY characters.
MAX_SOURCE = yamlsafe.MAX_BYTES + 4 * MAX_BODY + 1024
MAX_TAGS = 30
MAX_TAG = 50
MAX_FILES = 50
MAX_ALT = 300
MAX_GUIDE_FIELD = 2000

TEXT_FIELDS = ("title", "summary", "department", "column", "index_no", "doc_no", "issuer",
               "topic", "validity")
#: Longest value of each text field, in characters (within the store's column sizes).
TEXT_LIMITS = {"title": MAX_TITLE, "summary": MAX_SUMMARY, "department": 200, "column": 200,
               "index_no": 100, "doc_no": 100, "issuer": 200, "topic": 100, "validity": 200,
               **{name: MAX_GUIDE_FIELD for name in SERVICE_GUIDE_FIELDS}}
KNOWN_FIELDS = set(TEXT_FIELDS) | {
    "kind", "issued", "interprets", "follows", "tags", "normative", "images", "attachments",
    "cover", *SERVICE_GUIDE_FIELDS, *DEADLINE_FIELDS, *CADENCE_FIELDS,
}
FIELD_LABELS = {**METADATA_LABELS, **DEADLINE_FIELDS, **CADENCE_FIELDS, "summary": "摘要", "column": "栏目", "kind": "类型",
                "tags": "标签", "normative": "规范性文件", "images": "图片", "attachments": "附件",
                "cover": "封面图", "follows": "后续信息所跟进的稿件"}

_FENCE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class FileRef:
    role: str  # image | attachment | cover
    path: Path  # the real path, inside ``folder``
    alt: str = ""
    target: str = ""  # the path as written in the Markdown file
    folder: Path | None = None  # the Markdown file's folder


@dataclass(frozen=True)
class ItemDraft:
    kind: Kind
    title: str
    body_md: str
    summary: str = ""
    department: str = ""
    column: str = ""
    index_no: str = ""
    doc_no: str = ""
    issuer: str = ""
    topic: str = ""
    issued: date | None = None
    validity: str = ""
    normative: bool = False
    tags: tuple[str, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)
    interprets: int | str | None = None
    follows: int | None = None
    files: tuple[FileRef, ...] = ()

    def metadata_value(self, name: str) -> Any:
        if name in SERVICE_GUIDE_FIELDS:
            return self.extra.get(name)
        return getattr(self, name)


def load(path: str | Path) -> ItemDraft:
    path = Path(path)
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_SOURCE + 1)
    except OSError as exc:
        raise InputError(f"无法读取文件 {path}：{exc.strerror}", fix="检查路径和读取权限") from exc
    if len(raw) > MAX_SOURCE:
        raise InputError(f"文件 {path} 超过 {MAX_SOURCE // 1024} KB",
                         fix=f"正文不超过 {MAX_BODY} 字；长文档作为附件发布")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"文件 {path} 不是 UTF-8 编码", fix="请另存为 UTF-8") from exc
    return parse(text, base_dir=path.parent)


def parse(text: str, *, base_dir: Path | None = None) -> ItemDraft:
    match = _FENCE.match(text)
    if not match:
        raise InputError(
            "缺少 front matter",
            fix="文件开头应为 '---' 行、YAML 字段（至少 kind 和 title）、再一行 '---'，其后为正文",
        )
    head = match.group(1)
    refuse_controls(head, field=None, first_line=yamlsafe.FIRST_LINE)
    body_line = text.count("\n", 0, match.start(2)) + 1
    refuse_controls(match.group(2), field="body", first_line=body_line)
    meta = yamlsafe.load(head)
    if meta is None:
        meta = {}
    if not isinstance(meta, dict):
        raise yamlsafe.full_width_colon(head) or InputError(
            "front matter 必须是“字段: 值”的映射", fix="每行写一个字段，如 title: 标题")
    body = match.group(2).strip("\n")
    return build(meta, body, base_dir=base_dir)


def build(meta: dict[str, Any], body: str, *, base_dir: Path | None = None) -> ItemDraft:
    _known_fields(meta)
    _refuse_controls_in(meta, None)
    refuse_controls(body, field="body")
    kind = parse_kind(meta.get("kind"))
    texts = {name: _text(meta, name) for name in TEXT_FIELDS}
    if not texts["title"]:
        raise InputError("缺少标题", field="title", fix="在 front matter 中加入 title: 标题")
    if len(body) > MAX_BODY:
        raise InputError(f"正文过长（{len(body)} 字，上限 {MAX_BODY}）", field="body",
                         fix="拆分为多篇或以附件发布")
    extra = {name: _text(meta, name) for name in SERVICE_GUIDE_FIELDS if meta.get(name) is not None}
    extra.update(_deadline_fields(meta, kind))
    extra.update(cadence_fields(meta, kind))
    interprets = _reference(meta, "interprets", allow_text=True)
    if interprets is not None and kind is not Kind.INTERPRETATION:
        raise InputError("只有 kind: interpretation（政策解读）的稿件可以填写本字段", field="interprets",
                         fix="删除 interprets，或把 kind 改为 interpretation")
    files = _files(meta, body, base_dir)
    if not texts["column"]:
        texts["column"] = KINDS[kind].default_column
    return ItemDraft(
        kind=kind,
        body_md=body,
        issued=_date(meta, "issued"),
        normative=_bool(meta, "normative"),
        tags=_tags(meta),
        extra=extra,
        interprets=interprets,
        follows=_reference(meta, "follows", allow_text=False),
        files=files,
        **texts,
    )


def _known_fields(meta: dict[str, Any]) -> None:
    for key in meta:
        if key in KNOWN_FIELDS:
            continue
        name = str(key)
        by_label = [f for f, label in FIELD_LABELS.items() if label == name.strip()]
        near = by_label or difflib.get_close_matches(name.lower(), sorted(KNOWN_FIELDS), n=1)
        hint = f"，是不是要写 {near[0]}？" if near else ""
        raise InputError(f"未知字段{hint}", field=name,
                         fix=f"可用字段：{', '.join(sorted(KNOWN_FIELDS))}")


def _refuse_controls_in(value: Any, name: str | None) -> None:
    """Every text in the parsed front matter, keys included (escapes such as "\0" in a
    double-quoted YAML string are only visible after parsing)."""
    if isinstance(value, dict):
        for key, item in value.items():
            refuse_controls(str(key), field=name or str(key))
            _refuse_controls_in(item, name or str(key))
    elif isinstance(value, list):
        for item in value:
            _refuse_controls_in(item, name)
    elif isinstance(value, str):
        refuse_controls(value, field=name)


def _text(meta: dict[str, Any], name: str) -> str:
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise InputError("应为一段文字", field=name, fix=f"写成 {name}: 文字")
    text = str(value).strip()
    limit = TEXT_LIMITS[name]
    if len(text) > limit:
        label = FIELD_LABELS.get(name, name)
        raise InputError(f"{label}过长（{len(text)} 字，上限 {limit}）", field=name,
                         fix=f"缩短{label}" + ("，或把详细内容写进正文" if limit >= MAX_SUMMARY else ""))
    return text


def _date(meta: dict[str, Any], name: str) -> date | None:
    value = meta.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value.date() if isinstance(value, datetime) else value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"日期 {value!r} 无效", field=name, fix="格式为 YYYY-MM-DD，如 2026-11-20") from None


def _deadline_fields(meta: dict[str, Any], kind: Kind) -> dict[str, str]:
    """The dates that start a statutory deadline, and a policy's "no interpretation needed"."""
    found = {name: day.isoformat() for name in ("meeting_date", "changed_on", "formed_on")
             if (day := _date(meta, name)) is not None}
    need = meta.get("interpretation")
    if need is None or need == "":
        if meta.get("interpretation_reason"):
            raise InputError("只有写了 interpretation: none 才需要说明理由", field="interpretation_reason",
                             fix="加上 interpretation: none，或删除 interpretation_reason")
        return found
    if str(need).strip().lower() != "none":
        raise InputError(f"{need!r} 无效", field="interpretation",
                         fix="不需要解读时写 interpretation: none，并用 interpretation_reason 说明理由")
    if kind is not Kind.POLICY:
        raise InputError("只有 kind: policy（政策文件）可以声明不需要解读", field="interpretation",
                         fix="删除 interpretation")
    reason = str(meta.get("interpretation_reason") or "").strip()
    if not reason or isinstance(meta.get("interpretation_reason"), (dict, list)):
        raise InputError("声明不需要解读时必须说明理由", field="interpretation_reason",
                         fix="写成 interpretation_reason: 理由")
    if len(reason) > MAX_SUMMARY:
        raise InputError(f"理由过长（{len(reason)} 字，上限 {MAX_SUMMARY}）", field="interpretation_reason",
                         fix="缩短理由")
    return {**found, "interpretation": "none", "interpretation_reason": reason}


def _bool(meta: dict[str, Any], name: str) -> bool:
    value = meta.get(name, False)
    if not isinstance(value, bool):
        raise InputError(f"应为 true 或 false，而不是 {value!r}", field=name, fix=f"写成 {name}: true")
    return value


def _tags(meta: dict[str, Any]) -> tuple[str, ...]:
    value = meta.get("tags")
    if value is None:
        return ()
    if isinstance(value, str):
        value = [t for t in re.split(r"[,，;；、]", value)]
    if not isinstance(value, list) or any(isinstance(t, (dict, list)) for t in value):
        raise InputError("应为标签列表", field="tags", fix="写成 tags: [标签一, 标签二]")
    tags = tuple(dict.fromkeys(str(t).strip() for t in value if str(t).strip()))
    if len(tags) > MAX_TAGS:
        raise InputError(f"标签太多（{len(tags)} 个，上限 {MAX_TAGS}）", field="tags", fix="保留最重要的几个")
    long = next((t for t in tags if len(t) > MAX_TAG), None)
    if long is not None:
        raise InputError(f"标签“{long[:20]}…”过长（上限 {MAX_TAG} 字）", field="tags", fix="缩短标签")
    return tags


@overload
def _reference(meta: dict[str, Any], name: str, *, allow_text: Literal[False]) -> int | None: ...
@overload
def _reference(meta: dict[str, Any], name: str, *, allow_text: bool) -> int | str | None: ...
def _reference(meta: dict[str, Any], name: str, *, allow_text: bool) -> int | str | None:
    value = meta.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or isinstance(value, (dict, list)):
        raise InputError(f"{value!r} 不是稿件编号", field=name, fix=f"写成 {name}: 稿件编号（如 12）")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if allow_text and len(text) <= TEXT_LIMITS["doc_no"]:
        return text  # a document number (文号) or index number, resolved against the store
    raise InputError(f"{value!r} 不是稿件编号", field=name, fix=f"写成 {name}: 稿件编号（如 12）")


def _files(meta: dict[str, Any], body: str, base_dir: Path | None) -> tuple[FileRef, ...]:
    written: list[tuple[str, str, str, str]] = []  # role, target, alt, field
    for alt, target in _MD_IMAGE.findall(body):
        if not re.match(r"^(https?:|/|data:)", target):
            written.append(("image", target, alt.strip(), "body"))
    for role, key in (("image", "images"), ("attachment", "attachments")):
        value = meta.get(key) or []
        if not isinstance(value, list):
            raise InputError("应为列表", field=key, fix=f"写成 {key}: [文件路径, …] 或带 path/alt 的条目")
        for entry in value:
            if isinstance(entry, dict):
                path, alt = entry.get("path"), entry.get("alt") or ""
            else:
                path, alt = entry, ""
            if not path or isinstance(path, (dict, list)) or isinstance(alt, (dict, list)):
                raise InputError("条目缺少文件路径", field=key, fix="每个条目写 path: 相对路径，可加 alt: 说明")
            written.append((role, str(path), str(alt).strip(), key))
    cover = meta.get("cover")
    if cover:
        if isinstance(cover, (dict, list)):
            raise InputError("应为一个文件路径", field="cover", fix="写成 cover: 图片路径")
        written.append(("cover", str(cover), "", "cover"))
    if len(written) > MAX_FILES:
        raise InputError(f"图片和附件太多（{len(written)} 个，上限 {MAX_FILES}）", field="attachments",
                         fix="合并为压缩包或分成几篇")
    refs = []
    for role, target, alt, name in written:
        if len(alt) > MAX_ALT:
            raise InputError(f"图片说明（alt）过长（{len(alt)} 字，上限 {MAX_ALT}）", field=name,
                             fix="缩短说明，详细内容写进正文")
        path = local_source(base_dir, target, role=role, field=name)
        refs.append(FileRef(role, path, alt, target, base_dir.resolve() if base_dir else None))
    return tuple(refs)
