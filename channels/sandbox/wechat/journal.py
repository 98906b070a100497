"""Persistence of what the emulator received: an append-only file of JSON records, replayed at
start, plus the uploaded files beside it. A restart of the bot (and of the emulator inside it)
keeps every draft, publication, mass send and clientmsgid, which the crash → restart → 45065
path depends on."""
from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

log = logging.getLogger("gongkai.sandbox.wechat")


class Journal:
    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self._handle: TextIO | None = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            (directory / "files").mkdir(exist_ok=True)

    @property
    def path(self) -> Path | None:
        return self.directory / "journal.jsonl" if self.directory else None

    def replay(self) -> Iterator[dict[str, Any]]:
        path = self.path
        if path is None or not path.exists():
            return
        with path.open("r", encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                line = line.strip()
                if not line:
                    continue
                try:
                    yield json.loads(line)
                except json.JSONDecodeError:  # a torn last line after a crash: ignore it
                    log.warning("沙箱记录第 %d 行不完整，已忽略", number)

    def append(self, record: dict[str, Any]) -> None:
        if self.directory is None:
            return
        if self._handle is None:
            path = self.path
            assert path is not None  # a directory is set
            self._handle = path.open("a", encoding="utf-8")
        self._handle.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
        self._handle.flush()  # survives a crash of the process (not of the machine)

    def save_file(self, name: str, data: bytes) -> None:
        if self.directory is None:
            return
        target = self.directory / "files" / name
        if not target.exists():
            tmp = target.with_suffix(target.suffix + ".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, target)

    def load_file(self, name: str) -> bytes | None:
        if self.directory is None:
            return None
        path = self.directory / "files" / name
        return path.read_bytes() if path.is_file() else None

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None
