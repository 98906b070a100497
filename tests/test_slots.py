"""Posting slots and the queue: approved items go to each channel's next free slot, on working
days when the slot says 工作日, past a spent WeChat push quota and a channel's daily cap; an
explicit instant is never moved. Real 2026 dates (National Day, the 调休 Saturday 10 October)."""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot import settings as config
from bot.ops import queue, releases
from bot.service import Service
from content.accounts import AccountView, Role
from content.clock import FixedClock
from content.errors import InputError, WorkflowError
from tests.botproc import bot_env, cli_json, invoke
from tests.desk import Desk

SHANGHAI = ZoneInfo("Asia/Shanghai")
CAROL = AccountView("carol", "carol", "", (Role.APPROVER,), False, False)
CONFIG = """
[channels.wechat]
slots = ["工作日 18:00"]
[channels.weibo]
slots = ["09:00", "12:00", "17:00"]
daily_cap = 2
[channels.sms]
enabled = false
"""


def beijing(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI).astimezone(timezone.utc)


def local(when: datetime) -> str:
    return when.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")


def agree(reach: list) -> list[str]:  # noqa: ANN001
    return releases.confirmed(reach)


@pytest.fixture
async def world(tmp_path: Path, database_url: str):
    file = tmp_path / "config.toml"
    file.write_text(CONFIG, encoding="utf-8")
    settings = config.load(file, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                          "GONGKAI_BOT__DATABASE_URL": database_url})
    clock = FixedClock(beijing(2026, 9, 30, 10))  # Wednesday before National Day
    svc = await Service.create(settings, clock=clock)
    yield svc, Desk(svc.store, clock, tmp_path / "files")
    await svc.store.close()


async def test_a_spent_push_quota_and_the_holiday_are_skipped_and_the_adjusted_saturday_is_used(world) -> None:  # noqa: ANN001
    svc, desk = world
    first = await desk.approved("news", "国庆假期办事指南")
    explicit = await releases.create(svc, CAROL, [first], due_at=beijing(2026, 9, 30, 11), channels=["website", "wechat"],
                                     options={"push": "all"}, confirm=agree)  # today's one push of a 订阅号
    items = [await desk.approved("news", f"动态{n}") for n in range(3)]
    done = await queue.queue(svc, CAROL, items, channels=["website", "wechat"], options={"push": "all"}, confirm=agree)
    assert [local(p.due_at) for p in done.placed] == ["2026-10-08 18:00", "2026-10-09 18:00", "2026-10-10 18:00"]
    assert "2026-09-30 18:00" in done.placed[0].skipped[0] and "额度已用完" in done.placed[0].skipped[0]
    assert all(p.release.channels == ["website", "wechat"] for p in done.placed)
    shown = await releases.show(svc, CAROL, explicit.release.id)
    assert shown.release.due_at == beijing(2026, 9, 30, 11)  # the explicit instant is untouched


async def test_a_scheduled_item_keeps_its_instant_and_is_not_queued(world) -> None:  # noqa: ANN001
    svc, desk = world
    item = await desk.approved("news", "已定时的稿件")
    rid = await desk.schedule([item], at=beijing(2026, 9, 30, 15), channels=("website", "weibo"))
    with pytest.raises(WorkflowError, match="只有已审核的稿件可以排入发布时段") as err:
        await queue.queue(svc, CAROL, [item], channels=["weibo"])
    assert "不会被移动" in err.value.render()
    assert (await releases.show(svc, CAROL, rid)).release.due_at == beijing(2026, 9, 30, 15)
    others = [await desk.approved("news", f"微博动态{n}") for n in range(2)]
    done = await queue.queue(svc, CAROL, others, channels=["weibo"])
    # the explicit 15:00 release counts towards weibo's daily cap of 2: 12:00, then the next day
    assert [local(p.due_at) for p in done.placed] == ["2026-09-30 12:00", "2026-10-01 09:00"]


async def test_the_daily_cap_moves_the_rest_to_the_next_day(world) -> None:  # noqa: ANN001
    svc, desk = world
    items = [await desk.approved("news", f"微博{n}") for n in range(3)]
    done = await queue.queue(svc, CAROL, items, channels=["weibo"])
    assert [local(p.due_at) for p in done.placed] == ["2026-09-30 12:00", "2026-09-30 17:00", "2026-10-01 09:00"]
    assert any("每日上限 2 条" in s for s in done.placed[2].skipped)  # weibo's slots are every day, holidays too


async def test_channels_without_slots_are_refused_with_the_fix(world) -> None:  # noqa: ANN001
    svc, desk = world
    item = await desk.approved("news", "网站动态")
    with pytest.raises(InputError, match="没有配置发布时段") as err:
        await queue.queue(svc, CAROL, [item], channels=["website"])
    assert "slots" in err.value.render()


def test_the_cli_shows_the_chosen_instant_in_chinese_and_json(tmp_path: Path, sqlite_url: str) -> None:
    env = bot_env(tmp_path, sqlite_url, CONFIG)
    (tmp_path / "n.md").write_text("---\nkind: news\ntitle: 工作动态\ndepartment: 办公室\n---\n正文。\n", encoding="utf-8")
    item = cli_json(env, "post", "add", str(tmp_path / "n.md"))["id"]
    invoke(env, "post", "submit", str(item))
    invoke(env, "post", "approve", str(item), user="bob")
    invoke(env, "post", "approve", str(item), user="carol")
    out = invoke(env, "release", "queue", str(item), "--channels", "website,weibo", user="carol").output
    assert f"稿件 {item} → 发布计划" in out and "Asia/Shanghai" in out and "（周" in out
    bad = invoke(env, "release", "queue", str(item), user="carol", code=2).output
    assert "只有已审核的稿件" in bad


async def test_a_policy_queued_with_its_interpretation_stays_one_bundle(world) -> None:  # noqa: ANN001
    svc, desk = world
    policy = await desk.approved("policy", "关于优化营商环境的若干措施")
    reading = await desk.approved("interpretation", "《若干措施》解读", interprets=policy)
    done = await queue.queue(svc, CAROL, [reading, policy], channels=["website", "weibo"])
    assert {p.item_id for p in done.placed} == {policy, reading}
    assert len({p.release.id for p in done.placed}) == 1 and local(done.placed[0].due_at) == "2026-09-30 12:00"
