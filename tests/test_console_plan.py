"""The release calendar (发布计划) and the release records (发布记录): the calendar's data at real
2026 boundaries (National Day and its 调休 Saturday, the turn of 2026 into 2027), each day's
WeChat push quota use counted as the push precheck counts it, and the console pages on top."""
from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path
from urllib.parse import quote
from zoneinfo import ZoneInfo

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot import outbox
from bot.service import Service
from bot.settings import load
from bot.web import make_app
from channels.base import Outcome, Result
from content import accounts, subscribers, workflow
from content.accounts import Role
from content.models import Delivery, Release

from channels.plan_notes import Level
from channels.wechat import push
from channels.wechat.config import WechatSettings
from content.errors import InputError
from schedules import obligations as ob
from schedules import plan_calendar as pc
from schedules import releases
from schedules.calendar import WorkdayCalendar
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
CALENDAR = WorkdayCalendar.load()


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


async def calendar_of(desk: Desk, **which: str) -> pc.PlanCalendar:
    span = pc.parse_span(**which, today=desk.clock.now().astimezone(SHANGHAI).date())
    async with desk.store.sessions() as s:
        return await pc.build(s, CALENDAR, span, tz=SHANGHAI, now=desk.clock.now())


def day(cal: pc.PlanCalendar, iso: str) -> pc.Day:
    return next(d for d in cal.days if d.day == date.fromisoformat(iso))


# ---------------------------------------------------------------------- spans
def test_month_view_runs_whole_weeks_and_links_to_its_neighbours() -> None:
    span = pc.parse_span(month="2026-12", today=date(2026, 11, 29))
    assert (span.first, span.last) == (date(2026, 11, 30), date(2027, 1, 3))
    assert (span.prev_key, span.next_key, span.title) == ("2026-11", "2027-01", "2026 年 12 月")
    assert len(span.days) % 7 == 0


def test_week_53_of_2026_crosses_into_2027() -> None:
    span = pc.parse_span(week="2026-W53", today=date(2026, 11, 29))
    assert (span.first, span.last) == (date(2026, 12, 28), date(2027, 1, 3))
    assert (span.prev_key, span.next_key) == ("2026-W52", "2027-W01")
    assert pc.week_of(date(2027, 1, 1)) == "2026-W53"


@pytest.mark.parametrize(("which", "words"), [
    ({"month": "2026-13"}, "没有 2026 年 13 月"), ({"month": "十二月"}, "无法识别的年月"),
    ({"week": "2026-W54"}, "2026 年没有第 54 周"), ({"week": "W49"}, "无法识别的周")])
def test_a_malformed_month_or_week_is_named_with_the_form_to_use(which: dict, words: str) -> None:
    with pytest.raises(InputError) as caught:
        pc.parse_span(**which, today=date(2026, 11, 29))
    assert words in str(caught.value) and caught.value.fix


# ---------------------------------------------------------------------- days, releases, deadlines
async def test_national_day_week_marks_holidays_the_adjusted_saturday_and_the_r1_deadline(desk: Desk) -> None:
    desk.clock.set(beijing(2026, 9, 29, 10))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 30, 10))
    await desk.store.transaction(lambda s: ob.evaluate(s, CALENDAR, dict(_rules()), tz=SHANGHAI,
                                                       now=desk.clock.now()))
    news = await desk.approved("news", "节后第一个工作日的通知")
    rel = await desk.schedule([news], at=beijing(2026, 10, 9, 9), channels=("website", "wechat"),
                              options={"push": "all"})
    cal = await calendar_of(desk, month="2026-10")
    assert day(cal, "2026-10-01").holiday and day(cal, "2026-10-01").info.reason == "国庆节"
    assert all(not day(cal, f"2026-10-0{n}").info.workday for n in range(1, 8))
    assert day(cal, "2026-10-08").info.workday and not day(cal, "2026-10-08").holiday
    assert day(cal, "2026-10-10").adjusted and day(cal, "2026-10-10").info.workday
    assert not day(cal, "2026-10-11").holiday  # an ordinary Sunday
    [deadline] = day(cal, "2026-10-10").deadlines
    assert (deadline.rule, deadline.subject_id, deadline.subject_title) == ("R1", policy, "关于优化营商环境的通知")
    [entry] = day(cal, "2026-10-09").releases
    assert (entry.id, entry.state, entry.channels, entry.push) == (rel, "pending", ("website", "wechat"), "all")
    assert [m.title for m in entry.items] == ["节后第一个工作日的通知"]
    [published] = day(cal, "2026-09-30").releases
    assert published.state == "published" and published.fired_at is not None
    assert not day(cal, "2026-09-28").in_focus and day(cal, "2026-10-31").in_focus
    data = cal.as_json()  # what the API answers: English keys, ISO instants
    [saturday] = [d for d in data["days"] if d["date"] == "2026-10-10"]
    assert saturday["adjusted_workday"] and saturday["deadlines"][0]["rule"] == "R1"
    [friday] = [d for d in data["days"] if d["date"] == "2026-10-09"]
    assert friday["releases"][0]["due_at"] == "2026-10-09T01:00:00+00:00"


