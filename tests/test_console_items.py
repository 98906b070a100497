"""The console's item pages (稿件, 编辑, 预览, 审核) and what they stand on: the Chinese search of
the item list, uploads, the form that builds the same item as ``post add``, the correction diff."""
from __future__ import annotations

from datetime import date

import pytest

from content.errors import InputError
from content.item_search import ItemFilters, search


# ----------------------------------------------------------------------------------- search
async def test_search_finds_chinese_words_in_bodies_and_titles(desk, store):
    first = await desk.add("news", "市政府召开常务会议", body="会议研究部署基层政务公开标准化规范化工作。")
    second = await desk.add("news", "关于推进政务公开标准化的通知", body="各区县人民政府：现将有关事项通知如下。")
    await desk.add("news", "天气预报", body="明日多云转晴。")
    async with store.sessions() as s:
        in_body = await search(s, ItemFilters(text="标准化规范化"))
        both = await search(s, ItemFilters(text="政务公开标准化"))
        two_chars = await search(s, ItemFilters(text="会议"))
        two_terms = await search(s, ItemFilters(text="政务公开 通知"))
        none = await search(s, ItemFilters(text="不存在的词语"))
    assert [r.id for r in in_body.rows] == [first]
    assert [r.id for r in both.rows] == [second, first]
    assert [r.id for r in two_chars.rows] == [first]  # shorter than a trigram: LIKE
    assert [r.id for r in two_terms.rows] == [second]
    assert none.rows == () and none.total == 0


async def test_search_sees_only_the_current_revision(desk, store):
    from content import workflow
    from content.frontmatter import build

    item = await desk.add("news", "旧标题", body="原来的正文内容在这里。")
    draft = build({"kind": "news", "title": "新标题", "department": "市政务服务局"}, "改写后的正文内容。")
    await store.transaction(lambda s: workflow.edit_item(s, item, draft, actor="alice",
                                                         now=desk.clock.now(), files=desk.files))
    async with store.sessions() as s:
        assert (await search(s, ItemFilters(text="改写后的正文"))).total == 1
        assert (await search(s, ItemFilters(text="原来的正文"))).total == 0


async def test_the_list_filters_by_state_kind_department_column_author_and_dates(desk, store):
    policy = await desk.add("policy", "某政策", author="alice")
    news = await desk.add("news", "某动态", author="dave", department="市财政局")
    await desk.approve(news, author="dave")
    async with store.sessions() as s:
        assert [r.id for r in (await search(s, ItemFilters(kind="policy"))).rows] == [policy]
        assert [r.id for r in (await search(s, ItemFilters(kind="政策文件"))).rows] == [policy]
        assert [r.id for r in (await search(s, ItemFilters(state="approved"))).rows] == [news]
        assert [r.id for r in (await search(s, ItemFilters(department="市财政局"))).rows] == [news]
        assert [r.id for r in (await search(s, ItemFilters(column="政策文件"))).rows] == [policy]
        assert [r.id for r in (await search(s, ItemFilters(author="dave"))).rows] == [news]
        day = desk.clock.now().date()
        assert (await search(s, ItemFilters(since=day, until=day))).total == 2
        assert (await search(s, ItemFilters(until=date(2026, 1, 1)))).total == 0
        with pytest.raises(InputError) as bad:
            await search(s, ItemFilters(state="lost"))
        assert bad.value.field == "state"
        with pytest.raises(InputError):
            await search(s, ItemFilters(since=date(2026, 12, 1), until=date(2026, 11, 1)))


async def test_pages_go_forward_and_back_by_id(desk, store):
    ids = [await desk.add("news", f"第{n}篇动态", body="政务公开工作动态。") for n in range(7)]
    async with store.sessions() as s:
        first = await search(s, ItemFilters(text="政务公开"), per_page=3)
        second = await search(s, ItemFilters(text="政务公开"), before=first.before, per_page=3)
        third = await search(s, ItemFilters(text="政务公开"), before=second.before, per_page=3)
        back = await search(s, ItemFilters(text="政务公开"), after=third.after, per_page=3)
    newest = ids[::-1]
    assert [r.id for r in first.rows] == newest[:3] and first.after is None and first.total == 7
    assert [r.id for r in second.rows] == newest[3:6]
    assert [r.id for r in third.rows] == newest[6:] and third.before is None
    assert [r.id for r in back.rows] == newest[3:6] and back.after == newest[3]


# ----------------------------------------------------------------------------------- uploads
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f"
       b"\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND"
       b"\xaeB`\x82")


