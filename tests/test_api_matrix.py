"""Every operation of /api/v1 × every role and no token at all: allowed, or refused (403 for a
role, 401 without a valid token) in the one error shape with nothing changed in the store.

The operations are read from the application's router, so an operation added later without a
line in :data:`MATRIX` fails here; the allowed roles are written from the product's role rules,
not copied from the operations' declarations."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.api.registry import PREFIX
from content.models import Account, AuditEvent, Delivery, Item, Release, Revision, Subscriber
from content.webhook_models import WebhookEndpoint
from tests.apikit import PEOPLE, Api, running_api
from tests.test_api import MARKDOWN, NEWS, SUBSCRIBERS, approved_item, is_error

EVERYONE = frozenset(PEOPLE)
READERS = frozenset({"admin", "auditor"})
PARAM = re.compile(r"\{([^}:]+)(:[^}]+)?\}")
#: paths of the API that are not operations (the document, its page, the unknown-path answer)
NOT_OPERATIONS = {("GET", "/openapi.json"), ("GET", "/docs"), ("GET", "/docs.css"), ("*", "/{tail}")}


@pytest.fixture
async def api(tmp_path: Path, sqlite_url: str, clock):  # noqa: ANN001, ANN201
    async with running_api(tmp_path, sqlite_url, clock) as running:
        yield running


async def fingerprint(api: Api) -> tuple[int, ...]:
    async with api.service.store.sessions() as s:
        return tuple([int(await s.scalar(select(func.count()).select_from(t)) or 0)
                      for t in (Item, Revision, Release, Delivery, Account, AuditEvent, Subscriber, WebhookEndpoint)]
                     + [int(await s.scalar(select(func.count()).select_from(Item).where(Item.state == st)) or 0)
                        for st in ("draft", "submitted", "approved", "scheduled")])


Line = tuple[frozenset[str], str, dict[str, Any]]


def matrix(draft: int, submitted: int, ready: int, release: int) -> dict[tuple[str, str], Line]:
    """(method, operation path) → (roles allowed, concrete path with query, request keywords)."""
    return {
        ("GET", "/audit"): (READERS, "/audit", {}),
        ("GET", "/audit/export"): (READERS, "/audit/export", {}),
        ("GET", "/status"): (EVERYONE, "/status", {}),
        ("GET", "/calendar"): (EVERYONE, "/calendar?month=2026-11", {}),
        ("GET", "/me"): (EVERYONE, "/me", {}),
        ("GET", "/items"): (EVERYONE, "/items", {}),
        ("GET", "/items/{item_id}"): (EVERYONE, f"/items/{draft}", {}),
        ("GET", "/items/{item_id}/preview/{channel}"): (EVERYONE, f"/items/{draft}/preview/website", {}),
        ("POST", "/items"): (frozenset({"author"}), "/items", {"json": NEWS}),
        ("POST", "/items/markdown"): (frozenset({"author"}), "/items/markdown", {"data": MARKDOWN.encode()}),
        ("PUT", "/items/{item_id}"): (frozenset({"author"}), f"/items/{draft}", {"json": {**NEWS, "title": "改过"}}),
        ("PUT", "/items/{item_id}/markdown"): (frozenset({"author"}), f"/items/{draft}/markdown",
                                               {"data": MARKDOWN.encode()}),
        ("POST", "/items/{item_id}/submit"): (frozenset({"author"}), f"/items/{draft}/submit", {}),
        ("POST", "/items/{item_id}/review"): (frozenset({"reviewer", "approver"}), f"/items/{submitted}/review",
                                              {"json": {}}),
        ("POST", "/items/{item_id}/return"): (frozenset({"reviewer", "approver"}), f"/items/{submitted}/return",
                                              {"json": {"comment": "请补充"}}),
        ("POST", "/releases/reach"): (EVERYONE, "/releases/reach", {"json": {"item_ids": [ready]}}),
        ("POST", "/releases"): (frozenset({"approver"}), "/releases",
                                {"json": {"item_ids": [ready], "due_at": "2026-11-22T09:00:00+08:00",
                                          "channels": ["website"]}}),
        ("POST", "/releases/queue"): (frozenset({"approver"}), "/releases/queue",
                                      {"json": {"item_ids": [ready], "channels": ["website"]}}),
        ("GET", "/releases"): (EVERYONE, "/releases", {}),
        ("GET", "/releases/{release_id}"): (EVERYONE, f"/releases/{release}", {}),
        ("POST", "/releases/{release_id}/reschedule"): (frozenset({"approver"}), f"/releases/{release}/reschedule",
                                                        {"json": {"due_at": "2026-11-23T09:00:00+08:00"}}),
        ("POST", "/releases/{release_id}/cancel"): (frozenset({"approver"}), f"/releases/{release}/cancel",
                                                    {"json": {"reason": "改期"}}),
        ("POST", "/releases/{release_id}/split"): (frozenset({"approver"}), f"/releases/{release}/split",
                                                   {"json": {"confirm": True}}),
        ("POST", "/deliveries/{delivery_id}/resolve"): (frozenset({"approver"}), "/deliveries/1/resolve",
                                                        {"json": {"sent": True}}),
        ("GET", "/subscribers/counts"): (READERS, "/subscribers/counts", {}),
        ("GET", "/subscribers"): (READERS, "/subscribers", {}),
        ("POST", "/subscribers/import"): (frozenset({"admin"}), "/subscribers/import?consent=本人签字",
                                          {"data": b"13800000009,all\n"}),
        ("GET", "/subscribers/export"): (READERS, "/subscribers/export", {}),
        ("POST", "/subscribers/remove"): (frozenset({"admin"}), "/subscribers/remove",
                                          {"json": {"phones": ["13800000001"]}}),
        ("GET", "/releases/{release_id}/sms-report"): (READERS | {"approver"}, f"/releases/{release}/sms-report", {}),
    }


def mounted_operations(app) -> set[tuple[str, str]]:  # noqa: ANN001
    out = set()
    for resource in app.router.resources():
        info = resource.get_info()
        path = info.get("path") or info.get("formatter") or ""
        if not path.startswith(PREFIX + "/"):
            continue
        for route in resource:
            if route.method != "HEAD":
                out.add((route.method, PARAM.sub(lambda m: "{" + m.group(1) + "}", path[len(PREFIX):])))
    return out - NOT_OPERATIONS


async def test_every_operation_by_every_role_and_without_a_token(api: Api) -> None:
    draft = (await api.call("POST", "/items", "author", json=NEWS))[1]["id"]
    submitted = (await api.call("POST", "/items/markdown", "author", data=MARKDOWN.encode()))[1]["id"]
    assert (await api.call("POST", f"/items/{submitted}/submit", "author"))[0] == 200
    ready = await approved_item(api, {**NEWS, "title": "第二篇"})
    status, made = await api.call("POST", "/releases", "approver",
                                  json={"item_ids": [ready], "due_at": "2026-11-21T09:00:00+08:00",
                                        "channels": ["website"]})
    assert status == 201, made
    assert (await api.call("POST", "/subscribers/import?consent=线下登记表，本人签字", "admin",
                           data=SUBSCRIBERS.encode()))[0] == 200
    table = matrix(draft, submitted, ready, made["release"]["id"])
    mounted = mounted_operations(api.client.server.app)
    assert mounted - set(table) == set(), "API operations without a line in the authorisation matrix"
    assert set(table) - mounted == set(), "matrix lines for operations that no longer exist"
    for (method, _), (allowed, path, kw) in sorted(table.items()):
        before = await fingerprint(api)
        for headers in ({}, {"Authorization": "Bearer gk_forged"}):
            status, body = await api.call(method, path, None, headers=headers, **kw)
            is_error(status, body, 401, "unauthorized", None)
        for role in sorted(EVERYONE - allowed):
            status, body = await api.call(method, path, role, **kw)
            is_error(status, body, 403, "forbidden")
        assert await fingerprint(api) == before, (method, path)
        if method == "GET" or path == "/releases/reach":  # reading: every allowed role gets an answer
            for role in sorted(allowed):
                status, body = await api.call(method, path, role, **kw)
                assert status in (200, 404), (role, method, path, body)  # 404: no SMS in this release
