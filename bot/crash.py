"""The last resort for a defect: one Chinese line on the terminal, the traceback in a log file
(``<data_dir>/logs/errors.log``), exit status 1. Never a traceback on the terminal."""
from __future__ import annotations

import json
import re
import sys
import tempfile
import traceback
from datetime import datetime, timezone
from pathlib import Path
from typing import NoReturn

import click

LOG_NAME = "errors.log"
_URL_PASSWORD = re.compile(r"(://[^:/@\s]+:)[^@\s]+@")
_log_dir: Path | None = None


def use_log_dir(path: Path) -> None:
    """Where crash reports go once the settings (and so the data directory) are known."""
    global _log_dir
    _log_dir = path


def log_dir() -> Path:
    return _log_dir or Path(tempfile.gettempdir()) / "gongkai-logs"


def write_report(exc: BaseException, command: str = "") -> Path | None:
    """Append the traceback (passwords in URLs masked) to the log; the file, or None if it
    could not be written."""
    text = "".join(traceback.format_exception(exc))
    text = _URL_PASSWORD.sub(r"\1***@", text)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / LOG_NAME
        with path.open("a", encoding="utf-8") as out:
            out.write(f"--- {stamp} {command}\n{text}\n")
        return path
    except OSError:
        return None


def message(exc: BaseException, path: Path | None) -> str:
    where = f"详细信息已写入 {path}" if path else f"详细信息无法写入 {log_dir()}（请检查该目录的权限）"
    return f"内部错误：{type(exc).__name__}；{where}；请报告此问题"


def fail(exc: BaseException, as_json: bool, command: str = "") -> NoReturn:
    line = message(exc, write_report(exc, command))
    if as_json:
        click.echo(json.dumps({"error": {"code": "internal_error", "message": line, "field": None}},
                              ensure_ascii=False))
    else:
        click.echo(line, err=True)
    sys.exit(1)