def test_an_upload_is_refused_when_too_large_or_not_what_its_name_says(tmp_path):
    from content.files import MAX_FILE
    from content.uploads import UploadStage

    stage = UploadStage(tmp_path / "uploads")
    with pytest.raises(InputError) as big:
        stage.put("大图.png", PNG + b"\0" * MAX_FILE, role="image")
    assert "超过 20 MB" in big.value.message
    with pytest.raises(InputError) as lying:
        stage.put("通知.pdf", PNG, role="attachment")
    assert "不是 .pdf 格式" in lying.value.message and ".png" in lying.value.message
    for name, data in (("页面.png", b"<html><script>alert(1)</script></html>"),
                       ("图.svg", b"<svg xmlns='http://www.w3.org/2000/svg' onload='alert(1)'/>"),
                       ("页面.html", b"<html></html>")):
        with pytest.raises(InputError):
            stage.put(name, data, role="attachment")
    assert not any((tmp_path / "uploads").rglob("*.*"))  # nothing was kept
    staged = stage.put("../../图1.png", PNG, role="image")
    assert staged.filename == "图1.png"
    assert (tmp_path / "uploads" / staged.sha256 / "图1.png").read_bytes() == PNG
    with pytest.raises(InputError):
        stage.get("../etc/passwd", role="image")


FILE_MD = """---
kind: policy
title: 关于推进政务公开标准化的通知
department: 市政务服务局
index_no: 11000000/2026-00123
doc_no: 京政服发〔2026〕12号
issuer: 示例市政务服务局
issued: 2026-11-18
tags: [政务公开, 标准化]
normative: true
---
各区县：

![示意图](images/图1.png)

现将有关事项通知如下。
"""


async def test_the_form_builds_the_same_item_as_post_add_with_the_same_file(desk, store, tmp_path):
    from sqlalchemy import select

    from content import frontmatter, workflow
    from content.itemform import draft_from_form
    from content.models import Attachment, Revision
    from content.uploads import UploadStage

    folder = tmp_path / "doc"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "图1.png").write_bytes(PNG)
    (folder / "通知.md").write_text(FILE_MD, encoding="utf-8")
    from_file = frontmatter.load(folder / "通知.md")

    stage = UploadStage(tmp_path / "uploads")
    staged = stage.put("图1.png", PNG, role="image")
    form = {"title": "关于推进政务公开标准化的通知", "department": "市政务服务局",
            "index_no": "11000000/2026-00123", "doc_no": "京政服发〔2026〕12号",
            "issuer": "示例市政务服务局", "issued": "2026-11-18", "tags": "政务公开，标准化",
            "normative": "on"}
    body = f"各区县：\r\n\r\n![示意图]({staged.ref})\r\n\r\n现将有关事项通知如下。\r\n"
    from_form = draft_from_form("policy", form, body, [(staged, "")], stage.root)

    ids = []
    for draft in (from_file, from_form):
        item = await store.transaction(lambda s, d=draft: workflow.add_item(
            s, d, actor="alice", now=desk.clock.now(), files=desk.files))
        ids.append(item.id)
    async with store.sessions() as s:
        revs = [await s.scalar(select(Revision).where(Revision.item_id == i)) for i in ids]
        files = [[(a.role, a.filename, a.sha256, a.mime, a.alt) for a in
                  await s.scalars(select(Attachment).where(Attachment.item_id == i))] for i in ids]
    columns = ("title", "summary", "body_html", "department", "column_name", "index_no", "doc_no",
               "issuer", "topic", "issued", "validity", "normative", "tags", "extra")
    assert [getattr(revs[0], c) for c in columns] == [getattr(revs[1], c) for c in columns]
    assert files[0] == files[1] and len(files[0]) == 1
    assert (desk.files.root / f"{files[0][0][2]}.png").read_bytes() == PNG  # stored by its hash


def test_a_form_with_a_bad_field_gets_the_front_matter_message():
    from content.itemform import draft_from_form, fields_for

    with pytest.raises(InputError) as bad:
        draft_from_form("policy", {"title": "标题", "issued": "2026-13-45"}, "正文", [], None)
    assert bad.value.field == "issued" and "YYYY-MM-DD" in (bad.value.fix or "")
    labels = {f.name: (f.label, f.required) for f in fields_for("service_guide")}
    assert labels["matter"] == ("事项名称", True) and labels["summary"] == ("摘要", False)
    assert [f.name for f in fields_for("interpretation")][:3] == ["title", "summary", "interprets"]


