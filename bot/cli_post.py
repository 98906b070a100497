"""``gongkai post …``: write, review, preview, correct and retract items."""
from __future__ import annotations

from pathlib import Path

import click
from sqlalchemy import select

from bot import labels
from bot.clikit import Cli, command
from bot.output import emit, table
from bot.service import Service
from bot.climount import LazyGroup
from content import frontmatter, workflow
from content.errors import GongkaiError, InputError
from content.kinds import STATE_LABELS, ItemState, Kind, kind_label, parse_kind
from content.models import AuditEvent, Item, Link, Release, ReleaseItem, Revision
from content.views import load_views
from schedules import releases


@click.group("post", cls=LazyGroup)
def post() -> None:
    """稿件：新建、修改、提交、审核、预览、更正、撤回。"""


# Retraction decisions live in their own module; shown here, imported when used.
post.add_lazy("approve-retract", "bot.cli_retract:approve_retract", "同意撤回申请（须由申请人以外的同事）。")
post.add_lazy("reject-retract", "bot.cli_retract:reject_retract", "驳回撤回申请（须写明意见）。")


@command(post, "add")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def add(cli: Cli, file: Path) -> None:
    """从带 front matter 的 Markdown 文件新建稿件（草稿）。"""
    draft = frontmatter.load(file)
    actor = cli.actor

    async def work(svc: Service) -> int:
        item = await svc.store.transaction(lambda s: workflow.add_item(
            s, draft, actor=actor, now=svc.clock.now(), files=svc.files))
        return item.id

    item_id = cli.run(work)
    emit(cli.as_json, {"id": item_id, "state": "draft", "kind": draft.kind.value, "title": draft.title},
         f"已新建稿件 {item_id}（{kind_label(draft.kind)}）：{draft.title}\n"
         f"下一步：gongkai post submit {item_id} --as {actor}")


