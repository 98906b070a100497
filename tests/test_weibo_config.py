"""The [channels.weibo] settings: what is required outside sandbox mode, and bad values named
with their fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import settings as config


def load(tmp_path: Path, text: str, env: dict | None = None) -> config.Settings:
    f = tmp_path / "c.toml"
    f.write_text(text, encoding="utf-8")
    return config.load(f, environ=env or {})


def test_outside_sandbox_the_app_credentials_and_rip_are_required(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError) as err:
        load(tmp_path, "[channels.weibo]\nenabled = true\nsandbox = false\n",
             {"GONGKAI_CHANNELS__WEIBO__APP_KEY": "12345"})
    text = "\n".join(err.value.problems)
    assert "channels.weibo.app_secret: 未设置" in text and "GONGKAI_CHANNELS__WEIBO__APP_SECRET" in text
    assert "channels.weibo.rip: 未设置" in text and "channels.weibo.app_key" not in text


@pytest.mark.parametrize("line, words", [
    ('rip = "localhost"', "不是 IP 地址"),
    ('safe_domain = "https://www.gov.cn/"', "只写域名"),
    ("expiry_warning_days = -1", "channels.weibo.expiry_warning_days"),
])
def test_bad_values_are_named(tmp_path: Path, line: str, words: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        load(tmp_path, f"[channels.weibo]\n{line}\n")
    assert words in "\n".join(err.value.problems)


def test_sandbox_defaults_need_nothing(tmp_path: Path) -> None:
    weibo = load(tmp_path, "[web]\nbase_url = \"https://www.gov.example.cn/\"\n[channels.weibo]\nenabled = true\n").channels.weibo
    assert weibo.credentials()[0] and weibo.real_ip() == "127.0.0.1"
    assert weibo.domain_for("https://www.gov.example.cn") == "www.gov.example.cn"
    weibo.safe_domain = "GOV.example.cn"
    assert weibo.domain_for("https://www.gov.example.cn") == "gov.example.cn"