async def test_new_years_eve_releases_fall_on_their_local_day_and_2027_is_marked_uncertain(desk: Desk) -> None:
    a, b, c = [await desk.approved("news", f"稿件{n}") for n in "甲乙丙"]
    eve = await desk.schedule([a], at=beijing(2026, 12, 31, 23, 30))  # 15:30 UTC
    new_year = await desk.schedule([b], at=beijing(2027, 1, 1, 0, 10))  # still 2026-12-31 in UTC
    gone = await desk.schedule([c], at=beijing(2026, 12, 31, 9))
    await desk.store.transaction(lambda s: releases.cancel(s, gone, actor="carol", now=desk.clock.now()))
    cal = await calendar_of(desk, week="2026-W53")
    assert [r.id for r in day(cal, "2026-12-31").releases] == [eve]
    assert [r.id for r in day(cal, "2027-01-01").releases] == [new_year]
    assert not day(cal, "2026-12-31").uncertain and day(cal, "2027-01-01").uncertain
    month = await calendar_of(desk, month="2026-12")
    assert [r.id for r in day(month, "2027-01-01").releases] == [new_year]
    assert not day(month, "2027-01-01").in_focus


async def test_each_days_push_quota_use_is_what_the_push_precheck_counts(desk: Desk) -> None:
    first, second = await desk.approved("news", "一"), await desk.approved("news", "二")
    await desk.schedule([first], at=beijing(2026, 12, 1, 9), channels=("wechat",), options={"push": "all"})
    await desk.schedule([second], at=beijing(2026, 12, 1, 15), channels=("wechat",), options={"push": "all"})
    subscription = WechatSettings()
    async with desk.store.sessions() as s:
        notes = await push.calendar_notes(s, subscription, date(2026, 11, 30), date(2026, 12, 2))
        verdict = await push.judge(s, subscription, push.PushTarget("all"), beijing(2026, 12, 1, 20))
        service = await push.calendar_notes(s, WechatSettings(account_type="service", notify="off"),
                                            date(2026, 12, 1), date(2026, 12, 2))
    by_day = {n.day: n for n in notes}
    assert (by_day[date(2026, 11, 30)].text, by_day[date(2026, 11, 30)].level) == ("微信群发 0/1", Level.INFO)
    assert (by_day[date(2026, 12, 1)].text, by_day[date(2026, 12, 1)].level) == ("微信群发 2/1", Level.OVER)
    assert "发布计划" in by_day[date(2026, 12, 1)].detail
    assert not verdict.allowed  # the precheck refuses a third push that day, from the same count
    assert [n.text for n in service] == ["微信群发 2 次，本月 2/4", "微信群发 0 次，本月 2/4"]


def _rules():  # noqa: ANN202
    from bot.settings import RulesSettings

    return RulesSettings()


# ====================================================================== the console pages
PASSWORD = "correct horse battery"
PEOPLE = {"alice": ("李华", (Role.AUTHOR,)), "bob": ("王审", (Role.REVIEWER,)),
          "carol": ("陈签", (Role.APPROVER,)), "dave": ("只读", (Role.AUDITOR,))}
CSRF = re.compile(r'name="_csrf" value="([^"]+)"')


