"""编辑 (``/console/items/new``, ``/console/items/{id}/edit``): a form per kind, checked by the same
code as ``post add`` (the form is turned into front matter and built by
``content.frontmatter.build``, see ``content.itemform``), a server-side Markdown preview, image and
attachment uploads (type read from the bytes, staged by hash, stored by the workflow in the
content-addressed file store), an interpretation's policy found by searching, and the upload of
a Markdown file with front matter as the other way in. Saving calls ``bot.ops.items``."""
from __future__ import annotations

import re
import shutil
import secrets
from pathlib import Path
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from multidict import MultiDictProxy

from bot.console import kit
from bot.ops import items as ops
from content import frontmatter, itemform
from content.accounts import Role
from content.errors import GongkaiError, InputError
from content.files import IMAGE_TYPES, MAX_FILE
from content.frontmatter import ItemDraft
from content.kinds import KINDS, Kind, kind_label, parse_kind
from content.markup import to_html
from content.models import Revision
from content.uploads import Staged, UploadStage

AUTHOR = (Role.AUTHOR,)
MIME = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".gif": "image/gif",
        ".webp": "image/webp"}


def stage_of(request: web.Request) -> UploadStage:
    return UploadStage(kit.svc(request).settings.data_path / "uploads")


# ------------------------------------------------------------------------------------ reading a form
def files_in(form: MultiDictProxy, name: str) -> list[web.FileField]:
    """The files a form field carries (a field left empty sends a part without a name)."""
    return [f for f in form.getall(name, []) if isinstance(f, web.FileField) and f.filename]


