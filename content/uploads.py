"""Files uploaded through a form (the console, the API), staged until the item is saved.

The type of an upload is read from its bytes, never taken from its name or from the type the
browser claims: the bytes must be an image or document Gongkai publishes, and the name's
extension must be one that type may carry (a PNG named ``表.pdf`` is refused, as is an HTML page
named ``图.png``). HTML, SVG and anything else that a browser could run are refused outright.

A staged file lives at ``<stage>/<sha256>/<name>``; the item form names it by that relative path,
so that saving the item goes through :func:`content.frontmatter.build` exactly as a Markdown file
next to its images does, and the workflow copies it into the content-addressed
:class:`content.files.FileStore`.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from content.errors import InputError
from content.files import DOCUMENT_TYPES, IMAGE_TYPES, MAX_FILE, allowed_types
from content.textguard import refuse_controls

MAX_NAME = 120
_STAGED = re.compile(r"^[0-9a-f]{64}/[^/\\]+$")


@dataclass(frozen=True)
class Staged:
    role: str  # image | attachment | cover
    sha256: str
    filename: str
    size: int

    @property
    def ref(self) -> str:
        """The path the item form and the Markdown body use for this file."""
        return f"{self.sha256}/{self.filename}"

    @property
    def is_image(self) -> bool:
        return Path(self.filename).suffix.lower() in IMAGE_TYPES


def sniff(data: bytes) -> set[str]:
    """The extensions whose signature ``data`` starts with (empty: not a type we publish)."""
    found = set()
    for ext, signatures in {**DOCUMENT_TYPES, **IMAGE_TYPES}.items():
        if data.startswith(signatures):
            found.add(ext)
    if ".webp" in found and data[8:12] != b"WEBP":
        found.discard(".webp")
    return found


def safe_name(filename: str) -> str:
    """The last part of a browser-sent file name, normalised; refused when empty or unsafe."""
    name = unicodedata.normalize("NFC", filename.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    refuse_controls(name, field="file")
    if not name or name in (".", "..") or name.startswith("."):
        raise InputError("文件名无效", field="file", fix="给文件起一个普通的名字，如 图1.png")
    if len(name) > MAX_NAME:
        stem, ext = os.path.splitext(name)
        name = stem[: MAX_NAME - len(ext)] + ext
    return name


def check_upload(filename: str, data: bytes, *, role: str) -> str:
    """The safe name of an upload whose bytes are a type ``role`` allows and agree with the
    name's extension; raises :class:`InputError` naming the problem otherwise."""
    name = safe_name(filename)
    what = "图片" if role in ("image", "cover") else "附件"
    if len(data) > MAX_FILE:
        raise InputError(f"文件 {name} 超过 {MAX_FILE // (1024 * 1024)} MB", field="file",
                         fix="压缩后再上传，或分成几个文件")
    if not data:
        raise InputError(f"文件 {name} 是空的", field="file", fix="重新选择文件")
    ext = Path(name).suffix.lower()
    allowed = allowed_types(role)
    if ext in (".html", ".htm", ".svg", ".xhtml", ".xml", ".js") or ext not in allowed:
        raise InputError(f"{what} {name} 的类型 {ext or '（无扩展名）'} 不能上传", field="file",
                         fix=f"可用类型：{' '.join(sorted(allowed))}")
    actual = sniff(data)
    if ext not in actual:
        shown = "、".join(sorted(actual & set(allowed))) or "不能发布的类型"
        raise InputError(f"文件 {name} 的内容不是 {ext} 格式（按内容判断为：{shown}）", field="file",
                         fix="确认文件没有损坏、扩展名与内容相符")
    return name


class UploadStage:
    """The folder uploads wait in until the item that uses them is saved."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, filename: str, data: bytes, *, role: str) -> Staged:
        name = check_upload(filename, data, role=role)
        sha = hashlib.sha256(data).hexdigest()
        folder = self.root / sha
        target = folder / name
        if not target.is_file():
            folder.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        return Staged(role, sha, name, len(data))

    def get(self, ref: str, *, role: str) -> Staged:
        """A file staged earlier, from the reference a form sent back."""
        if not _STAGED.match(ref):
            raise InputError(f"上传文件引用 {ref!r} 无效", field="file", fix="重新上传文件")
        path = self.root / ref
        if not path.is_file():
            raise InputError(f"上传的文件 {ref.split('/', 1)[1]} 已不存在", field="file",
                             fix="重新上传文件")
        return Staged(role, ref.split("/", 1)[0], ref.split("/", 1)[1], path.stat().st_size)
