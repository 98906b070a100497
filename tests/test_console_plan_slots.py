"""The 发布计划 page at scale and with posting slots: a month cell lists four releases and folds
the rest into "另有 N 项" (the week lists them all, as the API does unless asked for fewer); the
week shows each channel's posting slots as the queue judges them (free, taken by which release,
unavailable when the WeChat push quota is spent or Weibo's daily cap is reached) around National
Day 2026 and its 调休 Saturday; and an approver queues approved items into the next free slots
from the console, while an author is refused (403) and a form without its token too."""
from __future__ import annotations

import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import func, select

from bot import settings as config
from bot.ops import calendar as calendar_ops
from bot.ops import releases
from bot.service import Service
from bot.web import make_app
from content import accounts
from content.accounts import Role
from content.clock import FixedClock
from content.models import Item, Release
from tests.desk import Desk
from tests.test_console_plan import PASSWORD, Browser
from tests.test_slots import CONFIG  # WeChat 工作日 18:00; Weibo 09:00, 12:00, 17:00 with a daily cap of 2

SHANGHAI = ZoneInfo("Asia/Shanghai")


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


@pytest.fixture
async def console(tmp_path: Path, database_url: str):  # noqa: ANN201
    file = tmp_path / "config.toml"
    file.write_text(CONFIG, encoding="utf-8")
    settings = config.load(file, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                          "GONGKAI_BOT__DATABASE_URL": database_url,
                                          "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_BOT__DEMO": "false"})
    clock = FixedClock(beijing(2026, 9, 30, 10))  # Wednesday before National Day
    service = await Service.create(settings, clock=clock)
    async with service.store.sessions() as s, s.begin():
        for login, roles in (("alice", (Role.AUTHOR,)), ("carol", (Role.APPROVER,))):
            await accounts.add(s, login, name=login, roles=roles, password=PASSWORD, actor="admin", now=clock.now())
    async with TestClient(TestServer(make_app(service))) as client:
        client.service = service  # type: ignore[attr-defined]
        client.desk = Desk(service.store, clock, tmp_path / "files")  # type: ignore[attr-defined]
        yield client
    await service.store.close()


def row(page: str, day: str) -> str:
    """The week view's row of one day (``day`` as 2026-10-01)."""
    return re.search(rf'<tr id="day-{day}".*?</tr>', page, re.S)[0]  # type: ignore[index]


def cell(page: str, label: str) -> str:
    """The month view's cell whose date link reads ``label`` (10月9日 …)."""
    return re.search(rf'<td class="day[^"]*">\s*<div class="dayhead">\s*<a [^>]*aria-label="{label}.*?</td>',
                     page, re.S)[0]  # type: ignore[index]


async def releases_now(console: Any) -> list[tuple[int, str, datetime]]:
    """Every release (id, state, instant); ``console``: the console's client or the API's ``Api``."""
    async with console.service.store.sessions() as s:
        return [(r.id, r.state, r.due_at) for r in await s.scalars(select(Release).order_by(Release.id))]


async def test_a_busy_day_shows_four_releases_and_folds_the_rest_into_the_week(console) -> None:  # noqa: ANN001
    desk = console.desk
    ids = [await desk.schedule([await desk.approved("news", f"工作动态{n}")], at=beijing(2026, 10, 9, 8, n))
           for n in range(7)]
    me = await Browser(console).sign_in("alice")
    month = await me.get("/console/plan/?month=2026-10")
    friday = cell(month, "10月9日")
    assert [f"计划 {i}" in friday for i in ids] == [True] * 4 + [False] * 3  # the first four, in time order
    assert "另有 3 项" in friday and 'href="/console/plan/?week=2026-W41#day-2026-10-09"' in friday
    week = await me.get("/console/plan/?week=2026-W41")
    assert all(f'href="/console/releases/{i}"' in row(week, "2026-10-09") for i in ids)  # all seven
    assert "另有" not in week
    # the API's calendar lists every release unless asked for fewer a day, and then says how many more
    who = accounts.AccountView("alice", "alice", "", (Role.AUTHOR,), False, False)
    full = await calendar_ops.calendar(console.service, who, month="2026-10")
    folded = await calendar_ops.calendar(console.service, who, month="2026-10", per_day=4)
    [whole] = [d for d in full.days if d.releases]
    [short] = [d for d in folded.days if d.releases]
    assert (len(whole.releases), whole.more, len(short.releases), short.more) == (7, 0, 4, 3)
    assert full.release_count == folded.release_count == 7


