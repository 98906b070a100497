"""``gongkai subscribers …``: SMS subscribers (list, import, export, remove), per-number results of
a release, and a release's SMS fan-out driven from the command line with a progress bar."""
from __future__ import annotations

import asyncio
import csv
import io
import itertools
import sys
from collections import Counter
from pathlib import Path

import click
from sqlalchemy import ColumnElement, delete, func, select

from channels.extension import YES_HELP, command, confirm, delivery_label, emit, progress_line, table
from channels.extension import CliContext as Cli
from channels.extension import Host as Service
from channels.sms import phone as phones_
from channels.base import Outcome
from channels.sms import subscriber_csv
from channels.sms.fanout import failed_batches_text
from content import audit, subscribers
from content import subscribers_bulk as bulk
from content import topics as topics_
from content.errors import GongkaiError, InputError, NotFound
from content.models import Delivery, DeliveryRecipient, Subscriber, SubscriberTopic

STATUS_LABELS = {"pending": "待确认", "active": "订阅中", "unsubscribed": "已退订", "blocked": "已屏蔽",
                 "inactive": "停用"}
RESULT_LABELS = {"sent": "已提交", "delivered": "已送达", "failed": "失败", "skipped": "已跳过", "unknown": "结果未知"}
IMPORT_CHUNK = 5000  # rows per transaction (one batched upsert)
MASS_REMOVAL = 10  # removing more numbers than this at once asks first


@click.group("subscribers")
def subscribers_group() -> None:
    """短信订阅者：列出、导入、导出、移除；查看某次发布的逐号结果；命令行推送。"""


def _sms_enabled(svc: Service) -> None:
    if "sms" not in svc.channels:
        raise GongkaiError("短信渠道未启用", fix="在配置中设 [channels.sms] enabled = true")


async def _audit(svc: Service, *, actor: str, action: str, reason: str = "", **detail: object) -> None:
    async def work(s):  # noqa: ANN001, ANN202
        audit.record(s, at=svc.clock.now(), actor=actor, action=action, reason=reason, **detail)

    await svc.store.transaction(work, what=action)


