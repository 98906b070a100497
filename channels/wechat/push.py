"""Pushes (mass sends) and the account's push quota, modelled from the settings:

* subscription account (订阅号): ``push_quota_per_day`` pushes a day (default 1);
* service account (服务号): each follower receives at most ``push_quota_per_month`` pushes a
  calendar month (default 4); a push to everyone counts for every follower, a push to a tag for
  that tag's followers, a push to an openid list (``list:NAME``, from ``push_lists``) for the
  followers on it.

Days and months are WeChat's (Asia/Shanghai). Pushes already made (the publication ledger) and
pushes planned by releases not yet fired both count. ``release create`` asks :func:`judge`
before storing a release; the delivery asks again before pushing and publishes without a push
if the quota is gone by then."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from channels.wechat import kv
from channels.wechat.config import WechatSettings
from channels.plan_notes import DayNote, Level
from channels.wechat.models import WechatPublication
from content.errors import InputError
from content.models import Release

WECHAT_TZ = ZoneInfo("Asia/Shanghai")
COUNTED = ("pending", "submitted", "published")


@dataclass(frozen=True)
class PushTarget:
    kind: str  # none | all | tag | list (an openid list named in push_lists)
    tag: str = ""  # the tag's or the list's name

    @property
    def key(self) -> str:
        return {"none": "none", "all": "all"}.get(self.kind, f"{self.kind}:{self.tag}")

    @property
    def label(self) -> str:
        what = {"tag": "标签", "list": "名单"}.get(self.kind, "")
        return {"none": "不群发", "all": "群发给全部粉丝"}.get(self.kind, f"群发给{what}“{self.tag}”的粉丝")


def parse(options: Any) -> PushTarget:
    value = str((options or {}).get("push") or "none").strip()
    if value in ("none", ""):
        return PushTarget("none")
    if value == "all":
        return PushTarget("all")
    kind, _, name = value.partition(":")
    if kind in ("tag", "list") and name.strip():
        return PushTarget(kind, name.strip())
    raise InputError(f"群发选项 push={value!r} 无效", field="--push",
                     fix="none、all、tag:标签名 或 list:名单名（名单在 [channels.wechat] push_lists 中配置）")


async def clientmsgid(session: AsyncSession, idempotency_key: str, now: datetime) -> str:
    """Deterministic per (installation, delivery): the same release always sends the same id,
    and a second installation (a test system on the same account) never collides with it."""
    install = await kv.put_if_absent(session, "wechat:install_id", {"id": secrets.token_hex(8)}, now)
    return "gk" + hashlib.sha256(f"{install['id']}:{idempotency_key}".encode()).hexdigest()[:40]


@dataclass
class Verdict:
    allowed: bool = True
    warnings: list[str] = field(default_factory=list)
    refusal: str = ""


def _bounds(when: datetime) -> tuple[datetime, datetime, datetime, datetime, str, str]:
    local = when.astimezone(WECHAT_TZ)
    day = local.replace(hour=0, minute=0, second=0, microsecond=0)
    month = day.replace(day=1)
    next_month = (month + timedelta(days=32)).replace(day=1)
    return day, day + timedelta(days=1), month, next_month, f"{local:%Y-%m-%d}", f"{local:%Y年%m月}"


@dataclass(frozen=True)
class PushUse:
    """One push counted against the quota: made (the publication ledger) or planned (a pending
    release that will push)."""

    at: datetime  # when it was pushed, or the planned release instant
    key: str  # the target's key: all | tag:NAME | list:NAME
    release_id: int
    planned: bool

    @property
    def what(self) -> str:
        return f"发布计划 {self.release_id} {'计划群发' if self.planned else '已群发'}"


async def usage(session: AsyncSession, start: datetime, end: datetime, *, planned: bool = True,
                exclude_delivery: int | None = None) -> list[PushUse]:
    """The pushes that count against the quota in [start, end): those made, then (with
    ``planned``) those pending releases will make. The one count :func:`judge` and the console
    calendar share."""
    found = []
    rows = await session.execute(select(WechatPublication.target, WechatPublication.release_id,
                                        WechatPublication.delivery_id, WechatPublication.pushed_at).where(
        WechatPublication.mode == "push", WechatPublication.status.in_(COUNTED),
        WechatPublication.pushed_at >= start, WechatPublication.pushed_at < end))
    for key, release_id, delivery_id, pushed_at in rows:
        if delivery_id != exclude_delivery and pushed_at is not None:  # the range excludes None
            found.append(PushUse(pushed_at, key, release_id, planned=False))
    if planned:
        for rel_id, due_at, channels, options in await session.execute(
                select(Release.id, Release.due_at, Release.channels, Release.options).where(
                    Release.state == "pending", Release.due_at >= start, Release.due_at < end,
                    Release.options["push"].as_string().is_not(None))  # a month holds ~1,000 without
                .order_by(Release.due_at, Release.id)):
            key = str((options or {}).get("push") or "none")
            if "wechat" in (channels or []) and key != "none":
                found.append(PushUse(due_at, key, rel_id, planned=True))
    return found


async def judge(session: AsyncSession, settings: WechatSettings, target: PushTarget, when: datetime,
                *, exclude_delivery: int | None = None, planned: bool = True,
                emergency: bool = False) -> Verdict:
    """Whether a push to ``target`` at ``when`` fits the quota. Routine pushes may not use the
    pushes kept for emergencies (``settings.reserve``); an emergency item's push may."""
    verdict = Verdict()
    reserve = 0 if emergency else min(settings.reserve, settings.push_quota_per_day
                                      if settings.account_type == "subscription" else settings.push_quota_per_month)
    kept = f"（其中 {reserve} 次为突发事件预留，常规发布不能使用）" if reserve else ""
    if target.kind == "none":
        return verdict
    if target.kind == "list" and target.tag not in settings.push_lists:
        verdict.allowed = False
        verdict.refusal = (f"没有名为“{target.tag}”的群发名单（修正：在 [channels.wechat] push_lists 中配置它，"
                           f"或加 --push none 只发布不群发）")
        return verdict
    day0, day1, month0, month1, day_label, month_label = _bounds(when)
    start = day0 if settings.account_type == "subscription" else month0
    end = day1 if settings.account_type == "subscription" else month1
    targets = [(use.key, use.what) for use in await usage(session, start, end, planned=planned,
                                                          exclude_delivery=exclude_delivery)]
    fix = "修正：加 --push none 只发布不群发，或换一个发布时间"
    if settings.account_type == "subscription":
        quota = settings.push_quota_per_day
        if len(targets) + 1 > quota - reserve:
            spent = "；".join(w for _, w in targets) or "额度为 0"
            verdict.allowed = False
            verdict.refusal = (f"订阅号每天只能群发 {quota} 次{kept}，{day_label} 的额度已用完（{spent}）（{fix}）")
        elif len(targets) + 1 == quota - reserve:
            verdict.warnings.append(f"这将用掉 {day_label} 的群发额度（订阅号每天 {quota} 次）")
        return verdict
    quota = settings.push_quota_per_month
    to_all = [w for k, w in targets if k == "all"]
    by_tag: dict[str, list[str]] = {}  # tag:NAME or list:NAME -> pushes this month
    for k, w in targets:
        if k != "all":
            by_tag.setdefault(k, []).append(w)
    if target.kind == "all":
        if len(to_all) + 1 > quota - reserve:
            verdict.allowed = False
            verdict.refusal = (f"服务号每位粉丝每月最多收到 {quota} 次群发{kept}，{month_label}已群发给全部粉丝 "
                               f"{len(to_all)} 次（{'；'.join(to_all) or '无'}）（{fix}）")
            return verdict
        for key, used in sorted(by_tag.items()):
            if len(to_all) + len(used) + 1 > quota:
                who = parse({"push": key}).label.removeprefix("群发给")
                verdict.warnings.append(f"{who}{month_label}已收到 {len(to_all) + len(used)} 次群发，"
                                        f"这次将收不到（每月最多 {quota} 次）")
        if len(to_all) + 1 == quota - reserve:
            verdict.warnings.append(f"这是{month_label}最后一次可以群发给全部粉丝的机会（每月 {quota} 次）")
        return verdict
    used = to_all + by_tag.get(target.key, [])
    who = target.label.removeprefix("群发给")
    if len(used) + 1 > quota - reserve:
        verdict.allowed = False
        verdict.refusal = (f"{who}{month_label}已收到 {len(used)} 次群发（{'；'.join(used) or '无'}），"
                           f"服务号每位粉丝每月最多 {quota} 次{kept}（{fix}）")
    elif len(used) + 1 == quota - reserve:
        verdict.warnings.append(f"{who}{month_label}将收满 {quota} 次群发")
    return verdict


