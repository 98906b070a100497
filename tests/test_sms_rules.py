"""Phone numbers, SMS length (70 / 67 rule with 【signature】), template parameters and the preview
staff see with ``gongkai post preview ID --channel sms``."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from channels.sms import length
from channels.sms.config import SmsSettings, SmsTemplate
from channels.sms.message import Composer
from channels.sms.phone import masked, normalise
from content.errors import InputError
from content.views import load_views


@pytest.mark.parametrize("raw", ["13812345678", "+86 138 1234 5678", "008613812345678", "86-138-1234-5678",
                                 "１３８１２３４５６７８", " (138)1234-5678 "])
def test_mainland_mobile_numbers_are_normalised(raw: str) -> None:
    assert normalise(raw) == "+8613812345678"
    assert masked(normalise(raw)) == "138****5678"


@pytest.mark.parametrize("raw, words", [
    ("", "为空"), ("1381234567", "10 位"), ("138123456789", "12 位"), ("12812345678", "号段"),
    ("010-12345678", "号段"), ("+1 415 555 0100", "不是中国大陆号码"), ("138abcd5678", "数字以外"),
])
def test_bad_numbers_get_a_clear_error(raw: str, words: str) -> None:
    with pytest.raises(InputError) as err:
        normalise(raw)
    assert words in err.value.render() and "11 位" in err.value.render() + (err.value.fix or "")


@pytest.mark.parametrize("chars, parts", [(1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (160, 3), (500, 8)])
def test_segments_follow_the_70_67_rule(chars: int, parts: int) -> None:
    assert length.segments("字" * chars) == parts


def test_the_signature_with_its_brackets_counts() -> None:
    text = length.full_text("政务公开", "字" * 64)
    assert len(text) == 70 and length.segments(text) == 1
    assert length.segments(length.full_text("政务公开", "字" * 65)) == 2


async def test_params_are_rendered_clipped_and_checked(desk) -> None:  # noqa: ANN001
    settings = SmsSettings(templates={
        "default": SmsTemplate(code="SMS_1", text="${department}发布了《${title}》，详见${url}",
                               params={"department": "{{ item.department }}", "title": "{{ item.title | clip(10) }}",
                                       "url": "{{ url }}"})})
    item = await desk.approved("news", "关于进一步优化营商环境若干措施的通知（第二批）", department="市发展改革委")
    async with desk.store.sessions() as s:
        views = tuple(await load_views(s, [item], revision="current"))
    message = Composer(settings, "https://gov.example.cn").compose(views)
    assert message.params["title"] == "关于进一步优化营商…"
    assert message.full.startswith("【政务公开】市发展改革委发布了《关于进一步优化营商…》")
    assert not message.ok  # a URL in a variable is refused by the providers
    assert any("网址" in p for p in message.problems())
    settings.allow_url_params = True
    assert Composer(settings, "https://gov.example.cn").compose(views).ok


async def test_a_template_without_a_table_for_its_kind_is_a_clear_error(desk) -> None:  # noqa: ANN001
    settings = SmsSettings(templates={"emergency": SmsTemplate(code="SMS_2", text="${t}", params={"t": "{{ item.title }}"})})
    item = await desk.approved("news", "动态")
    async with desk.store.sessions() as s:
        views = tuple(await load_views(s, [item], revision="current"))
    with pytest.raises(InputError) as err:
        Composer(settings, "").compose(views)
    assert "channels.sms.templates" in err.value.render() and "default" in err.value.render()


ALERT = """---
kind: emergency
title: 关于启动重大气象灾害（暴雨）Ⅲ级应急响应并做好城市内涝防范工作的紧急通知
department: 示例市应急管理局防汛抗旱指挥部办公室
---
正文。
"""


def test_preview_shows_the_text_its_length_and_segments(tmp_path: Path) -> None:
    (tmp_path / "n.md").write_text(ALERT, encoding="utf-8")
    env = {"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"), "GONGKAI_BOT__LOAD_SAMPLE": "false",
           "GONGKAI_CHANNELS__SMS__ENABLED": "true", "GONGKAI_USER": "alice"}
    runner = CliRunner(env=env)
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    item = json.loads(runner.invoke(main, ["post", "add", str(tmp_path / "n.md"), "--json"]).stdout)["id"]
    out = runner.invoke(main, ["post", "preview", str(item), "--channel", "sms", "--json"])
    assert out.exit_code == 0, out.output
    shown = json.loads(out.stdout)["renditions"][0]
    assert shown["text"].startswith("【政务公开】紧急信息：示例市应急管理局防汛抗…发布《")
    checks = {c["name"]: c for c in shown["checks"]}
    total = len(shown["text"])
    assert checks["短信长度（含【签名】）"]["actual"] == total
    assert checks["计费条数"]["actual"] == (1 if total <= 70 else -(-total // 67)) == 2
    text = runner.invoke(main, ["post", "preview", str(item), "--channel", "sms"]).stdout
    assert "计费条数：2/3 条" in text and "不超过 70 字为 1 条" in text


async def test_calls_are_paced_at_the_configured_rate() -> None:
    import asyncio

    from channels.sms.pacing import Pacer

    pacer = Pacer(20.0)
    loop = asyncio.get_running_loop()
    start = loop.time()
    stamps = []
    for _ in range(10):
        await pacer.wait()
        stamps.append(loop.time() - start)
    assert stamps[-1] >= 9 / 20 - 0.01  # ten calls at 20 per second span 0.45 s
    assert all(b - a >= 0.04 for a, b in zip(stamps, stamps[1:]))
    await asyncio.sleep(0.3)  # a stall: up to a tenth of a second's worth may follow at once, no more
    burst_start = loop.time()
    for _ in range(4):
        await pacer.wait()
    assert loop.time() - burst_start >= 2 / 20 - 0.01
