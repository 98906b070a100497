"""审核 (``/console/items/{id}/review``): what changed since the last published revision (or the
previous one), character by character; the check findings with the matched text marked; and the
forms to take one's review step (approve, or approve overriding the findings with a reason) or to
return the item with a comment. Both call ``bot.ops.items``."""
from __future__ import annotations

from aiohttp import web

from bot import labels
from bot.console import kit
from bot.ops import items as ops
from content import highlight, revision_diff
from content.accounts import Role
from content.errors import GongkaiError
from content.frontmatter import FIELD_LABELS
from content.models import Revision

REVIEWERS = (Role.REVIEWER, Role.APPROVER)


def base_revision(detail: ops.Detail) -> Revision | None:
    """What the current revision is compared with: the published one, else the one before."""
    cur = detail.current
    by_number = {r.number: r for r in detail.revisions}
    published = detail.item.published_revision
    if published and published != cur.number and published in by_number:
        return by_number[published]
    return by_number.get(cur.number - 1)


def texts_of(rev: Revision) -> list[tuple[str, str]]:
    named = [("title", rev.title), ("summary", rev.summary), ("body", rev.body_md),
             ("department", rev.department), ("index_no", rev.index_no), ("doc_no", rev.doc_no),
             ("issuer", rev.issuer), ("topic", rev.topic), ("validity", rev.validity),
             ("tags", "、".join(rev.tags or ())), *((k, str(v)) for k, v in (rev.extra or {}).items())]
    return [(FIELD_LABELS.get(name, "正文" if name == "body" else name), text) for name, text in named if text]


@kit.view("/console/items/{item_id:\\d+}/review")
async def review_page(request: web.Request) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    detail = await ops.get(kit.svc(request), kit.who(request), item_id)
    cur = detail.current
    old = base_revision(detail)
    diff = revision_diff.compare(old, cur)
    texts = texts_of(cur)
    findings = [(f, labels.check(f.check), highlight.places(f.excerpt, texts)) for f in detail.findings]
    me = kit.who(request)
    nxt = detail.chain.next
    return await kit.render(
        request, "items/review.html", item=detail.item, cur=cur, old=old, diff=diff, findings=findings,
        chain=detail.chain, open_findings=[f for f in detail.findings if not f.overridden_by],
        can_review=cur.status == "submitted" and any(me.has(r) for r in REVIEWERS),
        my_step=nxt is not None and me.has(nxt.role), is_author=me.login == cur.created_by)


@kit.action("/console/items/{item_id:\\d+}/review", roles=REVIEWERS)
async def review_step(request: web.Request) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    form = await request.post()
    reason = str(form.get("override_reason", "")).strip() or None
    back = f"/console/items/{item_id}/review"
    try:
        done = await ops.review(kit.svc(request), kit.who(request), item_id, override_reason=reason)
    except GongkaiError as exc:
        raise await kit.redirect_with_flash(request, back, kit.say(exc), "error") from None
    text = f"已完成第 {done.step.number} 步（{done.step.label}）。"
    if done.overridden:
        text += f"已记录放行 {done.overridden} 项检查问题，理由：{reason}。"
    if done.approved:
        text += "稿件已通过审核。"
        if done.correction_release:
            text += f"这是更正，已生成立即发布的更正计划 {done.correction_release}。"
        elif done.waiting_for:
            text += f"须与稿件 {'、'.join(map(str, done.waiting_for))} 一起发布（规则 R2），它们尚未审核。"
    elif done.chain.next is not None:
        text += f"下一步：{done.chain.next.label}。"
    raise await kit.redirect_with_flash(request, f"/console/items/{item_id}", text)


@kit.action("/console/items/{item_id:\\d+}/return", roles=REVIEWERS)
async def return_item(request: web.Request) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    form = await request.post()
    back = f"/console/items/{item_id}/review"
    try:
        await ops.return_(kit.svc(request), kit.who(request), item_id, str(form.get("comment", "")))
    except GongkaiError as exc:
        raise await kit.redirect_with_flash(request, back, kit.say(exc), "error") from None
    raise await kit.redirect_with_flash(request, f"/console/items/{item_id}", f"稿件 {item_id} 已退回给作者。")
