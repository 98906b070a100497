"""Configuration of every channel (``[channels.<name>]`` in config.toml).

Secrets are normally given from the environment, e.g. ``GONGKAI_CHANNELS__WECHAT__APP_SECRET``.
A channel that is enabled and not in sandbox mode must have its secrets; in sandbox mode the
bot's own emulator stands in for the remote service and no credentials are needed.
"""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from channels.base_settings import ChannelSettings
from channels.sms.config import SmsSettings, SmsTemplate
from channels.website.config import WebsiteSettings
from channels.wechat.config import WechatSettings
from channels.weibo.config import WeiboSettings

__all__ = ["ChannelSettings", "ChannelsSettings", "SmsSettings", "SmsTemplate", "WebsiteSettings",
           "WechatSettings", "WeiboSettings"]


class ChannelsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    website: WebsiteSettings = Field(default_factory=WebsiteSettings)
    wechat: WechatSettings = Field(default_factory=WechatSettings)
    weibo: WeiboSettings = Field(default_factory=WeiboSettings)
    sms: SmsSettings = Field(default_factory=SmsSettings)
