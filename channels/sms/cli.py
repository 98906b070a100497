"""``gongkai subscribers …``: SMS subscribers (list, import, export, remove), per-number results of
a release, and a release's SMS fan-out driven from the command line with a progress bar. The
work is done by :mod:`channels.sms.ops` (the same functions the console and the API call); this
module parses options and prints."""
from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import click

from channels.extension import YES_HELP, command, confirm, delivery_label, emit, progress_line, table
from channels.extension import CliContext as Cli
from channels.extension import Host as Service
from channels.base import Outcome
from channels.sms import ops
from channels.sms import phone as phones_
from channels.sms import subscriber_csv
from channels.sms.fanout import failed_batches_text
from content import accounts
from content.accounts import AccountView, Role
from content.errors import GongkaiError, InputError

STATUS_LABELS = ops.STATUS_LABELS
RESULT_LABELS = ops.RESULT_LABELS
MASS_REMOVAL = 10  # removing more numbers than this at once asks first


@click.group("subscribers")
def subscribers_group() -> None:
    """短信订阅者：列出、导入、导出、移除；查看某次发布的逐号结果；命令行推送。"""


async def _who(svc: Service, login: str) -> AccountView:
    """The acting account (``login`` is ``cli.actor``, read before ``cli.run`` so that a demo
    account is made first). In demo mode (``--as`` without proof) it may also manage
    subscribers, as it may manage accounts there (see bot/cli_user.py)."""
    async with svc.store.sessions() as s:
        who = await accounts.find(s, login)
    if who is None:
        raise GongkaiError(f"没有账号 {login}", fix="用 gongkai user list 查看账号")
    if svc.settings.bot.demo and not who.has(Role.ADMIN):
        who = dataclasses.replace(who, roles=(*who.roles, Role.ADMIN))
    return who


# ----------------------------------------------------------------------------------------- list
@command(subscribers_group, "list")
@click.option("--status", type=click.Choice(list(STATUS_LABELS)), default=None, help="只列出某种状态")
@click.option("--topic", default=None, help="只列出订阅了某个主题的号码")
@click.option("--search", default=None, help="号码中包含的数字")
@click.option("--limit", type=int, default=50, show_default=True)
@click.option("--masked", is_flag=True, help="号码中间四位显示为 ****（默认显示完整号码，并记入审计）")
def list_(cli: Cli, status: str | None, topic: str | None, search: str | None, limit: int, masked: bool) -> None:
    """列出短信订阅者（最新的在前）。"""
    login = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        return await ops.listing(svc, await _who(svc, login), status=status, topic=topic, search=search,
                                 limit=limit, unmasked=not masked), svc.renderer

    found, r = cli.run(work)
    data = {"total": found.total, "subscribers": [
        {"phone": x.phone, "status": x.status, "topics": list(x.topics), "source": x.source,
         "consent_at": x.consent_at, "consent_method": x.consent_method, "consent_from": x.consent_from,
         "consent_detail": x.consent_detail, "created_at": x.created_at, "unsubscribed_at": x.unsubscribed_at}
        for x in found.rows]}
    if not found.rows:
        emit(cli.as_json, data, "没有符合条件的订阅者。")
        return
    rows = [[phones_.national(x.phone), STATUS_LABELS.get(x.status, x.status), "、".join(x.topics),
             x.source, r.local(x.consent_at, "%Y-%m-%d %H:%M") if x.consent_at else "",
             x.consent_method, x.consent_detail] for x in found.rows]
    emit(cli.as_json, data, [table(rows, ["号码", "状态", "主题", "来源", "同意时间", "同意方式", "同意说明"]),
                             f"共 {found.total} 个，显示 {len(found.rows)} 个。"])


# --------------------------------------------------------------------------------------- import
@command(subscribers_group, "import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--source", "default_source", default="", help="没有 source 列时记录的来源，如“线下登记表”")
@click.option("--consent", default="",
              help="如何取得本人同意（CSV 没有 consent 列时必填），如“2026 年社区登记表，本人签字同意”")
