"""The channels as staff see them on the console's 渠道 page: enabled, sandbox or live, their
alerts (token expiry, quota), and the panels each channel declares (``Extension.panels``).
Never a secret: nothing of a channel's settings is shown but whether it runs in the sandbox.

A panel's ``target`` (``"module:attribute"``) is either

* a function, called as ``function(host)`` (coroutine or plain) when the page is shown, that
  returns what the panel shows: a mapping of label → value (a list of facts; the console
  escapes both), a ``markupsafe.Markup`` HTML fragment (inserted as it is: the channel escapes
  what it puts in, and the console's CSP refuses inline script), or plain text; or
* a set of console pages of the channel's own (an object with ``pages``, each with ``method``
  and ``path`` below /console/, mounted by the console): the panel then links to its first page.
"""
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
    link: str = ""  # the channel's own console page, for a panel that is a set of pages


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
        target: Any = resolve(panel.target)
        if not callable(target):
            pages = [p for p in getattr(target, "pages", ()) if str(p.method).upper() == "GET"]
            link = "/console/" + str(pages[0].path).lstrip("/") if pages else ""
            return PanelView(panel.name, panel.title, link=link)
        answer = target(svc)
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
