"""Configuration: defaults, the example file, environment overrides and every kind of bad input."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from pydantic import BaseModel

from bot import settings as config

ROOT = Path(__file__).resolve().parent.parent


def test_embedded_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.toml here
    s = config.load(environ={})
    assert s.source == "内置默认配置"
    assert s.bot.timezone == "Asia/Shanghai"
    assert s.database_url == f"sqlite:///{tmp_path / 'var' / 'gongkai.db'}"
    assert s.site_path == Path("var/site")
    assert s.web.listen == "127.0.0.1:8080"
    for name in ("wechat", "weibo", "sms"):
        assert getattr(s.channels, name).sandbox is True


def test_config_toml_in_the_working_directory_is_read(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "config.toml").write_text('[web]\nlisten = "0.0.0.0:9000"\n', encoding="utf-8")
    s = config.load(environ={})
    assert s.web.listen == "0.0.0.0:9000"
    assert s.base_url == "http://0.0.0.0:9000"


def test_the_example_documents_every_key_and_loads() -> None:
    example = ROOT / "config.example.toml"
    s = config.load(example, environ={})
    defaults = config.Settings().model_dump(exclude={"source"})
    defaults["bot"]["data_dir"] = str(ROOT / "var")  # relative to the file's folder
    defaults["bot"]["demo"] = False  # the one deliberate difference: the example is for production
    assert s.model_dump(exclude={"source"}) == defaults
    text = example.read_text(encoding="utf-8")
    data = tomllib.loads(text)

    def keys(model, prefix=""):  # noqa: ANN001, ANN202
        for name in type(model).model_fields:
            if name == "source":
                continue
            value = getattr(model, name)
            if isinstance(value, BaseModel):
                yield from keys(value, f"{prefix}{name}.")
            else:
                yield f"{prefix}{name}"

    for key in keys(config.Settings()):
        node = data
        section, _, last = key.rpartition(".")
        for part in filter(None, section.split(".")):  # top-level lists have no section
            node = node[part]
        documented = last in node or f"[{key}." in text or f"# [{key}]" in text  # commented example tables
        assert documented, f"{key} is not documented in config.example.toml"
    # every documented key has a comment somewhere above it in its section
    assert len(re.findall(r"^#", text, re.M)) > 40


def test_environment_overrides_any_key() -> None:
    s = config.load(environ={
        "GONGKAI_BOT__TIMEZONE": "Asia/Urumqi",
        "GONGKAI_DELIVERY__MAX_ATTEMPTS": "9",
        "GONGKAI_CHANNELS__WECHAT__APP_SECRET": "from-env",
        "GONGKAI_REVIEW__SENSITIVE_WORDS": '["甲", "乙"]',
        "GONGKAI_USER": "not-a-config-key",
    })
    assert s.bot.timezone == "Asia/Urumqi"
    assert s.delivery.max_attempts == 9
    assert s.channels.wechat.app_secret == "from-env"
    assert s.review.sensitive_words == ["甲", "乙"]


def test_environment_beats_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[bot]\ntimezone = "Asia/Tokyo"\n', encoding="utf-8")
    assert config.load(f, environ={"GONGKAI_BOT__TIMEZONE": "Asia/Shanghai"}).bot.timezone == "Asia/Shanghai"


@pytest.mark.parametrize("content, env, expected", [
    ('[bot]\ntimezon = "Asia/Shanghai"\n', {}, ["bot.timezon: 未知的配置项"]),
    ('[bot]\ntimezone = "Mars/Olympus"\n', {}, ["bot.timezone: 未知时区 'Mars/Olympus'", "Asia/Shanghai"]),
    ('[delivery]\nmax_attempts = "many"\n', {}, ["delivery.max_attempts: 应为整数"]),
    ('[bot]\nload_sample = "yes please"\n', {}, ["bot.load_sample: 应为 true 或 false"]),
    ('[web]\nlisten = "8080"\n', {}, ["web.listen: 监听地址无效"]),
    ('[channels.wechat]\nenabled = true\nsandbox = false\n', {"GONGKAI_CHANNELS__WECHAT__APP_ID": "wx1"},
     ["channels.wechat.app_secret: 未设置", "GONGKAI_CHANNELS__WECHAT__APP_SECRET"]),
    ('[channels.sms]\nenabled = true\nsandbox = false\nprovider = "chinamobile"\n', {},
     ["channels.sms.provider: 取值无效"]),
    ('[nonsense]\nx = 1\n', {}, ["nonsense: 未知的配置项"]),
    ('[bot\n', {}, ["不是有效的 TOML"]),
])
def test_bad_config_names_the_key_and_the_fix(tmp_path: Path, content: str, env: dict,
                                              expected: list[str]) -> None:
    f = tmp_path / "c.toml"
    f.write_text(content, encoding="utf-8")
    with pytest.raises(config.ConfigError) as err:
        config.load(f, environ=env)
    text = "\n".join(err.value.problems)
    for words in expected:
        assert words in text
    assert "修正" in text


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[bot]\ntimezone = "Nowhere/Land"\nlog_level = "LOUD"\n[web]\nlisten = "x"\n',
                 encoding="utf-8")
    with pytest.raises(config.ConfigError) as err:
        config.load(f, environ={"GONGKAI_BOT__NO_SUCH_KEY": "1"})
    assert len(err.value.problems) == 4


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(config.ConfigError, match="找不到配置文件"):
        config.load(tmp_path / "absent.toml", environ={})


def test_a_secret_of_the_wrong_type_is_never_echoed(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[channels.wechat]\napp_secret = 982451653120\n[delivery]\nmax_attempts = "k3y-9f8e"\n',
                 encoding="utf-8")
    with pytest.raises(config.ConfigError) as err:
        config.load(f, environ={"GONGKAI_CHANNELS__WEIBO__APP_SECRET": '["s3cr3t-in-a-list"]'})
    text = "\n".join(err.value.problems)
    assert "channels.wechat.app_secret: 应为字符串" in text
    assert "channels.weibo.app_secret: 应为字符串" in text
    assert "delivery.max_attempts: 应为整数" in text
    for value in ("982451653120", "k3y-9f8e", "s3cr3t"):
        assert value not in text


def _write(path: Path, listen: str, data_dir: str = "") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'[web]\nlisten = "{listen}"\n' + (f'[bot]\ndata_dir = "{data_dir}"\n' if data_dir else ""),
                    encoding="utf-8")
    return path


def test_the_config_file_is_looked_up_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    work, home = tmp_path / "work", tmp_path / "home"
    work.mkdir()
    monkeypatch.chdir(work)
    xdg = _write(home / ".config" / "gongkai" / "config.toml", "127.0.0.1:9004")
    assert config.load(environ={"HOME": str(home)}).web.listen == "127.0.0.1:9004"
    assert config.load(environ={"HOME": str(home)}).source == str(xdg)
    other = _write(tmp_path / "xdg" / "gongkai" / "config.toml", "127.0.0.1:9005")
    assert config.load(environ={"HOME": str(home), "XDG_CONFIG_HOME": str(other.parent.parent)}
                       ).web.listen == "127.0.0.1:9005"
    _write(work / "config.toml", "127.0.0.1:9003")
    assert config.load(environ={"HOME": str(home)}).web.listen == "127.0.0.1:9003"
    named = _write(tmp_path / "env.toml", "127.0.0.1:9002")
    env = {"HOME": str(home), "GONGKAI_CONFIG": str(named)}
    assert config.load(environ=env).web.listen == "127.0.0.1:9002"
    flag = _write(tmp_path / "flag.toml", "127.0.0.1:9001")
    assert config.load(flag, environ=env).web.listen == "127.0.0.1:9001"
    with pytest.raises(config.ConfigError, match="GONGKAI_CONFIG: 找不到配置文件"):
        config.load(environ={"GONGKAI_CONFIG": str(tmp_path / "absent.toml")})


def test_relative_paths_in_a_file_are_relative_to_its_folder(tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    desk = tmp_path / "desk"
    f = _write(desk / "config.toml", "127.0.0.1:9001", "./var")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    s = config.load(f, environ={})
    assert s.data_path == desk / "var"
    assert s.database_url == f"sqlite:///{desk / 'var' / 'gongkai.db'}"
    f.write_text('[bot]\ndatabase_url = "sqlite:///store/g.db"\n[calendar]\ndata_file = "h.toml"\n',
                 encoding="utf-8")
    s = config.load(f, environ={})
    assert s.database_url == f"sqlite:///{desk / 'store' / 'g.db'}"
    assert s.calendar.data_file == str(desk / "h.toml")
