"""The ``gongkai`` command line."""
from __future__ import annotations

import asyncio
import signal
from datetime import timedelta
from typing import TYPE_CHECKING

import click

from bot.climount import LazyGroup
from bot.clikit import Cli, command, fail_lines, setup_logging
from bot.output import emit, table
from bot.timeparse import parse_date
from channels import catalogue
from channels.extension import bind_kit
from content.errors import GongkaiError

if TYPE_CHECKING:
    from bot.service import Service

# Channel commands are written against channels.extension's kit; this binds it to ours.
bind_kit(command=command, emit=emit, table=table)


@click.group("gongkai", cls=LazyGroup)
@click.option("--config", "config_path", default=None, envvar="GONGKAI_CONFIG",
              help="配置文件（默认 ./config.toml，若无则用内置默认值）")
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


@main.group("channel", cls=LazyGroup)
def channel() -> None:
    """渠道管理：授权、令牌、粉丝与状态。"""


def _mount_channel_commands() -> None:
    """The commands each channel declares (``Extension.cli``), under ``gongkai`` or
    ``gongkai channel``; imported only when used."""
    groups = {"": main, "channel": channel}
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
        fail_lines([f"错误：{exc}"], cli.as_json)
    except GongkaiError as exc:
        fail_lines([f"错误：{exc.render()}"], cli.as_json)
    except OSError as exc:
        fail_lines([f"错误：web.listen {settings.web.listen} 无法监听（{exc.strerror}）"
                    "（修正：换一个端口，或停止占用该端口的程序）"], cli.as_json)


async def _serve(settings) -> None:  # noqa: ANN001
    import logging

    from aiohttp import web

    from bot import sample
    from bot.service import Service
    from bot.web import make_app

    log = logging.getLogger("gongkai")
    service = await Service.create(settings)
    app_runner = None
    try:
        host, _, port = settings.web.listen.rpartition(":")
        # long request lines: the Aliyun SDK puts up to 1,000 numbers in the query string
        app_runner = web.AppRunner(make_app(service), access_log=None,
                                   max_line_size=65536, max_field_size=65536)
        await app_runner.setup()
        await web.TCPSite(app_runner, host.strip("[]"), int(port)).start()
        if settings.bot.load_sample:
            await sample.load_if_empty(service)
        await service.start()
        log.info("公开（Gongkai）已启动：网站 %s/ ，数据库 %s，渠道 %s", settings.base_url,
                 settings.database_url.split("@")[-1], "、".join(service.channels))
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
        log.info("正在停止……")
    finally:
        if app_runner is not None:
            await app_runner.cleanup()
        await service.stop()


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

    heads = cli.run(work, migrate=False)
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