# ----------------------------------------------------------------------------------- diff
def test_the_diff_marks_a_chinese_correction_character_by_character():
    from content.models import Revision
    from content.revision_diff import compare

    old = Revision(number=1, title="关于调整公交票价的通知", body_md="票价调整为2元。\n自12月1日起执行。",
                   summary="", department="市交通局", column_name="通知公告", index_no="", doc_no="",
                   issuer="", topic="", issued=None, validity="", normative=False, tags=[], extra={})
    new = Revision(number=2, title="关于调整公交票价的通知", body_md="票价调整为3元。\n自12月1日起执行。",
                   summary="", department="市交通局<script>", column_name="通知公告", index_no="",
                   doc_no="", issuer="", topic="", issued=None, validity="", normative=False, tags=[],
                   extra={})
    diff = compare(old, new)
    assert "<del>2</del><ins>3</ins>" in diff.body
    assert [f.label for f in diff.fields] == ["发布部门"]
    assert "<ins>&lt;script&gt;</ins>" in diff.fields[0].diff


# ----------------------------------------------------------------------------------- pages
from aiohttp import FormData  # noqa: E402

from content.accounts import Role  # noqa: E402
from tests.console_support import add_account, client, console, csrf_in, sign_in  # noqa: E402

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


async def _form(c, path: str) -> tuple[str, str]:
    r = await c.get(path)
    page = await r.text()
    assert r.status == 200, page
    return page, csrf_in(page)


def _multipart(fields: dict[str, str], files: list[tuple[str, str, bytes]] = ()) -> FormData:
    data = FormData()
    for name, value in fields.items():
        data.add_field(name, value)
    for field, filename, content in files:
        data.add_field(field, content, filename=filename, content_type="application/octet-stream")
    return data


async def test_the_list_page_searches_chinese_and_pages(tmp_path):
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "zhang", Role.AUTHOR, name="张三")
        await sign_in(c, "zhang")
        page, token = await _form(c, "/console/items/new?kind=news")
        for n in range(3):
            r = await c.post("/console/items/new", data=_multipart({
                "_csrf": token, "kind": "news", "title": f"第{n}次常务会议", "department": "市政府办公厅",
                "body": "会议研究部署基层政务公开标准化工作。" if n else "其他内容。", "do": "save"}),
                allow_redirects=False)
            assert r.status == 303, await r.text()
        found = await (await c.get("/console/items/?q=标准化工作")).text()
        assert "第2次常务会议" in found and "第1次常务会议" in found and "第0次常务会议" not in found
        assert "共 2 篇稿件" in found
        bad = await c.get("/console/items/?since=2026-13-01")
        assert bad.status == 400 and "YYYY-MM-DD" in await bad.text()


async def test_the_form_makes_the_same_item_as_post_add_and_stores_the_image_by_hash(tmp_path):
    from sqlalchemy import select

    from content import frontmatter
    from content.models import Attachment, Revision

    folder = tmp_path / "doc"
    (folder / "images").mkdir(parents=True)
    (folder / "images" / "图1.png").write_bytes(PNG)
    (folder / "通知.md").write_text(FILE_MD, encoding="utf-8")
    async with console(tmp_path) as (svc, _), client(svc) as c:
        who = await add_account(svc, "zhang", Role.AUTHOR, name="张三")
        from bot.ops import items as ops
        by_cli = await ops.add(svc, who, frontmatter.load(folder / "通知.md"))
        await sign_in(c, "zhang")
        _, token = await _form(c, "/console/items/new?kind=policy")
        fields = {"_csrf": token, "kind": "policy", "title": "关于推进政务公开标准化的通知",
                  "department": "市政务服务局", "index_no": "11000000/2026-00123",
                  "doc_no": "京政服发〔2026〕12号", "issuer": "示例市政务服务局", "issued": "2026-11-18",
                  "tags": "政务公开、标准化", "normative": "on"}
        # upload first: the form comes back with the staged image and its snippet
        r = await c.post("/console/items/new", data=_multipart({**fields, "body": "", "do": "upload"},
                                                               [("new_images", "图1.png", PNG)]))
        page = await r.text()
        assert r.status == 200, page
        import re
        ref = re.search(r'name="staged_ref" value="([^"]+)"', page).group(1)
        assert ref.endswith("/图1.png") and f"]({ref})" in page
        body = f"各区县：\n\n![示意图]({ref})\n\n现将有关事项通知如下。"
        r = await c.post("/console/items/new", data=_multipart({
            **fields, "_csrf": csrf_in(page), "body": body, "staged_ref": ref, "staged_role": "image",
            "staged_alt": "", "do": "save"}), allow_redirects=False)
        assert r.status == 303, await r.text()
        new_id = int(r.headers["Location"].rsplit("/", 1)[1])
        async with svc.store.sessions() as s:
            revs = [await s.scalar(select(Revision).where(Revision.item_id == i)) for i in (by_cli.id, new_id)]
            files = [[(a.role, a.filename, a.sha256, a.mime) for a in
                      await s.scalars(select(Attachment).where(Attachment.item_id == i))] for i in (by_cli.id, new_id)]
        columns = ("title", "body_html", "department", "column_name", "index_no", "doc_no", "issuer",
                   "issued", "normative", "tags", "extra")
        assert [getattr(revs[0], k) for k in columns] == [getattr(revs[1], k) for k in columns]
        assert files[0] == files[1]
        assert (svc.files.root / f"{files[1][0][2]}.png").read_bytes() == PNG


