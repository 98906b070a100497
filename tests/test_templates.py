"""Each channel's version of an item comes from a template per (channel, kind); a configured
directory overrides the shipped templates."""
from __future__ import annotations

from pathlib import Path

from bot.service import Service
from bot.settings import load
from content.views import load_views


async def test_a_template_directory_overrides_one_kind_and_keeps_the_rest(tmp_path: Path, desk) -> None:  # noqa: ANN001
    overrides = tmp_path / "templates" / "website"
    overrides.mkdir(parents=True)
    (overrides / "emergency.html").write_text(
        '{% extends "website/default.html" %}{% block title %}【紧急】{{ item.title }}{% endblock %}',
        encoding="utf-8")
    settings = load(None, environ={"GONGKAI_BOT__DATA_DIR": str(tmp_path / "var"),
                                   "GONGKAI_BOT__DATABASE_URL": str(desk.store.engine.url.render_as_string(hide_password=False)),
                                   "GONGKAI_TEMPLATES__DIR": str(tmp_path / "templates")})
    svc = await Service.create(settings)
    try:
        alert = await desk.approved("emergency", "暴雨红色预警")
        news = await desk.approved("news", "工作动态")
        async with desk.store.sessions() as s:
            views = await load_views(s, [alert, news], revision="current")
        pages = svc.channels["website"].render(tuple(views), {})
        assert "<title>【紧急】暴雨红色预警" in pages[0].text
        assert "<title>工作动态" in pages[1].text and "【紧急】" not in pages[1].text
    finally:
        await svc.store.close()
