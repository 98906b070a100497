"""The ``gongkai`` command line."""
from __future__ import annotations

import asyncio
import signal
from typing import TYPE_CHECKING, cast

import click

from bot.climount import LazyGroup
from bot.clikit import Cli, command, fail_error, fail_lines, setup_logging
from bot.confirm import confirm
from bot.output import emit, table
from bot.timeparse import parse_date
from channels import catalogue
from channels.extension import bind_kit
from content.errors import GongkaiError

if TYPE_CHECKING:
    from bot.service import Service



def _progress_line(label: str, total: int | None, *, enabled: bool = True):  # noqa: ANN202
    from bot.progress import ProgressLine

    return ProgressLine(label, total, enabled=enabled)


def _delivery_label(state: str) -> str:
    from bot.labels import delivery_state

    return delivery_state(state)


# Channel commands are written against channels.extension's kit; this binds it to ours.
bind_kit(command=command, emit=emit, table=table, confirm=confirm, progress_line=_progress_line,
         delivery_label=_delivery_label)


@click.group("gongkai", cls=LazyGroup)
@click.option("--config", "config_path", default=None,
              help="配置文件；未指定时依次查找环境变量 GONGKAI_CONFIG、./config.toml、"
                   "~/.config/gongkai/config.toml，都没有则用内置默认值")
@click.option("--as", "actor", default=None, envvar="GONGKAI_USER", help="操作人（审计记录用）")
@click.option("--json", "as_json", is_flag=True, help="输出一个 JSON 文档")
@click.version_option(package_name="gongkai", message="%(prog)s 版本 %(version)s", help="显示版本并退出")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, actor: str | None, as_json: bool) -> None:
    """公开（Gongkai）：政务公开多渠道发布与排期机器人。"""
    ctx.obj = Cli(config_path, actor, as_json)


main.add_lazy("post", "bot.cli_post:post", "稿件：新建、提交、审核、预览、更正、撤回。")
main.add_lazy("release", "bot.cli_release:release", "发布计划：定时发布、捆绑发布、改期、取消、拆分。")
main.add_lazy("delivery", "bot.cli_release:delivery", "投递：处理结果不明或失败的投递。")
main.add_lazy("obligations", "bot.cli_obligations:obligations", "时限义务：列出与豁免（规则 R1、R3、R4、L26）。")
main.add_lazy("status", "bot.cli_status:status", "值班看板：即将发布、已暂停、投递异常、时限义务、待审核。")
main.add_lazy("user", "bot.cli_user:user", "账号与角色：新建、停用、改密码、改角色、签发个人令牌。")
main.add_lazy("login", "bot.cli_user:login_", "用密码登录并保存个人令牌（非演示模式下凭令牌确认操作人）。")
main.add_lazy("webhook", "bot.cli_webhook:webhook", "Webhook：登记接收网址、测试推送、查看投递（管理员）。")


@main.group("channel", cls=LazyGroup)
def channel() -> None:
    """渠道管理：授权、令牌、粉丝与状态。"""


def _mount_channel_commands() -> None:
    """The commands each channel declares (``Extension.cli``), under ``gongkai`` or
    ``gongkai channel``; imported only when used."""
    # click's stubs type a subgroup made with Group.group(cls=...) as a plain Group
    groups: dict[str, LazyGroup] = {"": main, "channel": cast(LazyGroup, channel)}
    for ext in catalogue.extensions():
        for cmd in ext.cli:
            groups[cmd.parent].add_lazy(cmd.name, cmd.target, cmd.help)


_mount_channel_commands()


# ---------------------------------------------------------------------------------------- run
@main.command("run")
@click.pass_obj
def run(cli: Cli) -> None:
    """运行机器人：定时发布、各渠道投递、网站与订阅源服务。"""
    from bot.service import StoreUnavailable

    settings = cli.settings
    setup_logging(settings.bot.log_level, settings.tz)
    try:
        asyncio.run(_serve(settings))
    except StoreUnavailable as exc:
        fail_lines([f"错误：{exc}"], cli.as_json, error_code="store_unavailable")
    except GongkaiError as exc:
        fail_error(exc, cli.as_json)
    except ListenFailed as exc:
        fail_lines([f"错误：{exc.key} {exc.listen} 无法监听（{exc.why}）"
                    "（修正：换一个端口，或停止占用该端口的程序）"], cli.as_json,
                   error_code="invalid_config", field=exc.key)
    except OSError as exc:
        fail_lines([f"错误：web.listen {settings.web.listen} 无法监听（{exc.strerror}）"
                    "（修正：换一个端口，或停止占用该端口的程序）"], cli.as_json,
                   error_code="invalid_config", field="web.listen")


class ListenFailed(Exception):
    def __init__(self, key: str, listen: str, why: str) -> None:
        super().__init__(f"{key} {listen}: {why}")
        self.key, self.listen, self.why = key, listen, why