async def test_uploads_refuse_oversized_and_disguised_files_and_never_serve_markup_inline(tmp_path):
    from content.files import MAX_FILE

    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "zhang", Role.AUTHOR)
        await sign_in(c, "zhang")
        _, token = await _form(c, "/console/items/new?kind=news")
        base = {"_csrf": token, "kind": "news", "title": "带附件的动态", "department": "市政府办公厅",
                "body": "正文。", "do": "upload"}
        cases = [("new_images", "大图.png", PNG + b"\0" * MAX_FILE, "超过 20 MB"),
                 ("new_attachments", "通知.pdf", PNG, "不是 .pdf 格式"),
                 ("new_images", "图.png", b"<html><script>alert(1)</script></html>", "不是 .png 格式"),
                 ("new_attachments", "页面.html", b"<html></html>", "不能上传"),
                 ("new_images", "矢量图.svg", b"<svg onload='alert(1)'/>", "不能上传")]
        for field, name, data, said in cases:
            r = await c.post("/console/items/new", data=_multipart(base, [(field, name, data)]))
            assert r.status == 400 and said in await r.text(), name
        assert not list((svc.settings.data_path / "uploads").rglob("*.*"))
        r = await c.post("/console/items/new", data=_multipart(base, [("new_attachments", "通知.pdf", b"%PDF-1.7 x")]))
        import re
        ref = re.search(r'name="staged_ref" value="([^"]+)"', await r.text()).group(1)
        served = await c.get(f"/console/uploads/{ref}")
        assert served.headers["Content-Disposition"].startswith("attachment")
        assert served.headers["Content-Type"] == "application/octet-stream"
        assert served.headers["X-Content-Type-Options"] == "nosniff"
        sha = ref.split("/")[0]
        assert (await c.get(f"/console/uploads/{sha}/x.html")).status == 400  # not staged: refused


async def _written_and_submitted(svc, c, title: str, body: str, **extra: str) -> int:
    _, token = await _form(c, "/console/items/new?kind=news")
    r = await c.post("/console/items/new", data=_multipart({
        "_csrf": token, "kind": "news", "title": title, "department": "市政府办公厅", "body": body,
        "do": "save_submit", **extra}), allow_redirects=False)
    assert r.status == 303, await r.text()
    return int(r.headers["Location"].rsplit("/", 1)[1])


async def test_preview_shows_each_channel_as_rendered_by_the_channel(tmp_path):
    from bot.ops import items as ops

    async with console(tmp_path) as (svc, _), client(svc) as c:
        who = await add_account(svc, "zhang", Role.AUTHOR)
        await sign_in(c, "zhang")
        item_id = await _written_and_submitted(svc, c, "市政府召开常务会议", "会议研究部署政务公开工作。")
        page = await (await c.get(f"/console/items/{item_id}/preview")).text()
        from markupsafe import escape
        names = svc.enabled_channel_names()
        assert {"website", "wechat", "weibo", "sms"} <= set(names)
        for name in names:
            shown = await ops.preview(svc, who, item_id, name)
            for n, r in enumerate(shown.renditions, 1):
                if name == "website":  # its own sandboxed address, byte for byte the render
                    frame = await c.get(f"/console/items/{item_id}/site/items/{item_id}.html")
                    assert await frame.text() == r.text
                    assert frame.headers["Content-Security-Policy"].startswith("sandbox")
                    assert f'src="/console/items/{item_id}/site/items/{item_id}.html"' in page
                elif name == "wechat":
                    frame = await c.get(f"/console/items/{item_id}/wechat/{n}.html")
                    assert r.text.partition("\n\n")[2] in await frame.text()
                    assert frame.headers["Content-Security-Policy"].startswith("sandbox")
                    assert escape(r.text.partition("\n\n")[0].splitlines()[-1]) in page  # 阅读原文
                else:
                    assert escape(r.text) in page
                for check in r.checks:
                    assert f"<strong>{check.actual}</strong>/{check.limit}" in page


