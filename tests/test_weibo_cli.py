"""End to end with a running bot (``gongkai run`` in a subprocess, Weibo enabled in sandbox mode):
a bundle goes to Weibo through the emulator mounted at /sandbox/weibo/, the token expiry drill
pauses the channel and ``gongkai status`` says so, ``gongkai channel weibo authorize`` takes the
code from the browser's landing address and the paused delivery resumes."""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.botproc import bot_env, invoke, start_bot, stop_bot

POLICY = """---
kind: policy
title: 关于推行政务服务“一网通办”的通知
department: 示例市政务服务局
summary: 推行线上办理，压缩办理时限，#一网通办# 让群众少跑腿。
index_no: 000000000/2026-00077
doc_no: 示政服发〔2026〕9号
issuer: 示例市政务服务局
topic: 政务服务
issued: 2026-11-20
---
到年底，高频事项全部实现线上办理。
"""

INTERPRETATION = """---
kind: interpretation
title: 《关于推行政务服务“一网通办”的通知》解读
department: 示例市政务服务局
summary: 三问三答说明新办法。
interprets: 示政服发〔2026〕9号
---
让群众少跑腿。
"""

NEWS = """---
kind: news
title: 市民热线服务时间调整
department: 示例市政务服务局
summary: 自下周一起，热线服务时间延长至晚上九点。
---
热线服务时间调整。
"""


@pytest.fixture
def env(tmp_path: Path, database_url: str) -> dict:
    for name, text in (("policy.md", POLICY), ("interp.md", INTERPRETATION), ("news.md", NEWS)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    return bot_env(tmp_path, database_url, "[channels.weibo]\nenabled = true\n")


def gk(env: dict, *args: str, code: int = 0, user: str | None = "alice", input: str | None = None) -> dict | str:
    result = invoke(env, *args, user=user, code=code, input=input)
    return json.loads(result.stdout) if "--json" in args else result.output


def url(env: dict, path: str) -> str:
    return f"http://127.0.0.1:{env['port']}{path}"


def fetch(env: dict, path: str, data: dict | None = None) -> tuple[int, str, str]:
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url(env, path) if path.startswith("/") else path,
                                                           data=body), timeout=5) as resp:
            return resp.status, resp.read().decode(), resp.geturl()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode(), err.geturl()


def weibo_delivery(env: dict, release: int, state: str, timeout: float = 15) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        shown = gk(env, "release", "show", str(release), "--json")
        found = [d for d in shown["deliveries"] if d["channel"] == "weibo"]
        if found and found[0]["state"] == state:
            return found[0]
        time.sleep(0.2)
    raise AssertionError(f"weibo delivery of release {release} never became {state}: {shown['deliveries']}")


def add_approved(env: dict, name: str) -> int:
    item = gk(env, "post", "add", str(env["dir"] / name), "--json")["id"]
    gk(env, "post", "submit", str(item), "--json")
    gk(env, "post", "approve", str(item), "--json", user="bob")
    return item


def test_weibo_in_the_running_bot_pause_and_resume(env: dict) -> None:
    bot = start_bot(env)
    try:
        policy, interp = add_approved(env, "policy.md"), add_approved(env, "interp.md")
        preview = gk(env, "post", "preview", str(interp), "--channel", "weibo", "--json")
        [rendition] = preview["renditions"]
        assert rendition["ok"] and rendition["checks"][0]["name"] == "微博字数"
        assert f"/items/{policy}.html" in rendition["text"]  # the interpretation links its policy's page
        created = gk(env, "release", "create", str(policy), str(interp), "--now", "--channels",
                     "website,weibo", "--json", user="carol")
        assert created["channels"] == ["website", "weibo"]
        sent = weibo_delivery(env, created["id"], "sent")
        assert [p["item"] for p in sent["receipt"]["posts"]] == [policy, interp]
        status, page, landed = fetch(env, "/sandbox/weibo")
        assert status == 200 and landed.endswith("/sandbox/weibo/")
        assert page.index("【政策解读】") < page.index("【政策文件】")  # newest first on the page
        assert "#一网通办#" not in page and "一网通办 让群众少跑腿" in page  # topic markers stripped
        weibo = gk(env, "channel", "weibo", "status", "--json")
        assert weibo["token"]["usable"] and weibo["token"]["source"] == "sandbox" and weibo["safe_domain"] == "127.0.0.1"

        # Drill: the token expires; the next release waits instead of failing. The drill is an
        # admin action: without the sandbox admin token it is refused and changes nothing.
        assert fetch(env, "/sandbox/weibo/drill/expire-token", {})[0] == 403
        assert fetch(env, "/sandbox/weibo/drill/expire-token", {"token": "guess"})[0] == 403
        assert gk(env, "channel", "weibo", "status", "--json")["token"]["usable"]
        token = (env["dir"] / "var" / "sandbox" / "admin-token").read_text().strip()
        assert fetch(env, "/sandbox/weibo/drill/expire-token", {"token": token})[0] == 200
        news = add_approved(env, "news.md")
        later = gk(env, "release", "create", str(news), "--now", "--channels", "weibo", "--json", user="carol")
        paused = weibo_delivery(env, later["id"], "paused")
        assert "gongkai channel weibo authorize" in paused["last_error"]
        alerts = gk(env, "status", "--json")["calendar_warnings"]
        assert any("微博" in a and "已暂停" in a for a in alerts)
        assert "已暂停" in gk(env, "status")

        # Re-authorise: print the URL, approve in the "browser", paste the landing address.
        start = gk(env, "channel", "weibo", "authorize", "--json")
        assert start["authorize_url"].startswith(url(env, "/sandbox/weibo/api/oauth2/authorize?"))
        status, form, _ = fetch(env, start["authorize_url"])
        assert status == 200 and "授权" in form
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(start["authorize_url"]).query))
        status, landing_page, landing = fetch(env, url(env, "/sandbox/weibo/api/oauth2/authorize"),
                                              {**query, "action": "authorize"})
        assert "code=" in landing and "授权成功" in landing_page
        done = gk(env, "channel", "weibo", "authorize", "--code", landing, "--json")
        assert done["resumed_deliveries"] == 1 and done["alerts"] == []
        weibo_delivery(env, later["id"], "sent")

        # The same code again: refused with the reason and the fix, nothing changed.
        again = gk(env, "channel", "weibo", "authorize", "--code", landing.split("&state=")[0], "--json", code=2)
        assert "21325" in again["error"]["message"] and "重新运行 gongkai channel weibo authorize" in again["error"]["message"]
        assert gk(env, "channel", "weibo", "status", "--json")["token"]["usable"]
    finally:
        out = stop_bot(bot)
    assert "微博" in out


def test_authorize_prompts_for_the_address_and_rejects_a_foreign_state(env: dict) -> None:
    out = gk(env, "channel", "weibo", "authorize", input="https://example.com/cb?code=abc&state=forged\n", code=2)
    assert "/sandbox/weibo/api/oauth2/authorize?client_id=" in out
    assert "state 与本次授权不符" in out


def test_weibo_commands_need_the_channel_enabled(env: dict) -> None:
    env["config"].write_text(env["config"].read_text(encoding="utf-8").replace("enabled = true", "enabled = false"),
                             encoding="utf-8")
    err = gk(env, "channel", "weibo", "status", "--json", code=2)["error"]["message"]
    assert "微博渠道未启用" in err and "enabled = true" in err
