"""Files only their owner may read: the store holds live access tokens, and the data directory
holds sandbox keys and channel credentials."""
from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def private_dir(path: Path) -> Path:
    """Create ``path`` (and missing parents) readable by the owner only; an existing directory
    keeps its mode (it may be shared on purpose, e.g. a site served by nginx)."""
    if not path.exists():
        old = os.umask(0o077)
        try:
            path.mkdir(parents=True, exist_ok=True)
        finally:
            os.umask(old)
        path.chmod(DIR_MODE)
    return path


def private_file(path: Path) -> None:
    """Create ``path`` empty with mode 0600, or take group and other access off an existing one."""
    if path.exists():
        if path.stat().st_mode & 0o077:
            path.chmod(FILE_MODE)
        return
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, FILE_MODE))


def private_tree(root: Path) -> None:
    """Take group and other access off ``root`` and everything under it."""
    if not root.exists():
        return
    root.chmod(DIR_MODE)
    for path in root.rglob("*"):
        if path.is_symlink():
            continue
        path.chmod(DIR_MODE if path.is_dir() else FILE_MODE)