# ----------------------------------------------------------------------------------------- list
@command(subscribers_group, "list")
@click.option("--status", type=click.Choice(list(STATUS_LABELS)), default=None, help="只列出某种状态")
@click.option("--topic", default=None, help="只列出订阅了某个主题的号码")
@click.option("--search", default=None, help="号码中包含的数字")
@click.option("--limit", type=int, default=50, show_default=True)
def list_(cli: Cli, status: str | None, topic: str | None, search: str | None, limit: int) -> None:
    """列出短信订阅者（最新的在前）。"""
    async def work(svc: Service):  # noqa: ANN202
        async with svc.store.sessions() as s:
            q = select(Subscriber).where(Subscriber.channel == "sms")
            count_q = select(func.count(Subscriber.id)).where(Subscriber.channel == "sms")
            if status:
                q, count_q = q.where(Subscriber.status == status), count_q.where(Subscriber.status == status)
            if topic:
                has: ColumnElement[bool] = Subscriber.id.in_(
                    select(SubscriberTopic.subscriber_id).where(SubscriberTopic.topic == topic))
                q, count_q = q.where(has), count_q.where(has)
            if search:  # % and _ are the digits typed, not wildcards
                has = Subscriber.address.contains(search.strip(), autoescape=True)
                q, count_q = q.where(has), count_q.where(has)
            total = await s.scalar(count_q)
            subs = list(await s.scalars(q.order_by(Subscriber.id.desc()).limit(limit)))
            topics = {}
            for sub in subs:
                topics[sub.id] = await subscribers.topics_of(s, sub.id)
        return total, subs, topics, svc.renderer

    total, subs, topics, r = cli.run(work)
    data = {"total": total, "subscribers": [
        {"phone": x.address, "status": x.status, "topics": topics[x.id], "source": x.source,
         "consent_at": x.consent_at, "consent_method": x.consent_method, "consent_from": x.consent_from,
         "consent_detail": x.consent_detail, "created_at": x.created_at, "unsubscribed_at": x.unsubscribed_at} for x in subs]}
    if not subs:
        emit(cli.as_json, data, "没有符合条件的订阅者。")
        return
    rows = [[phones_.national(x.address), STATUS_LABELS.get(x.status, x.status), "、".join(topics[x.id]),
             x.source or "", r.local(x.consent_at, "%Y-%m-%d %H:%M") if x.consent_at else "",
             x.consent_method, x.consent_detail] for x in subs]
    emit(cli.as_json, data, [table(rows, ["号码", "状态", "主题", "来源", "同意时间", "同意方式", "同意说明"]),
                             f"共 {total} 个，显示 {len(subs)} 个。"])


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
    actor = cli.actor
    if not file.is_file():
        raise InputError(f"找不到文件 {file}", fix="检查路径")
    source_name = default_source or f"导入:{file.name}"[:100]
    table_ = subscriber_csv.SubscriberCsv(subscriber_csv.decode(file), consent=consent, source=source_name)

    async def work(svc: Service):  # noqa: ANN202
        _sms_enabled(svc)
        async with svc.store.sessions() as s:
            known = (await topics_.catalogue(s)).known
        now = svc.clock.now()
        bar = progress_line("导入订阅者", table_.total, enabled=not cli.as_json)
        counts = dict.fromkeys(bulk.Change, 0)
        bad: list[subscriber_csv.BadRow] = []
        read = 0

        async def write(chunk: list[bulk.Incoming], read_so_far: int) -> None:
            applied = await bulk.upsert_chunk(svc.store, "sms", chunk, now=now, consent_method="staff-import",
                                              consent_from=source_name)
            for change, n in applied.counts.items():
                counts[change] += n
            bad.extend(subscriber_csv.BadRow(r.row.line, phones_.national(r.row.address),
                                             f"该号码{STATUS_LABELS[r.status]}，导入不会重新订阅（须本人通过订阅页面重新订阅）")
                       for r in applied.refused)
            bar.update(read_so_far, f"新增 {counts[bulk.Change.ADDED]}，更新 {counts[bulk.Change.UPDATED]}，"
                                    f"未变 {counts[bulk.Change.UNCHANGED]}，有问题 {len(bad)} 行")

        rows = table_.rows(known)

        def next_chunk() -> list[bulk.Incoming | subscriber_csv.BadRow]:
            return list(itertools.islice(rows, IMPORT_CHUNK))

        # The next chunk is read and checked (in a thread) while the previous one is written.
        writing: asyncio.Task | None = None
        try:
            while chunk := await asyncio.to_thread(next_chunk):
                read += len(chunk)
                bad.extend(r for r in chunk if isinstance(r, subscriber_csv.BadRow))
                good = [r for r in chunk if isinstance(r, bulk.Incoming)]
                if writing is not None:
                    await writing
                writing = asyncio.create_task(write(good, read))
            if writing is not None:
                await writing
        finally:
            if writing is not None and not writing.done():
                writing.cancel()
        bar.close()
        summary = {change.value: n for change, n in counts.items()}
        await _audit(svc, actor=actor, action="sms_subscribers_imported", reason=file.name, **summary,
                     bad_rows=len(bad), consent=consent)
        return counts, sorted(bad, key=lambda b: b.line)

    counts, bad = cli.run(work)
    unknown = Counter(t for b in bad for t in b.unknown_topics)
    data = {"added": counts[bulk.Change.ADDED], "updated": counts[bulk.Change.UPDATED],
            "unchanged": counts[bulk.Change.UNCHANGED], "unknown_topics": dict(sorted(unknown.items())),
            "bad_rows": [{"line": b.line, "row": b.text, "problem": b.problem} for b in bad]}
    lines = [f"已导入：新增 {data['added']} 个，更新 {data['updated']} 个，未变 {data['unchanged']} 个（立即生效）。"]
    if unknown:
        lines.append("不存在的主题（这些行未导入）：" + "，".join(f"{t}（{n} 行）" for t, n in sorted(unknown.items())))
    if bad:
        lines.append(f"有 {len(bad)} 行未导入：")
        lines += [f"  第 {b.line} 行 {b.text}：{b.problem}" for b in bad]
    emit(cli.as_json, data, lines)
    if bad:
        sys.exit(1)


