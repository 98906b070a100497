"""`gongkai delivery resolve`: a failed delivery that staff have dealt with by hand (a Weibo post
deleted by hand after a retraction the API cannot do) is closed with a note and leaves the
board; unknown outcomes keep --sent / --not-sent."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.runner import Runner
from bot.settings import DeliverySettings
from channels.base import Outcome, Result
from content.db import Store, upgrade
from content.models import AuditEvent, Delivery
from tests.botproc import bot_env, cli_json, invoke
from tests.desk import Desk
from tests.test_runner import ScriptedChannel

FAILURE = "微博开放接口不允许普通应用删除微博：请登录微博账号手动删除稿件 1 的微博 5000000000000001"


async def _failed_delivery(url: str, clock, files: Path) -> int:  # noqa: ANN001
    store = Store.open(url)
    await upgrade(store)
    try:
        desk = Desk(store, clock, files)
        channel = ScriptedChannel([Result(Outcome.FAILED, FAILURE)])
        runner = Runner(store, {"scripted": channel}, clock, DeliverySettings(), node="n1")
        await desk.publish([await desk.approved()], channels=("scripted",))
        await runner.run_once()
        async with store.sessions() as s:
            d = await s.scalar(select(Delivery))
            assert d.state == "failed"
            return d.id
    finally:
        await store.close()


async def _closing_event(url: str) -> AuditEvent | None:
    store = Store.open(url)
    try:
        async with store.sessions() as s:
            return await s.scalar(select(AuditEvent).where(AuditEvent.action == "delivery_closed"))
    finally:
        await store.close()


@pytest.fixture
def env(tmp_path: Path, database_url: str, clock) -> dict:  # noqa: ANN001
    env = bot_env(tmp_path, database_url)
    env["delivery"] = asyncio.run(_failed_delivery(database_url, clock, tmp_path / "files"))
    env["url"] = database_url
    return env


def _attention(env: dict) -> list[int]:
    return [d["id"] for d in cli_json(env, "status")["deliveries"]["attention"]]


def test_a_failed_delivery_dealt_with_by_hand_is_closed_with_a_note_and_leaves_the_board(env: dict) -> None:
    did = str(env["delivery"])
    assert _attention(env) == [env["delivery"]]
    refused = invoke(env, "delivery", "resolve", did, "--sent", code=2)
    assert "已失败" in refused.output and f"gongkai delivery resolve {did} --done" in refused.output
    no_note = invoke(env, "delivery", "resolve", did, "--done", code=2)
    assert "--note" in no_note.output
    both = invoke(env, "delivery", "resolve", did, "--done", "--sent", "--note", "x", code=2)
    assert "不能与" in both.output
    assert _attention(env) == [env["delivery"]]  # refused commands changed nothing

    done = invoke(env, "delivery", "resolve", did, "--done", "--note", "已人工删除微博", user="李华")
    assert "已人工处理" in done.output
    assert _attention(env) == []
    event = asyncio.run(_closing_event(env["url"]))
    assert (event.actor, event.reason, event.detail["delivery"]) == ("李华", "已人工删除微博", env["delivery"])
    assert FAILURE in event.detail["failure"]
    again = invoke(env, "delivery", "resolve", did, "--done", "--note", "再关一次", code=2)
    assert "已人工处理" in again.output and "只有失败的投递" in again.output
