"""Content-addressed storage for images and attachments, and the rules for what may go there:
only images and documents from inside the Markdown file's folder (no ``..``, no absolute path,
no symbolic link out of the folder), whose content matches their type."""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from content.errors import InputError

MAX_FILE = 20 * 1024 * 1024

_OLE = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",)
_ZIP = (b"PK\x03\x04",)
#: File name extension → the signatures its content may start with.
IMAGE_TYPES: dict[str, tuple[bytes, ...]] = {
    ".png": (b"\x89PNG\r\n\x1a\n",),
    ".jpg": (b"\xff\xd8\xff",),
    ".jpeg": (b"\xff\xd8\xff",),
    ".gif": (b"GIF87a", b"GIF89a"),
    ".webp": (b"RIFF",),
}
DOCUMENT_TYPES: dict[str, tuple[bytes, ...]] = {
    ".pdf": (b"%PDF-",),
    ".ofd": _ZIP,
    ".docx": _ZIP, ".xlsx": _ZIP, ".pptx": _ZIP, ".odt": _ZIP, ".ods": _ZIP, ".odp": _ZIP,
    ".doc": _OLE, ".xls": _OLE, ".ppt": _OLE, ".wps": _OLE, ".et": _OLE,
    ".zip": _ZIP, ".rar": (b"Rar!\x1a\x07",), ".7z": (b"7z\xbc\xaf\x27\x1c",),
}


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    mime: str
    name: str  # stored file name: <sha256><ext>

    @property
    def url_path(self) -> str:
        return f"/files/{self.name}"


def allowed_types(role: str) -> dict[str, tuple[bytes, ...]]:
    return IMAGE_TYPES if role in ("image", "cover") else {**DOCUMENT_TYPES, **IMAGE_TYPES}


def local_source(folder: Path | None, target: str, *, role: str, field: str) -> Path:
    """The real path of ``target`` (as written in the Markdown file), refused unless it is a
    regular file inside ``folder`` of a type ``role`` allows."""
    fix_inside = "把文件复制到 Markdown 文件所在的文件夹（或其子文件夹），写相对路径，如 images/图1.png"
    if folder is None:
        raise InputError(f"不能引用本地文件 {target}：稿件不是从 Markdown 文件读入的", field=field,
                         fix="从 Markdown 文件新建稿件，文件放在同一文件夹中")
    written = Path(target)
    if written.is_absolute() or target.startswith(("~", "\\")) or re.match(r"[A-Za-z]:[\\/]", target):
        raise InputError(f"文件路径 {target} 是绝对路径，只能引用 Markdown 文件所在文件夹中的文件",
                         field=field, fix=fix_inside)
    if ".." in written.parts or "\\.." in target or "..\\" in target:
        raise InputError(f"文件路径 {target} 含有“..”，指向了 Markdown 文件所在文件夹之外",
                         field=field, fix=fix_inside)
    root = folder.resolve()
    candidate = root / written
    if not candidate.exists() and not candidate.is_symlink():
        raise InputError(f"找不到文件 {target}", field=field, fix="路径相对于 Markdown 文件所在目录")
    try:
        real = candidate.resolve()
    except (OSError, RuntimeError):  # a loop of symbolic links
        raise InputError(f"文件 {target} 是循环的符号链接", field=field, fix=fix_inside) from None
    if not real.is_relative_to(root):
        raise InputError(f"文件 {target} 是指向 Markdown 文件所在文件夹之外的符号链接", field=field,
                         fix=fix_inside)
    if not real.is_file():
        raise InputError(f"{target} 不是普通文件", field=field, fix="引用图片或文档文件")
    check_type(real, role=role, field=field, shown=target)
    return real


def check_type(path: Path, *, role: str, field: str, shown: str) -> None:
    types = allowed_types(role)
    what = "图片" if role in ("image", "cover") else "附件"
    signatures = types.get(path.suffix.lower())
    if signatures is None:
        raise InputError(f"{what} {shown} 的类型 {path.suffix or '（无扩展名）'} 不能发布", field=field,
                         fix=f"可用类型：{' '.join(sorted(types))}")
    size = path.stat().st_size
    if size > MAX_FILE:
        raise InputError(f"文件 {shown} 超过 {MAX_FILE // (1024 * 1024)} MB", field=field,
                         fix="压缩后再上传")
    with path.open("rb") as handle:
        head = handle.read(16)
    if not head.startswith(signatures):
        raise InputError(f"文件 {shown} 的内容不是 {path.suffix.lower()} 格式", field=field,
                         fix="确认文件没有损坏、扩展名与内容相符")


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, source: Path, *, role: str, inside: Path) -> StoredFile:
        """Copy a file into the store. ``source`` must be a regular file under ``inside`` of a
        type ``role`` allows, checked again here, right before reading it, without following a
        symbolic link put in its place meanwhile."""
        if not source.resolve().is_relative_to(inside.resolve()):
            raise InputError(f"文件 {source.name} 不在 Markdown 文件所在的文件夹中", field=role)
        check_type(source, role=role, field=role, shown=source.name)
        try:
            fd = os.open(source, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as exc:
            raise InputError(f"无法读取文件 {source.name}：{exc.strerror}", field=role,
                             fix="不要在保存稿件时替换文件") from exc
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise InputError(f"{source.name} 不是普通文件", field=role)
            data = handle.read(MAX_FILE + 1)
        if len(data) > MAX_FILE:
            raise InputError(f"文件 {source.name} 超过 {MAX_FILE // (1024 * 1024)} MB", field=role)
        sha = hashlib.sha256(data).hexdigest()
        ext = source.suffix.lower()
        name = f"{sha}{ext}"
        target = self.root / name
        if not target.exists():
            self.root.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.root, prefix=".tmp-")
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
            os.replace(tmp, target)
        mime = mimetypes.guess_type(source.name)[0] or "application/octet-stream"
        return StoredFile(sha, len(data), mime, name)

    def path(self, name: str) -> Path:
        return self.root / name
