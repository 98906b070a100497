"""Atomic, change-only file writes into the site directory.

A file is replaced only when its bytes differ, so its mtime (and any ETag derived from it) stays
stable across rebuilds. Every write goes to a temporary file in the target's own directory and is
moved into place with ``os.replace``: a reader sees the old file or the new one, never a part.

Text files (pages, feeds, styles, scripts) also get a gzip copy next to them (``page.html.gz``),
byte-stable (no timestamp inside), written the same way, so the bot and nginx (``gzip_static``)
send compressed bytes without compressing on every request. Copies are compressed and synced in
worker threads while the pages are written, so they add little to a rebuild's latency;
:meth:`SiteWriter.finish` waits for them.
"""
from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

FILE_MODE = 0o644  # readable by a web server running as another user
TEMP_PREFIX = ".tmp-"
COMPRESSED = frozenset({".html", ".xml", ".css", ".js", ".json", ".txt", ".svg"})
GZIP_SUFFIX = ".gz"


_COMPRESSORS = ThreadPoolExecutor(max_workers=4, thread_name_prefix="gongkai-gzip")


def compressible(rel: str) -> bool:
    return os.path.splitext(rel)[1] in COMPRESSED


class SiteWriter:
    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.fsync = fsync
        self.written: list[str] = []
        self.unchanged = 0
        self._copies: list[Future[None]] = []

    def write(self, rel: str, data: bytes | str) -> bool:
        """Write ``data`` to ``root/rel`` unless it already holds exactly these bytes."""
        if isinstance(data, str):
            data = data.encode("utf-8")
        target = self.root / rel
        packed = compressible(rel)
        if _same_bytes(target, data):
            if packed and not target.with_name(target.name + GZIP_SUFFIX).exists():
                self._write_gzip(target, data)  # a site built before copies were made
            self.unchanged += 1
            return False
        self._replace(target, lambda handle: handle.write(data))
        if packed:
            self._write_gzip(target, data)
        self.written.append(rel)
        return True

    def _write_gzip(self, target: Path, data: bytes) -> None:
        self._copies.append(_COMPRESSORS.submit(self._gzip_now, target, data))

    def _gzip_now(self, target: Path, data: bytes) -> None:
        packed = gzip.compress(data, compresslevel=6, mtime=0)
        self._replace(target.with_name(target.name + GZIP_SUFFIX), lambda h: h.write(packed))

    def finish(self) -> None:
        """Wait for the gzip copies under way; the first failure is raised."""
        copies, self._copies = self._copies, []
        for copy in copies:
            copy.result()

    def copy(self, source: Path, rel: str) -> bool:
        """Copy a content-addressed file (its name is its hash): an existing target of the same
        size is already right."""
        target = self.root / rel
        size = source.stat().st_size
        try:
            if target.stat().st_size == size:
                self.unchanged += 1
                return False
        except FileNotFoundError:
            pass
        with source.open("rb") as src:
            self._replace(target, lambda handle: shutil.copyfileobj(src, handle))
        self.written.append(rel)
        return True

    def _replace(self, target: Path, fill) -> None:  # noqa: ANN001
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
        try:
            with os.fdopen(fd, "wb") as handle:
                fill(handle)
                handle.flush()
                if self.fsync:
                    os.fsync(handle.fileno())
            os.chmod(tmp, FILE_MODE)
            os.replace(tmp, target)
        except BaseException:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
            raise


def _same_bytes(path: Path, data: bytes) -> bool:
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except FileNotFoundError:
        return False


class Batch:
    """Outputs rendered first and written together afterwards, so a change (a bundle's pages,
    the lists and feeds that link to them) lands on disk within a few milliseconds. Files are
    written in the order they were added: targets (files, item pages) before the pages and
    feeds that link to them."""

    def __init__(self) -> None:
        self.outputs: list[tuple[str, bytes | str | Path]] = []

    def write(self, rel: str, data: bytes | str) -> None:
        self.outputs.append((rel, data))

    def copy(self, source: Path, rel: str) -> None:
        self.outputs.append((rel, source))

    def flush(self, writer: SiteWriter) -> None:
        outputs, self.outputs = self.outputs, []
        try:
            for rel, data in outputs:
                if isinstance(data, Path):
                    writer.copy(data, rel)
                else:
                    writer.write(rel, data)
        finally:
            writer.finish()
