"""报表 in the console: the compliance report, annual table II (with a figure entered through the
form) and the self-inspection, shown and downloadable; the same ops as the command line."""
from __future__ import annotations

import io
import json
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from openpyxl import load_workbook

from content.accounts import Role
from content.clock import FixedClock
from tests.console_support import add_account, audit_actions, client, console, csrf_in, sign_in
from tests.desk import Desk
from tests.test_inspect import build

SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def test_reports_in_the_console(tmp_path: Path) -> None:
    clock = FixedClock(beijing(2026, 9, 29, 9))
    async with console(tmp_path, clock=clock, GONGKAI_CHANNELS__WECHAT__ENABLED="false",
                       GONGKAI_CHANNELS__WEIBO__ENABLED="false") as (svc, clock), client(svc) as c:
        await add_account(svc, "erin", Role.AUDITOR, name="审计员")
        await add_account(svc, "carol", Role.APPROVER, name="签发人")
        desk = Desk(svc.store, clock, tmp_path / "files")
        policy = await desk.approved("policy", "关于优化营商环境的通知")
        await desk.publish([policy], at=beijing(2026, 9, 29, 10))
        interp = await desk.approved("interpretation", "图解<营商环境>", interprets=policy)
        await desk.publish([interp], at=beijing(2026, 10, 12, 10))
        await svc.evaluate_obligations()

        await sign_in(c, "erin")
        page = await (await c.get("/console/")).text()
        assert 'href="/console/reports/"' in page  # in the menu for every role
        r = await c.get("/console/reports/?from=2026-10-01&to=2026-10-31")
        page = await r.text()
        assert r.status == 200 and "按部门和规则统计" in page and "政策文件发布后解读" in page
        assert "2 个工作日" in page and "逾期完成" in page
        r = await c.get("/console/reports/compliance.xlsx?from=2026-10-01&to=2026-10-31&department=")
        assert r.status == 200 and "attachment" in r.headers["Content-Disposition"]
        ws = load_workbook(io.BytesIO(await r.read()))["时限义务"]
        assert any(row[1] == "R1" and row[5] == 1 for row in ws.iter_rows(values_only=True))
        doc = json.loads(await (await c.get("/console/reports/compliance.json?from=2026-10-01&to=2026-10-31")).text())
        assert [r["late_workdays"] for r in doc["rules"] if r["rule"] == "R1"] == [2]
        bad = await (await c.get("/console/reports/?from=2026-10-31&to=2026-10-01")).text()
        assert "早于开始日期" in bad

        page = await (await c.get("/console/reports/annual?year=2026")).text()
        assert "第二十条第（五）项" in page and "待填写" in page and "填写库中没有的数据" not in page
        page = await (await c.get("/console/reports/inspect")).text()
        assert "不存在" in page and "gongkai site build" in page  # no site built yet: said, not a crash
        await build(svc)
        page = await (await c.get("/console/reports/inspect")).text()
        assert "I1" in page and "首页两周内更新" in page and "全部指标通过" in page
        r = await c.get("/console/reports/inspect.csv")
        assert (await r.read()).startswith(b"\xef\xbb\xbf") and r.headers["Content-Type"].startswith("text/csv")

        c.session.cookie_jar.clear()
        await sign_in(c, "carol")
        page = await (await c.get("/console/reports/annual?year=2026")).text()
        assert "填写库中没有的数据" in page
        r = await c.post("/console/reports/annual", data={"_csrf": csrf_in(page), "year": "2026",
                                                            "cell": "licensing:decisions", "value": "128"},
                         allow_redirects=False)
        assert r.status == 303
        page = await (await c.get(r.headers["Location"])).text()
        assert "已保存：2026 年 行政许可·本年处理决定数量 = 128" in page and "人工填写（carol" in page
        r = await c.post("/console/reports/annual", data={"_csrf": csrf_in(page), "year": "2026",
                                                            "cell": "licensing:decisions", "value": "-3"},
                         allow_redirects=False)
        page = await (await c.get(r.headers["Location"])).text()
        assert "不是有效的数值" in page
        assert ("carol", "annual_report_set") in await audit_actions(svc)
        r = await c.post("/console/reports/annual", data={"year": "2026", "cell": "licensing:decisions",
                                                            "value": "1"}, allow_redirects=False)
        assert r.status == 403  # no CSRF token: refused before anything runs