async def test_review_shows_the_diff_of_a_correction_and_takes_the_step(tmp_path):
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "zhang", Role.AUTHOR)
        await add_account(svc, "li", Role.REVIEWER)
        await sign_in(c, "zhang")
        item_id = await _written_and_submitted(svc, c, "关于调整公交票价的通知", "票价调整为2元。\n\n自12月1日起执行。")
        _, token = await _form(c, f"/console/items/{item_id}/edit")
        r = await c.post(f"/console/items/{item_id}/edit", data=_multipart({
            "_csrf": token, "kind": "news", "title": "关于调整公交票价的通知", "department": "市政府办公厅",
            "body": "票价调整为3元。\n\n自12月1日起执行。", "do": "save_submit"}), allow_redirects=False)
        assert r.status == 303, await r.text()
        c.session.cookie_jar.clear()
        await sign_in(c, "li")
        page, token = await _form(c, f"/console/items/{item_id}/review")
        assert "<del>2</del><ins>3</ins>" in page and "第 2 版与上一第 1 版的对比" in page
        r = await c.post(f"/console/items/{item_id}/return", data={"_csrf": token, "comment": ""},
                         allow_redirects=False)
        assert r.status == 303
        r = await c.post(f"/console/items/{item_id}/review", data={"_csrf": token}, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"] == f"/console/items/{item_id}"
        item_page = await (await c.get(r.headers["Location"])).text()
        assert "已完成第 1 步" in item_page


async def test_findings_are_highlighted_and_payloads_stay_inert(tmp_path):
    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "zhang", Role.AUTHOR)
        await add_account(svc, "li", Role.REVIEWER)
        await sign_in(c, "zhang")
        item_id = await _written_and_submitted(
            svc, c, f"标题{XSS}", f"联系人手机 13912345678。{XSS}", summary=XSS, topic=XSS)
        for path in ("/console/items/?q=script", f"/console/items/{item_id}", f"/console/items/{item_id}/edit",
                     f"/console/items/{item_id}/review", f"/console/items/{item_id}/preview"):
            page = await (await c.get(path)).text()
            assert "<script>alert" not in page and "<img src=x" not in page, path
            assert "&lt;script&gt;alert" in page or "srcdoc" in page, path
        c.session.cookie_jar.clear()
        await sign_in(c, "li")
        page = await (await c.get(f"/console/items/{item_id}/review")).text()
        assert "<mark>13912345678</mark>" in page


# ----------------------------------------------------------------------------------- browser
async def _people(env: dict) -> None:
    from bot.settings import load
    from content import accounts
    from content.clock import SystemClock
    from content.db import Store

    store = Store.open(load(env["config"], {}).database_url)
    try:
        for login, name, role in (("wang", "王五", Role.AUTHOR), ("li", "李四", Role.REVIEWER)):
            await store.transaction(lambda s, login=login, name=name, role=role: accounts.add(
                s, login, name=name, roles=(role,), department="办公室", password="correct-horse-1",
                actor="test", now=SystemClock().now()))
    finally:
        await store.close()


