"""End to end through the command line and a running ``gongkai run`` with the WeChat channel in
sandbox mode: a release pushed to followers, the bot killed (-9) between the mass-send call and
recording its result, restarted, and no second push (45065); what the emulator received is
still there after the restart and shown on /sandbox/wechat; a second push the same day refused
by ``release create``, publishing without a push accepted."""
from __future__ import annotations

import json
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.botproc import bot_env, cli_json, start_bot

POLICY = """---
kind: policy
title: 关于做好防汛工作的通知
department: 示例市应急管理局
summary: 部署今年汛期防汛工作。
index_no: 000000000/2026-00088
doc_no: 示应急发〔2026〕3号
issuer: 示例市应急管理局
topic: 应急管理
issued: 2026-11-20
---
各区要落实防汛责任。
"""


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict:
    for n in (1, 2):
        (tmp_path / f"p{n}.md").write_text(POLICY.replace("防汛工作", f"防汛工作（第{n}号）"), encoding="utf-8")
    return bot_env(tmp_path, database_url, """lease_seconds = 5
[channels.wechat]
enabled = true
sandbox = true
sandbox_publish_delay_seconds = 0.3
poll_seconds = 1.0
""")


def gk(env: dict, *args: str, user: str = "alice", code: int = 0) -> dict:
    return cli_json(env, *args, user=user, code=code)


def admin_token(env: dict) -> str:
    return (env["dir"] / "var" / "sandbox" / "admin-token").read_text().strip()


def http(env: dict, path: str, data: dict | None = None, token: str | None = "auto") -> tuple[int, bytes]:
    body = json.dumps(data).encode() if data is not None else None
    headers = {"Content-Type": "application/json"} if body else {}
    if token and "/_admin/" in path:
        headers["X-Sandbox-Token"] = admin_token(env) if token == "auto" else token
    req = urllib.request.Request(f"http://127.0.0.1:{env['port']}{path}", data=body, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def start(env: dict) -> subprocess.Popen:
    return start_bot(env)


def state(env: dict) -> dict:
    return json.loads(http(env, "/sandbox/wechat/_admin/state")[1])


def wait(predicate, timeout: float = 20.0):  # noqa: ANN001, ANN201
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def sent(env: dict, release_id: int) -> dict | None:
    deliveries = gk(env, "release", "show", str(release_id))["deliveries"]
    return deliveries[0] if deliveries and deliveries[0]["state"] == "sent" else None


def approve(env: dict, name: str) -> int:
    item = gk(env, "post", "add", str(env["dir"] / name))["id"]
    gk(env, "post", "submit", str(item))
    gk(env, "post", "approve", str(item), user="bob")
    return item


def test_kill_between_push_and_record_then_restart_pushes_once(env: dict) -> None:
    bot = start(env)
    try:
        assert http(env, "/sandbox/wechat")[0] == 200  # redirected to the follower page
        # the admin endpoints need the sandbox admin token: without it nothing changes
        assert http(env, "/sandbox/wechat/_admin/followers", {"count": 3}, token=None)[0] == 403
        assert http(env, "/sandbox/wechat/_admin/state", token="wrong")[0] == 403
        assert state(env)["followers"] == 0
        http(env, "/sandbox/wechat/_admin/followers", {"count": 3})
        http(env, "/sandbox/wechat/_admin/faults", {"hangs": [{"endpoint": "message/mass/sendall"}]})
        first = approve(env, "p1.md")
        rel = gk(env, "release", "create", str(first), "--now", "--channels", "wechat", "--push", "all",
                 user="carol")
        assert any("群发额度" in w for w in rel["warnings"])  # it uses the day's only push
        wait(lambda: [p for p in state(env)["publications"] if p["kind"] == "mass"])
    finally:
        bot.send_signal(signal.SIGKILL)  # the push went out; its answer was never recorded
        bot.wait(timeout=10)
    bot = start(env)
    try:
        [mass] = [p for p in state(env)["publications"] if p["kind"] == "mass"]  # kept across the restart
        delivery = wait(lambda: sent(env, rel["id"]), timeout=30)
        assert delivery["receipt"]["msg_id"] == str(mass["msg_id"])
        assert any("45065" in a["detail"] for a in delivery["attempt_log"])
        assert [p["msg_id"] for p in state(env)["publications"] if p["kind"] == "mass"] == [mass["msg_id"]]
        page = http(env, "/sandbox/wechat/")[1].decode()
        assert "关于做好防汛工作（第1号）的通知" in page and "群发推送 · 送达 3 人" in page

        second = approve(env, "p2.md")
        refused = gk(env, "release", "create", str(second), "--now", "--channels", "wechat", "--push", "all",
                     user="carol", code=2)["error"]["message"]
        assert "订阅号每天只能群发 1 次" in refused and "--push none" in refused
        assert "群发额度已用完" in " ".join(gk(env, "status")["calendar_warnings"])
        rel2 = gk(env, "release", "create", str(second), "--now", "--channels", "wechat", "--push", "none",
                  user="carol")
        wait(lambda: sent(env, rel2["id"]), timeout=30)
        page = http(env, "/sandbox/wechat/")[1].decode()
        assert "关于做好防汛工作（第2号）的通知" in page and "发表（不推送）" in page

        info = gk(env, "channel", "wechat", "info")
        assert info["sandbox"] and info["api_base"].endswith("/sandbox/wechat/api") and not info["push_available"]
        assert info["token"]["expires_at"] and "access_token" not in json.dumps(info["token"])
        synced = gk(env, "channel", "wechat", "sync-followers")
        assert synced == {"remote": 3, "added": 3, "reactivated": 0}
        assert gk(env, "channel", "wechat", "sync-followers")["added"] == 0
        assert gk(env, "channel", "wechat", "followers")["by_status"] == {"active": 3}
    finally:
        bot.send_signal(signal.SIGTERM)
        out, _ = bot.communicate(timeout=30)
        assert bot.returncode == 0, out
