"""Configuration models of each channel (``[channels.<name>]`` in config.toml).

Secrets are normally given from the environment, e.g. ``GONGKAI_CHANNELS__WECHAT__APP_SECRET``.
A channel that is enabled and not in sandbox mode must have its secrets; in sandbox mode the
bot's own emulator stands in for the remote service and no credentials are needed.
"""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ChannelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    enabled: bool = True
    sandbox: bool = True
    base_url: str = ""  # remote API base; empty = the official endpoint (or the sandbox)

    #: Fields that must be set when the channel is enabled and not in sandbox mode.
    _secrets: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _need_secrets(self):  # noqa: ANN202
        if self.enabled and not self.sandbox:
            missing = [name for name in self._secrets if not getattr(self, name)]
            if missing:
                raise ValueError("MISSING_SECRETS:" + ",".join(missing))
        return self


class WebsiteSettings(ChannelSettings):
    site_dir: str = ""  # empty = <data_dir>/site
    site_title: str = "政务公开"
    site_owner: str = "示例市人民政府"
    page_size: int = Field(default=20, ge=5, le=200)
    feed_size: int = Field(default=50, ge=5, le=500)
    home_size: int = Field(default=12, ge=3, le=100)
    websub_hub: str = ""  # a WebSub hub advertised in the feeds, if any


class WechatSettings(ChannelSettings):
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    account_type: Literal["subscription", "service"] = "subscription"
    _secrets = ("app_id", "app_secret", "token")


class WeiboSettings(ChannelSettings):
    app_key: str = ""
    app_secret: str = ""
    redirect_uri: str = ""
    safe_domain: str = ""
    _secrets = ("app_key", "app_secret")


class SmsTemplate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    code: str
    params: dict[str, str] = Field(default_factory=dict)


class SmsSettings(ChannelSettings):
    provider: Literal["aliyun", "tencent"] = "aliyun"
    access_key_id: str = ""
    access_key_secret: str = ""
    sign_name: str = "政务公开"
    sdk_app_id: str = ""
    region: str = "cn-hangzhou"
    templates: dict[str, SmsTemplate] = Field(default_factory=dict)
    _secrets = ("access_key_id", "access_key_secret")


class ChannelsSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    website: WebsiteSettings = Field(default_factory=WebsiteSettings)
    wechat: WechatSettings = Field(default_factory=lambda: WechatSettings(enabled=False))
    weibo: WeiboSettings = Field(default_factory=lambda: WeiboSettings(enabled=False))
    sms: SmsSettings = Field(default_factory=lambda: SmsSettings(enabled=False))