def _text(form: MultiDictProxy, name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


async def _staged(request: web.Request, form: MultiDictProxy) -> tuple[list[tuple[Staged, str]], list[str]]:
    """The uploads the form carries (earlier ones by reference, new ones read and checked now),
    with their descriptions; and the problems of refused new ones."""
    stage = stage_of(request)
    drop = set(form.getall("staged_remove", []))
    out: list[tuple[Staged, str]] = []
    refs, roles, alts = form.getall("staged_ref", []), form.getall("staged_role", []), form.getall("staged_alt", [])
    for ref, role, alt in zip(refs, roles, alts):
        if ref in drop or role not in ("image", "attachment"):
            continue
        out.append((stage.get(str(ref), role=str(role)), str(alt).strip()))
    problems = []
    for field_name, role in (("new_images", "image"), ("new_attachments", "attachment")):
        for upload in files_in(form, field_name):
            data = upload.file.read(MAX_FILE + 1)
            try:
                staged = stage.put(sent_name(upload.filename), data, role=role)
            except InputError as exc:
                problems.append(kit.say(exc))
                continue
            if all(s.ref != staged.ref for s, _ in out):
                out.append((staged, ""))
    return out, problems


def sent_name(filename: str) -> str:
    """A file name as the browser meant it: some clients percent-encode a non-ASCII name."""
    if filename.isascii() and re.search(r"%[0-9A-Fa-f]{2}", filename):
        return unquote(filename)
    return filename


def _preview_html(body: str, staged: list[tuple[Staged, str]]) -> str:
    """The body as the site's Markdown renderer makes it, staged images shown from the stage."""
    for s, _alt in staged:
        body = body.replace(f"]({s.ref}", f"](/console/uploads/{s.ref}")
    return to_html(body)


# ------------------------------------------------------------------------------------ pages
async def _form_page(request: web.Request, *, kind: Kind, values: dict[str, str], body: str,
                     staged: list[tuple[Staged, str]], item_id: int | None = None, status: int = 200,
                     errors: list[str] | None = None, error_field: str | None = None,
                     preview: str | None = None, policies: Any = None, note: str = "",
                     published: bool = False) -> web.Response:
    return await kit.render(
        request, "items/form.html", status=status, kind=kind, kind_label=kind_label(kind),
        fields=itemform.fields_for(kind), values=values, body=body, staged=staged, item_id=item_id,
        errors=errors or [], error_field=error_field, preview=preview, policies=policies, note=note,
        published=published, action=f"/console/items/{item_id}/edit" if item_id else "/console/items/new",
        max_mb=MAX_FILE // (1024 * 1024), image_types=" ".join(sorted(IMAGE_TYPES)))


@kit.view("/console/items/new", roles=AUTHOR)
async def new_item(request: web.Request) -> web.StreamResponse:
    raw = request.query.get("kind", "")
    if not raw:
        return await kit.render(request, "items/new.html", kinds=[(k.value, KINDS[k].label) for k in Kind])
    kind = parse_kind(raw)
    return await _form_page(request, kind=kind, values={}, body="", staged=[])


@kit.action("/console/items/new", roles=AUTHOR)
async def new_item_post(request: web.Request) -> web.StreamResponse:
    return await _handle(request, None)


@kit.view("/console/items/{item_id:\\d+}/edit", roles=AUTHOR)
async def edit_item(request: web.Request) -> web.StreamResponse:
    item_id = int(request.match_info["item_id"])
    detail = await ops.get(kit.svc(request), kit.who(request), item_id)
    values, body, staged = _load(request, detail)
    return await _form_page(request, kind=Kind(detail.item.kind), values=values, body=body, staged=staged,
                            item_id=item_id, published=detail.item.published_revision is not None)


@kit.action("/console/items/{item_id:\\d+}/edit", roles=AUTHOR)
async def edit_item_post(request: web.Request) -> web.StreamResponse:
    return await _handle(request, int(request.match_info["item_id"]))


def _load(request: web.Request, detail: ops.Detail) -> tuple[dict[str, str], str, list[tuple[Staged, str]]]:
    """The form of an item's current revision; its files staged again so that saving keeps them."""
    cur: Revision = detail.current
    values = itemform.form_from_draft_values({
        "title": cur.title, "summary": cur.summary, "department": cur.department, "column": cur.column_name,
        "index_no": cur.index_no, "doc_no": cur.doc_no, "issuer": cur.issuer, "topic": cur.topic,
        "issued": cur.issued.isoformat() if cur.issued else "", "validity": cur.validity,
        "normative": cur.normative, "tags": list(cur.tags or ()), **(cur.extra or {})})
    for link in detail.links:
        if link.from_item_id == detail.item.id and link.rel in ("interprets", "follows"):
            values[link.rel] = str(link.to_item_id)
    stage, files = stage_of(request), kit.svc(request).files
    body = cur.body_md
    staged: list[tuple[Staged, str]] = []
    for a in detail.files:
        ext = Path(a.filename).suffix.lower()
        source = files.path(f"{a.sha256}{ext}")
        if not source.is_file():
            continue
        role = "attachment" if a.role == "attachment" else "image"
        s = stage.put(a.filename, source.read_bytes(), role=role)
        staged.append((s, a.alt))
        # the body names its images as they were written (images/图1.png); name the staged copy
        body = re.sub(r"(!\[[^\]]*\]\()([^)\s]*?" + re.escape(a.filename) + r")(?=[\s)])",
                      _with_target(s.ref), body)
    return values, body, staged


def _with_target(ref: str) -> Callable[[re.Match[str]], str]:
    return lambda m: m.group(1) + ref


async def _handle(request: web.Request, item_id: int | None) -> web.StreamResponse:
    form = await request.post()
    try:
        kind = parse_kind(_text(form, "kind"))
    except InputError as exc:
        raise await kit.redirect_with_flash(request, "/console/items/new", kit.say(exc), "error") from None
    do = _text(form, "do") or "preview"
    values = {f.name: _text(form, f.name) for f in itemform.fields_for(kind)}
    if "interprets" in values:  # the typed number, or the policy chosen from the search (after it)
        chosen = [v.strip() for v in form.getall("interprets", []) if isinstance(v, str) and v.strip()]
        values["interprets"] = chosen[-1] if chosen else ""
    body = _text(form, "body").replace("\r\n", "\n")
    note = _text(form, "note").strip()
    published = _text(form, "published") == "1"
    try:
        staged, problems = await _staged(request, form)
    except InputError as exc:
        staged, problems = [], [kit.say(exc)]

    async def again(status: int = 200, errors: list[str] | None = None, field: str | None = None,
                    **extra: Any) -> web.Response:
        return await _form_page(request, kind=kind, values=values, body=body, staged=staged, item_id=item_id,
                                status=status, errors=[*problems, *(errors or [])], error_field=field,
                                note=note, published=published, **extra)

    if problems:
        return await again(400)
    if do in ("preview", "upload"):
        return await again(preview=_preview_html(body, staged))
    if do == "find_policy":
        words = _text(form, "policy_q").strip()
        found = await ops.listing(kit.svc(request), kit.who(request), ops.Filters(kind=Kind.POLICY.value, text=words),
                                  ops.Page(size=20))
        return await again(policies=found)
    try:
        draft = itemform.draft_from_form(kind.value, values, body, staged, stage_of(request).root)
        saved_id = await _save(request, item_id, draft, note=note)
        if do == "save_submit" and not (item_id and published):
            await ops.submit(kit.svc(request), kit.who(request), saved_id)
    except GongkaiError as exc:
        return await again(400, [kit.say(exc)], getattr(exc, "field", None))
    if do == "save_submit" or (item_id and published):
        text = f"稿件 {saved_id} 已保存并提交审核。"
    else:
        text = f"稿件 {saved_id} 已保存为草稿。"
    raise await kit.redirect_with_flash(request, f"/console/items/{saved_id}", text)


async def _save(request: web.Request, item_id: int | None, draft: ItemDraft, *, note: str) -> int:
    service, who = kit.svc(request), kit.who(request)
    if item_id is None:
        return (await ops.add(service, who, draft)).id
    detail = await ops.get(service, who, item_id)
    if detail.item.state in ("published", "corrected"):
        return (await ops.correct(service, who, item_id, draft, note=note)).id
    return (await ops.edit(service, who, item_id, draft)).id


# ------------------------------------------------------------------------------------ Markdown file
@kit.action("/console/items/upload", roles=AUTHOR)
async def upload_markdown(request: web.Request) -> web.StreamResponse:
    """A Markdown file with front matter, with the images and attachments it names (by file name;
    a path such as images/图1.png finds the uploaded 图1.png)."""
    form = await request.post()
    sources = files_in(form, "markdown")
    back = "/console/items/new"
    if not sources:
        raise await kit.redirect_with_flash(request, back, "请选择一个 Markdown 文件（.md）", "error")
    source = sources[0]
    batch = stage_of(request).root / f"batch-{secrets.token_hex(8)}"
    try:
        raw = source.file.read(frontmatter.MAX_SOURCE + 1)
        if len(raw) > frontmatter.MAX_SOURCE:
            raise InputError(f"文件超过 {frontmatter.MAX_SOURCE // 1024} KB", field="markdown",
                             fix="正文不超过 20 万字；长文档作为附件发布")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("文件不是 UTF-8 编码", field="markdown", fix="请另存为 UTF-8") from None
        batch.mkdir(parents=True)
        stage = UploadStage(batch / ".stage")
        for upload in files_in(form, "companions"):
            name = Path(sent_name(upload.filename)).name
            role = "image" if Path(name).suffix.lower() in IMAGE_TYPES else "attachment"
            staged = stage.put(name, upload.file.read(MAX_FILE + 1), role=role)
            _place(batch, text, staged.filename, stage.root / staged.ref)
        draft = frontmatter.parse(text, base_dir=batch)
        saved = await ops.add(kit.svc(request), kit.who(request), draft)
    except GongkaiError as exc:
        raise await kit.redirect_with_flash(request, back, kit.say(exc), "error") from None
    finally:
        shutil.rmtree(batch, ignore_errors=True)
    raise await kit.redirect_with_flash(request, f"/console/items/{saved.id}",
                                        f"已从 {Path(source.filename).name} 新建稿件 {saved.id}（草稿）：{saved.title}")


def _place(batch: Path, text: str, name: str, staged: Path) -> None:
    """Put an uploaded file where the Markdown file names it: at its bare name, and at every
    relative path in the text that ends with it (never outside the batch folder)."""
    targets = {name} | set(re.findall(r"[^\s()\[\]'\"<>:,]*/" + re.escape(name), text))
    root = batch.resolve()
    for target in targets:
        path = (batch / target).resolve()
        if not path.is_relative_to(root) or path == root:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(staged, path)


# ------------------------------------------------------------------------------------ staged files
@kit.view("/console/uploads/{sha:[0-9a-f]+}/{name}", roles=AUTHOR)
async def staged_file(request: web.Request) -> web.StreamResponse:
    """A staged upload, for the form's preview: images shown, everything else downloaded; the
    type is the one its bytes were checked to be, never sniffed by the browser."""
    ref = f"{request.match_info['sha']}/{request.match_info['name']}"
    ext = Path(ref).suffix.lower()
    role = "image" if ext in MIME else "attachment"
    staged = stage_of(request).get(ref, role=role)
    path = stage_of(request).root / staged.ref
    return file_response(path, staged.filename)


def file_response(path: Path, filename: str) -> web.Response:
    """An image inline with its own type; any other file as a download (never rendered)."""
    from urllib.parse import quote

    ext = path.suffix.lower()
    headers = {"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300",
               "Content-Security-Policy": "default-src 'none'; sandbox"}
    if ext in MIME:
        return web.Response(body=path.read_bytes(), content_type=MIME[ext], headers=headers)
    headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return web.Response(body=path.read_bytes(), content_type="application/octet-stream", headers=headers)