async def _serve(settings) -> None:  # noqa: ANN001
    import logging

    from aiohttp import web

    from bot import sample
    from bot.service import Service
    from bot.web import listeners

    log = logging.getLogger("gongkai")
    service = await Service.create(settings)
    app_runners: list[web.AppRunner] = []
    stop = asyncio.Event()  # a signal during start-up stops cleanly once started
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        for listen, app in listeners(service):
            host, _, port = listen.rpartition(":")
            # long request lines: the Aliyun SDK puts up to 1,000 numbers in the query string
            app_runner = web.AppRunner(app, access_log=None, max_line_size=65536, max_field_size=65536)
            app_runners.append(app_runner)
            await app_runner.setup()
            try:
                await web.TCPSite(app_runner, host.strip("[]"), int(port)).start()
            except OSError as exc:
                key = "web.listen" if listen == settings.web.listen else "console.listen"
                raise ListenFailed(key, listen, exc.strerror or str(exc)) from exc
        if settings.bot.demo:  # the sample people, with the demo password shown on the login page
            await sample.ensure_people(service, demo=True)
        if settings.bot.load_sample:
            await sample.load_if_empty(service)
        await _first_admin(service, log)
        await service.start()
        log.info("公开（Gongkai）已启动：网站 %s/ ，数据库 %s，渠道 %s", settings.base_url,
                 settings.database_url.split("@")[-1], "、".join(service.channels))
        log.info("工作台：%s/console/", settings.console_url)
        sandboxed = [n for n in service.channels if getattr(settings.channels, n).sandbox and n != "website"]
        if sandboxed:
            service.sandbox_token()  # made now, so that the file exists for whoever drives the emulators
            log.info("沙箱模式：模拟器页面 %s；管理接口需要管理令牌（见 %s）",
                     "、".join(f"{settings.base_url}/sandbox/{n}/" for n in sandboxed),
                     settings.data_path / "sandbox" / "admin-token")
        await stop.wait()
        log.info("正在停止……")
    finally:
        for app_runner in app_runners:
            await app_runner.cleanup()
        await service.stop()


async def _first_admin(service: Service, log) -> None:  # noqa: ANN001
    """First start with no administrator: make ``admin`` and print its password once."""
    from content import accounts

    password = await service.store.transaction(
        lambda s: accounts.ensure_first_admin(s, now=service.clock.now()), what="first admin")
    if password is not None:
        log.warning("首次启动：已创建管理员账号 %s，初始密码 %s（只显示这一次，库中只存其散列；"
                    "请用 gongkai login %s 登录后以 gongkai user passwd %s 修改）",
                    accounts.FIRST_ADMIN, password, accounts.FIRST_ADMIN, accounts.FIRST_ADMIN)


# ----------------------------------------------------------------------------------------- db
@main.group("db")
def db() -> None:
    """数据库迁移。"""


@command(db, "upgrade")
def db_upgrade(cli: Cli) -> None:
    """把数据库结构升级到最新版本（gongkai run 会自动执行）。"""
    from content.db import current_heads, upgrade

    async def work(svc: Service) -> tuple[str, ...]:
        await upgrade(svc.store)
        return await current_heads(svc.store)

    heads = cli.run(work, migrate=False, create=True)
    emit(cli.as_json, {"revisions": sorted(heads)},
         f"数据库已是最新结构（版本 {', '.join(sorted(heads))}）。")


# ---------------------------------------------------------------------------------------- site
@main.group("site")
def site() -> None:
    """静态网站。"""


@command(site, "build")
def site_build(cli: Cli) -> None:
    """全量重建网站和订阅源。"""
    async def work(svc: Service):  # noqa: ANN202
        website = svc.channels.get("website")
        if website is None:
            raise GongkaiError("网站渠道未启用", fix="设 [channels.website] enabled = true")
        await website.open()
        try:
            return await website.rebuild_all()  # type: ignore[attr-defined]
        finally:
            await website.close()

    stats = cli.run(work)
    emit(cli.as_json, {"written": stats.written, "unchanged": stats.unchanged, "seconds": stats.seconds},
         f"网站已重建：写入 {stats.written} 个文件，{stats.unchanged} 个未变，用时 {stats.seconds:.2f} 秒。")


# ----------------------------------------------------------------------------------- calendar
@main.group("calendar")
def calendar() -> None:
    """工作日日历（法定节假日与调休）。"""


@command(calendar, "is-workday")
@click.argument("day")
def is_workday(cli: Cli, day: str) -> None:
    """某天是否为工作日。"""
    from schedules.calendar import fallback_warning

    the_day = parse_date(day)
    cal = _calendar(cli)
    info = cal.info(the_day)
    warns = [fallback_warning(y) for y in sorted(cal.warned)]
    emit(cli.as_json, {"date": the_day.isoformat(), "workday": info.workday, "reason": info.reason,
                       "source": info.source.value, "warnings": warns},
         [f"{the_day.isoformat()}：{'工作日' if info.workday else '休息日'}（{info.reason}）"] + [f"⚠ {w}" for w in warns])


# a negative count is an argument, not an option: `add-workdays 2026-12-20 -3`
@command(calendar, "add-workdays", context_settings={"ignore_unknown_options": True})
@click.argument("day")
@click.argument("n", type=int)
def add_workdays(cli: Cli, day: str, n: int) -> None:
    """DATE 之后第 N 个工作日（N 为负数时向前，如 add-workdays 2026-12-20 -3）。"""
    from schedules.calendar import fallback_warning, uncertain_note

    the_day = parse_date(day)
    cal = _calendar(cli)
    result = cal.add_workdays(the_day, n)
    warns = [fallback_warning(y) for y in sorted(cal.warned)]
    uncertain = cal.fallback_years(the_day, result)
    emit(cli.as_json, {"date": result.isoformat(), "from": the_day.isoformat(), "workdays": n,
                       "reason": cal.info(result).reason, "uncertain_years": uncertain,
                       "warnings": warns},
         [f"{the_day.isoformat()} {'之前' if n < 0 else '之后'}第 {abs(n)} 个工作日：{result.isoformat()}"
          + uncertain_note(uncertain)] + [f"⚠ {w}" for w in warns])


def _calendar(cli: Cli):  # noqa: ANN202
    from pathlib import Path

    from schedules.calendar import WorkdayCalendar

    path = cli.settings.calendar.data_file
    return WorkdayCalendar.load(Path(path) if path else None)


if __name__ == "__main__":  # pragma: no cover
    main()