class Browser:
    """One signed-in person on the console, through the real web application."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.csrf = ""

    async def sign_in(self, login: str) -> Browser:
        self.client.session.cookie_jar.clear()  # a new person at the same browser
        page = await self.client.get("/console/login")
        token = CSRF.search(await page.text())[1]  # type: ignore[index]
        done = await self.client.post("/console/login", data={"_csrf": token, "login": login,
                                                              "password": PASSWORD, "next": "/console/"},
                                      allow_redirects=False)
        assert done.status == 303, await done.text()
        await self.get("/console/plan/")
        return self

    async def get(self, path: str, status: int = 200) -> str:
        response = await self.client.get(path)
        text = await response.text()
        assert response.status == status, text[:2000]
        if found := CSRF.search(text):
            self.csrf = found[1]
        return text

    async def post(self, path: str, data: list[tuple[str, str]] | dict, status: int = 303) -> ClientResponse:
        pairs = list(data.items()) if isinstance(data, dict) else list(data)
        response = await self.client.post(path, data=[("_csrf", self.csrf), *pairs], allow_redirects=False)
        assert response.status == status, (await response.text())[:2000]
        return response

    async def follow(self, response: ClientResponse) -> str:
        return await self.get(response.headers["Location"])


@pytest.fixture
async def console(tmp_path: Path, database_url: str, clock):  # noqa: ANN001, ANN201
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__DATABASE_URL": database_url,
           "GONGKAI_BOT__LOAD_SAMPLE": "false", "GONGKAI_BOT__DEMO": "false",
           "GONGKAI_CHANNELS__SMS__ENABLED": "true", "GONGKAI_CHANNELS__SMS__SANDBOX": "true"}
    service = await Service.create(load(None, environ=env), clock=clock)
    async with service.store.sessions() as s, s.begin():
        for login, (name, roles) in PEOPLE.items():
            await accounts.add(s, login, name=name, roles=roles, password=PASSWORD, actor="admin",
                               now=clock.now())
    async with TestClient(TestServer(make_app(service))) as client:
        client.service = service  # type: ignore[attr-defined]
        client.desk = Desk(service.store, clock, tmp_path / "files")  # type: ignore[attr-defined]
        yield client
    await service.store.close()


async def as_(console: TestClient, login: str) -> Browser:
    return await Browser(console).sign_in(login)


async def subscribe(console: TestClient, *phones: str, topic: str = "all") -> None:
    svc = console.service  # type: ignore[attr-defined]
    async with svc.store.sessions() as s, s.begin():
        for phone in phones:
            await subscribers.upsert(s, "sms", phone, now=svc.clock.now(), status="active", topics=[topic],
                                     consent_method="test")


def shown(page: str) -> str:
    """The reach a confirmation page showed, as its form sends it back."""
    return re.search(r'name="reach" value="([^"]*)"', page)[1]  # type: ignore[index]


async def release_rows(console: TestClient) -> list[Release]:
    async with console.service.store.sessions() as s:  # type: ignore[attr-defined]
        return list(await s.scalars(select(Release).order_by(Release.id)))


async def test_month_and_week_pages_show_national_day_the_adjusted_saturday_and_the_r1_deadline(console) -> None:  # noqa: ANN001
    desk = console.desk
    desk.clock.set(beijing(2026, 9, 29, 10))
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    await desk.publish([policy], at=beijing(2026, 9, 30, 10))
    await console.service.evaluate_obligations()
    me = await as_(console, "alice")  # reading the calendar needs no particular role
    month = await me.get("/console/plan/?month=2026-10")
    assert 'href="/console/plan/?month=2026-09"' in month and 'href="/console/plan/?month=2026-11"' in month
    assert month.count("holiday\">国庆节<") == 7 and month.count("tag adjusted\">调休上班<") == 1
    assert "R1 时限" in month and "关于优化营商环境的通知" in month
    assert "短信免打扰 21:00–08:00" in month  # the quiet hours, from the SMS channel
    week = await me.get("/console/plan/?week=2026-W41")
    row = re.search(r"10月10日 周六.*?</tr>", week, re.S)[0]  # type: ignore[index]
    assert "调休上班" in row and "R1 时限" in row
    assert 'href="/console/plan/?week=2026-W40"' in week and 'href="/console/plan/?week=2026-W42"' in week


async def test_the_turn_of_the_year_links_2026_to_2027_and_marks_unofficial_days(console) -> None:  # noqa: ANN001
    me = await as_(console, "dave")
    december = await me.get("/console/plan/?month=2026-12")
    assert 'href="/console/plan/?month=2027-01"' in december and "2026 年 12 月" in december
    week = await me.get("/console/plan/?week=2026-W53")
    assert "12月31日 周四" in week and "1月1日 周五" in week and "推算" in week
    assert 'href="/console/plan/?week=2027-W01"' in week
    bad = await me.get("/console/plan/?month=2026-13", status=400)
    assert "没有 2026 年 13 月" in bad


async def test_an_sms_release_from_the_builder_is_created_only_once_confirmed(console) -> None:  # noqa: ANN001
    desk = console.desk
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    reading = await desk.approved("interpretation", "一图读懂", interprets=policy)
    await subscribe(console, "13800000001", "13800000002", "13800000003")
    me = await as_(console, "carol")
    builder = await me.get(f"/console/plan/new?item={policy}")
    assert re.search(rf'value="{policy}" checked', builder) and re.search(rf'value="{reading}" checked', builder)
    form = [("items", str(policy)), ("items", str(reading)), ("at", "2026-12-01 09:00"),
            ("channels", "website"), ("channels", "sms"), ("push", "none")]
    asked = await (await me.post("/console/plan/new", form, status=200)).text()
    assert "确认创建" in asked and "短信订阅号码" in asked and "<td class=\"num\">3</td>" in asked
    assert await release_rows(console) == []  # nothing until confirmed
    await subscribe(console, "13800000004")  # someone subscribes while the page is open
    stale = await (await me.post("/console/plan/new", [*form, ("confirmed", "yes"), ("reach", shown(asked))],
                                 status=200)).text()
    assert "发送范围在您确认后有变化" in stale and "<td class=\"num\">4</td>" in stale
    assert await release_rows(console) == []
    done = await me.post("/console/plan/new", [*form, ("confirmed", "yes"), ("reach", shown(stale))])
    page = await me.follow(done)
    [rel] = await release_rows(console)
    assert done.headers["Location"] == f"/console/releases/{rel.id}"
    assert rel.due_at == beijing(2026, 12, 1, 9) and rel.channels == ["website", "sms"]
    assert "已创建发布计划" in page and "2026-12-01 09:00" in page and "一图读懂" in page
    calendar = await me.get("/console/plan/?month=2026-12")
    assert f'href="/console/releases/{rel.id}"' in calendar


async def test_a_bad_instant_or_an_empty_choice_is_named_and_nothing_is_created(console) -> None:  # noqa: ANN001
    item = await console.desk.approved("news", "通知")
    me = await as_(console, "carol")
    text = await (await me.post("/console/plan/new", [("items", str(item)), ("at", "2026-02-30 09:00"),
                                                      ("channels", "website")], status=400)).text()
    assert "2026 年 2 月只有 28 天" in text and 'value="2026-02-30 09:00"' in text
    text = await (await me.post("/console/plan/new", [("at", "2026-12-01 09:00"), ("channels", "website")],
                                status=400)).text()
    assert "没有选择稿件" in text
    assert await release_rows(console) == []


async def test_reschedule_cancel_and_split_through_the_release_page(console) -> None:  # noqa: ANN001
    desk = console.desk
    news = await desk.approved("news", "通知")
    rel = await desk.schedule([news], at=beijing(2026, 11, 25, 9))
    me = await as_(console, "carol")
    page = await me.get(f"/console/releases/{rel}")
    assert "改期" in page and "取消发布计划" in page
    await me.post(f"/console/releases/{rel}/reschedule", {"at": "2026年11月26日 15:30"})
    [row] = await release_rows(console)
    assert row.due_at == beijing(2026, 11, 26, 15, 30)
    shown = await me.get(f"/console/releases/{rel}")
    assert "改为 2026-11-26 15:30 发布" in shown
    await me.post(f"/console/releases/{rel}/cancel", {"reason": "内容调整"})
    [row] = await release_rows(console)
    assert row.state == "cancelled"
    # a held bundle: the policy goes out alone, the interpretation waits
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    reading = await desk.add("interpretation", "解读", interprets=policy)
    await desk.store.transaction(lambda s: workflow.submit(s, reading, actor="alice", now=desk.clock.now(),
                                                           rules=desk.rules, files=desk.files))
    bundle = await desk.schedule([policy, reading], at=beijing(2026, 11, 20, 10, 1), allow_pending=True)
    desk.clock.set(beijing(2026, 11, 20, 10, 1))
    assert (await desk.fire(bundle)).outcome == "held"
    held = await me.get(f"/console/releases/{bundle}")
    assert "拆分：先发布已审核的稿件" in held
    done = await me.post(f"/console/releases/{bundle}/split", {})
    rows = await release_rows(console)
    assert rows[-1].split_from == bundle and done.headers["Location"] == f"/console/releases/{rows[-1].id}"


async def test_an_author_is_refused_with_403_and_nothing_changes(console) -> None:  # noqa: ANN001
    desk = console.desk
    news, other = await desk.approved("news", "通知"), await desk.approved("news", "另一篇")
    rel = await desk.schedule([news], at=beijing(2026, 11, 25, 9))
    desk.clock.set(beijing(2026, 11, 25, 9))
    await desk.fire(rel)
    async with console.service.store.sessions() as s:
        [delivery] = list(await s.scalars(select(Delivery).where(Delivery.release_id == rel)))
    await console.service.store.transaction(lambda s: outbox.settle(
        s, delivery.id, Result(Outcome.FAILED, "磁盘已满"), now=desk.clock.now(), source="test"))
    before = [(r.id, r.state, r.due_at) for r in await release_rows(console)]
    me = await as_(console, "alice")
    shown = await me.get(f"/console/releases/{rel}")  # a page the author may read, without the forms
    assert "磁盘已满" in shown and "/resolve" not in shown and f"/console/releases/{rel}/cancel" not in shown
    for path, data in [("/console/plan/new", [("items", str(other)), ("at", "2026-12-01 09:00"),
                                              ("channels", "website"), ("confirmed", "yes")]),
                       (f"/console/releases/{rel}/reschedule", [("at", "2026-12-01 09:00")]),
                       (f"/console/releases/{rel}/cancel", []),
                       (f"/console/releases/{rel}/split", []),
                       (f"/console/deliveries/{delivery.id}/resolve", [("outcome", "done"), ("note", "已处理")])]:
        refused = await me.post(path, data, status=403)
        assert "审核签发" in await refused.text()
    assert [(r.id, r.state, r.due_at) for r in await release_rows(console)] == before
    async with console.service.store.sessions() as s:
        assert (await s.get(Delivery, delivery.id)).state == "failed"  # type: ignore[union-attr]
    # the approver closes it with a note, from the release page
    approver = await as_(console, "carol")
    page = await approver.get(f"/console/releases/{rel}")
    assert "磁盘已满" in page and "关闭这条失败的投递" in page
    closed = await approver.post(f"/console/deliveries/{delivery.id}/resolve",
                                 {"outcome": "done", "note": "已手工上传", "back": str(rel)})
    assert "已人工处理" in await approver.follow(closed)


XSS = '<script>alert(1)</script>"><img src=x onerror=alert(2)>'


async def test_xss_payloads_in_titles_reasons_and_queries_are_inert(console) -> None:  # noqa: ANN001
    desk = console.desk
    item = await desk.approved("news", XSS)
    rel = await desk.schedule([item], at=beijing(2026, 11, 25, 9))
    me = await as_(console, "carol")
    await me.post(f"/console/releases/{rel}/reschedule", {"at": XSS})  # an error that quotes the input
    pages = [await me.get("/console/plan/?month=2026-11"), await me.get("/console/plan/?week=2026-W48"),
             await me.get(f"/console/releases/{rel}"), await me.get("/console/releases/"),
             await me.get("/console/plan/new?q=" + quote(XSS)),
             await me.get("/console/plan/?month=" + quote(XSS), status=400)]
    for page in pages:
        assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in pages[0]


async def test_a_split_that_texts_subscribers_asks_first(console) -> None:  # noqa: ANN001
    desk = console.desk
    await subscribe(console, "13800000001", "13800000002")
    policy = await desk.approved("policy", "关于优化营商环境的通知")
    reading = await desk.add("interpretation", "解读", interprets=policy)
    await desk.store.transaction(lambda s: workflow.submit(s, reading, actor="alice", now=desk.clock.now(),
                                                           rules=desk.rules, files=desk.files))
    bundle = await desk.schedule([policy, reading], at=beijing(2026, 11, 20, 10, 1), allow_pending=True,
                                 channels=("website", "sms"))
    desk.clock.set(beijing(2026, 11, 20, 10, 1))
    assert (await desk.fire(bundle)).outcome == "held"
    me = await as_(console, "carol")
    await me.get(f"/console/releases/{bundle}")
    asked = await (await me.post(f"/console/releases/{bundle}/split", {}, status=200)).text()
    assert "确认拆分并发布" in asked and "<td class=\"num\">2</td>" in asked
    assert len(await release_rows(console)) == 1
    await me.post(f"/console/releases/{bundle}/split", {"confirmed": "yes", "reach": shown(asked)})
    rows = await release_rows(console)
    assert len(rows) == 2 and rows[-1].split_from == bundle