def test_an_author_writes_a_policy_with_an_image_in_the_browser_and_submits_it(tmp_path, sqlite_url, monkeypatch):
    from tests.botproc import bot_env, start_bot, stop_bot
    from tests.browser_support import browser, run, shoot

    monkeypatch.setenv("GONGKAI_BOT__LOAD_SAMPLE", "true")
    env = bot_env(tmp_path, sqlite_url)
    run(_people(env))
    image = tmp_path / "示意图.png"
    image.write_bytes(PNG)
    proc = start_bot(env, quiet=True)
    base = f"http://127.0.0.1:{env['port']}"
    try:
        with browser() as chrome:
            page = chrome.new_page(viewport={"width": 1280, "height": 900}, locale="zh-CN")
            errors: list[str] = []
            page.on("console", lambda m: errors.append(m.text)
                    if m.type == "error" and not m.text.startswith("Failed to load resource") else None)
            page.on("pageerror", lambda e: errors.append(str(e)))

            def sign_in(login: str) -> None:
                page.goto(base + "/console/login")
                page.fill("#login", login)
                page.fill("#password", "correct-horse-1")
                page.click("button[type=submit]")
                page.wait_for_url(base + "/console/")

            sign_in("wang")
            page.goto(base + "/console/items/")
            shoot(page, "items-list")
            page.fill("input[name=q]", "政务公开")
            page.click("text=搜索")
            shoot(page, "items-search")
            page.click("text=新建稿件")
            shoot(page, "items-new")
            page.click("a[href='/console/items/new?kind=policy']")
            for name, value in (("title", "关于开展2026年政务公开工作考核的通知"), ("department", "市政务服务局"),
                                ("index_no", "11000000/2026-00456"), ("doc_no", "示政服发〔2026〕30号"),
                                ("issuer", "示例市政务服务局"), ("issued", "2026-11-27")):
                page.fill(f"[name={name}]", value)
            page.set_input_files("input[name=new_images]", str(image))
            page.click("button[value=upload]")
            snippet = page.inner_text("code.snippet")
            assert snippet.startswith("![") and snippet.endswith("/示意图.png)")
            page.fill("input[name=staged_alt]", "考核流程示意图")
            page.fill("#body", f"各区县人民政府：\n\n{snippet.replace('图片说明', '考核流程示意图')}\n\n现将考核安排通知如下。")
            page.click("button[value=preview]")
            assert page.locator(".md-preview img").count() == 1
            assert page.evaluate("document.querySelector('.md-preview img').naturalWidth") == 1
            shoot(page, "items-form")
            page.click("button[value=save_submit]")
            page.wait_for_url(base + "/console/items/*")
            assert "已保存并提交审核" in page.inner_text("main")
            assert "待审核" in page.inner_text("main")
            item_path = page.url[len(base):]
            shoot(page, "items-item")
            page.goto(base + item_path + "/preview")
            assert page.locator("iframe.site-frame").count() >= 1
            site = page.frame_locator("iframe.site-frame")
            assert site.locator("h1").inner_text() == "关于开展2026年政务公开工作考核的通知"
            assert site.locator("h1").evaluate("e => getComputedStyle(e).fontFamily") != "Times New Roman"
            wechat = page.frame_locator("iframe.phone-frame")
            assert "现将考核安排通知如下" in wechat.locator("body").inner_text()
            page.wait_for_timeout(300)
            shoot(page, "items-preview")
            page.goto(base + item_path + "/edit")
            shoot(page, "items-edit")
            page.click("text=退出")
            sign_in("li")
            page.goto(base + item_path + "/review")
            assert "第 1 版（第一版" in page.inner_text("main")
            shoot(page, "items-review")
            assert errors == []
    finally:
        stop_bot(proc)


async def test_a_markdown_file_with_its_image_uploads_as_the_same_item_as_post_add(tmp_path):
    from sqlalchemy import select

    from content.models import Attachment, Revision

    async with console(tmp_path) as (svc, _), client(svc) as c:
        await add_account(svc, "zhang", Role.AUTHOR)
        await sign_in(c, "zhang")
        _, token = await _form(c, "/console/items/new")
        data = FormData()
        data.add_field("_csrf", token)
        data.add_field("markdown", FILE_MD.encode(), filename="通知.md", content_type="text/markdown")
        data.add_field("companions", PNG, filename="图1.png", content_type="image/png")
        r = await c.post("/console/items/upload", data=data, allow_redirects=False)
        assert r.status == 303 and r.headers["Location"].startswith("/console/items/"), await r.text()
        item_id = int(r.headers["Location"].rsplit("/", 1)[1])
        async with svc.store.sessions() as s:
            rev = await s.scalar(select(Revision).where(Revision.item_id == item_id))
            files = list(await s.scalars(select(Attachment).where(Attachment.item_id == item_id)))
        assert rev.title == "关于推进政务公开标准化的通知" and rev.normative and rev.tags == ["政务公开", "标准化"]
        assert [(f.role, f.filename) for f in files] == [("image", "图1.png")]
        assert '<img alt="示意图" src="/files/' in rev.body_html
        assert not [p for p in (svc.settings.data_path / "uploads").iterdir() if p.name.startswith("batch-")]
        # without the image it names, the file is refused with the front matter's message
        data = FormData()
        data.add_field("_csrf", token)
        data.add_field("markdown", FILE_MD.encode(), filename="通知.md", content_type="text/markdown")
        r = await c.post("/console/items/upload", data=data)
        assert "找不到文件 images/图1.png" in await r.text()