# ------------------------------------------------------------------------------------- status
@command(main, "status")
def status(cli: Cli) -> None:
    """值班看板：即将发布、已暂停、投递异常、解读时限、待审核。"""
    from sqlalchemy import func, select

    from content.kinds import ItemState
    from content.models import Delivery, Item, Release, ReleaseItem, Revision, Setting
    from schedules.calendar import fallback_warning
    from schedules.deadlines import open_interpretation_deadlines
    from schedules.ticker import HEARTBEAT_KEY

    async def work(svc: Service):  # noqa: ANN202
        now = svc.clock.now()
        sched = svc.settings.schedule
        async with svc.store.sessions() as s:
            beat = await s.get(Setting, HEARTBEAT_KEY)
            upcoming = list(await s.scalars(select(Release).where(Release.state == "pending")
                                            .order_by(Release.due_at).limit(20)))
            held = list(await s.scalars(select(Release).where(Release.state == "held").order_by(Release.due_at)))
            warnings = []
            for rel in upcoming:
                if rel.due_at - now > timedelta(hours=sched.warn_hours_before):
                    continue
                not_ready = list(await s.execute(
                    select(Item.id, Item.state).join(ReleaseItem, ReleaseItem.item_id == Item.id)
                    .where(ReleaseItem.release_id == rel.id,
                           Item.state.not_in([ItemState.SCHEDULED.value, ItemState.APPROVED.value,
                                              ItemState.PUBLISHED.value, ItemState.CORRECTED.value,
                                              ItemState.RETRACTED.value]))))
                if not_ready and rel.purpose == "publish":
                    warnings.append({"release": rel.id, "due_at": rel.due_at,
                                     "items": [{"id": i, "state": st} for i, st in not_ready]})
            troubled = list(await s.scalars(select(Delivery).where(
                Delivery.state.in_(["failed", "unknown", "paused", "retry"])).order_by(Delivery.id.desc()).limit(50)))
            pending_deliveries = await s.scalar(select(func.count(Delivery.id)).where(
                Delivery.state.in_(["pending", "in_progress", "submitted"])))
            awaiting_review = list(await s.execute(
                select(Item.id, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                                     & (Revision.number == Item.current_revision))
                .where(Revision.status == "submitted").order_by(Item.id)))
            deadlines = await open_interpretation_deadlines(
                s, svc.calendar, tz=svc.settings.tz, now=now, workdays=sched.interpretation_workdays)
        today = now.astimezone(svc.settings.tz).date()
        cal_warn = [fallback_warning(y) for y in svc.calendar.fallback_years(today, today + timedelta(days=30))]
        await svc.open_channels()
        try:
            channel_alerts = await svc.alerts()
        finally:
            await svc.close_channels()
        return (now, beat, upcoming, held, warnings, troubled, pending_deliveries, awaiting_review,
                deadlines, cal_warn + channel_alerts, svc.renderer, sched)

    (now, beat, upcoming, held, warnings, troubled, pending_deliveries, awaiting_review, deadlines,
     cal_warn, r, sched) = cli.run(work)
    age = (now - beat.updated_at).total_seconds() if beat else None
    ticker_ok = age is not None and age <= 3 * sched.sweep_seconds
    data = {
        "now": now, "ticker": {"running": ticker_ok, "heartbeat_age_seconds": age,
                               "node": beat.value.get("node") if beat else None},
        "upcoming": [{"id": x.id, "due_at": x.due_at, "purpose": x.purpose, "channels": x.channels}
                     for x in upcoming],
        "warnings": warnings,
        "held": [{"id": x.id, "due_at": x.due_at, "reason": x.hold_reason} for x in held],
        "deliveries": {"in_flight": pending_deliveries, "attention": [
            {"id": d.id, "release": d.release_id, "channel": d.channel, "state": d.state,
             "attempts": d.attempts, "error": d.last_error} for d in troubled]},
        "awaiting_review": [{"id": i, "title": t} for i, t in awaiting_review],
        "interpretation_deadlines": [
            {"policy": d.policy_id, "title": d.title, "published_at": d.published_at, "due": d.due,
             "state": d.state, "workdays_left": d.workdays_left,
             "pending_interpretations": list(d.pending_interpretations),
             "uncertain_years": list(d.uncertain_years)} for d in deadlines],
        "calendar_warnings": cal_warn,
    }
    lines = [f"现在：{r.local(now, '%Y-%m-%d %H:%M:%S')}（{cli.settings.bot.timezone}）"]
    lines.append("调度器：" + (f"运行中（{int(age)} 秒前心跳，{data['ticker']['node']}）" if ticker_ok
                            else "未运行或心跳过期！到期的发布不会发出，请启动 gongkai run"))
    lines.append(f"即将发布（{len(upcoming)}）：")
    lines += [f"  计划 {x.id}  {r.local(x.due_at, '%Y-%m-%d %H:%M:%S')}  {x.purpose}  {','.join(x.channels)}"
              for x in upcoming] or ["  无"]
    for w in warnings:
        lines.append(f"⚠ 计划 {w['release']} 将于 {r.local(w['due_at'])} 发布，但稿件 "
                     + "、".join(str(i["id"]) for i in w["items"]) + " 尚未审核；届时将暂停整组")
    if held:
        lines.append(f"已暂停（{len(held)}）：")
        lines += [f"  计划 {x.id}（原定 {r.local(x.due_at)}）：{x.hold_reason}；审核后 gongkai release reschedule {x.id} --now，"
                  f"或 gongkai release split {x.id} 先发政策文件" for x in held]
    lines.append(f"投递：进行中 {pending_deliveries}，需要关注 {len(troubled)}")
    lines += [f"  投递 {d.id}（计划 {d.release_id} → {d.channel}）{d.state}，已试 {d.attempts} 次：{d.last_error or ''}"
              for d in troubled]
    if deadlines:
        lines.append("政策解读时限（规则 R1）：")
        for d in deadlines:
            flag = "已超期！" if d.state == "overdue" else f"剩 {d.workdays_left} 个工作日"
            lines.append(f"  政策 {d.policy_id}《{d.title}》{r.local(d.published_at)} 发布，解读须在 "
                         f"{d.due.isoformat()} 前发布：{flag}"
                         + (f"（待发布解读：{', '.join(map(str, d.pending_interpretations))}）"
                            if d.pending_interpretations else ""))
    if awaiting_review:
        lines.append(f"待审核（{len(awaiting_review)}）：" + "；".join(f"{i} {t}" for i, t in awaiting_review[:10]))
    lines += [f"⚠ {w}" for w in cal_warn]
    emit(cli.as_json, data, lines)


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


@command(calendar, "add-workdays")
@click.argument("day")
@click.argument("n", type=int)
def add_workdays(cli: Cli, day: str, n: int) -> None:
    """DATE 之后第 N 个工作日（N 为负数时向前）。"""
    from schedules.calendar import fallback_warning

    the_day = parse_date(day)
    cal = _calendar(cli)
    result = cal.add_workdays(the_day, n)
    warns = [fallback_warning(y) for y in sorted(cal.warned)]
    emit(cli.as_json, {"date": result.isoformat(), "from": the_day.isoformat(), "workdays": n,
                       "reason": cal.info(result).reason, "warnings": warns},
         [f"{the_day.isoformat()} 之后第 {n} 个工作日：{result.isoformat()}"] + [f"⚠ {w}" for w in warns])


def _calendar(cli: Cli):  # noqa: ANN202
    from pathlib import Path

    from schedules.calendar import WorkdayCalendar

    path = cli.settings.calendar.data_file
    return WorkdayCalendar.load(Path(path) if path else None)


if __name__ == "__main__":  # pragma: no cover
    main()