async def calendar_notes(session: AsyncSession, settings: WechatSettings, first: date,
                         last: date) -> list[DayNote]:
    """Each day's push quota use for the release calendar, counted by :func:`usage` like
    :func:`judge` counts it: pushes per day against a subscription account's daily quota, or
    the month's pushes so far against a service account's monthly quota per follower."""
    daily = settings.account_type == "subscription"
    since = first if daily else first.replace(day=1)
    start = datetime.combine(since, time(0), WECHAT_TZ)
    end = datetime.combine(last + timedelta(days=1), time(0), WECHAT_TZ)
    by_day: dict[date, list[PushUse]] = {}
    for use in await usage(session, start, end):
        by_day.setdefault(use.at.astimezone(WECHAT_TZ).date(), []).append(use)
    notes = []
    day = first
    while day <= last:
        uses = by_day.get(day, [])
        detail = "；".join(f"{u.what}（{parse({'push': u.key}).label}）" for u in uses)
        if daily:
            quota, used = settings.push_quota_per_day, len(uses)
            text = f"微信群发 {used}/{quota}"
        else:
            quota = settings.push_quota_per_month
            month = [u for d, us in by_day.items() if d.replace(day=1) == day.replace(day=1) and d <= day
                     for u in us]
            used = max([sum(1 for u in month if u.key in ("all", key)) for key in {u.key for u in month}],
                       default=0)
            text = f"微信群发 {len(uses)} 次，本月 {used}/{quota}"
        level = Level.OVER if used > quota else Level.FULL if used >= quota else Level.INFO
        notes.append(DayNote("wechat", day, text, level, detail))
        day += timedelta(days=1)
    return notes
