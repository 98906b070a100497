"""Settings of the Weibo channel (``[channels.weibo]``)."""
from __future__ import annotations


from channels.base_settings import ChannelSettings


class WeiboSettings(ChannelSettings):
    app_key: str = ""
    app_secret: str = ""
    redirect_uri: str = ""
    safe_domain: str = ""
    _secrets = ("app_key", "app_secret")
