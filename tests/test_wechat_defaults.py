"""The WeChat defaults are a combination the real platform accepts: a subscription account
(订阅号) with topic notifications off, because template messages and subscribe notifications
need a verified service account (48001 otherwise). The settings refuse the combinations that
cannot work, naming the key and the fix."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot import settings as config
from tests.test_config import test_bad_config_names_the_key_and_the_fix as refused_naming
from tests.wechat_support import World

ROOT = Path(__file__).resolve().parents[1]


def test_the_embedded_default_and_the_example_do_not_notify_on_a_subscription_account() -> None:
    for s in (config.load(None, environ={}), config.load(ROOT / "config.example.toml", environ={})):
        wechat = s.channels.wechat
        assert (wechat.account_type, wechat.notify) == ("subscription", "off")


@pytest.mark.parametrize(("toml", "words"), [
    ('notify = "template"\n', ['channels.wechat.notify', 'notify = "template"', 'account_type = "subscription"',
                               "48001", '设 notify = "off"', 'account_type = "service"']),
    ('notify = "subscribe"\naccount_type = "subscription"\n', ["channels.wechat.notify", "订阅通知", "48001"]),
    ('notify = "template"\naccount_type = "service"\nnotify_fields = { number1 = "title" }\n',
     ["notify_fields.number1", "number"]),
    ('notify = "template"\naccount_type = "service"\nnotify_fields = { time2 = "title" }\n',
     ["notify_fields.time2", 'time2 = "published_at"']),
    (f'push_lists = {{ "试点" = ["{"o" + "a" * 27}", "{"o" + "b" * 27}"] }}\n', ["push_lists", "48001", "服务号"]),
    (f'account_type = "service"\npush_lists = {{ "试点" = ["{"o" + "a" * 27}"] }}\n', ["push_lists.试点", "2 到 10000"]),
    ('account_type = "service"\npush_lists = { "试点" = ["张三", "李四"] }\n', ["push_lists.试点", "'张三' 不是 OpenID"]),
])
def test_combinations_the_platform_refuses_are_refused(tmp_path: Path, toml: str, words: list[str]) -> None:
    refused_naming(tmp_path, "[channels.wechat]\n" + toml, {}, words)


def test_a_service_account_may_notify(tmp_path: Path) -> None:
    f = tmp_path / "c.toml"
    f.write_text('[channels.wechat]\naccount_type = "service"\nnotify = "template"\n', encoding="utf-8")
    assert config.load(f, environ={}).channels.wechat.notify == "template"


async def test_with_the_defaults_a_release_makes_no_call_the_platform_refuses(database_url, tmp_path, clock) -> None:  # noqa: ANN001
    world = await World.start(database_url, tmp_path, clock)  # the channel's defaults, in sandbox mode
    try:
        openid, _ = await world.emulator.follow()
        await world.emulator.say(openid, "订阅 全部")
        await world.release([await world.desk.approved("policy", "关于己的通知")])
        d = await world.until_settled()
        assert d.state == "sent", d.last_error
        assert "失败" not in (await world.attempts(d.id))[-1].detail
        assert world.emulator.state.template_counts == {}
        assert await world.recipients(d.id) == {}
    finally:
        await world.stop()
