"""工作台 (``/console/``): what needs the signed-in account now, from the duty board
(``bot.ops.board``, the same data as ``gongkai status``)."""
from __future__ import annotations

from datetime import timedelta

from aiohttp import web

from bot.console import kit
from bot.ops import board
from content.accounts import Role
from schedules import duty_messages

LAST_MINUTE = timedelta(minutes=1)


@kit.view("/console/")
async def dashboard(request: web.Request) -> web.StreamResponse:
    service, who = kit.svc(request), kit.who(request)
    b = await board.gather(service, who)
    tz = service.settings.tz
    today = b.now.astimezone(tz).date()
    today_releases = [r for r in b.this_week if r.due_at.astimezone(tz).date() == today]
    later_releases = [r for r in b.this_week if r.due_at.astimezone(tz).date() > today]
    return await kit.render(
        request, "dashboard.html", b=b, review=b.my_steps, reviewer=who.has(Role.REVIEWER) or who.has(Role.APPROVER),
        approver=who.has(Role.APPROVER), today_releases=today_releases, later_releases=later_releases,
        last_minute=LAST_MINUTE, dm=duty_messages)