async def test_the_week_shows_each_slot_free_taken_or_unavailable_around_national_day(console) -> None:  # noqa: ANN001
    svc, desk = console.service, console.desk
    carol = accounts.AccountView("carol", "carol", "", (Role.APPROVER,), False, False)
    pushed = await releases.create(svc, carol, [await desk.approved("news", "国庆假期办事指南")],
                                   due_at=beijing(2026, 9, 30, 11), channels=["website", "wechat"],
                                   options={"push": "all"}, confirm=releases.confirmed)  # today's one push
    morning = await desk.schedule([await desk.approved("news", "国庆升旗")], at=beijing(2026, 10, 1, 9),
                                  channels=("weibo",))
    noon = await desk.schedule([await desk.approved("news", "国庆游园")], at=beijing(2026, 10, 1, 12),
                               channels=("weibo",))
    me = await Browser(console).sign_in("alice")
    week = await me.get("/console/plan/?week=2026-W40")
    assert "发布时段" in week
    wednesday = row(week, "2026-09-30")  # 10:00 now: 09:00 is past, the WeChat push quota is spent
    assert re.search(r"09:00</time> 微博\s*<span[^>]*>已过", wednesday)
    assert re.search(r"12:00</time> 微博\s*<span[^>]*>空闲", wednesday)
    assert re.search(r"18:00</time> 微信公众号\s*<span[^>]*>不可用（[^<]*额度", wednesday)
    national = row(week, "2026-10-01")  # a holiday: no 工作日 WeChat slot; Weibo posts every day
    assert "国庆节" in national and "微信" not in national.split("data-label=\"时段\"")[1].split("</td>")[0]
    assert re.search(rf"09:00</time> 微博\s*<span[^>]*>已占用</span>\s*<a href=\"/console/releases/{morning}\"",
                     national)
    assert re.search(rf"12:00</time> 微博\s*<span[^>]*>已占用</span>\s*<a href=\"/console/releases/{noon}\"",
                     national)
    assert re.search(r"17:00</time> 微博\s*<span[^>]*>不可用（当天已达每日上限 2 条）", national)
    adjusted = row(await me.get("/console/plan/?week=2026-W41"), "2026-10-10")  # 调休 Saturday: a working day
    assert "调休上班" in adjusted and re.search(r"18:00</time> 微信公众号\s*<span[^>]*>空闲", adjusted)
    sunday = row(await me.get("/console/plan/?week=2026-W41"), "2026-10-11")
    assert "微信" not in sunday.split("data-label=\"时段\"")[1].split("</td>")[0]
    month = await me.get("/console/plan/?month=2026-10")
    assert re.search(r'class="slotsum[^"]*" title="[^"]*17:00 微博：不可用（当天已达每日上限 2 条）[^"]*">时段 空闲 0/3',
                     cell(month, "10月1日"))
    assert f'href="/console/releases/{pushed.release.id}"' in month


