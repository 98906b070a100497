"""Settings of the SMS channel (``[channels.sms]``)."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from channels.base_settings import ChannelSettings

#: The most numbers one SendSms call takes, per provider (Aliyun 1,000; Tencent 200).
PROVIDER_BATCH_MAX = {"aliyun": 1000, "tencent": 200}
#: The regions Tencent Cloud serves its SMS API in (sent as X-TC-Region; empty = the first).
TENCENT_SMS_REGIONS = ("ap-guangzhou", "ap-beijing", "ap-nanjing")


class SmsTemplate(BaseModel):
    """A provider-approved template: its code (Aliyun ``SMS_…``, Tencent TemplateId), the
    Jinja2 expression of each of its parameters, and (optionally) its approved text with
    ``${name}`` placeholders, used for the length check and the preview."""

    model_config = ConfigDict(extra="forbid")
    code: str
    params: dict[str, str] = Field(default_factory=dict)
    text: str = ""
    failover_code: str = ""  # the same template's code at the failover provider, if any


def _default_templates() -> dict[str, SmsTemplate]:
    return {
        "default": SmsTemplate(
            code="SMS_900000001", failover_code="1900001",
            text="${department}发布了《${title}》，详见政务公开网站。",
            params={"department": "{{ item.department | clip(12) }}",
                    "title": "{{ item.title | clip(30) }}"}),
        "emergency": SmsTemplate(
            code="SMS_900000002", failover_code="1900002",
            text="紧急信息：${department}发布《${title}》，请注意防范并关注后续通知。",
            params={"department": "{{ item.department | clip(12) }}",
                    "title": "{{ item.title | clip(30) }}"}),
    }


def _default_code_template() -> SmsTemplate:
    return SmsTemplate(code="SMS_900000009", failover_code="1900009",
                       text="您的验证码为${code}，10分钟内有效，用于订阅政务公开短信。如非本人操作，请忽略本短信。",
                       params={"code": "{{ code }}"})


def _default_duty_template() -> SmsTemplate:
    """To the duty contacts: a compliance warning or a miss (rule R1…R11, C6)."""
    return SmsTemplate(code="SMS_900000010", failover_code="1900010",
                       text="时限提醒：${rule} ${what}${state}，期限${due}，请及时处理。",
                       params={"rule": "{{ rule }}", "what": "{{ what }}", "state": "{{ state }}",
                               "due": "{{ due }}"})


class FailoverSettings(BaseModel):
    """A second provider, used when the first fails as a whole (bad credentials, out of
    service, unreachable). Empty ``provider`` = no failover."""

    model_config = ConfigDict(extra="forbid")
    provider: Literal["", "aliyun", "tencent"] = ""
    access_key_id: str = ""
    access_key_secret: str = ""
    sign_name: str = ""  # empty = the same signature as the first provider
    sdk_app_id: str = ""
    region: str = ""
    base_url: str = ""


HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


class SmsSettings(ChannelSettings):
    provider: Literal["aliyun", "tencent"] = "aliyun"
    access_key_id: str = ""
    access_key_secret: str = ""
    sign_name: str = "政务公开"
    sdk_app_id: str = ""
    region: str = ""  # empty = the provider's default (cn-hangzhou, ap-guangzhou)
    templates: dict[str, SmsTemplate] = Field(default_factory=_default_templates)
    code_template: SmsTemplate = Field(default_factory=_default_code_template)
    duty_template: SmsTemplate = Field(default_factory=_default_duty_template)
    failover: FailoverSettings = Field(default_factory=FailoverSettings)

    # provider limits and fan-out
    calls_per_second: float = Field(default=20.0, gt=0, le=5000)
    batch_size: int = Field(default=0, ge=0, le=1000)  # 0 = the provider's maximum
    concurrency: int = Field(default=8, ge=1, le=64)
    query_calls_per_second: float = Field(default=10.0, gt=0, le=5000)
    request_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    max_call_seconds: float = Field(default=90.0, ge=5, le=110)

    # content limits
    param_max_chars: int = Field(default=35, ge=1, le=500)
    allow_url_params: bool = False
    max_segments: int = Field(default=3, ge=1, le=8)
    notify_corrections: bool = False

    # quiet hours (in the bot's time zone); equal start and end = no quiet hours
    quiet_start: str = "21:00"
    quiet_end: str = "08:00"

    # what happens to numbers whose batch was in flight at a crash and stays unknown
    resend_uncertain_kinds: list[str] = Field(default_factory=lambda: ["emergency"])
    reconcile_grace_seconds: float = Field(default=120.0, ge=0)

    # subscription page
    unsubscribe_secret: str = ""
    callback_token: str = ""
    code_ttl_minutes: int = Field(default=10, ge=1, le=60)
    code_max_tries: int = Field(default=5, ge=1, le=20)
    code_per_number_minute: int = Field(default=1, ge=1)
    code_per_number_hour: int = Field(default=5, ge=1)
    code_per_number_day: int = Field(default=10, ge=1)
    code_per_client_hour: int = Field(default=10, ge=1)
    code_per_client_day: int = Field(default=30, ge=1)
    # proxies we run in front of the bot: the client address is the trusted_proxies-th entry of
    # X-Forwarded-For from the right; trust_forwarded_for = true (the older key) means one proxy
    trusted_proxies: int = Field(default=0, ge=0, le=10)
    trust_forwarded_for: bool = False
    reply_pull_seconds: float = Field(default=0.0, ge=0)

    # sandbox emulators (sandbox = true only)
    sandbox_latency_ms: int = Field(default=0, ge=0, le=10000)
    sandbox_report_delay_ms: int = Field(default=300, ge=0, le=600000)

    _secrets = ("access_key_id", "access_key_secret", "unsubscribe_secret", "callback_token")

    @field_validator("quiet_start", "quiet_end")
    @classmethod
    def _clock_time(cls, value: str) -> str:
        if not HHMM.match(value):
            raise ValueError(f"时刻 {value!r} 无效，应写成 HH:MM（24 小时制），如 21:00")
        return value

    @field_validator("resend_uncertain_kinds")
    @classmethod
    def _kinds(cls, value: list[str]) -> list[str]:
        from content.kinds import Kind

        known = {k.value for k in Kind}
        bad = [v for v in value if v not in known]
        if bad:
            raise ValueError(f"未知的稿件类型 {'、'.join(bad)}；可用：{'、'.join(sorted(known))}")
        return value

    @model_validator(mode="after")
    def _need_secrets(self):  # noqa: ANN202 - replaces the shared check, adding provider-specific keys
        if self.enabled and not self.sandbox:
            missing = [name for name in self._secrets if not getattr(self, name)]
            if self.provider == "tencent" and not self.sdk_app_id:
                missing.append("sdk_app_id")
            fo = self.failover
            if fo.provider:
                missing += [f"failover.{name}" for name in ("access_key_id", "access_key_secret")
                            if not getattr(fo, name)]
                if fo.provider == "tencent" and not fo.sdk_app_id:
                    missing.append("failover.sdk_app_id")
            if missing:
                raise ValueError("MISSING_SECRETS:" + ",".join(missing))
        for prefix, provider, region in (("", self.provider, self.region),
                                         ("failover.", self.failover.provider, self.failover.region)):
            if provider == "tencent" and region and region not in TENCENT_SMS_REGIONS:
                raise ValueError(f"{prefix}region = {region!r} 不是腾讯云短信的地域（修正：填写 "
                                 f"{'、'.join(TENCENT_SMS_REGIONS)} 之一，或留空使用 ap-guangzhou）")
        if self.batch_size > PROVIDER_BATCH_MAX[self.provider]:
            raise ValueError(f"batch_size = {self.batch_size} 超过 {self.provider} 每次调用最多 "
                             f"{PROVIDER_BATCH_MAX[self.provider]} 个号码的限制")
        if self.failover.provider and self.failover.provider == self.provider \
                and self.failover.base_url == self.base_url:
            raise ValueError("failover.provider 与 provider 相同：备用服务商应是另一家（或用 failover.base_url 指向另一地址）")
        return self

    @property
    def proxies_in_front(self) -> int:
        return self.trusted_proxies or (1 if self.trust_forwarded_for else 0)

    def batch_for(self, provider: str) -> int:
        limit = PROVIDER_BATCH_MAX[provider]
        return min(self.batch_size or limit, limit)
