"""The account's credentials. Outside sandbox mode they come from the settings (secrets from the
environment). In sandbox mode the bot generates a set once and keeps it under
``<data_dir>/sandbox/wechat/credentials.json``, so no secret is needed to try the channel; a
value given in the settings still wins."""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import asdict, dataclass
from pathlib import Path

from channels.wechat.config import WechatSettings


@dataclass(frozen=True)
class Credentials:
    app_id: str
    app_secret: str
    token: str
    encoding_aes_key: str
    original_id: str
    template_id: str  # the notification template (settings, or the sandbox's own)
    duty_template_id: str = ""  # the duty-warning template (settings, or the sandbox's own)


def sandbox_file(data_dir: Path) -> Path:
    return Path(data_dir).expanduser() / "sandbox" / "wechat" / "credentials.json"


def _generate() -> dict[str, str]:
    return {
        "app_id": "wx" + secrets.token_hex(8),
        "app_secret": secrets.token_hex(16),
        "token": secrets.token_urlsafe(24),
        "encoding_aes_key": base64.b64encode(secrets.token_bytes(32)).decode()[:43],
        "original_id": "gh_" + secrets.token_hex(6),
        "template_id": secrets.token_urlsafe(32)[:43],
    }


def _sandbox_values(data_dir: Path) -> dict[str, str]:
    path = sandbox_file(data_dir)
    if path.is_file():
        return json.loads(path.read_text(encoding="utf-8"))
    values = _generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(values, handle, ensure_ascii=False, indent=2)
    try:
        os.link(tmp, path)  # first writer wins if two processes start at once
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    return json.loads(path.read_text(encoding="utf-8"))


def _duty_template(generated: dict[str, str]) -> str:
    """The sandbox's duty template id: derived from its secret, so a file written before there
    was one gets the same id in every process that reads it."""
    digest = hashlib.sha256(("duty-template:" + generated.get("app_secret", "")).encode()).digest()
    return base64.urlsafe_b64encode(digest).decode()[:43]


def resolve(settings: WechatSettings, data_dir: Path) -> Credentials:
    given = {"app_id": settings.app_id, "app_secret": settings.app_secret, "token": settings.token,
             "encoding_aes_key": settings.encoding_aes_key, "original_id": settings.original_id,
             "template_id": settings.notify_template_id, "duty_template_id": settings.duty_template_id}
    if settings.sandbox:
        generated = _sandbox_values(data_dir)
        generated.setdefault("duty_template_id", _duty_template(generated))
        given = {k: v or generated.get(k, "") for k, v in given.items()}
    if settings.message_mode == "plain" and not settings.encoding_aes_key:
        given["encoding_aes_key"] = ""
    return Credentials(**given)


def describe(creds: Credentials) -> dict[str, str]:
    """For display: the app id and account id, never a secret."""
    data = asdict(creds)
    return {"app_id": data["app_id"], "original_id": data["original_id"]}
