"""The HTTP API under /api/v1, as another system uses it: a personal token per account, the
account's roles decide (403 with the error shape, nothing changed), every operation's happy path
and one bad input each (422/404/409 with code, Chinese message and field), the OpenAPI document
and the docs page built from the same models."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot import outbox
from channels.base import Outcome, Result
from content import accounts
from content.models import AuditEvent, Delivery, Item, Release, Revision, Subscriber
from tests.apikit import PEOPLE, Api, running_api

ROLES = tuple(PEOPLE)
NEWS = {"kind": "news", "title": "市政府召开常务会议", "body": "会议审议通过了有关事项。", "department": "市政府办公室"}
MARKDOWN = """---
kind: news
title: 关于开展安全生产大检查的通知
department: 市应急管理局
---
各单位要认真开展安全生产大检查。
"""
SUBSCRIBERS = "phone,topics,source\n13800000001,all,线下登记表\n13800000002,工作动态;all,\n1380000000,all,\n"


@pytest.fixture
async def api(tmp_path: Path, sqlite_url: str, clock):  # noqa: ANN001, ANN201
    async with running_api(tmp_path, sqlite_url, clock) as running:
        yield running


def is_error(status: int, body: object, want_status: int, code: str, field: str | None = "any") -> None:
    """The one error shape: ``{"error": {"code", "message" (Chinese), "field"}}``."""
    assert status == want_status, body
    assert isinstance(body, dict) and set(body) == {"error"}, body
    err = body["error"]
    assert set(err) == {"code", "message", "field"}, err
    assert err["code"] == code, err
    assert any("\u4e00" <= ch <= "\u9fff" for ch in err["message"]), err  # a Chinese message
    if field != "any":
        assert err["field"] == field, err


async def snapshot(api: Api) -> tuple[int, ...]:
    """What a refused request must leave as it was."""
    async with api.service.store.sessions() as s:
        return tuple([int(await s.scalar(select(func.count()).select_from(t)) or 0)
                      for t in (Item, Revision, Release, Delivery, Subscriber, AuditEvent)]
                     + [int(await s.scalar(select(func.count()).select_from(Item).where(Item.state == st)) or 0)
                        for st in ("draft", "submitted", "approved", "scheduled")])


async def approved_item(api: Api, fields: dict | None = None) -> int:
    status, saved = await api.call("POST", "/items", "author", json=fields or NEWS)
    assert status == 201, saved
    item = saved["id"]
    assert (await api.call("POST", f"/items/{item}/submit", "author"))[0] == 200
    for role in ("reviewer", "approver"):  # the default chain: 保密审查, then 审核签发
        status, body = await api.call("POST", f"/items/{item}/review", role, json={})
        assert status == 200, body
    assert body["state"] == "approved"
    return item


# ------------------------------------------------------------------------------ authentication
async def test_a_request_without_a_valid_token_is_refused_with_401(api: Api) -> None:
    for headers in ({}, {"Authorization": "Basic YWRtaW46YWRtaW4="}, {"Authorization": "Bearer"},
                    {"Authorization": "Bearer gk_not-a-real-token"}, {"Authorization": "Bearer something-else"}):
        before = await snapshot(api)
        status, body = await api.call("POST", "/items", None, json=NEWS, headers=headers)
        is_error(status, body, 401, "unauthorized", None)
        assert await snapshot(api) == before
    r = await api.client.get("/api/v1/me")
    assert r.headers["WWW-Authenticate"].startswith("Bearer")
    status, me = await api.call("GET", "/me", "author")
    assert status == 200 and me == {"login": "lihua", "name": "李华", "department": "", "roles": ["author"]}


async def test_an_expired_token_or_a_disabled_account_is_refused(api: Api) -> None:
    start = api.clock.now()
    api.clock.set(start + timedelta(days=accounts.TOKEN_DAYS, seconds=1))
    is_error(*(await api.call("GET", "/me", "author")), 401, "unauthorized")
    api.clock.set(start)
    assert (await api.call("GET", "/me", "author"))[0] == 200
    await api.service.store.transaction(lambda s: accounts.disable(
        s, "lihua", actor="guanli", now=api.clock.now()), what="disable")
    is_error(*(await api.call("GET", "/me", "author")), 401, "unauthorized")


# ------------------------------------------------------------------------------ roles
async def test_every_operation_refuses_the_roles_it_does_not_allow_and_changes_nothing(api: Api) -> None:
    draft = (await api.call("POST", "/items", "author", json=NEWS))[1]["id"]
    submitted = (await api.call("POST", "/items/markdown", "author", data=MARKDOWN.encode()))[1]["id"]
    assert (await api.call("POST", f"/items/{submitted}/submit", "author"))[0] == 200
    ready = await approved_item(api, {**NEWS, "title": "第二篇"})
    status, made = await api.call("POST", "/releases", "approver",
                                  json={"item_ids": [ready], "due_at": "2026-11-21T09:00:00+08:00",
                                        "channels": ["website"]})
    assert status == 201, made
    release = made["release"]["id"]
    assert (await api.call("POST", "/subscribers/import?consent=线下登记表，本人签字", "admin",
                           data=SUBSCRIBERS.encode()))[0] == 200
    writes = [
        ("POST", "/items", {"json": NEWS}, {"author"}),
        ("POST", "/items/markdown", {"data": MARKDOWN.encode()}, {"author"}),
        ("PUT", f"/items/{draft}", {"json": {**NEWS, "title": "改过的标题"}}, {"author"}),
        ("PUT", f"/items/{draft}/markdown", {"data": MARKDOWN.encode()}, {"author"}),
        ("POST", f"/items/{draft}/submit", {}, {"author"}),
        ("POST", f"/items/{submitted}/review", {"json": {}}, {"reviewer", "approver"}),
        ("POST", f"/items/{submitted}/return", {"json": {"comment": "请补充检查时间"}}, {"reviewer", "approver"}),
        ("POST", "/releases", {"json": {"item_ids": [ready], "due_at": "2026-11-22T09:00:00+08:00",
                                        "channels": ["website"]}}, {"approver"}),
        ("POST", f"/releases/{release}/reschedule", {"json": {"due_at": "2026-11-23T09:00:00+08:00"}}, {"approver"}),
        ("POST", f"/releases/{release}/cancel", {"json": {"reason": "改期"}}, {"approver"}),
        ("POST", f"/releases/{release}/split", {"json": {"confirm": True}}, {"approver"}),
        ("POST", "/deliveries/1/resolve", {"json": {"sent": True}}, {"approver"}),
        ("POST", "/subscribers/import?consent=本人签字", {"data": b"13800000009,all\n"}, {"admin"}),
        ("POST", "/subscribers/remove", {"json": {"phones": ["13800000001"]}}, {"admin"}),
        ("GET", "/subscribers/export", {}, {"admin", "auditor"}),
        ("GET", "/subscribers?unmasked=true", {}, {"admin"}),
        ("GET", "/subscribers/export?unmasked=true", {}, {"admin"}),
    ]
    reads = [
        ("GET", "/subscribers", {}, {"admin", "auditor"}),
        ("GET", "/subscribers/counts", {}, {"admin", "auditor"}),
        ("GET", f"/releases/{release}/sms-report", {}, {"admin", "auditor", "approver"}),
        *[("GET", path, {}, set(ROLES)) for path in (
            "/me", "/items", f"/items/{draft}", f"/items/{draft}/preview/website", "/releases",
            f"/releases/{release}", "/status", "/calendar?month=2026-11")],
        ("POST", "/releases/reach", {"json": {"item_ids": [ready]}}, set(ROLES)),
    ]
    for method, path, kw, allowed in reads:
        for role in allowed:
            status, body = await api.call(method, path, role, **kw)
            assert status != 403, (role, method, path, body)
    for method, path, kw, allowed in writes + reads:
        for role in set(ROLES) - allowed:
            before = await snapshot(api)
            status, body = await api.call(method, path, role, **kw)
            is_error(status, body, 403, "forbidden")
            assert await snapshot(api) == before, (role, method, path)


# ------------------------------------------------------------------------------ items
async def test_items_from_fields_and_markdown_through_the_review_chain(api: Api) -> None:
    status, saved = await api.call("POST", "/items", "author", json=NEWS)
    assert status == 201 and saved["state"] == "draft" and saved["title"] == NEWS["title"]
    item = saved["id"]
    status, saved = await api.call("POST", "/items/markdown", "author", data=MARKDOWN.encode(),
                                   headers={"Content-Type": "text/markdown"})
    assert status == 201 and saved["title"] == "关于开展安全生产大检查的通知" and saved["kind"] == "news"
    status, edited = await api.call("PUT", f"/items/{item}", "author", json={**NEWS, "title": "市政府召开第 5 次常务会议"})
    assert status == 200 and edited["revision"] == 2 and edited["title"] == "市政府召开第 5 次常务会议"
    status, edited = await api.call("PUT", f"/items/{saved['id']}/markdown", "author",
                                    data=MARKDOWN.replace("各单位", "全市各单位").encode())
    assert status == 200 and edited["revision"] == 2
    status, listed = await api.call("GET", "/items?state=draft&kind=news", "auditor")
    assert status == 200 and listed["total"] == 2 and [r["id"] for r in listed["rows"]] == [saved["id"], item]
    status, submitted = await api.call("POST", f"/items/{item}/submit", "author")
    assert status == 200 and submitted["state"] == "submitted"
    status, first = await api.call("POST", f"/items/{item}/review", "reviewer", json={})
    assert status == 200 and first["state"] == "submitted"  # 保密审查 done, 审核签发 to come
    status, second = await api.call("POST", f"/items/{item}/review", "approver", json={})
    assert status == 200 and second["state"] == "approved" and second["bundle"] == [item]
    status, detail = await api.call("GET", f"/items/{item}", "auditor")
    assert status == 200 and detail["state"] == "approved" and detail["title"] == "市政府召开第 5 次常务会议"
    assert [r["number"] for r in detail["revisions"]] == [1, 2]
    assert {"submitted", "approved"} <= {e["action"] for e in detail["audit"]}
    assert {e["actor"] for e in detail["audit"]} >= {"lihua", "zhangwei", "wangfang"}
    status, shown = await api.call("GET", f"/items/{item}/preview/sms", "author")
    assert status == 200 and shown["channel"] == "sms" and shown["ok"]
    assert shown["renditions"][0]["text"].startswith("【") and "市政府召开第 5 次常务会议" in shown["renditions"][0]["text"]
    status, shown = await api.call("GET", f"/items/{item}/preview/website", "author")
    assert status == 200 and "<html" in shown["renditions"][0]["text"]


async def test_a_returned_item_goes_back_to_its_author_with_the_comment(api: Api) -> None:
    item = (await api.call("POST", "/items", "author", json=NEWS))[1]["id"]
    await api.call("POST", f"/items/{item}/submit", "author")
    status, back = await api.call("POST", f"/items/{item}/return", "reviewer", json={"comment": "请补充会议时间"})
    assert status == 200 and back == {"id": item, "state": "returned", "comment": "请补充会议时间"}
    status, board = await api.call("GET", "/status", "author")
    assert status == 200 and board["returned_to_me"][0]["comment"] == "请补充会议时间"


async def test_bad_item_input_is_refused_naming_the_field_and_changes_nothing(api: Api) -> None:
    before = await snapshot(api)
    is_error(*(await api.call("POST", "/items", "author", json={**NEWS, "kind": "blog"})), 422, "invalid_input", "kind")
    is_error(*(await api.call("POST", "/items", "author", json={"kind": "news"})), 422, "invalid_input", "title")
    is_error(*(await api.call("POST", "/items", "author", json={**NEWS, "colour": "红"})), 422, "invalid_input", "colour")
    is_error(*(await api.call("POST", "/items", "author", json={**NEWS, "issued": "2026-13-01"})), 422, "invalid_input",
             "issued")
    is_error(*(await api.call("POST", "/items", "author", data=b"{not json")), 422, "invalid_input", None)
    is_error(*(await api.call("POST", "/items", "author", json={**NEWS, "extra": {"colour": "红"}})), 422,
             "invalid_input", "colour")
    is_error(*(await api.call("POST", "/items/markdown", "author", data="没有 front matter".encode())), 422,
             "invalid_input")
    is_error(*(await api.call("GET", "/items?state=lost", "author")), 422, "invalid_input", "state")
    is_error(*(await api.call("GET", "/items/abc", "author")), 422, "invalid_input", "item_id")
    is_error(*(await api.call("GET", "/items/99", "author")), 404, "not_found")
    is_error(*(await api.call("PUT", "/items/99", "author", json=NEWS)), 404, "not_found")
    is_error(*(await api.call("POST", "/items/99/submit", "author")), 404, "not_found")
    is_error(*(await api.call("GET", "/items/99/preview/website", "author")), 404, "not_found")
    item = (await api.call("POST", "/items", "author", json=NEWS))[1]["id"]
    before = await snapshot(api)
    is_error(*(await api.call("POST", f"/items/{item}/review", "reviewer", json={})), 409, "not_submitted")
    is_error(*(await api.call("POST", f"/items/{item}/return", "reviewer", json={"comment": ""})), 422,
             "invalid_input", "comment")
    is_error(*(await api.call("GET", f"/items/{item}/preview/fax", "author")), 422, "invalid_input")
    assert await snapshot(api) == before
    is_error(*(await api.call("GET", "/no/such/thing", "author")), 404, "not_found", None)


# ------------------------------------------------------------------------------ releases
async def test_releases_create_confirm_show_reschedule_split_and_cancel(api: Api) -> None:
    await api.call("POST", "/subscribers/import?consent=线下登记表，本人签字", "admin", data=SUBSCRIBERS.encode())
    item = await approved_item(api)
    status, reach = await api.call("POST", "/releases/reach", "author", json={"item_ids": [item], "channels": ["sms"]})
    assert status == 200 and reach["reach"] == [{"channel": "sms", "people": 2, "parts": 1, "label": "短信订阅号码",
                                                 "sentence": "短信订阅号码：2 个，每个 1 条计费短信，共 2 条"}]
    body = {"item_ids": [item], "due_at": "2026-11-21T09:00:00+08:00", "channels": ["website", "sms"]}
    before = await snapshot(api)
    status, refused = await api.call("POST", "/releases", "approver", json=body)
    is_error(status, refused, 409, "confirmation_required", "confirm")
    assert "2 个" in refused["error"]["message"]
    assert await snapshot(api) == before
    status, made = await api.call("POST", "/releases", "approver", json={**body, "confirm": True})
    assert status == 201 and made["items"] == [item] and made["release"]["state"] == "pending"
    release = made["release"]["id"]
    status, listed = await api.call("GET", "/releases?state=pending", "auditor")
    assert status == 200 and [x["release"]["id"] for x in listed["releases"]] == [release]
    status, shown = await api.call("GET", f"/releases/{release}", "author")
    assert status == 200 and shown["items"][0]["id"] == item and shown["channels"] == ["website", "sms"]
    status, moved = await api.call("POST", f"/releases/{release}/reschedule", "approver",
                                   json={"due_at": "2026-11-23T09:00:00+08:00"})
    assert status == 200 and moved["due_at"].startswith("2026-11-23T01:00:00") or moved["due_at"].startswith(
        "2026-11-23T09:00:00+08:00")
    status, calendar = await api.call("GET", "/calendar?month=2026-11", "author")
    day = next(d for d in calendar["days"] if d["day"] == "2026-11-23")
    assert status == 200 and [r["id"] for r in day["releases"]] == [release]
    is_error(*(await api.call("POST", f"/releases/{release}/split", "approver", json={"confirm": True})), 409,
             "invalid_state")
    status, cancelled = await api.call("POST", f"/releases/{release}/cancel", "approver", json={"reason": "改期"})
    assert status == 200 and cancelled["state"] == "cancelled"


async def test_bad_release_input_is_refused_and_changes_nothing(api: Api) -> None:
    item = await approved_item(api)
    before = await snapshot(api)
    is_error(*(await api.call("POST", "/releases", "approver",
                              json={"item_ids": [item], "due_at": "2026-11-21T09:00:00"})), 422, "invalid_input", "due_at")
    is_error(*(await api.call("POST", "/releases", "approver",
                              json={"item_ids": [], "due_at": "2026-11-21T09:00:00+08:00"})), 422, "invalid_input",
             "item_ids")
    is_error(*(await api.call("POST", "/releases", "approver", json={"item_ids": [item], "channels": ["fax"],
                                                                     "due_at": "2026-11-21T09:00:00+08:00"})),
             422, "invalid_input")
    is_error(*(await api.call("GET", "/releases?state=lost", "approver")), 422, "invalid_input", "state")
    is_error(*(await api.call("GET", "/releases/77", "approver")), 404, "not_found")
    is_error(*(await api.call("POST", "/releases/77/cancel", "approver", json={})), 404, "not_found")
    is_error(*(await api.call("POST", "/releases/77/reschedule", "approver", json={"due_at": "明天"})), 422,
             "invalid_input", "due_at")
    is_error(*(await api.call("POST", "/deliveries/5/resolve", "approver", json={})), 422, "invalid_input", "sent")
    is_error(*(await api.call("POST", "/deliveries/5/resolve", "approver", json={"sent": True})), 404, "not_found")
    is_error(*(await api.call("GET", "/calendar?month=2026-13", "author")), 422, "invalid_input", "month")
    assert await snapshot(api) == before


async def test_a_delivery_is_resolved_by_an_approver(api: Api) -> None:
    item = await approved_item(api)
    status, made = await api.call("POST", "/releases", "approver",
                                  json={"item_ids": [item], "due_at": "2026-11-20T10:00:00+08:00",
                                        "channels": ["website"], "allow_past": True})
    assert status == 201, made
    await api.service.fire(made["release"]["id"])
    async with api.service.store.sessions() as s:
        delivery = await s.scalar(select(Delivery).where(Delivery.release_id == made["release"]["id"]))
    # the channel reports a failure staff must handle
    await api.service.store.transaction(lambda s: outbox.settle(
        s, delivery.id, Result(Outcome.FAILED, "磁盘已满"), now=api.clock.now(), source="test"))
    before = await snapshot(api)
    is_error(*(await api.call("POST", f"/deliveries/{delivery.id}/resolve", "approver",
                              json={"sent": True, "done": True})), 422, "invalid_input", "done")
    assert await snapshot(api) == before
    status, resolved = await api.call("POST", f"/deliveries/{delivery.id}/resolve", "approver",
                                      json={"done": True, "note": "已清理磁盘并手工重新生成页面"})
    assert status == 200 and resolved == {"id": delivery.id, "state": "resolved"}


# ------------------------------------------------------------------------------ subscribers
async def test_subscribers_import_export_remove_counts_through_the_api(api: Api) -> None:
    before = await snapshot(api)
    is_error(*(await api.call("POST", "/subscribers/import", "admin", data=SUBSCRIBERS.encode())), 422, "invalid_input")
    assert await snapshot(api) == before  # no consent: nothing imported
    status, report = await api.call("POST", "/subscribers/import?consent=线下登记表，本人签字&filename=登记表.csv", "admin",
                                    data=SUBSCRIBERS.encode(), headers={"Content-Type": "text/csv"})
    assert status == 200 and (report["added"], report["updated"], report["unchanged"]) == (2, 0, 0)
    assert [(b["line"], b["row"]) for b in report["bad_rows"]] == [(4, "1380000000,all")]
    assert "11 位" in report["bad_rows"][0]["problem"]
    status, counts = await api.call("GET", "/subscribers/counts", "auditor")
    assert status == 200 and counts["total"] == 2 and counts["by_status"] == {"active": 2}
    assert {t["topic"]: t["active"] for t in counts["by_topic"]} == {"all": 2, "工作动态": 1}
    status, listed = await api.call("GET", "/subscribers", "auditor")
    assert status == 200 and [r["phone"] for r in listed["rows"]] == ["138****0002", "138****0001"]
    status, listed = await api.call("GET", "/subscribers?unmasked=true&topic=工作动态", "admin")
    assert status == 200 and [r["phone"] for r in listed["rows"]] == ["+8613800000002"]
    r = await api.client.get("/api/v1/subscribers/export", headers=api.auth("auditor"))
    assert r.status == 200 and r.content_type == "text/csv"
    rows = list(csv.DictReader(io.StringIO(await r.text())))
    assert [x["phone"] for x in rows] == ["138****0001", "138****0002"]
    status, text = await api.call("GET", "/subscribers/export?unmasked=true&status=active", "admin")
    assert [x["phone"] for x in csv.DictReader(io.StringIO(text))] == ["13800000001", "13800000002"]
    async with api.service.store.sessions() as s:
        exports = list(await s.scalars(select(AuditEvent).where(AuditEvent.action == "sms_subscribers_exported")
                                       .order_by(AuditEvent.id)))
        viewed = list(await s.scalars(select(AuditEvent).where(AuditEvent.action == "sms_subscribers_viewed")))
    assert [(e.actor, e.detail["unmasked"], e.detail["count"]) for e in exports] == [("shenji", False, 2),
                                                                                     ("guanli", True, 2)]
    assert [e.actor for e in viewed] == ["guanli"]
    status, removed = await api.call("POST", "/subscribers/remove", "admin",
                                     json={"phones": ["13800000001", "13900000000"], "reason": "本人来电要求"})
    assert status == 200 and removed == {"removed": ["+8613800000001"], "not_found": ["+8613900000000"], "purged": False}
    status, counts = await api.call("GET", "/subscribers/counts", "admin")
    assert counts["by_status"] == {"active": 1, "unsubscribed": 1}
    before = await snapshot(api)
    is_error(*(await api.call("POST", "/subscribers/remove", "admin", json={"phones": ["12345"]})), 422, "invalid_input",
             "phones")
    is_error(*(await api.call("POST", "/subscribers/remove", "admin", json={"phones": []})), 422, "invalid_input",
             "phones")
    is_error(*(await api.call("GET", "/subscribers?status=gone", "admin")), 422, "invalid_input", "status")
    is_error(*(await api.call("GET", "/releases/1/sms-report", "admin")), 404, "not_found")
    is_error(*(await api.call("POST", "/subscribers/import?consent=签字", "admin", data=b"phone\n1380000\x0001,all\n")),
             422, "invalid_input", "file")
    from bot.web import STAFF_MAX_REQUEST

    big = b"13800000001,all\n" * (STAFF_MAX_REQUEST // 16 + 1)  # over the staff app's request limit
    is_error(*(await api.call("POST", "/subscribers/import?consent=签字", "admin", data=big)), 413, "too_large", None)
    assert await snapshot(api) == before


async def test_a_release_sms_report_lists_each_number_masked(api: Api) -> None:
    await api.call("POST", "/subscribers/import?consent=线下登记表，本人签字", "admin", data=SUBSCRIBERS.encode())
    item = await approved_item(api)
    status, made = await api.call("POST", "/releases", "approver",
                                  json={"item_ids": [item], "due_at": "2026-11-20T10:00:00+08:00", "channels": ["sms"],
                                        "confirm": True, "allow_past": True})
    assert status == 201, made
    release = made["release"]["id"]
    await api.service.fire(release)
    status, report = await api.call("GET", f"/releases/{release}/sms-report", "approver")
    assert status == 200 and report["release_id"] == release and not report["unmasked"]
    assert all("****" in x["phone"] for x in report["recipients"])
    is_error(*(await api.call("GET", f"/releases/{release}/sms-report?unmasked=true", "approver")), 403, "forbidden")


# ------------------------------------------------------------------------------ the document
async def test_the_openapi_document_and_the_docs_page_list_every_operation(api: Api) -> None:
    r = await api.client.get("/api/v1/openapi.json")
    assert r.status == 200
    doc = await r.json()
    assert doc["openapi"] == "3.1.0" and doc["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    operations = {(m.upper(), p) for p, methods in doc["paths"].items() for m in methods}
    for expected in [("POST", "/api/v1/items"), ("POST", "/api/v1/items/markdown"), ("PUT", "/api/v1/items/{item_id}"),
                     ("POST", "/api/v1/items/{item_id}/review"), ("GET", "/api/v1/items/{item_id}/preview/{channel}"),
                     ("POST", "/api/v1/releases/{release_id}/split"), ("POST", "/api/v1/deliveries/{delivery_id}/resolve"),
                     ("POST", "/api/v1/subscribers/import"), ("GET", "/api/v1/subscribers/export"),
                     ("GET", "/api/v1/status"), ("GET", "/api/v1/calendar")]:
        assert expected in operations
    create = doc["paths"]["/api/v1/items"]["post"]
    assert create["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/ErrorBody")
    assert "title" in doc["components"]["schemas"]["ItemFields"]["required"]
    r = await api.client.get("/api/v1/docs")
    html = await r.text()
    assert r.status == 200 and "script-src" not in r.headers["Content-Security-Policy"]
    assert "<script" not in html and "default-src 'none'" in r.headers["Content-Security-Policy"]
    for _method, path in operations:
        assert path in html
    assert "从 CSV 导入订阅用户" in html and "Authorization: Bearer gk_" in html
    css = await api.client.get("/api/v1/docs.css")
    assert css.status == 200 and css.content_type == "text/css"


# ------------------------------------------------------------------------------ both backends
async def test_subscriber_ops_on_both_backends(tmp_path: Path, database_url: str, clock) -> None:  # noqa: ANN001
    async with running_api(tmp_path, database_url, clock) as api:
        status, report = await api.call("POST", "/subscribers/import?consent=本人签字", "admin", data=SUBSCRIBERS.encode())
        assert status == 200 and report["added"] == 2
        status, again = await api.call("POST", "/subscribers/import?consent=本人签字", "admin", data=SUBSCRIBERS.encode())
        assert (again["added"], again["unchanged"]) == (0, 2)
        status, counts = await api.call("GET", "/subscribers/counts", "auditor")
        assert counts["total"] == 2


# ------------------------------------------------------------------------------ audit
async def test_the_audit_trail_filtered_and_exported(api: Api) -> None:
    item = await approved_item(api)
    status, page = await api.call("GET", f"/audit?item_id={item}", "auditor")
    assert status == 200 and not page["has_next"]
    assert [(e["actor"], e["action"]) for e in page["entries"]][-1] == ("lihua", "created")
    assert {e["item_id"] for e in page["entries"]} == {item}
    status, page = await api.call("GET", "/audit?actor=zhangwei", "admin")
    assert status == 200 and page["entries"] and {e["actor"] for e in page["entries"]} == {"zhangwei"}
    r = await api.client.get("/api/v1/audit/export?actor=lihua", headers=api.auth("auditor"))
    assert r.status == 200 and r.content_type == "text/csv" and "attachment" in r.headers["Content-Disposition"]
    assert "lihua" in await r.text()
    status, page = await api.call("GET", "/audit?action=audit_exported", "admin")
    assert [e["actor"] for e in page["entries"]] == ["shenji"]
    before = await snapshot(api)
    is_error(*(await api.call("GET", "/audit?since=2026-11-20&until=2026-11-01", "admin")), 422, "invalid_input", "since")
    is_error(*(await api.call("GET", "/audit?since=昨天", "admin")), 422, "invalid_input", "since")
    is_error(*(await api.call("GET", "/audit", "author")), 403, "forbidden")
    is_error(*(await api.call("GET", "/audit/export", "approver")), 403, "forbidden")
    assert await snapshot(api) == before
