"""审计日志: filters by item, account, action and local date, pages, CSV export that is itself
audited and never runs as a formula, and who may open it."""
from __future__ import annotations

import csv
import io
from datetime import timedelta
from pathlib import Path

from content import audit
from content.accounts import Role
from tests.console_support import add_account, audit_actions, client, console, page_csrf, sign_in


async def _events(svc, clock) -> None:  # noqa: ANN001
    async def txn(s):  # noqa: ANN001, ANN202
        for n in range(120):
            audit.record(s, at=clock.now() - timedelta(hours=n), actor="alice" if n % 2 else "bob",
                         action="edited" if n % 3 else "submitted", item_id=n % 5 + 1, reason=f"第{n}次")
        audit.record(s, at=clock.now(), actor="mallory", action="returned", item_id=9,
                     reason='<script>alert("x")</script>=HYPERLINK("http://evil")')

    await svc.store.transaction(txn)


async def test_filters_pages_and_escaping(tmp_path: Path, database_url: str) -> None:
    async with console(tmp_path, database_url) as (svc, clock), client(svc) as c:
        await add_account(svc, "auditor", Role.AUDITOR, name="审计员")
        await _events(svc, clock)
        await sign_in(c, "auditor")
        page = await (await c.get("/console/audit/")).text()
        assert "审计日志" in page and "下一页" in page and "上一页" not in page
        assert '<script>alert("x")' not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
        assert page.count("<tr>") == 51  # header + 50 rows
        page2 = await (await c.get("/console/audit/?page=2")).text()
        assert "上一页" in page2 and "第 2 页" in page2
        only = await (await c.get("/console/audit/?item=3&actor=alice&action=edited")).text()
        rows = only.split("<tbody>")[1].split("</tbody>")[0]
        assert rows.count("<tr>") == sum(1 for n in range(120) if n % 5 + 1 == 3 and n % 2 and n % 3)
        assert "bob" not in rows and "提交审核" not in rows
        # the date range is in local days (Beijing): 2 March 2026 from 00:00 to 09:00 = 10 events
        day = await (await c.get("/console/audit/?since=2026-03-02&until=2026-03-02&action=edited")).text()
        body = day.split("<tbody>")[1].split("</tbody>")[0]
        assert body.count("<tr>") == sum(1 for n in range(10) if n % 3)
        bad = await c.get("/console/audit/?since=2026-13-01")
        assert bad.status == 400 and "不是有效日期" in await bad.text()
        bad = await c.get("/console/audit/?since=2026-03-05&until=2026-03-01")
        assert bad.status == 400 and "晚于结束日期" in await bad.text()


async def test_export_is_csv_audited_and_formula_safe(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, clock), client(svc) as c:
        await add_account(svc, "boss", Role.ADMIN)
        await _events(svc, clock)
        await sign_in(c, "boss")
        token = await page_csrf(c, "/console/audit/")
        r = await c.post("/console/audit/export", data={"_csrf": token, "actor": "mallory"})
        assert r.status == 200 and r.headers["Content-Type"].startswith("text/csv")
        assert "attachment" in r.headers["Content-Disposition"]
        text = (await r.read()).decode("utf-8")
        assert text.startswith("\ufeff")
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
        assert rows[0][:4] == ["编号", "时间", "操作人", "操作"] and len(rows) == 2
        assert rows[1][2] == "mallory" and rows[1][3] == "退回" and rows[1][1] == "2026-03-02 09:00:00"
        assert rows[1][8].startswith("<script>")  # plain text in a file, not a page
        r = await c.post("/console/audit/export", data={"_csrf": token, "action": "edited", "item": "2"})
        rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8").lstrip("\ufeff"))))
        assert all(row[4] == "edited" and row[5] == "2" for row in rows[1:])
        assert ("boss", "audit_exported") in await audit_actions(svc)
        # a reason that starts like a formula is exported as text
        await svc.store.transaction(lambda s: _formula(s, clock))
        r = await c.post("/console/audit/export", data={"_csrf": token, "actor": "eve"})
        rows = list(csv.reader(io.StringIO((await r.read()).decode("utf-8").lstrip("\ufeff"))))
        assert rows[1][8] == "'=1+1" and rows[1][2] == "eve"
        # without the CSRF token nothing is exported and nothing recorded
        before = len(await audit_actions(svc))
        assert (await c.post("/console/audit/export", data={"actor": "eve"})).status == 403
        assert len(await audit_actions(svc)) == before


async def _formula(s, clock) -> None:  # noqa: ANN001
    audit.record(s, at=clock.now(), actor="eve", action="edited", reason="=1+1")


async def test_only_administrators_and_auditors_open_it(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, _), client(svc) as c:
        for login, role in (("a", Role.AUTHOR), ("r", Role.REVIEWER), ("p", Role.APPROVER)):
            await add_account(svc, login, role)
            c.session.cookie_jar.clear()
            await sign_in(c, login)
            r = await c.get("/console/audit/")
            assert r.status == 403 and "管理员" in await r.text()
            token = await page_csrf(c)
            assert (await c.post("/console/audit/export", data={"_csrf": token})).status == 403
        assert not [a for a in await audit_actions(svc) if a[1] == "audit_exported"]