# --------------------------------------------------------------------------------------- export
EXPORT_COLUMNS = ["phone", "topics", "status", "source", "consent_at", "consent_method", "consent_from",
                  "consent_detail"]


@command(subscribers_group, "export")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="写入文件（默认输出到屏幕）")
@click.option("--status", type=click.Choice(list(STATUS_LABELS)), default=None, help="只导出某种状态")
def export(cli: Cli, output: Path | None, status: str | None) -> None:
    """导出短信订阅者为 CSV（记入审计：谁、何时、多少个、什么条件）。

    列：phone,topics,status,source,consent_at,consent_method,consent_from,consent_detail（可再次导入）。
    以 = + - @ 开头的内容前加 '，电子表格不会把它当作公式执行。"""
    actor = cli.actor

    async def work(svc: Service) -> tuple[int, str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(EXPORT_COLUMNS)
        count = 0
        last = 0
        while True:
            async with svc.store.sessions() as s:
                q = select(Subscriber).where(Subscriber.channel == "sms", Subscriber.id > last)
                if status:
                    q = q.where(Subscriber.status == status)
                page = list(await s.scalars(q.order_by(Subscriber.id).limit(1000)))
                if not page:
                    break
                rows = await s.execute(select(SubscriberTopic.subscriber_id, SubscriberTopic.topic).where(
                    SubscriberTopic.subscriber_id.in_([x.id for x in page])).order_by(SubscriberTopic.topic))
            topics: dict[int, list[str]] = {}
            for sid, topic in rows:
                topics.setdefault(sid, []).append(topic)
            for x in page:
                cells = [phones_.national(x.address), ";".join(topics.get(x.id, [])), x.status, x.source,
                         svc.renderer.local(x.consent_at, "%Y-%m-%dT%H:%M:%S%z"), x.consent_method, x.consent_from,
                         x.consent_detail]
                writer.writerow([subscriber_csv.neutralise(c) for c in cells])
                count += 1
            last = page[-1].id
        text = buffer.getvalue()
        if output is not None:
            output.write_text(text, encoding="utf-8-sig")  # with a BOM, so spreadsheet programs read Chinese
        await _audit(svc, actor=actor, action="sms_subscribers_exported", count=count, status=status,
                     file=str(output) if output is not None else "-")
        return count, text

    count, text = cli.run(work)
    if output is not None:
        emit(cli.as_json, {"count": count, "file": str(output)}, f"已导出 {count} 个订阅者到 {output}。")
    elif cli.as_json:
        emit(True, {"count": count, "csv": text}, "")
    else:
        click.echo(text, nl=False)


# --------------------------------------------------------------------------------------- remove
@command(subscribers_group, "remove")
@click.argument("phones", nargs=-1, required=True)
@click.option("--purge", is_flag=True, help="同时删除号码记录（默认只标记为已退订并保留同意记录）")
@click.option("--reason", default="", help="原因（写入审计记录）")
@click.option("--yes", is_flag=True, help=YES_HELP)
def remove(cli: Cli, phones: tuple[str, ...], purge: bool, reason: str, yes: bool) -> None:
    """停止向号码发送短信（标记为已退订）；加 --purge 删除记录。一次超过 10 个号码时先确认（或加 --yes）。"""
    actor = cli.actor
    normalised = list(dict.fromkeys(phones_.normalise(p, field="PHONE") for p in phones))
    if len(normalised) > MASS_REMOVAL:
        verb = "删除" if purge else "停止向"
        confirm(f"将{verb} {len(normalised)} 个号码"
                + ("的订阅记录（含同意记录，无法恢复）" if purge else "发送短信（标记为已退订）"),
                yes=yes)

    async def work(svc: Service):  # noqa: ANN202
        now = svc.clock.now()

        async def txn(s):  # noqa: ANN001, ANN202
            done, missing = [], []
            for phone in normalised:
                sub = await subscribers.get(s, "sms", phone)
                if sub is None:
                    missing.append(phone)
                    continue
                if purge:
                    await s.execute(delete(SubscriberTopic).where(SubscriberTopic.subscriber_id == sub.id))
                    await s.delete(sub)
                else:
                    await subscribers.set_status(s, "sms", phone, "unsubscribed", now=now)
                    sub.meta = {**(sub.meta or {}), "unsubscribed_via": f"staff:{actor}"}
                audit.record(s, at=now, actor=actor, action="sms_subscriber_removed", reason=reason,
                             subscriber=sub.id, phone=phones_.masked(phone), purge=purge)
                done.append(phone)
            return done, missing

        return await svc.store.transaction(txn, what="remove subscribers")

    done, missing = cli.run(work)
    verb = "已删除" if purge else "已停止发送（标记为已退订）"
    lines = [f"{verb}：{'、'.join(phones_.national(p) for p in done)}" if done else "没有移除任何号码。"]
    if missing:
        lines.append(f"不在订阅名单中：{'、'.join(phones_.national(p) for p in missing)}")
    emit(cli.as_json, {"removed": done, "not_found": missing, "purged": purge}, lines)
    if missing and not done:
        sys.exit(1)


# --------------------------------------------------------------------------------------- report
@command(subscribers_group, "report")
@click.argument("release_id", type=int)
@click.option("--status", type=click.Choice(list(RESULT_LABELS)), default=None, help="只列出某种结果")
@click.option("--limit", type=int, default=100, show_default=True)
def report(cli: Cli, release_id: int, status: str | None, limit: int) -> None:
    """某次发布的短信逐号结果：提交、送达、失败、跳过和结果未知的号码。"""
    async def work(svc: Service):  # noqa: ANN202
        async with svc.store.sessions() as s:
            d = await s.scalar(select(Delivery).where(Delivery.release_id == release_id, Delivery.channel == "sms"))
            if d is None:
                raise NotFound(f"发布计划 {release_id} 没有短信投递",
                               fix="发布计划须包含 sms 渠道且已发布；用 gongkai release show 查看")
            counts = dict(list(await s.execute(select(DeliveryRecipient.status, func.count()).where(
                DeliveryRecipient.delivery_id == d.id).group_by(DeliveryRecipient.status))))
            q = select(DeliveryRecipient).where(DeliveryRecipient.delivery_id == d.id)
            if status:
                q = q.where(DeliveryRecipient.status == status)
            else:  # problems first
                q = q.order_by((DeliveryRecipient.status.in_(["sent", "delivered"])).asc())
            rows = list(await s.scalars(q.order_by(DeliveryRecipient.id).limit(limit)))
        return d, counts, rows, svc.renderer

    d, counts, rows, r = cli.run(work)
    data = {"release": release_id, "delivery": d.id, "state": d.state, "counts": counts, "progress": d.progress,
            "recipients": [{"phone": x.address, "status": x.status, "batch": x.batch, "remote_id": x.remote_id,
                            "detail": x.detail, "updated_at": x.updated_at} for x in rows]}
    summary = "，".join(f"{RESULT_LABELS.get(k, k)} {v}" for k, v in sorted(counts.items())) or "还没有逐号结果"
    lines = [f"发布计划 {release_id} 的短信（投递 {d.id}，{d.state}）：{summary}"]
    if d.progress.get("summary"):
        lines.append(f"进度：{d.progress['summary']}")
    if rows:
        lines.append(table([[phones_.national(x.address), RESULT_LABELS.get(x.status, x.status), str(x.batch),
                             x.detail, r.local(x.updated_at, "%m-%d %H:%M:%S")] for x in rows],
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
        _sms_enabled(svc)
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