def import_(cli: Cli, file: Path, default_source: str, consent: str) -> None:
    """从 CSV 导入已在别处同意接收短信的号码（立即生效）。

    列：phone,topics[,source][,consent]；多个主题用 ; 分隔，主题须是已有的栏目、部门或 all、emergency。
    每行单独检查：有问题的行列出原因并跳过，其余照常导入；重复导入同一文件不会改变任何内容。
    已退订或已屏蔽的号码不会被导入重新订阅（须本人重新订阅）。"""
    login = cli.actor
    if not file.is_file():
        raise InputError(f"找不到文件 {file}", fix="检查路径")
    text = subscriber_csv.decode(file)
    source = default_source or f"导入:{file.name}"[:100]

    async def work(svc: Service) -> ops.ImportReport:
        who = await _who(svc, login)
        bar = progress_line("导入订阅者", None, enabled=not cli.as_json)

        def on_progress(p: ops.ImportProgress) -> None:
            bar.update(p.read, f"新增 {p.added}，更新 {p.updated}，未变 {p.unchanged}，有问题 {p.bad} 行", total=p.total)

        try:
            return await ops.import_csv(svc, who, text, filename=file.name, source=source, consent=consent,
                                        on_progress=on_progress, unmasked=True)
        finally:
            bar.close()

    done = cli.run(work)
    data = {"added": done.added, "updated": done.updated, "unchanged": done.unchanged,
            "unknown_topics": done.unknown_topics,
            "bad_rows": [{"line": b.line, "row": b.row, "problem": b.problem} for b in done.bad_rows]}
    lines = [f"已导入：新增 {done.added} 个，更新 {done.updated} 个，未变 {done.unchanged} 个（立即生效）。"]
    if done.unknown_topics:
        lines.append("不存在的主题（这些行未导入）：" + "，".join(f"{t}（{n} 行）" for t, n in done.unknown_topics.items()))
    if done.bad_rows:
        lines.append(f"有 {len(done.bad_rows)} 行未导入：")
        lines += [f"  第 {b.line} 行 {b.row}：{b.problem}" for b in done.bad_rows]
    emit(cli.as_json, data, lines)
    if done.bad_rows:
        sys.exit(1)


# --------------------------------------------------------------------------------------- export
@command(subscribers_group, "export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写入文件（默认输出到屏幕）")
@click.option("--status", type=click.Choice(list(STATUS_LABELS)), default=None, help="只导出某种状态")
@click.option("--masked", is_flag=True, help="号码中间四位写成 ****（这样的文件不能再导入）")
def export(cli: Cli, output: Path | None, status: str | None, masked: bool) -> None:
    """导出短信订阅者为 CSV（记入审计：谁、何时、多少个、什么条件、是否完整号码）。

    列：phone,topics,status,source,consent_at,consent_method,consent_from,consent_detail（可再次导入）。
    以 = + - @ 开头的内容前加 '，电子表格不会把它当作公式执行。"""
    login = cli.actor

    async def work(svc: Service) -> ops.Export:
        return await ops.export(svc, await _who(svc, login), status=status, unmasked=not masked,
                                target=str(output) if output is not None else "-")

    done = cli.run(work)
    if output is not None:
        output.write_text(done.csv, encoding="utf-8-sig")  # with a BOM, so spreadsheet programs read Chinese
        emit(cli.as_json, {"count": done.count, "file": str(output)}, f"已导出 {done.count} 个订阅者到 {output}。")
    elif cli.as_json:
        emit(True, {"count": done.count, "csv": done.csv}, "")
    else:
        click.echo(done.csv, nl=False)


# --------------------------------------------------------------------------------------- remove
@command(subscribers_group, "remove")
@click.argument("phones", nargs=-1, required=True)
@click.option("--purge", is_flag=True, help="同时删除号码记录（默认只标记为已退订并保留同意记录）")
@click.option("--reason", default="", help="原因（写入审计记录）")
@click.option("--yes", is_flag=True, help=YES_HELP)
def remove(cli: Cli, phones: tuple[str, ...], purge: bool, reason: str, yes: bool) -> None:
    """停止向号码发送短信（标记为已退订）；加 --purge 删除记录。一次超过 10 个号码时先确认（或加 --yes）。"""
    login = cli.actor
    normalised = ops.normalise_all(phones, field="PHONE")
    if len(normalised) > MASS_REMOVAL:
        verb = "删除" if purge else "停止向"
        confirm(f"将{verb} {len(normalised)} 个号码"
                + ("的订阅记录（含同意记录，无法恢复）" if purge else "发送短信（标记为已退订）"),
                yes=yes)

    async def work(svc: Service) -> ops.Removal:
        return await ops.remove(svc, await _who(svc, login), normalised, purge=purge, reason=reason)

    done = cli.run(work)
    verb = "已删除" if purge else "已停止发送（标记为已退订）"
    lines = [f"{verb}：{'、'.join(phones_.national(p) for p in done.removed)}" if done.removed else "没有移除任何号码。"]
    if done.not_found:
        lines.append(f"不在订阅名单中：{'、'.join(phones_.national(p) for p in done.not_found)}")
    emit(cli.as_json, {"removed": list(done.removed), "not_found": list(done.not_found), "purged": purge}, lines)
    if done.not_found and not done.removed:
        sys.exit(1)


