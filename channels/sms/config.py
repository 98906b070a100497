"""Settings of the SMS channel (``[channels.sms]``)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from channels.base_settings import ChannelSettings


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
