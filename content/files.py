"""Content-addressed storage for images and attachments."""
from __future__ import annotations

import hashlib
import mimetypes
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    mime: str
    name: str  # stored file name: <sha256><ext>

    @property
    def url_path(self) -> str:
        return f"/files/{self.name}"


class FileStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def put(self, source: Path) -> StoredFile:
        data = source.read_bytes()
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
