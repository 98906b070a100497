"""The one registry every area module of the API declares its operations on."""
from __future__ import annotations

from bot.api.registry import Registry

API = Registry(title="公开 Gongkai", version="1")
