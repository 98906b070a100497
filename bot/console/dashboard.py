"""工作台 (``/console/``): what needs the signed-in account now, from the duty board
(``bot.ops.board``, the same data as ``gongkai status``)."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta

from aiohttp import web

from bot.console import kit
from bot.ops import board
from content.accounts import Role
from schedules import duty_messages
from schedules.plan_calendar import WEEKDAYS, week_of

LAST_MINUTE = timedelta(minutes=1)
REVIEW_SHOWN = 20  # the oldest steps waiting for me; the 稿件 list has them all
RELEASES_SHOWN = 15  # today's first releases; the week's calendar has them all


@kit.view("/console/")
async def dashboard(request: web.Request) -> web.StreamResponse:
    service, who = kit.svc(request), kit.who(request)
    b = await board.gather(service, who)
    tz = service.settings.tz
    today = b.now.astimezone(tz).date()
    today_releases = [r for r in b.this_week if r.due_at.astimezone(tz).date() == today]
    later_releases = [r for r in b.this_week if r.due_at.astimezone(tz).date() > today]
    later_days = sorted(Counter(r.due_at.astimezone(tz).date() for r in later_releases).items())
    return await kit.render(
        request, "dashboard.html", b=b, review=b.my_steps, reviewer=who.has(Role.REVIEWER) or who.has(Role.APPROVER),
        approver=who.has(Role.APPROVER), today_releases=today_releases, later_releases=later_releases,
        last_minute=LAST_MINUTE, review_shown=REVIEW_SHOWN, review_limit=board.MY_STEPS_LIMIT,
        releases_shown=RELEASES_SHOWN, later_days=later_days, this_week=week_of(today),
        weekday=lambda day: "周" + WEEKDAYS[day.weekday()], dm=duty_messages)
