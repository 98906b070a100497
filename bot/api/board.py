"""Reading what is going on: the duty board (``GET /status``, the data of ``gongkai status`` and
the console 工作台, from :mod:`bot.ops.board`) and the release calendar of a month or an ISO
week (``GET /calendar``, the console 发布计划, from :mod:`bot.ops.calendar`)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from bot.api.registry import Call
from bot.api.routes import API
from bot.ops import board as board_ops
from bot.ops import calendar as calendar_ops

TAG = "值班与日历"


class Ticker(BaseModel):
    running: bool
    state: str
    heartbeat_age_seconds: float | None
    node: str | None
    since: datetime | None


class Upcoming(BaseModel):
    id: int
    due_at: datetime
    purpose: str
    channels: list[str]
    overdue_minutes: int | None = Field(description="已过发布时刻仍未发出的分钟数")


class Deliveries(BaseModel):
    in_flight: int
    attention: list[dict[str, Any]] = Field(description="失败、结果未知、暂停或等待重试的投递")
    draining: list[dict[str, Any]] = Field(description="限流中的投递及预计发完时间")


class Status(BaseModel):
    """值班看板：调度是否在运行、即将发布、暂停的组合、投递异常、时限义务、待审核、退回给我的稿件"""

    now: datetime
    ticker: Ticker
    upcoming: list[Upcoming]
    warnings: list[dict[str, Any]] = Field(description="临近发布但仍有稿件未审核的发布计划")
    held: list[dict[str, Any]]
    deliveries: Deliveries
    awaiting_review: list[dict[str, Any]] = Field(description="最早提交的待审核稿件（至多 50 篇）")
    awaiting_review_total: int = Field(description="待审核稿件总数")
    obligations: list[dict[str, Any]]
    returned_to_me: list[dict[str, Any]]
    retractions_awaiting_approval: list[dict[str, Any]]
    calendar_warnings: list[str]


@API.add("GET", "/status", op_id="status", summary="值班看板（与 gongkai status、工作台相同）", tag=TAG,
         answer=Status, roles="任何账号")
async def status(call: Call) -> Status:
    return Status.model_validate(board_ops.to_json(await board_ops.gather(call.svc, call.who)))


class CalendarQuery(BaseModel):
    month: str | None = Field(None, pattern=r"^\d{4}-\d{2}$", description="月份，如 2026-12（默认本月）")
    week: str | None = Field(None, pattern=r"^\d{4}-W\d{2}$", description="ISO 周，如 2026-W49")
    per_day: int | None = Field(None, ge=1, le=100, description="每天最多列出的发布计划数（其余计入 more）；默认全部列出")


class Member(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    state: str
    title: str


class ReleaseEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    state: str
    purpose: str
    due_at: datetime
    fired_at: datetime | None
    channels: list[str]
    push: str
    hold_reason: str
    items: list[Member]


class DeadlineEntry(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    rule: str
    rule_label: str
    subject_id: int
    subject_title: str
    department: str
    due_on: date
    due_at: datetime
    state: str
    state_label: str
    uncertain: bool


class Note(BaseModel):
    channel: str
    text: str
    level: str
    detail: str


class Day(BaseModel):
    day: date
    workday: bool
    reason: str = Field(description="工作日、周末、节假日名或调休上班")
    uncertain: bool = Field(description="该年的节假日数据缺失，按周一至周五推算")
    in_focus: bool
    today: bool
    releases: list[ReleaseEntry]
    more: int = Field(description="当天未列出的发布计划数（指定 per_day 时）")
    deadlines: list[DeadlineEntry]
    notes: list[Note]


class Calendar(BaseModel):
    """发布日历：每天的工作日状态、发布计划、法定时限与渠道提示（如微信群发额度、短信免打扰时段）"""

    view: str
    key: str
    title: str
    first: date
    last: date
    prev: str
    next: str
    days: list[Day]


@API.add("GET", "/calendar", op_id="calendar", summary="发布日历（一个月或一周）", tag=TAG, answer=Calendar,
         query=CalendarQuery, roles="任何账号")
async def calendar(call: Call[Any, CalendarQuery, None]) -> Calendar:
    q = call.query
    cal = await calendar_ops.calendar(call.svc, call.who, month=q.month, week=q.week, per_day=q.per_day)
    span = cal.span
    return Calendar(
        view=str(span.view), key=span.key, title=span.title, first=span.first, last=span.last,
        prev=span.prev_key, next=span.next_key,
        days=[Day(day=d.day, workday=d.info.workday, reason=d.info.reason, uncertain=d.uncertain,
                  in_focus=d.in_focus, today=d.today,
                  releases=[ReleaseEntry.model_validate(r) for r in d.releases], more=d.more,
                  deadlines=[DeadlineEntry.model_validate(x) for x in d.deadlines],
                  notes=[Note(channel=n.channel, text=n.text, level=str(n.level), detail=n.detail) for n in d.notes])
              for d in cal.days])
