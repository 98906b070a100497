"""``gongkai post …``: write, review, preview, correct and retract items."""
from __future__ import annotations

from pathlib import Path

import click

from bot import labels
from bot.clikit import Cli, command
from bot.climount import LazyGroup
from bot.ops import Who
from bot.ops import items as ops
from bot.output import emit, table
from bot.service import Service
from content import frontmatter
from content.kinds import STATE_LABELS, ItemState, kind_label, parse_kind
from content.render import Renderer


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
    saved = cli.run_as(lambda svc, who: ops.add(svc, who, draft))
    item_id = saved.id
    emit(cli.as_json, {"id": item_id, "state": saved.state, "kind": saved.kind, "title": saved.title},
         f"已新建稿件 {item_id}（{kind_label(draft.kind)}）：{draft.title}\n"
         f"下一步：gongkai post submit {item_id} --as {cli.actor}")


@command(post, "edit")
@click.argument("item_id", type=int)
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def edit(cli: Cli, item_id: int, file: Path) -> None:
    """用文件内容生成稿件的新版本（已审核的稿件需重新提交审核）。"""
    draft = frontmatter.load(file)
    saved = cli.run_as(lambda svc, who: ops.edit(svc, who, item_id, draft))
    emit(cli.as_json, {"id": item_id, "revision": saved.revision, "state": saved.state},
         f"稿件 {item_id} 已保存为第 {saved.revision} 版（草稿），需重新提交审核")


@command(post, "submit")
@click.argument("item_id", type=int)
def submit(cli: Cli, item_id: int) -> None:
    """提交审核：运行负面清单、敏感词、个人信息和必填项检查。"""
    findings = cli.run_as(lambda svc, who: ops.submit(svc, who, item_id)).findings
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
    result = cli.run_as(lambda svc, who: ops.review(svc, who, item_id, override_reason=override_reason))
    actor = cli.actor
    release_id, held = result.correction_release, list(result.held_releases)
    bundle, waiting = list(result.bundle), list(result.waiting_for)
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


@command(post, "return")
@click.argument("item_id", type=int)
@click.option("--comment", default="", help="退回意见（必填）")
def return_(cli: Cli, item_id: int, comment: str) -> None:
    """退回给作者修改。"""
    done = cli.run_as(lambda svc, who: ops.return_(svc, who, item_id, comment))
    emit(cli.as_json, {"id": item_id, "state": done.state, "comment": done.comment},
         f"稿件 {item_id} 已退回：{done.comment}")


@command(post, "retract")
@click.argument("item_id", type=int)
@click.option("--reason", default="", help="撤回原因（必填，将公开显示）")
def retract(cli: Cli, item_id: int, reason: str) -> None:
    """申请撤回已发布的稿件；另一位同事批准（post approve-retract）后，网站页面换成撤回说明并通知各渠道。"""
    request_id = cli.run_as(lambda svc, who: ops.request_retract(svc, who, item_id, reason)).request
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
    done = cli.run_as(lambda svc, who: ops.correct(svc, who, item_id, draft, note=note))
    revision, findings = done.revision, done.findings
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

    async def work(svc: Service, who: Who) -> tuple[ops.Listing, Renderer]:
        return await ops.listing(svc, who, ops.Filters(state=state, kind=kind), ops.Page(1, limit)), svc.renderer

    listing, renderer = cli.run_as(work)
    data = [row.as_json() for row in listing.rows]
    lines = table([[str(d["id"]), kind_label(d["kind"]), STATE_LABELS[ItemState(d["state"])],
                    renderer.local(d["published_at"]), d["title"]] for d in data],
                  ["编号", "类型", "状态", "发布时间", "标题"]) if data else "没有稿件。"
    emit(cli.as_json, {"items": data}, lines)


@command(post, "show")
@click.argument("item_id", type=int)
def show(cli: Cli, item_id: int) -> None:
    """稿件详情：各版本、检查结果、关联、发布计划和审计记录。"""
    async def work(svc: Service, who: Who) -> tuple[ops.Detail, Renderer]:
        return await ops.get(svc, who, item_id), svc.renderer

    detail, r = cli.run_as(work)
    item, cur, revs, findings = detail.item, detail.current, detail.revisions, detail.findings
    links, rels, events = detail.links, detail.releases, detail.audit
    data = detail.as_json()
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
    shown = cli.run_as(lambda svc, who: ops.preview(svc, who, item_id, channel_name))
    renditions = shown.renditions
    data = {"channel": channel_name, "ok": shown.ok, "renditions": [
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
