"""Settings of the WeChat official-account channel (``[channels.wechat]``)."""
from __future__ import annotations

from typing import Literal

from channels.base_settings import ChannelSettings


class WechatSettings(ChannelSettings):
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    account_type: Literal["subscription", "service"] = "subscription"
    _secrets = ("app_id", "app_secret", "token")
