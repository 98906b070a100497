"""Settings of the website channel (``[channels.website]``)."""
from __future__ import annotations

from pydantic import Field

from channels.base_settings import ChannelSettings


class WebsiteSettings(ChannelSettings):
    site_dir: str = ""  # empty = <data_dir>/site
    site_title: str = "政务公开"
    site_owner: str = "示例市人民政府"
    page_size: int = Field(default=20, ge=5, le=200)
    feed_size: int = Field(default=50, ge=5, le=500)
    home_size: int = Field(default=12, ge=3, le=100)
    websub_hub: str = ""  # a WebSub hub advertised in the feeds, if any
