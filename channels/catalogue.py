"""The explicit list of channels: one line each. A channel's package declares in its
``__init__`` an ``EXTENSION`` (``channels.extension.Extension``): its adapter, settings model, web
routes, CLI commands and console panels. Adding a channel is its folder plus one line here."""
from __future__ import annotations

import importlib
from functools import cache

from channels.extension import Extension

PACKAGES: tuple[str, ...] = (
    "channels.website",
    "channels.wechat",
    "channels.weibo",
    "channels.sms",
)


@cache
def extensions() -> tuple[Extension, ...]:
    """Every channel's declaration, in catalogue order (imports only the packages' ``__init__``)."""
    return tuple(importlib.import_module(p).EXTENSION for p in PACKAGES)


def load() -> None:
    """Import every adapter module, which registers its channel class."""
    for ext in extensions():
        importlib.import_module(ext.adapter)


@cache
def label(name: str) -> str:
    """A channel's Chinese name as its package declares it (``name`` itself if unknown). Cached:
    the calendar names the channels of every release of a month (hundreds per page)."""
    return next((ext.label for ext in extensions() if ext.name == name), name)
