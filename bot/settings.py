"""Configuration: one TOML file, overridable key by key from the environment, validated at start.

The file is looked up in this order: ``--config``, the ``GONGKAI_CONFIG`` environment variable,
``./config.toml``, ``$XDG_CONFIG_HOME/gongkai/config.toml`` (default ``~/.config/gongkai/``); with
none of them the embedded defaults apply (SQLite under ./var, site under ./var/site,
127.0.0.1:8080, Asia/Shanghai, sandbox channels). Relative paths in a file are relative to the
file's folder, so a command gives the same answer from any working directory.
Any key can be set from the environment as ``GONGKAI_<SECTION>__<KEY>`` (nested sections with
more ``__``), which is how secrets are normally given.
"""
from __future__ import annotations

import os
import re
import tomllib
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot import tomlerrors

if TYPE_CHECKING:
    from pydantic_core import ErrorDetails

    class ChannelsSettings(BaseModel):
        """What mypy sees of ``channels.config.ChannelsSettings``, a model built at import time with
        one section per catalogued channel (each a ``ChannelSettings`` subclass)."""

        def __getattr__(self, name: str) -> Any: ...
else:
    from channels.config import ChannelsSettings

ENV_PREFIX = "GONGKAI_"
DEFAULT_FILE = Path("config.toml")
CONFIG_ENV = "GONGKAI_CONFIG"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BotSettings(Section):
    timezone: str = "Asia/Shanghai"
    data_dir: str = "./var"
    database_url: str = ""  # empty = sqlite:///<data_dir>/gongkai.db
    load_sample: bool = True
    log_level: str = "INFO"
    node_name: str = ""  # empty = hostname-pid
    demo: bool = True  # --as without proof; config.example.toml sets false for production

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"UNKNOWN_ZONE:{value}") from None
        return value

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
            raise ValueError("BAD_LEVEL")
        return value.upper()


class WebSettings(Section):
    listen: str = "127.0.0.1:8080"
    base_url: str = ""  # public URL of the site; empty = http://<listen>

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("BAD_LISTEN")
        return value


DEFAULT_CHAINS: dict[str, list[str]] = {"default": ["reviewer", "approver"]}
CHAIN_ROLES = ("reviewer", "approver")


