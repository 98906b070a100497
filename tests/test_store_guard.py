"""A command run from the wrong folder finds no store and says so instead of creating an empty
one; the store and the secrets under the data directory are readable by their owner only."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.botproc import bot_env, invoke


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without config.toml, and a home without ~/.config/gongkai."""
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("GONGKAI_CONFIG", raising=False)
    return folder


def test_a_command_from_another_folder_refuses_to_create_a_store(elsewhere: Path) -> None:
    result = CliRunner().invoke(main, ["post", "list", "--as", "alice"])
    assert result.exit_code == 2
    assert "没有找到内容库" in result.output and str(elsewhere / "var" / "gongkai.db") in result.output
    assert "GONGKAI_CONFIG" in result.output and "--config" in result.output
    assert not (elsewhere / "var").exists()


def test_gongkai_config_names_the_store_from_any_folder(tmp_path: Path, elsewhere: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    desk = tmp_path / "desk"
    desk.mkdir()
    (desk / "config.toml").write_text('[bot]\ndata_dir = "./var"\nload_sample = false\n', encoding="utf-8")
    monkeypatch.chdir(desk)
    assert CliRunner().invoke(main, ["db", "upgrade"]).exit_code == 0
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("GONGKAI_CONFIG", str(desk / "config.toml"))
    result = CliRunner().invoke(main, ["post", "list", "--as", "alice"])
    assert result.exit_code == 0, result.output
    assert "没有稿件" in result.output
    assert not (elsewhere / "var").exists()


def test_a_database_without_the_schema_is_refused_too(tmp_path: Path, database_url: str) -> None:
    env = bot_env(tmp_path, database_url, migrate=False)
    result = invoke(env, "release", "list", code=2)
    assert "没有找到内容库" in result.output and "gongkai db upgrade" in result.output
    invoke(env, "db", "upgrade")
    assert "没有发布计划" in invoke(env, "release", "list").output


def test_the_store_and_the_sandbox_secrets_are_private(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        env = bot_env(tmp_path, f"sqlite:///{tmp_path / 'var' / 'gongkai.db'}")
        data = tmp_path / "var"
        db = data / "gongkai.db"
        assert _mode(data) == 0o700
        assert _mode(db) == 0o600
        assert _mode(data / "sandbox") == 0o700
        db.chmod(0o644)  # a store made by an earlier version
        (data / "gongkai.db-wal").touch(mode=0o644)
        invoke(env, "post", "list")
        assert _mode(db) == 0o600
        wal = data / "gongkai.db-wal"  # removed by SQLite on a clean close
        assert not wal.exists() or _mode(wal) == 0o600
        for path in (data / "sandbox").rglob("*"):
            assert _mode(path) & 0o077 == 0, path
    finally:
        os.umask(old)
