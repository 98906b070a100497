"""订阅用户 (the SMS channel's console page, mounted from ``Extension.panels``): counts per
topic, the list masked unless an administrator asks (audited), CSV import with a progress page
and a per-row error report, export (audited), removal, a release's report, and who may do what
(refusals change nothing; a form without its CSRF token is refused)."""
from __future__ import annotations

import asyncio
import csv
import io
import re
from pathlib import Path

from aiohttp import FormData
from sqlalchemy import func, select

from content.accounts import Role
from content.models import Subscriber
from tests.console_support import add_account, audit_actions, client, console, page_csrf, sign_in

CSV = "phone,topics,source\n13800000001,all,线下登记表\n13800000002,工作动态;all,\n1380000000,all,\n13800000004,nosuch,\n"


async def _count(svc) -> int:  # noqa: ANN001
    async with svc.store.sessions() as s:
        return int(await s.scalar(select(func.count()).select_from(Subscriber)) or 0)


def _upload(csrf: str, text: str, consent: str = "线下登记表，本人签字") -> FormData:
    form = FormData()
    form.add_field("_csrf", csrf)
    form.add_field("consent", consent)
    form.add_field("file", text.encode("utf-8"), filename="登记表.csv", content_type="text/csv")
    return form


async def _import(c, text: str, **kw: str) -> str:  # noqa: ANN001
    csrf = await page_csrf(c, "/console/subscribers/")
    r = await c.post("/console/subscribers/import", data=_upload(csrf, text, **kw), allow_redirects=False)
    assert r.status == 303, await r.text()
    job = r.headers["Location"]
    assert job.startswith("/console/subscribers/import/")
    for _ in range(100):
        page = await c.get(job)
        text_ = await page.text()
        if "Refresh" not in page.headers:
            return text_
        assert "正在导入" in text_
        await asyncio.sleep(0.05)
    raise AssertionError("the import did not end")


async def test_an_administrator_imports_sees_counts_exports_and_removes(tmp_path: Path) -> None:
    async with console(tmp_path, GONGKAI_CHANNELS__SMS__ENABLED="true") as (svc, _clock), client(svc) as c:
        await add_account(svc, "guanli", Role.ADMIN, name="管理员")
        await sign_in(c, "guanli")
        page = await (await c.get("/console/subscribers/")).text()
        assert "订阅用户（短信）" in page and "还没有订阅中的号码" in page and 'aria-current="page"' in page
        report = await _import(c, CSV)
        assert "新增 2 个" in report and "2 行未导入" in report
        assert "138****0004,nosuch" in report  # numbers in the report are masked too
        assert "1380000000,all" in report and "11 位" in report and "nosuch" in report
        page = await (await c.get("/console/subscribers/")).text()
        assert "共 2 个号码" in page and "<td>工作动态</td><td>1</td>" in page
        assert "138****0001" in page and "13800000001" not in page
        full = await (await c.get("/console/subscribers/?unmasked=1")).text()
        assert "+8613800000001" in full
        csrf = await page_csrf(c, "/console/subscribers/")
        r = await c.post("/console/subscribers/export", data={"_csrf": csrf, "status": ""})
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
        rows = list(csv.DictReader(io.StringIO((await r.read()).decode("utf-8-sig"))))
        assert [x["phone"] for x in rows] == ["138****0001", "138****0002"]
        r = await c.post("/console/subscribers/export", data={"_csrf": csrf, "unmasked": "1"})
        assert "13800000001" in (await r.read()).decode("utf-8-sig")
        r = await c.post("/console/subscribers/remove", data={"_csrf": csrf, "phones": "13800000001\n13900000000",
                                                              "reason": "本人要求"})
        page = await r.text()
        assert "已停止发送（标记为已退订） 1 个号码" in page and "139****0000" in page
        assert await _count(svc) == 2
        actions = [a for _, a in await audit_actions(svc)]
        assert actions.count("sms_subscribers_exported") == 2 and "sms_subscribers_viewed" in actions
        assert "sms_subscribers_imported" in actions and "sms_subscriber_removed" in actions
        r = await c.get("/console/subscribers/report?release=5")
        assert r.status == 404 and "没有短信投递" in await r.text()


async def test_who_may_open_and_act_and_refusals_change_nothing(tmp_path: Path) -> None:
    async with console(tmp_path, GONGKAI_CHANNELS__SMS__ENABLED="true") as (svc, _clock), client(svc) as c:
        await add_account(svc, "guanli", Role.ADMIN)
        await add_account(svc, "shenji", Role.AUDITOR)
        await add_account(svc, "lihua", Role.AUTHOR)
        await sign_in(c, "guanli")
        await _import(c, CSV)
        csrf = await page_csrf(c, "/console/subscribers/")
        before = await _count(svc)
        r = await c.post("/console/subscribers/remove", data={"phones": "13800000001"})  # no CSRF token
        assert r.status == 403 and await _count(svc) == before
        r = await c.post("/console/subscribers/import", data=_upload("wrong", CSV))
        assert r.status == 403
        r = await c.post("/console/subscribers/import", data=_upload(csrf, CSV, consent=""), allow_redirects=False)
        assert r.status == 303 and await _count(svc) == before  # no consent: refused before anything is read
        await c.post("/console/logout", data={"_csrf": csrf})
        await sign_in(c, "shenji")
        page = await (await c.get("/console/subscribers/")).text()
        assert "138****0001" in page and "从 CSV 导入" not in page and "显示完整号码" not in page
        r = await c.get("/console/subscribers/?unmasked=1")
        assert r.status == 403
        csrf = await page_csrf(c, "/console/subscribers/")
        r = await c.post("/console/subscribers/remove", data={"_csrf": csrf, "phones": "13800000001"})
        assert r.status == 403 and await _count(svc) == before
        r = await c.post("/console/subscribers/export", data={"_csrf": csrf, "unmasked": "1"})
        assert r.status == 403
        await c.post("/console/logout", data={"_csrf": csrf})
        await sign_in(c, "lihua")
        assert "订阅用户" not in re.sub(r"<main.*", "", await (await c.get("/console/")).text(), flags=re.S)
        assert (await c.get("/console/subscribers/")).status == 403