@command(post, "edit")
@click.argument("item_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def edit(cli: Cli, item_id: int, file: Path) -> None:
    """用文件内容生成稿件的新版本（已审核的稿件需重新提交审核）。"""
    draft = frontmatter.load(file)
    actor = cli.actor

    async def work(svc: Service) -> Item:
        return await svc.store.transaction(lambda s: workflow.edit_item(
            s, item_id, draft, actor=actor, now=svc.clock.now(), files=svc.files))

    item = cli.run(work)
    emit(cli.as_json, {"id": item_id, "revision": item.current_revision, "state": item.state},
         f"稿件 {item_id} 已保存为第 {item.current_revision} 版（草稿），需重新提交审核")


@command(post, "submit")
@click.argument("item_id", type=int)
def submit(cli: Cli, item_id: int) -> None:
    """提交审核：运行负面清单、敏感词、个人信息和必填项检查。"""
    actor = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        return await svc.store.transaction(lambda s: workflow.submit(
            s, item_id, actor=actor, now=svc.clock.now(), rules=svc.rules, files=svc.files))

    findings = cli.run(work)
    lines = [f"稿件 {item_id} 已提交审核。"]
    if findings:
        lines.append(f"自动检查发现 {len(findings)} 个问题（审核人须修改或记录放行理由）：")
        lines += [f"  - [{labels.check(f.check)}] {f.message}" + (f"：{f.excerpt}" if f.excerpt else "")
                  for f in findings]
    else:
        lines.append("自动检查全部通过。请另一位同事审核：gongkai post approve "
                     f"{item_id} --as 审核人")
    emit(cli.as_json, {"id": item_id, "state": "submitted",
                       "findings": [{"check": f.check, "field": f.field, "message": f.message,
                                     "excerpt": f.excerpt} for f in findings]}, lines)


@command(post, "approve")
@click.argument("item_id", type=int)
@click.option("--override", "override_reason", default=None,
              help="放行未通过的检查项，并记录理由")
def approve(cli: Cli, item_id: int, override_reason: str | None) -> None:
    """保密审查并审核通过（审核人不能是作者）。"""
    actor = cli.actor

    async def work(svc: Service):  # noqa: ANN202
        async def txn(s):  # noqa: ANN001, ANN202
            result = await workflow.approve(s, item_id, actor=actor, now=svc.clock.now(),
                                            override_reason=override_reason)
            release_id = None
            if result.is_correction:
                channels = await releases.channels_used(s, item_id) or ["website"]
                channels = [c for c in channels if c in svc.channels] or ["website"]
                release = await releases.create_followup(
                    s, "correct", [item_id], channels=channels, actor=actor, now=svc.clock.now(),
                    reason="更正")
                release_id = release.id
            held = list(await s.scalars(select(Release.id).join(
                ReleaseItem, ReleaseItem.release_id == Release.id).where(
                ReleaseItem.item_id == item_id, Release.state == "held")))
            return result, release_id, held, await _bundle(s, item_id)

        return await svc.store.transaction(txn)

    result, release_id, held, (bundle, waiting) = cli.run(work)
    together = ' '.join(map(str, bundle))
    lines = [f"稿件 {item_id} 第 {result.revision} 版已通过保密审查和审核（审核人：{actor}）。"]
    if result.overridden:
        lines.append(f"已记录放行 {result.overridden} 项检查问题，理由：{override_reason}")
    if release_id:
        lines.append(f"这是对已发布稿件的更正，已生成立即发布的更正计划 {release_id}（运行中的 gongkai run 将发出）。")
    elif held:
        lines.append(f"注意：发布计划 {', '.join(map(str, held))} 因等待本稿审核而暂停；"
                     f"用 gongkai release reschedule {held[0]} --now 发布。")
    elif waiting:
        lines.append(f"政策文件与解读须同时发布（规则 R2）：稿件 {'、'.join(map(str, waiting))} 尚未审核；"
                     "审核通过后一起排期：")
        lines.append(f"  gongkai release create {together} --at \"YYYY-MM-DD HH:MM\""
                     "（也可现在加 --allow-pending 排期，到时仍未审核则暂停整组）")
    elif len(bundle) > 1:
        lines.append(f"政策文件与解读须同时发布（规则 R2），稿件 {'、'.join(map(str, bundle))} 均已审核。下一步：")
        lines.append(f"  gongkai release create {together} --at \"YYYY-MM-DD HH:MM\"")
    else:
        lines.append(f"下一步：gongkai release create {item_id} --at \"YYYY-MM-DD HH:MM\"")
    emit(cli.as_json, {"id": item_id, "revision": result.revision, "state": "approved",
                       "overridden": result.overridden, "correction_release": release_id,
                       "held_releases": held, "release_together": bundle if len(bundle) > 1 else None,
                       "waiting_for": waiting}, lines)


async def _bundle(s, item_id: int) -> tuple[list[int], list[int]]:  # noqa: ANN001
    """The release an approved item should go out in (rule R2): (its ids, policy first; those
    still under review). A policy's partners are its unpublished interpretations; an
    interpretation's is its policy, unless that is already public (then it goes alone)."""
    item = await s.get(Item, item_id)
    if item.kind == Kind.POLICY:
        partners = select(Link.from_item_id).where(Link.to_item_id == item_id, Link.rel == "interprets")
    elif item.kind == Kind.INTERPRETATION:
        partners = select(Link.to_item_id).where(Link.from_item_id == item_id, Link.rel == "interprets")
    else:
        return [item_id], []
    unready = (ItemState.DRAFT, ItemState.SUBMITTED, ItemState.RETURNED)
    rows = list(await s.execute(select(Item.id, Item.state).where(
        Item.id.in_(partners), Item.state.in_((ItemState.APPROVED, *unready))).order_by(Item.id)))
    members = [i for i, _st in rows]
    ids = [item_id, *members] if item.kind == Kind.POLICY else [*members, item_id]
    return ids, [i for i, st in rows if st in unready]


@command(post, "return")
@click.argument("item_id", type=int)
@click.option("--comment", default="", help="退回意见（必填）")
def return_(cli: Cli, item_id: int, comment: str) -> None:
    """退回给作者修改。"""
    actor = cli.actor

    async def work(svc: Service) -> None:
        await svc.store.transaction(lambda s: workflow.return_item(
            s, item_id, actor=actor, now=svc.clock.now(), comment=comment))

    cli.run(work)
    emit(cli.as_json, {"id": item_id, "state": "returned", "comment": comment},
         f"稿件 {item_id} 已退回：{comment}")


@command(post, "retract")
@click.argument("item_id", type=int)
@click.option("--reason", default="", help="撤回原因（必填，将公开显示）")
def retract(cli: Cli, item_id: int, reason: str) -> None:
    """申请撤回已发布的稿件；另一位同事批准（post approve-retract）后，网站页面换成撤回说明并通知各渠道。"""
    actor = cli.actor

    async def work(svc: Service) -> int:
        request = await svc.store.transaction(lambda s: workflow.request_retraction(
            s, item_id, actor=actor, now=svc.clock.now(), reason=reason))
        return request.id

    request_id = cli.run(work)
    emit(cli.as_json, {"id": item_id, "state": "retraction_requested", "request": request_id},
         [f"已提交稿件 {item_id} 的撤回申请（申请 {request_id}），稿件仍在发布中。",
          f"撤回须另一位同事批准：gongkai post approve-retract {item_id} --as 审核人"
          f"（或驳回：gongkai post reject-retract {item_id} --comment 意见 --as 审核人）"])


@command(post, "correct")
@click.argument("item_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--note", default="", help="更正说明（将公开显示）")
def correct(cli: Cli, item_id: int, file: Path, note: str) -> None:
    """为已发布稿件写更正版本并提交审核；审核通过后立即发布并标注“已更正”。"""
    draft = frontmatter.load(file)
    actor = cli.actor
    note = note or "对原文内容进行了更正"

    async def work(svc: Service):  # noqa: ANN202
        async def txn(s):  # noqa: ANN001, ANN202
            item = await workflow.correct(s, item_id, draft, actor=actor, now=svc.clock.now(),
                                          files=svc.files, note=note)
            findings = await workflow.submit(s, item_id, actor=actor, now=svc.clock.now(),
                                             rules=svc.rules, files=svc.files)
            return item.current_revision, findings

        return await svc.store.transaction(txn)

    revision, findings = cli.run(work)
    lines = [f"稿件 {item_id} 的更正（第 {revision} 版）已提交审核；审核通过后立即发布。"]
    lines += [f"  - [{labels.check(f.check)}] {f.message}" for f in findings]
    emit(cli.as_json, {"id": item_id, "revision": revision, "state": "submitted",
                       "findings": [f.message for f in findings]}, lines)


@command(post, "list")
@click.option("--state", type=click.Choice([s.value for s in ItemState]), default=None)
@click.option("--kind", default=None, help="稿件类型，英文或中文，如 policy 或 政策文件")
@click.option("--limit", type=click.IntRange(min=1), default=50, help="最多列出多少条")
def list_(cli: Cli, state: str | None, kind: str | None, limit: int) -> None:
    """列出稿件（最新在前）。"""
    kind = parse_kind(kind, field="--kind").value if kind is not None else None

    async def work(svc: Service):  # noqa: ANN202
        async with svc.store.sessions() as s:
            q = (select(Item, Revision.title).join(Revision, (Revision.item_id == Item.id)
                                                   & (Revision.number == Item.current_revision))
                 .order_by(Item.id.desc()).limit(limit))
            if state:
                q = q.where(Item.state == state)
            if kind:
                q = q.where(Item.kind == kind)
            return list(await s.execute(q)), svc.renderer

    rows, renderer = cli.run(work)
    data = [{"id": i.id, "kind": i.kind, "state": i.state, "title": t, "department": i.department,
             "column": i.column_name, "revision": i.current_revision,
             "published_at": i.published_at} for i, t in rows]
    lines = table([[str(d["id"]), kind_label(d["kind"]), STATE_LABELS[ItemState(d["state"])],
                    renderer.local(d["published_at"]), d["title"]] for d in data],
                  ["编号", "类型", "状态", "发布时间", "标题"]) if data else "没有稿件。"
    emit(cli.as_json, {"items": data}, lines)


@command(post, "show")
@click.argument("item_id", type=int)
def show(cli: Cli, item_id: int) -> None:
    """稿件详情：各版本、检查结果、关联、发布计划和审计记录。"""
    async def work(svc: Service):  # noqa: ANN202
        async with svc.store.sessions() as s:
            item = await workflow.get_item(s, item_id)
            revs = list(await s.scalars(select(Revision).where(Revision.item_id == item_id)
                                        .order_by(Revision.number)))
            findings = await workflow.open_findings(s, item_id, item.current_revision)
            links = list(await s.execute(select(Link).where(
                (Link.from_item_id == item_id) | (Link.to_item_id == item_id))))
            events = list(await s.scalars(select(AuditEvent).where(AuditEvent.item_id == item_id)
                                          .order_by(AuditEvent.id)))
            rels = list(await s.execute(select(Release).join(
                ReleaseItem, ReleaseItem.release_id == Release.id).where(ReleaseItem.item_id == item_id)
                .order_by(Release.id)))
            return item, revs, findings, [row[0] for row in links], events, [r[0] for r in rels], svc.renderer

    item, revs, findings, links, events, rels, r = cli.run(work)
    cur = revs[-1]
    data = {
        "id": item.id, "kind": item.kind, "state": item.state, "title": cur.title,
        "department": cur.department, "column": cur.column_name, "current_revision": item.current_revision,
        "published_revision": item.published_revision, "published_at": item.published_at,
        "metadata": {"index_no": cur.index_no, "doc_no": cur.doc_no, "issuer": cur.issuer,
                     "topic": cur.topic, "issued": cur.issued, "validity": cur.validity,
                     "normative": cur.normative, "tags": cur.tags, **cur.extra},
        "revisions": [{"number": v.number, "status": v.status, "by": v.created_by,
                       "at": v.created_at, "published_at": v.published_at,
                       "correction_note": v.correction_note} for v in revs],
        "findings": [{"check": f.check, "message": f.message, "excerpt": f.excerpt,
                      "overridden_by": f.overridden_by, "override_reason": f.override_reason}
                     for f in findings],
        "links": [{"from": link.from_item_id, "to": link.to_item_id, "rel": link.rel} for link in links],
        "releases": [{"id": x.id, "purpose": x.purpose, "state": x.state, "due_at": x.due_at}
                     for x in rels],
        "audit": [{"at": e.at, "actor": e.actor, "action": e.action, "revision": e.revision,
                   "reason": e.reason} for e in events],
    }
    lines = [f"稿件 {item.id}　{kind_label(item.kind)}　{STATE_LABELS[ItemState(item.state)]}",
             f"标题：{cur.title}", f"部门：{cur.department}　栏目：{cur.column_name}"]
    meta = [(k, v) for k, v in (("索引号", cur.index_no), ("文号", cur.doc_no), ("发文机关", cur.issuer),
                                ("主题分类", cur.topic), ("成文日期", cur.issued), ("有效性", cur.validity)) if v]
    lines += [f"{k}：{v}" for k, v in meta]
    for link in links:
        lines.append(f"关联：稿件 {link.from_item_id} {labels.link(link.rel)} 稿件 {link.to_item_id}")
    lines.append("版本：" + "；".join(f"第{v.number}版 {labels.revision_status(v.status)} {v.created_by}"
                                    for v in revs))
    if findings:
        lines.append("检查结果：")
        lines += [f"  - [{labels.check(f.check)}] {f.message}"
                  + (f"（已由 {f.overridden_by} 放行：{f.override_reason}）" if f.overridden_by else "")
                  for f in findings]
    for x in rels:
        lines.append(f"发布计划 {x.id}（{labels.purpose(x.purpose)}）：{labels.release_state(x.state)}，"
                     f"{r.local(x.due_at)}")
    lines.append(f"审计记录（{r.tz.key}）：")
    lines += [f"  {r.local(e.at, '%Y-%m-%d %H:%M:%S')}  {e.actor}  {labels.audit_action(e.action)}"
              + (f"  第{e.revision}版" if e.revision else "") + (f"  {e.reason}" if e.reason else "")
              for e in events]
    emit(cli.as_json, data, lines)


@command(post, "preview")
@click.argument("item_id", type=int)
@click.option("--channel", "channel_name", required=True, help="渠道名，如 website")
def preview(cli: Cli, item_id: int, channel_name: str) -> None:
    """显示某渠道将要发送的确切内容及其长度检查。"""
    async def work(svc: Service):  # noqa: ANN202
        svc.check_channels([channel_name])
        async with svc.store.sessions() as s:
            await workflow.get_item(s, item_id)
            views = await load_views(s, [item_id], revision="current")
        channel = svc.channels[channel_name]
        await channel.open()
        try:
            return channel.render(tuple(views), {})
        finally:
            await channel.close()

    try:
        renditions = cli.run(work)
    except GongkaiError:
        raise
    except Exception as exc:  # a template error is a user error too
        raise InputError(f"渲染失败：{exc}", fix="检查模板覆盖目录中的模板") from exc
    data = {"channel": channel_name, "ok": all(r.ok for r in renditions), "renditions": [
        {"label": r.label, "text": r.text, "ok": r.ok, "notes": list(r.notes),
         "checks": [{"name": c.name, "limit": c.limit, "actual": c.actual, "unit": c.unit,
                     "ok": c.ok, "note": c.note} for c in r.checks]} for r in renditions]}
    lines = []
    for r in renditions:
        lines += [f"=== {r.label} ===", r.text, "---"]
        lines += [f"{'✓' if c.ok else '✗'} {c.name}：{c.actual}/{c.limit} {c.unit}" + (f"（{c.note}）" if c.note else "")
                  for c in r.checks]
        lines += [f"注：{n}" for n in r.notes]
    emit(cli.as_json, data, lines)
