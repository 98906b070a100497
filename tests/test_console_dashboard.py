"""The 工作台: what waits for the signed-in person (review, returned items with the comment),
today's and this week's releases, held bundles, and whether the scheduler runs."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from content import workflow
from content.accounts import Role
from tests.console_support import add_account, client, console, sign_in
from tests.desk import Desk

BEIJING = timezone(timedelta(hours=8))


async def test_the_dashboard_shows_what_needs_me(tmp_path: Path) -> None:
    async with console(tmp_path) as (svc, clock), client(svc) as c:
        await add_account(svc, "alice", Role.AUTHOR, name="李撰稿")
        await add_account(svc, "bob", Role.REVIEWER, name="王审查")
        desk = Desk(svc.store, clock, tmp_path / "files")
        waiting = await desk.add(title="社区服务中心搬迁通知")
        await svc.store.transaction(lambda s: workflow.submit(s, waiting, actor="alice", now=clock.now(),
                                                              rules=desk.rules, files=desk.files))
        returned = await desk.add(title="春季防火提示")
        await svc.store.transaction(lambda s: workflow.submit(s, returned, actor="alice", now=clock.now(),
                                                              rules=desk.rules, files=desk.files))
        await svc.store.transaction(lambda s: workflow.return_item(
            s, returned, actor="bob", now=clock.now(), comment="<b>请补充</b>开放时间"))
        ready = await desk.approved(title="已审核的通知")
        today = await desk.schedule([ready], at=datetime(2026, 3, 2, 15, 0, tzinfo=BEIJING))
        thursday = await desk.schedule([await desk.approved(title="周四发布")],
                                       at=datetime(2026, 3, 5, 9, 30, tzinfo=BEIJING))
        next_week = await desk.schedule([await desk.approved(title="下周发布")],
                                        at=datetime(2026, 3, 9, 9, 30, tzinfo=BEIJING))
        held = await desk.schedule([await desk.approved(title="政策"), waiting], allow_pending=True,
                                   at=clock.now() + timedelta(minutes=1))
        clock.advance(minutes=1)
        assert (await desk.fire(held)).outcome == "held"

        await sign_in(c, "bob")
        page = await (await c.get("/console/")).text()
        review = page.split('id="h-review"')[1].split("</section>")[0]
        assert "社区服务中心搬迁通知" in review and f"/console/items/{waiting}" in review
        assert "退回给我<span class=\"count\">0" in page
        today_part = page.split('id="h-today"')[1].split("</section>")[0]
        assert f"计划 {today}" in today_part.split("本周其余")[0] and "15:00" in today_part
        later = today_part.split("本周其余")[1]  # the rest of the week by day, linking to its calendar
        assert thursday and "03-05 周四</a>：1 项发布计划" in later and "/console/plan/?week=2026-W10" in later
        assert f"计划 {next_week}" not in page and "03-09" not in page
        held_part = page.split('id="h-held"')[1].split("</section>")[0]
        assert f"计划 {held}" in held_part and "已暂停" in held_part
        assert "调度器从未运行" in page

        c.session.cookie_jar.clear()
        await sign_in(c, "alice")
        page = await (await c.get("/console/")).text()
        review = page.split('id="h-review"')[1].split("</section>")[0]
        assert "社区服务中心搬迁通知" not in review and "您没有审核角色" in review
        mine = page.split('id="h-returned"')[1].split("</section>")[0]
        assert "春季防火提示" in mine and "bob" in mine
        assert "&lt;b&gt;请补充&lt;/b&gt;开放时间" in mine and "<b>请补充" not in mine
