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

import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from content.errors import InputError
from content.kinds import KINDS, SERVICE_GUIDE_FIELDS, Kind

MAX_TITLE = 200
MAX_SUMMARY = 1000
MAX_BODY = 200_000
MAX_FILE = 20 * 1024 * 1024

TEXT_FIELDS = ("title", "summary", "department", "column", "index_no", "doc_no", "issuer",
               "topic", "validity")
KNOWN_FIELDS = set(TEXT_FIELDS) | {
    "kind", "issued", "interprets", "follows", "tags", "normative", "images", "attachments",
    "cover", *SERVICE_GUIDE_FIELDS,
}


class _Loader(yaml.SafeLoader):
    """Safe YAML that leaves dates as text, so a bad date is reported against its field."""


_Loader.yaml_implicit_resolvers = {
    key: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for key, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_FENCE = re.compile(r"\A\ufeff?---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)(.*)\Z", re.S)
_MD_IMAGE = re.compile(r"!\[([^\]]*)\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


@dataclass(frozen=True)
class FileRef:
    role: str  # image | attachment | cover
    path: Path
    alt: str = ""


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
    extra: dict[str, str] = field(default_factory=dict)
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
        raw = path.read_bytes()
    except OSError as exc:
        raise InputError(f"无法读取文件 {path}：{exc.strerror}", fix="检查路径和读取权限") from exc
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
    try:
        meta = yaml.load(match.group(1), Loader=_Loader) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"第 {mark.line + 2} 行" if mark else ""
        raise InputError(f"front matter 不是有效的 YAML{where}：{getattr(exc, 'problem', exc)}",
                         fix="检查冒号、引号和缩进") from exc
    if not isinstance(meta, dict):
        raise InputError("front matter 必须是“字段: 值”的映射", fix="每行写一个字段，如 title: 标题")
    body = match.group(2).strip("\n")
    return build(meta, body, base_dir=base_dir)


def build(meta: dict[str, Any], body: str, *, base_dir: Path | None = None) -> ItemDraft:
    unknown = sorted(str(k) for k in meta if k not in KNOWN_FIELDS)
    if unknown:
        raise InputError(f"未知字段 {', '.join(unknown)}", field=unknown[0],
                         fix=f"可用字段：{', '.join(sorted(KNOWN_FIELDS))}")
    kind = _kind(meta.get("kind"))
    texts = {name: _text(meta, name) for name in TEXT_FIELDS}
    if not texts["title"]:
        raise InputError("缺少标题", field="title", fix="在 front matter 中加入 title: 标题")
    if len(texts["title"]) > MAX_TITLE:
        raise InputError(f"标题过长（{len(texts['title'])} 字，上限 {MAX_TITLE}）", field="title",
                         fix="缩短标题")
    if len(texts["summary"]) > MAX_SUMMARY:
        raise InputError(f"摘要过长（{len(texts['summary'])} 字，上限 {MAX_SUMMARY}）",
                         field="summary", fix="缩短摘要")
    if len(body) > MAX_BODY:
        raise InputError(f"正文过长（{len(body)} 字，上限 {MAX_BODY}）", field="body",
                         fix="拆分为多篇或以附件发布")
    extra = {name: _text(meta, name) for name in SERVICE_GUIDE_FIELDS if meta.get(name) is not None}
    interprets = _reference(meta, "interprets", allow_text=True)
    if interprets is not None and kind is not Kind.INTERPRETATION:
        raise InputError("只有 kind: interpretation 的稿件可以填写 interprets", field="interprets",
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


def _kind(value: Any) -> Kind:
    names = ", ".join(k.value for k in Kind)
    if value is None:
        raise InputError("缺少稿件类型", field="kind", fix=f"加入 kind: 其中之一 {names}")
    try:
        return Kind(str(value).strip())
    except ValueError:
        raise InputError(f"未知类型 {value!r}", field="kind", fix=f"可用类型：{names}") from None


def _text(meta: dict[str, Any], name: str) -> str:
    value = meta.get(name)
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        raise InputError("应为一段文字", field=name, fix=f"写成 {name}: 文字")
    return str(value).strip()


def _date(meta: dict[str, Any], name: str) -> date | None:
    value = meta.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value if not hasattr(value, "hour") else value.date()  # type: ignore[union-attr]
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InputError(f"日期 {value!r} 无效", field=name, fix="格式为 YYYY-MM-DD，如 2026-11-20") from None


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
        value = [t for t in re.split(r"[,，;；]", value)]
    if not isinstance(value, list):
        raise InputError("应为标签列表", field="tags", fix="写成 tags: [标签一, 标签二]")
    return tuple(dict.fromkeys(str(t).strip() for t in value if str(t).strip()))


def _reference(meta: dict[str, Any], name: str, *, allow_text: bool) -> int | str | None:
    value = meta.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise InputError(f"{value!r} 不是稿件编号", field=name, fix=f"写成 {name}: 稿件编号（如 12）")
    if isinstance(value, int):
        return value
    text = str(value).strip()
    if text.isdigit():
        return int(text)
    if allow_text:
        return text  # a document number (文号) or index number, resolved against the store
    raise InputError(f"{value!r} 不是稿件编号", field=name, fix=f"写成 {name}: 稿件编号（如 12）")


def _files(meta: dict[str, Any], body: str, base_dir: Path | None) -> tuple[FileRef, ...]:
    refs: list[FileRef] = []
    for alt, target in _MD_IMAGE.findall(body):
        if not re.match(r"^(https?:|/|data:)", target):
            refs.append(FileRef("image", _resolve(target, "body", base_dir), alt.strip()))
    for role, key in (("image", "images"), ("attachment", "attachments")):
        value = meta.get(key) or []
        if not isinstance(value, list):
            raise InputError("应为列表", field=key, fix=f"写成 {key}: [文件路径, …] 或带 path/alt 的条目")
        for entry in value:
            if isinstance(entry, dict):
                path, alt = entry.get("path"), str(entry.get("alt") or "").strip()
            else:
                path, alt = entry, ""
            if not path:
                raise InputError("条目缺少文件路径", field=key, fix="每个条目写 path: 相对路径")
            refs.append(FileRef(role, _resolve(str(path), key, base_dir), alt))
    cover = meta.get("cover")
    if cover:
        refs.append(FileRef("cover", _resolve(str(cover), "cover", base_dir), ""))
    return tuple(refs)


def _resolve(target: str, name: str, base_dir: Path | None) -> Path:
    path = Path(target)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        raise InputError(f"找不到文件 {target}", field=name, fix="路径相对于 Markdown 文件所在目录")
    if path.stat().st_size > MAX_FILE:
        raise InputError(f"文件 {target} 超过 {MAX_FILE // (1024 * 1024)} MB", field=name,
                         fix="压缩后再上传")
    return path
