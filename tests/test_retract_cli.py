"""``post retract`` only asks; a different person approves with ``post approve-retract`` and
only then is the item retracted and the retraction release made. Both steps are audited."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from content.clock import FixedClock
from content.db import Store
from tests.botproc import bot_env, cli_json, invoke
from tests.desk import Desk


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict:
    env = bot_env(tmp_path, database_url, url=database_url)

    async def publish() -> int:
        store = Store.open(database_url)
        try:
            desk = Desk(store, FixedClock(), tmp_path / "files")
            item = await desk.approved("news", "有误的通知")
            await desk.publish([item])
            return item
        finally:
            await store.close()

    env["item"] = str(asyncio.run(publish()))
    return env


def test_the_author_alone_cannot_retract(env: dict) -> None:
    item = env["item"]
    out = invoke(env, "post", "retract", item, "--reason", "信息有误").output
    assert "撤回申请" in out and f"gongkai post approve-retract {item}" in out
    assert cli_json(env, "post", "show", item)["state"] == "published"
    refused = cli_json(env, "post", "approve-retract", item, code=2)["error"]["message"]
    assert "不能批准自己提出的撤回" in refused and "--as" in refused
    assert cli_json(env, "post", "show", item)["state"] == "published"
    assert cli_json(env, "release", "list")["releases"][0]["purpose"] == "publish"
    board = invoke(env, "status").output
    assert "待批准的撤回（1）" in board and "信息有误" in board

    done = cli_json(env, "post", "approve-retract", item, user="bob")
    assert (done["state"], done["requested_by"], done["approved_by"]) == ("retracted", "alice", "bob")
    shown = cli_json(env, "post", "show", item)
    assert shown["state"] == "retracted"
    assert [(a["action"], a["actor"]) for a in shown["audit"]][-3:] == [
        ("retract_requested", "alice"), ("retract_approved", "bob"), ("retracted", "bob")]
    retraction = cli_json(env, "release", "show", str(done["release"]))
    assert retraction["purpose"] == "retract" and retraction["state"] == "pending"


def test_a_colleague_can_reject_a_retraction(env: dict) -> None:
    item = env["item"]
    invoke(env, "post", "retract", item, "--reason", "想撤")
    out = invoke(env, "post", "reject-retract", item, "--comment", "内容无误", user="bob").output
    assert "已驳回" in out and "保持发布" in out
    assert cli_json(env, "post", "show", item)["state"] == "published"
    assert "没有待批准的撤回申请" in cli_json(env, "post", "approve-retract", item, user="bob", code=2)["error"]["message"]
