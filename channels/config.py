"""Configuration of every channel (``[channels.<name>]`` in config.toml): one section per channel
in the catalogue, each validated by the settings model its ``Extension`` names.

Secrets are normally given from the environment, e.g. ``GONGKAI_CHANNELS__WECHAT__APP_SECRET``.
A channel that is enabled and not in sandbox mode must have its secrets; in sandbox mode the
bot's own emulator stands in for the remote service and no credentials are needed.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from channels import catalogue
from channels.base_settings import ChannelSettings
from channels.extension import resolve

__all__ = ["ChannelSettings", "ChannelsSettings"]


def _sections() -> dict[str, Any]:
    fields: dict[str, Any] = {}
    for ext in catalogue.extensions():
        model = resolve(ext.settings)
        fields[ext.name] = (model, Field(default_factory=model))
    return fields


ChannelsSettings: type[BaseModel] = create_model(  # one field per catalogued channel
    "ChannelsSettings", __config__=ConfigDict(extra="forbid"), **_sections())