class ReviewSettings(Section):
    negative_list: str = ""  # empty = the shipped content/data/negative_list.txt
    sensitive_words: list[str] = Field(default_factory=list)
    sensitive_words_file: str = ""
    # the review chain per kind id (and "default"): the roles of its steps, in order
    chains: dict[str, list[str]] = Field(default_factory=lambda: dict(DEFAULT_CHAINS))

    @field_validator("chains")
    @classmethod
    def _chains(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        from content.kinds import Kind

        for kind, roles in value.items():
            if kind != "default" and kind not in {k.value for k in Kind}:
                raise ValueError(f"BAD_CHAIN_KIND:{kind}")
            if not roles:
                raise ValueError(f"EMPTY_CHAIN:{kind}")
            for role in roles:
                if role not in CHAIN_ROLES:
                    raise ValueError(f"BAD_CHAIN_ROLE:{kind}:{role}")
        return {**DEFAULT_CHAINS, **value}

    def chain(self, kind: str) -> tuple[str, ...]:
        """The roles of the review steps an item of ``kind`` goes through, in order."""
        return tuple(self.chains.get(kind) or self.chains["default"])



class CalendarSettings(Section):
    data_file: str = ""


class DeliverySettings(Section):
    max_attempts: int = Field(default=5, ge=1, le=50)
    backoff_base_seconds: float = Field(default=2.0, gt=0)
    backoff_max_seconds: float = Field(default=300.0, gt=0)
    lease_seconds: int = Field(default=120, ge=5)
    concurrency: int = Field(default=4, ge=1, le=64)
    poll_seconds: float = Field(default=5.0, gt=0)


class ScheduleSettings(Section):
    interpretation_workdays: int = Field(default=3, ge=0, le=30)
    warn_hours_before: int = Field(default=24, ge=0)
    sweep_seconds: float = Field(default=30.0, gt=0)
    refresh_seconds: float = Field(default=1.0, gt=0)


class RuleSettings(Section):
    enabled: bool = True
    workdays: int = Field(default=3, ge=0, le=60)  # working days after the triggering date
    warn_workdays: int = Field(default=1, ge=0, le=60)  # status lists it this many before due


# cadence (R5-R11, C6) ---------------------------------------------------------------------
SPAN = re.compile(r"^\s*(\d{1,4})\s*(d|w|m|y|天|日|周|个月|月|年)\s*$", re.I)


def _span(value: str) -> str:
    if not SPAN.match(str(value)):
        raise ValueError(f"时长 {value!r} 无效，写成 14d、2w、6m 或 1y（天、周、月、年）")
    return str(value).strip()


class CadenceSettings(Section):
    enabled: bool = True
    warn_workdays: int = Field(default=1, ge=0, le=60)  # warned this many working days before


class SiteUpdateSettings(CadenceSettings):
    """R5: the site gets a new item every period (a calendar week by default; a province may set
    period_days = 10), each column within its freshness, and no configured column blank."""
    period_days: int = Field(default=7, ge=1, le=92)
    anchor: date = date(2024, 1, 1)  # a Monday: with period_days = 7 the periods are ISO weeks
    backfill_periods: int = Field(default=8, ge=0, le=104)
    department: str = ""  # whose duty the site's cadence is (its duty contacts are told)
    per_department: bool = False  # also each department of [[departments]]: an item of its own a period
    columns: dict[str, str] = Field(default_factory=lambda: {
        "动态": "2w", "要闻": "2w", "通知公告": "6m", "政策文件": "6m", "人事": "1y", "规划": "1y"})
    live_columns: list[str] = Field(default_factory=list)  # blank (never published) → a finding

    @field_validator("columns")
    @classmethod
    def _columns(cls, value: dict[str, str]) -> dict[str, str]:
        return {name: _span(span) for name, span in value.items()}


class AccountUpdateSettings(CadenceSettings):
    """C6: each enabled new-media account (WeChat, Weibo) sends something within ``every``."""
    every: str = "2w"
    channels: list[str] = Field(default_factory=lambda: ["wechat", "weibo"])
    department: str = ""

    _every = field_validator("every")(classmethod(lambda cls, v: _span(v)))


class PressSettings(Section):
    """R6 (per quarter) and R7 (the head once a year): warned ``warn_months`` before the end."""
    enabled: bool = True
    warn_months: int = Field(default=1, ge=0, le=11)


class R9Settings(Section):
    """R9: a press-conference notice within ``hours`` clock hours of a major emergency."""
    enabled: bool = True
    hours: int = Field(default=24, ge=1, le=240)
    severities: list[str] = Field(default_factory=lambda: ["重大", "特别重大"])
    warn_hours: int = Field(default=12, ge=0, le=240)  # the early warning, before due
    due_hours: int = Field(default=2, ge=0, le=240)  # the last warning, before due


class RulesSettings(Section):
    """Statutory deadlines (rules R1, R3, R4 of the seed and 条例 art. 26, here L26)."""
    R1: RuleSettings = Field(default_factory=lambda: RuleSettings(workdays=3))
    R3: RuleSettings = Field(default_factory=lambda: RuleSettings(workdays=3))
    R4: RuleSettings = Field(default_factory=lambda: RuleSettings(workdays=10, warn_workdays=3))
    L26: RuleSettings = Field(default_factory=lambda: RuleSettings(workdays=20, warn_workdays=5))
    R5: SiteUpdateSettings = Field(default_factory=SiteUpdateSettings)
    R6: PressSettings = Field(default_factory=PressSettings)
    R7: PressSettings = Field(default_factory=PressSettings)
    R9: R9Settings = Field(default_factory=R9Settings)
    R11: RuleSettings = Field(default_factory=lambda: RuleSettings(workdays=7, warn_workdays=2))
    C6: AccountUpdateSettings = Field(default_factory=AccountUpdateSettings)


class DepartmentSettings(Section):
    """One department of the register (R6, R7): its head and its press conferences a quarter."""
    name: str = Field(min_length=1, max_length=200)
    head: str = Field(default="", max_length=100)
    press_conferences_per_quarter: int = Field(default=2, ge=0, le=50)


class DutyContactSettings(Section):
    """Who is told of a warning or a miss for a department ("*" = every department)."""
    department: str = Field(default="*", max_length=200)
    name: str = Field(default="", max_length=100)
    sms: str = Field(default="", max_length=20)
    wechat_openid: str = Field(default="", max_length=128)  # told by WeChat template message too

    @field_validator("wechat_openid")
    @classmethod
    def _openid(cls, value: str) -> str:
        value = value.strip()
        if value and not re.fullmatch(r"[A-Za-z0-9_-]{28}", value):
            raise ValueError(f"{value!r} 不是微信 OpenID（修正：填写该值班人员关注本公众号后的 OpenID，"
                             "28 位字母、数字、下划线或连字符；不用微信提醒时留空）")
        return value


def _column_days() -> dict[str, int]:
    return {"动态": 14, "要闻": 14, "通知公告": 183, "政策文件": 183, "人事": 365, "规划": 365}


class ReportSettings(Section):
    """The compliance report and ``gongkai inspect`` (defaults from the inspection rules)."""
    home_page_days: int = Field(default=14, ge=1, le=366)  # home page has a new item within
    account_days: int = Field(default=14, ge=1, le=366)  # each WeChat/Weibo account sent within
    # freshness limit in days by a word in the column name; other columns: default_column_days
    column_days: dict[str, int] = Field(default_factory=_column_days)
    default_column_days: int = Field(default=183, ge=1, le=3660)
    columns: list[str] = Field(default_factory=list)  # columns the site must have (blank ones count)
    press_target_per_quarter: int = Field(default=2, ge=0, le=100)
    press_departments: list[str] = Field(default_factory=list)
    key_columns_veto: int = Field(default=5, ge=1)  # stale 动态/要闻/通知公告/政策文件 columns → veto
    stale_columns_veto: int = Field(default=10, ge=1)  # stale columns of any kind → veto
    blank_columns_veto: int = Field(default=5, ge=1)  # blank columns → veto
    # site paths served by the bot itself, not files (links to them are not broken)
    dynamic_paths: list[str] = Field(default_factory=lambda: ["sms/", "wechat/", "console/",
                                                              "api/", "sandbox/", "search"])


class EmergencySettings(Section):
    """The emergency path: who may take the (one-step) review of an emergency item. Empty = any
    approver (never the author: the review chain refuses that)."""
    on_duty: list[str] = Field(default_factory=list)  # logins of the approvers on duty


class TemplateSettings(Section):
    dir: str = ""  # a directory whose templates override the shipped ones


class ConsoleSettings(Section):
    """The staff console (/console/): where it listens and how long a sign-in lasts."""
    listen: str = ""  # empty = served by the same server as the site; else host:port for console and API only
    base_url: str = ""  # the console's own URL when it listens apart (https → Secure cookie); empty = derived
    idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    absolute_hours: int = Field(default=12, ge=1, le=24 * 14)
    max_failures: int = Field(default=5, ge=1, le=100)  # failed sign-ins per account or address …
    lock_minutes: int = Field(default=15, ge=1, le=24 * 60)  # … within this window, then wait

    @field_validator("listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        host, _, port = value.rpartition(":")
        if value and (not host or not port.isdigit() or not 0 < int(port) < 65536):
            raise ValueError("BAD_LISTEN")
        return value


class Settings(Section):
    bot: BotSettings = Field(default_factory=BotSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    review: ReviewSettings = Field(default_factory=ReviewSettings)
    calendar: CalendarSettings = Field(default_factory=CalendarSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)
    rules: RulesSettings = Field(default_factory=RulesSettings)
    departments: list[DepartmentSettings] = Field(default_factory=list)
    duty_contacts: list[DutyContactSettings] = Field(default_factory=list)
    templates: TemplateSettings = Field(default_factory=TemplateSettings)
    reports: ReportSettings = Field(default_factory=ReportSettings)
    channels: ChannelsSettings = Field(default_factory=ChannelsSettings)
    console: ConsoleSettings = Field(default_factory=ConsoleSettings)
    emergency: EmergencySettings = Field(default_factory=EmergencySettings)

    source: str = Field(default="", exclude=True)  # where the settings came from, for messages

    # derived values ---------------------------------------------------------------------------
    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.bot.timezone)

    @property
    def data_path(self) -> Path:
        return Path(self.bot.data_dir).expanduser()

    @property
    def database_url(self) -> str:
        return self.bot.database_url or f"sqlite:///{(self.data_path / 'gongkai.db').resolve()}"

    @property
    def site_path(self) -> Path:
        site = self.channels.website.site_dir
        return Path(site).expanduser() if site else self.data_path / "site"

    @property
    def files_path(self) -> Path:
        return self.data_path / "files"

    @property
    def base_url(self) -> str:
        return (self.web.base_url or f"http://{self.web.listen}").rstrip("/")

    @property
    def local_url(self) -> str:
        host, _, port = self.web.listen.rpartition(":")
        host = {"0.0.0.0": "127.0.0.1", "[::]": "[::1]", "::": "[::1]"}.get(host, host)
        return f"http://{host}:{port}"

    @property
    def console_url(self) -> str:
        """Where staff open the console: its own listener when it has one, else the site's."""
        if self.console.base_url:
            return self.console.base_url.rstrip("/")
        return f"http://{self.console.listen}" if self.console.listen else self.base_url

    @property
    def node(self) -> str:
        return self.bot.node_name or f"{os.uname().nodename}-{os.getpid()}"


class ConfigError(Exception):
    """Invalid configuration; ``problems`` holds one line per problem (key, what, fix)."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


def load(path: str | Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    environ = dict(os.environ if environ is None else environ)
    data: dict[str, Any] = {}
    source = "内置默认配置"
    file = find_file(path, environ)
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except FileNotFoundError:
            how = "--config" if path else CONFIG_ENV
            raise ConfigError([f"{how}: 找不到配置文件 {file}（修正：检查路径，或复制 config.example.toml）"]) from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError([f"{file}: 不是有效的 TOML：{tomlerrors.describe(exc)}"
                               "（修正：对照 config.example.toml 检查语法）"]) from None
        source = str(file)
        anchor_paths(data, file.resolve().parent)
    problems: list[str] = []
    for name, raw in sorted(environ.items()):
        if name.startswith(ENV_PREFIX) and "__" in name[len(ENV_PREFIX):]:
            keys = [k.lower() for k in name[len(ENV_PREFIX):].split("__")]
            if any(not k for k in keys):
                problems.append(f"{name}: 环境变量名无效（修正：写成 GONGKAI_<SECTION>__<KEY>）")
                continue
            _set_path(data, keys, _env_value(raw))
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems += [_describe(err) for err in exc.errors()]
    if problems:
        raise ConfigError(problems)
    settings.source = source
    return settings


def xdg_file(environ: dict[str, str]) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path(environ.get("HOME") or Path.home()) / ".config")
    return Path(base).expanduser() / "gongkai" / "config.toml"


def find_file(path: str | Path | None, environ: dict[str, str]) -> Path | None:
    """The configuration file to read: --config, GONGKAI_CONFIG, ./config.toml, the XDG file;
    None for the embedded defaults. An explicitly named file must exist (load reports it)."""
    named = path or environ.get(CONFIG_ENV, "").strip()
    if named:
        return Path(named).expanduser()
    for candidate in (DEFAULT_FILE, xdg_file(environ)):
        if candidate.is_file():
            return candidate
    return None


# keys whose values are file-system paths: relative values in a file are anchored to its folder
PATH_KEYS = (("bot", "data_dir"), ("review", "negative_list"), ("review", "sensitive_words_file"),
             ("calendar", "data_file"), ("templates", "dir"), ("channels", "website", "site_dir"))


def anchor_paths(data: dict[str, Any], folder: Path) -> None:
    for keys in PATH_KEYS:
        node: Any = data
        for key in keys[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        value = node.get(keys[-1]) if isinstance(node, dict) else None
        if isinstance(value, str) and value and not Path(value).expanduser().is_absolute():
            node[keys[-1]] = str(folder / value)
    bot: Any = data.get("bot")
    url = bot.get("database_url") if isinstance(bot, dict) else None
    if isinstance(url, str) and url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        bot["database_url"] = f"sqlite:///{folder / url[len('sqlite:///'):]}"


def _env_value(raw: str) -> Any:
    text = raw.strip()
    if text[:1] in "[{":
        try:
            return tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError:
            return raw
    return raw


def _set_path(data: dict[str, Any], keys: list[str], value: Any) -> None:
    node = data
    for key in keys[:-1]:
        nxt = node.get(key)
        if not isinstance(nxt, dict):
            nxt = {}
            node[key] = nxt
        node = nxt
    node[keys[-1]] = value


def _describe(err: ErrorDetails) -> str:
    loc = [str(p) for p in err["loc"] if not str(p).startswith("function-after")]
    key = ".".join(loc)
    kind = err["type"]
    message = str(err.get("msg", ""))
    if kind == "extra_forbidden":
        section = ".".join(loc[:-1]) or "顶层"
        return f"{key}: 未知的配置项（修正：删除它或检查拼写；[{section}] 可用的键见 config.example.toml）"
    if "UNKNOWN_ZONE:" in message:
        return (f"{key}: 未知时区 {message.split('UNKNOWN_ZONE:', 1)[1]!r}"
                "（修正：使用 IANA 时区名，如 Asia/Shanghai）")
    if "BAD_LEVEL" in message:
        return f"{key}: 日志级别无效（修正：DEBUG、INFO、WARNING 或 ERROR）"
    if "BAD_CHAIN_KIND:" in message:
        kind = message.split("BAD_CHAIN_KIND:", 1)[1]
        return (f"{key}.{kind}: 未知的稿件类型（修正：写 default 或稿件类型的英文编号，如 policy、emergency）")
    if "EMPTY_CHAIN:" in message:
        kind = message.split("EMPTY_CHAIN:", 1)[1]
        return f"{key}.{kind}: 审核链不能为空（修正：至少一步，如 [\"approver\"]）"
    if "BAD_CHAIN_ROLE:" in message:
        kind, role = message.split("BAD_CHAIN_ROLE:", 1)[1].split(":", 1)
        return (f"{key}.{kind}: 审核步骤的角色 {role!r} 无效"
                "（修正：每一步写 reviewer（保密审查）或 approver（审核签发））")
    if "BAD_LISTEN" in message:
        return f"{key}: 监听地址无效（修正：写成 主机:端口，如 127.0.0.1:8080）"
    if kind == "value_error" and "修正" in message:  # a validator's own message names its fix
        return f"{key}: {message.removeprefix('Value error, ')}"
    if "MISSING_SECRETS:" in message:
        section = key
        lines = []
        for name in message.split("MISSING_SECRETS:", 1)[1].split(","):
            env = f"{ENV_PREFIX}{section.upper().replace('.', '__')}__{name.upper()}"
            lines.append(f"{section}.{name}: 未设置（{section} 已启用且不在沙箱模式；修正：设置环境变量 "
                         f"{env}，或设 {section}.sandbox = true，或 enabled = false）")
        return "\n".join(lines)
    expected = {
        "bool_parsing": "应为 true 或 false", "bool_type": "应为 true 或 false",
        "int_parsing": "应为整数", "int_type": "应为整数", "float_parsing": "应为数字",
        "string_type": "应为字符串（加引号）", "list_type": "应为列表，如 [\"a\", \"b\"]",
        "literal_error": "取值无效", "greater_than_equal": "取值过小", "less_than_equal": "取值过大",
        "greater_than": "取值过小", "model_type": "应为一个表（[section]）", "dict_type": "应为一个表",
    }.get(kind, message)
    # the value itself is never shown: it may be a secret (an app secret given as a number)
    ctx = err.get("ctx") or {}
    hint = f"；允许：{ctx['expected']}" if "expected" in ctx else ""
    if "ge" in ctx or "le" in ctx:
        hint = f"；范围 {ctx.get('ge', '')}…{ctx.get('le', '')}"
    return f"{key}: {expected}（修正：对照 config.example.toml 中该项的说明{hint}）"