async def test_an_approver_queues_from_the_console_and_sees_where_each_landed(console) -> None:  # noqa: ANN001
    svc, desk = console.service, console.desk
    carol = accounts.AccountView("carol", "carol", "", (Role.APPROVER,), False, False)
    await releases.create(svc, carol, [await desk.approved("news", "国庆假期办事指南")],
                          due_at=beijing(2026, 9, 30, 11), channels=["website", "wechat"],
                          options={"push": "all"}, confirm=releases.confirmed)
    first, second = await desk.approved("news", "秋季防火提示"), await desk.approved("news", "供暖准备")
    scheduled = await desk.approved("news", "已定时的稿件")
    await desk.schedule([scheduled], at=beijing(2026, 10, 12, 9))
    form = [("items", str(first)), ("items", str(second)), ("channels", "website"), ("channels", "wechat"),
            ("push", "all")]
    # an author sees the form but is refused, and a form without its token is refused before that
    alice = await Browser(console).sign_in("alice")
    assert "排入下一个空闲时段" in await alice.get("/console/plan/queue")
    before = await releases_now(console)
    refused = await alice.post("/console/plan/queue", form, status=403)
    assert "审核签发" in await refused.text()
    me = await Browser(console).sign_in("carol")
    page = await me.get(f"/console/items/{first}")
    assert f'href="/console/plan/queue?item={first}"' in page
    assert f'value="{first}" checked' in await me.get(f"/console/plan/queue?item={first}")
    bare = await console.post("/console/plan/queue", data=form, allow_redirects=False)
    assert bare.status == 403
    assert await releases_now(console) == before
    # an already scheduled item keeps its instant: the refusal is named and nothing is made
    kept = await (await me.post("/console/plan/queue", [*form, ("items", str(scheduled))], status=400)).text()
    assert "只有已审核的稿件可以排入发布时段" in kept and "不会被移动" in kept
    assert await releases_now(console) == before
    done = await (await me.post("/console/plan/queue", form, status=200)).text()
    made = (await releases_now(console))[len(before):]
    assert [due for _, _, due in made] == [beijing(2026, 10, 8, 18), beijing(2026, 10, 9, 18)]  # past National Day
    assert "已排入发布时段" in done and "2026-10-08 18:00</time>（周四）" in done and "2026-10-09 18:00</time>（周五）" in done
    assert f'href="/console/releases/{made[0][0]}"' in done and "额度已用完" in done  # the slots passed over
    week = await me.get("/console/plan/?week=2026-W41")
    assert re.search(rf"18:00</time> 微信公众号\s*<span[^>]*>已占用</span>\s*<a href=\"/console/releases/{made[0][0]}\"",
                     row(week, "2026-10-08"))
    async with svc.store.sessions() as s:
        approved = await s.scalar(select(func.count()).select_from(Item).where(Item.state == "approved"))
    assert approved == 0


async def test_the_api_queues_through_the_same_function_and_folds_the_calendar_on_request(tmp_path: Path) -> None:
    from tests.apikit import running_api
    from tests.test_api import NEWS, approved_item

    clock = FixedClock(beijing(2026, 9, 30, 10))
    slots = {"GONGKAI_CHANNELS__WEIBO__SLOTS": '["09:00", "12:00", "17:00"]', "GONGKAI_CHANNELS__WEIBO__DAILY_CAP": "2"}
    async with running_api(tmp_path, f"sqlite:///{tmp_path / 'api.db'}", clock, slots) as api:
        items = [await approved_item(api, {**NEWS, "title": f"微博动态{n}"}) for n in range(3)]
        status, body = await api.call("POST", "/releases/queue", "author", json={"item_ids": items[:1],
                                                                                 "channels": ["weibo"]})
        assert status == 403 and await releases_now(api) == []
        status, body = await api.call("POST", "/releases/queue", "approver", json={"item_ids": items,
                                                                                   "channels": ["weibo"]})
        assert status == 200, body
        assert [datetime.fromisoformat(p["due_at"]) for p in body["queued"]] == [
            beijing(2026, 9, 30, 12), beijing(2026, 9, 30, 17), beijing(2026, 10, 1, 9)]
        assert any("每日上限 2 条" in s for s in body["queued"][2]["skipped"])
        status, cal = await api.call("GET", "/calendar?month=2026-09&per_day=1", "author")
        [day] = [d for d in cal["days"] if d["day"] == "2026-09-30"]
        assert (len(day["releases"]), day["more"]) == (1, 1)
        status, cal = await api.call("GET", "/calendar?month=2026-09", "author")
        [day] = [d for d in cal["days"] if d["day"] == "2026-09-30"]
        assert (len(day["releases"]), day["more"]) == (2, 0)
