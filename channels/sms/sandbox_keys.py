"""Credentials of the embedded sandbox: generated on first use and kept (mode 0600) under the data
directory, so the bot's emulators and every command of the same installation agree on them.
Only used when ``[channels.sms] sandbox = true``; real credentials come from the environment."""
from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

FILE = Path("sandbox") / "sms-keys.json"


@dataclass(frozen=True)
class SandboxKeys:
    aliyun_key_id: str
    aliyun_secret: str
    tencent_secret_id: str
    tencent_secret_key: str
    tencent_sdk_app_id: str
    callback_token: str
    unsubscribe_secret: str

    @classmethod
    def generate(cls) -> SandboxKeys:
        return cls(aliyun_key_id="LTAIsandbox" + secrets.token_hex(6),
                   aliyun_secret=secrets.token_urlsafe(24),
                   tencent_secret_id="AKIDsandbox" + secrets.token_hex(10),
                   tencent_secret_key=secrets.token_urlsafe(24),
                   tencent_sdk_app_id=str(1400000000 + secrets.randbelow(99999999)),
                   callback_token=secrets.token_urlsafe(18),
                   unsubscribe_secret=secrets.token_urlsafe(32))


def load_or_create(data_dir: str | Path) -> SandboxKeys:
    path = Path(data_dir).expanduser() / FILE
    if path.exists():
        return SandboxKeys(**json.loads(path.read_text(encoding="utf-8")))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(asdict(SandboxKeys.generate()), f)
    try:
        os.link(tmp, path)  # atomic, and refuses to replace keys another process made first
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    return SandboxKeys(**json.loads(path.read_text(encoding="utf-8")))