# --------------------------------------------------------------------------------------- report
@command(subscribers_group, "report")
@click.argument("release_id", type=int)
@click.option("--status", type=click.Choice(list(RESULT_LABELS)), default=None, help="只列出某种结果")
@click.option("--limit", type=int, default=100, show_default=True)
def report(cli: Cli, release_id: int, status: str | None, limit: int) -> None:
    """某次发布的短信逐号结果：提交、送达、失败、跳过和结果未知的号码。"""
    login = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        return await ops.report(svc, await _who(svc, login), release_id, status=status, limit=limit,
                                unmasked=True), svc.renderer

    d, r = cli.run(work)
    data = {"release": release_id, "delivery": d.delivery_id, "state": d.state, "counts": d.counts,
            "progress": d.progress,
            "recipients": [{"phone": x.phone, "status": x.status, "batch": x.batch, "remote_id": x.remote_id,
                            "detail": x.detail, "updated_at": x.updated_at} for x in d.recipients]}
    summary = "，".join(f"{RESULT_LABELS.get(k, k)} {v}" for k, v in sorted(d.counts.items())) or "还没有逐号结果"
    lines = [f"发布计划 {release_id} 的短信（投递 {d.delivery_id}，{d.state}）：{summary}"]
    if d.progress.get("summary"):
        lines.append(f"进度：{d.progress['summary']}")
    if d.recipients:
        lines.append(table([[phones_.national(x.phone), RESULT_LABELS.get(x.status, x.status), str(x.batch),
                             x.detail, r.local(x.updated_at, "%m-%d %H:%M:%S") if x.updated_at else ""]
                            for x in d.recipients],
                           ["号码", "结果", "批次", "说明", "更新时间"]))
    emit(cli.as_json, data, lines)


# ----------------------------------------------------------------------------------------- push
@command(subscribers_group, "push")
@click.argument("release_id", type=int)
@click.option("--yes", is_flag=True, help=YES_HELP)
def push(cli: Cli, release_id: int, yes: bool) -> None:
    """立即在前台推送某次发布的短信（显示进度）；中断后再次运行会从上次的进度继续。

    先说明将发给多少个号码、共多少条计费短信并询问（加 --yes 不询问）。进度只计服务商已接受的号码，
    同时显示失败的号码；有批次失败时以非零状态退出，并列出失败的批次和错误。"""
    async def work(svc: Service):  # noqa: ANN202
        ops.sms_enabled(svc)
        planned = await svc.reach_now(release_id, "sms")
        confirm(planned.sentence(), yes=yes)
        bar = progress_line("发送短信", planned.numbers + planned.done, enabled=not cli.as_json)

        def on_progress(progress) -> None:  # noqa: ANN001
            failed = int(progress.get("refused") or 0) + int(progress.get("failed_numbers") or 0)
            bar.update(int(progress.get("accepted") or 0), f"失败 {failed}" if failed else "",
                       total=progress.get("total"))

        try:
            return await svc.deliver_now(release_id, "sms", on_progress)
        finally:
            bar.close()
            await svc.channels["sms"].close()

    state, result = cli.run(work)
    progress = dict(result.progress or {})
    failed = result.outcome not in (Outcome.SENT, Outcome.PAUSED) or bool(progress.get("failed_batches")) or (
        result.outcome is Outcome.PAUSED and progress.get("stopped") != "quiet")
    emit(cli.as_json, {"release": release_id, "state": state, "outcome": result.outcome.value, "ok": not failed,
                       "detail": result.detail, "progress": progress},
         f"短信投递：{delivery_label(state)}。{result.detail}")
    if failed:
        if not cli.as_json:
            batches = failed_batches_text(progress) or result.detail
            accepted = int(progress.get("accepted") or 0)
            click.echo(f"短信推送失败：已提交 {accepted} 个号码；{batches}", err=True)
            if progress.get("total"):
                rest = int(progress["total"]) - accepted - int(progress.get("refused") or 0)
                click.echo(f"尚有 {rest} 个号码未发送；修正后再次运行 gongkai subscribers push {release_id} "
                           "继续（已提交的号码不会重发）", err=True)
        sys.exit(1)
