"""Settings of the website channel (``[channels.website]``)."""
from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from channels.base_settings import ChannelSettings


class DisclosurePages(BaseModel):
    """The standard 政府信息公开 pages. Each value is a Markdown file (a path ending in ``.md``,
    relative to the directory the bot runs in) or the page's Markdown text itself; empty = the
    shipped default text."""

    model_config = ConfigDict(extra="forbid")

    guide: str = ""          # 政府信息公开指南
    system: str = ""         # 政府信息公开制度
    proactive: str = ""      # 法定主动公开内容
    annual_report: str = ""  # 政府信息公开年报
    on_request: str = ""     # 依申请公开

    @field_validator("*")
    @classmethod
    def _file_exists(cls, value: str) -> str:
        if value.strip().endswith(".md") and "\n" not in value.strip():
            path = Path(value.strip()).expanduser()
            if not path.is_file():
                raise ValueError(f"找不到 Markdown 文件 {path.resolve()}：请检查路径，"
                                 "或直接填写页面正文，留空则使用默认文本")
        return value


class WebsiteSettings(ChannelSettings):
    site_dir: str = ""  # empty = <data_dir>/site
    site_title: str = "政务公开"
    site_owner: str = "示例市人民政府"
    page_size: int = Field(default=20, ge=5, le=200)
    feed_size: int = Field(default=50, ge=5, le=500)
    home_size: int = Field(default=12, ge=3, le=100)
    websub_hub: str = ""  # a WebSub hub advertised in the feeds, if any
    # footer identifiers, each shown only when set
    site_code: str = ""         # 网站标识码
    icp_record: str = ""        # ICP 备案号
    police_record: str = ""     # 公安机关备案号
    party_gov_mark_url: str = ""  # 党政机关网站标识: the address its mark links to
    emergency_pin_hours: int = Field(default=72, ge=0, le=24 * 30)
    search_index: bool = True   # build a Pagefind index for searching the static site
    search_index_delay: float = Field(default=30.0, ge=0, le=3600)
    disclosure: DisclosurePages = Field(default_factory=DisclosurePages)
