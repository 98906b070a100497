"""The channels as staff see them on the console's 渠道 page: enabled, sandbox or live, their
alerts (token expiry, quota), and the panels each channel declares (``Extension.panels``).
Never a secret: nothing of a channel's settings is shown but whether it runs in the sandbox."""
from __future__ import annotations

import inspect
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from bot.ops import Who, any_role
from channels import catalogue
from channels.extension import Panel, resolve

if TYPE_CHECKING:
    from bot.service import Service

log = logging.getLogger("gongkai.console")


@dataclass(frozen=True)
class PanelView:
    name: str
    title: str
    facts: tuple[tuple[str, str], ...] = ()
    html: Markup | None = None
    text: str = ""
    error: str = ""


@dataclass(frozen=True)
class ChannelView:
    name: str
    label: str
    enabled: bool
    sandbox: bool
    local: bool  # no remote service: neither sandbox nor live
    alerts: tuple[str, ...]
    panels: tuple[PanelView, ...]


async def show_panel(svc: Service, panel: Panel) -> PanelView:
    """Call a panel's target with the service as its host; a failing panel says so and the
    page goes on (the details go to the log, not the page)."""
    try:
        answer: Any = resolve(panel.target)(svc)
        if inspect.isawaitable(answer):
            answer = await answer
    except Exception as exc:  # noqa: BLE001 - one broken panel must not break the page
        log.exception("渠道面板 %s 出错", panel.target)
        return PanelView(panel.name, panel.title, error=f"面板暂时无法显示（{type(exc).__name__}），详情见日志")
    if isinstance(answer, Markup):
        return PanelView(panel.name, panel.title, html=answer)
    if isinstance(answer, Mapping):
        return PanelView(panel.name, panel.title, facts=tuple((str(k), str(v)) for k, v in answer.items()))
    return PanelView(panel.name, panel.title, text=str(answer))


async def overview(svc: Service, who: Who) -> list[ChannelView]:
    any_role(who, "查看渠道状态")
    views = []
    enabled = set(svc.enabled_channel_names())
    for ext in catalogue.extensions():
        settings = getattr(svc.settings.channels, ext.name)
        on = ext.name in enabled
        alerts: list[str] = []
        panels: list[PanelView] = []
        if on:
            try:
                alerts = await svc.alerts_of(ext.name)
            except Exception as exc:  # noqa: BLE001
                log.exception("渠道 %s 的提醒无法读取", ext.name)
                alerts = [f"提醒暂时无法读取（{type(exc).__name__}），详情见日志"]
            panels = [await show_panel(svc, p) for p in ext.panels]
        views.append(ChannelView(ext.name, ext.label, on, bool(settings.sandbox), ext.local, tuple(alerts),
                                 tuple(panels)))
    return views
