"""What every command shares: settings, the acting user, --json, error reporting, the service."""
from __future__ import annotations

import asyncio
import functools
import json
import logging
import sys
from datetime import datetime, tzinfo
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

import click

from bot import crash
from bot.errors import StoreUnavailable
from content.errors import GongkaiError, error_json

if TYPE_CHECKING:
    from bot import settings as config
    from content.accounts import AccountView
    from bot.service import Service

T = TypeVar("T")


@dataclass
class Cli:
    config_path: str | None
    actor_name: str | None
    as_json: bool
    _settings: config.Settings | None = None
    account: AccountView | None = None  # who acts, once known (see bot.identity)
    _identity: str | None = None
    _demo_pending: str | None = None  # demo mode: the --as account to make if it is missing

    @property
    def settings(self) -> config.Settings:
        if self._settings is None:
            from bot import settings as config

            try:
                self._settings = config.load(self.config_path)
            except config.ConfigError as exc:
                fail_lines(["配置无效，未启动任何服务："] + exc.problems, self.as_json,
                           error_code="invalid_config")
            except (OSError, UnicodeDecodeError) as exc:
                fail_lines(["配置无效，未启动任何服务：",
                            f"--config: 无法读取配置文件 {self.config_path}（{_unreadable(exc)}）"
                            "（修正：指向一个 UTF-8 编码的 TOML 文件，如 config.example.toml 的副本）"],
                           self.as_json, error_code="invalid_config")
            crash.use_log_dir(self._settings.data_path / "logs")
        return self._settings

    @property
    def actor(self) -> str:
        """The acting account's login: in demo mode ``--as`` (or GONGKAI_USER) without proof,
        otherwise the account a personal API token proves."""
        if self._identity is None:
            from bot.identity import resolve

            self._identity = resolve(self)
        return self._identity

    def run(self, work: Callable[[Service], Awaitable[T]], *, migrate: bool = True,
            create: bool = False) -> T:
        """Run ``work`` on the service; a store that does not exist is refused unless ``create``."""
        from bot.service import Service

        settings = self.settings

        async def main() -> T:
            service = await Service.create(settings, migrate=migrate, create=create)
            try:
                if self._demo_pending and migrate:
                    from bot.identity import ensure_demo_account

                    await ensure_demo_account(self, service)
                return await work(service)
            finally:
                await service.store.close()

        return asyncio.run(main())

    def run_as(self, work: Callable[[Service, AccountView], Awaitable[T]]) -> T:
        """Run ``work`` on the service as the acting account (made first in demo mode)."""
        self.actor  # noqa: B018 — who acts is known (a token checked) before anything runs

        async def acting(service: Service) -> T:
            assert self.account is not None, "the acting account is resolved before work runs"
            return await work(service, self.account)

        return self.run(acting)


def _unreadable(exc: Exception) -> str:
    if isinstance(exc, UnicodeDecodeError):
        return "不是 UTF-8 编码的文本"
    if isinstance(exc, IsADirectoryError):
        return "这是一个目录"
    if isinstance(exc, PermissionError):
        return "没有读取权限"
    return "读取失败"


def fail_lines(lines: list[str], as_json: bool, code: int = 2, *, error_code: str = "invalid_input",
               field: str | None = None) -> NoReturn:
    """Say what went wrong and exit: the lines on standard error, or with ``--json`` the one
    error document ``{"error": {"code", "message", "field"}}`` on standard output."""
    if as_json:
        message = "\n".join(lines).removeprefix("错误：")  # the terminal's label, not the message
        click.echo(json.dumps(error_json(error_code, message, field), ensure_ascii=False))
    else:
        for line in lines:
            click.echo(line, err=True)
    sys.exit(code)


def fail_error(exc: GongkaiError, as_json: bool) -> NoReturn:
    """A user's error: ``错误：…`` on the terminal; its code, message and field with --json."""
    if as_json:
        click.echo(json.dumps(exc.as_json(), ensure_ascii=False))
        sys.exit(2)
    fail_lines([f"错误：{exc.render()}"], as_json)


def command(group: click.Group, name: str, **kwargs: Any):  # noqa: ANN201
    """A leaf command that accepts --json and --as after its name too, and turns user errors
    into one clear message and exit status 2; a defect into one line (exit status 1) and a
    traceback in ``<data_dir>/logs/errors.log``."""
    def wrap(fn: Callable[..., Any]) -> click.Command:
        @group.command(name, **kwargs)
        @click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")
        @click.option("--as", "actor", default=None, help="操作人（默认取 GONGKAI_USER）")
        @click.pass_obj
        @functools.wraps(fn)
        def run(cli: Cli, *args: Any, as_json: bool, actor: str | None, **kw: Any) -> Any:
            cli.as_json = cli.as_json or as_json
            cli.actor_name = actor or cli.actor_name
            try:
                return fn(cli, *args, **kw)
            except GongkaiError as exc:
                fail_error(exc, cli.as_json)
            except StoreUnavailable as exc:
                fail_lines([f"错误：{exc}"], cli.as_json, error_code="store_unavailable")
            except (click.ClickException, click.exceptions.Abort, click.exceptions.Exit):
                raise
            except Exception as exc:  # noqa: BLE001 — a defect, never a traceback on the terminal
                crash.fail(exc, cli.as_json, click.get_current_context().command_path)

        return run

    return wrap


LEVEL_NAMES = {"DEBUG": "调试", "INFO": "信息", "WARNING": "警告", "ERROR": "错误", "CRITICAL": "严重"}


class _LocalFormatter(logging.Formatter):
    """Times in the configured zone with their offset; the level in Chinese."""

    def __init__(self, tz: tzinfo) -> None:
        super().__init__("%(asctime)s %(level_zh)s %(name)s: %(message)s")
        self.tz = tz

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:  # noqa: N802
        return datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="milliseconds")

    def format(self, record: logging.LogRecord) -> str:
        record.level_zh = LEVEL_NAMES.get(record.levelname, record.levelname)
        return super().format(record)


def setup_logging(level: str, tz: tzinfo) -> None:
    """Log lines carry the time in the configured zone, with its offset, and the level in Chinese."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_LocalFormatter(tz))
    logging.basicConfig(level=getattr(logging, level, logging.INFO), handlers=[handler])
    for noisy in ("apscheduler", "aiohttp.access", "alembic"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
