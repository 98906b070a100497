"""Settings of the WeChat official-account channel (``[channels.wechat]``).

The fixed keys (``app_id``, ``app_secret``, ``token``, ``encoding_aes_key``, ``account_type``)
are the account's credentials and kind; the others tune articles, pushes, notifications, the
server callback and the sandbox. Every key is documented in config.example.toml."""
from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from channels.base_settings import ChannelSettings
from channels.wechat import notify_values

OPENID = re.compile(r"[A-Za-z0-9_-]{28}")
#: Values a notification field can show (``notify_fields``).
NOTIFY_VALUES = ("title", "summary", "department", "column", "kind", "doc_no", "published_at",
                 "site")
#: Values a duty warning's template field can show (``duty_fields``): the rule id (R1), its
#: name, the obligation's subject, its department, the due time and the stage (提前提醒 …).
DUTY_VALUES = ("rule", "rule_label", "subject", "department", "due", "stage")
#: The replies when the account sends no topic reminders (``notify = "off"``).
WELCOME_WITHOUT_REMINDERS = "感谢关注！回复“解读”查看最新政策解读；新发布的政策文件和解读会在本公众号推送。"
DEFAULT_WITHOUT_REMINDERS = "您好，留言已收到。回复“解读”查看最新政策解读。"
NO_REMINDERS = "本公众号暂未开通栏目更新提醒，新内容会直接在公众号发布。回复“解读”查看最新政策解读。"


class WechatSettings(ChannelSettings):
    app_id: str = ""
    app_secret: str = ""
    token: str = ""
    encoding_aes_key: str = ""
    account_type: Literal["subscription", "service"] = "subscription"
    original_id: str = ""  # gh_…: when set, callbacks addressed to another account are refused

    # access token
    token_api: Literal["stable", "basic"] = "stable"
    token_refresh_margin_seconds: int = Field(default=300, ge=60, le=3600)
    request_timeout_seconds: float = Field(default=15.0, gt=0, le=120)

    # articles
    author: str = Field(default="", max_length=16)  # empty = the item's department (first 16)
    default_cover: str = ""  # image file; empty = a plain generated cover
    open_comment: bool = False
    poll_seconds: float = Field(default=30.0, gt=0)  # how often an unconfirmed publish is polled

    # pushes (mass send)
    push_quota_per_day: int = Field(default=1, ge=0, le=100)  # subscription account
    push_quota_per_month: int = Field(default=4, ge=0, le=100)  # service account, per follower
    over_quota: Literal["refuse", "publish_only"] = "refuse"
    #: pushes of the quota kept for emergency items (routine releases cannot use them);
    #: -1 = 1 on a service account (of its 4 a month), 0 on a subscription account
    emergency_reserve: int = Field(default=-1, ge=-1, le=100)
    #: named lists of 2–10,000 openids for `--option push=list:NAME` (message/mass/send);
    #: service accounts only
    push_lists: dict[str, list[str]] = Field(default_factory=dict)

    # topic notifications: template messages and subscribe notifications need a verified service
    # account (a subscription account gets 48001), so they are off by default
    notify: Literal["off", "template", "subscribe"] = "off"
    notify_template_id: str = ""  # empty = off (in sandbox mode: the sandbox's template)
    notify_fields: dict[str, str] = Field(default_factory=lambda: {
        "thing1": "title", "thing2": "department", "time3": "published_at"})
    # duty warnings (obligations about to be due, or missed) to duty contacts with a
    # wechat_openid, by template message (a verified service account); empty = not sent (in
    # sandbox mode: the sandbox's duty template)
    duty_template_id: str = ""
    duty_fields: dict[str, str] = Field(default_factory=lambda: {
        "character_string1": "rule", "thing2": "subject", "time3": "due", "phrase4": "stage"})
    notify_rate_per_second: float = Field(default=100.0, gt=0, le=10000)
    notify_concurrency: int = Field(default=32, ge=1, le=512)
    fanout_slice_seconds: float = Field(default=60.0, ge=1, le=100)

    # server callback
    message_mode: Literal["safe", "compatible", "plain"] = "safe"
    callback_max_bytes: int = Field(default=65536, ge=1024, le=1024 * 1024)
    callback_max_skew_seconds: int = Field(default=300, ge=30, le=3600)

    # replies to followers
    welcome_reply: str = "感谢关注！回复“解读”查看最新政策解读，回复“订阅 栏目名”订阅更新提醒，回复“退订”取消提醒。"
    default_reply: str = "您好，留言已收到。回复“解读”查看最新政策解读，回复“订阅”查看可订阅的栏目。"
    interpretations_keyword: str = "解读"
    subscribe_keyword: str = "订阅"
    unsubscribe_keyword: str = "退订"
    interpretations_in_reply: int = Field(default=5, ge=1, le=8)
    keyword_replies: dict[str, str] = Field(default_factory=dict)

    # sandbox emulator
    sandbox_publish_delay_seconds: float = Field(default=3.0, ge=0, le=3600)

    _secrets = ("app_id", "app_secret", "token")

    @property
    def reserve(self) -> int:
        """Pushes kept for emergencies (``emergency_reserve``, or the account type's default)."""
        if self.emergency_reserve >= 0:
            return self.emergency_reserve
        return 1 if self.account_type == "service" else 0

    @field_validator("notify")
    @classmethod
    def _notify_needs_a_service_account(cls, notify: str, info: ValidationInfo) -> str:
        if notify != "off" and info.data.get("enabled", True) and info.data.get("account_type") == "subscription":
            how = "模板消息" if notify == "template" else "订阅通知"
            raise ValueError(f"notify = \"{notify}\" 与 account_type = \"subscription\" 不能同时使用："
                             f"{how}只有已认证的服务号才能发送，订阅号调用会被微信拒绝（48001）"
                             f"（修正：设 notify = \"off\"；若账号是已认证的服务号，设 account_type = \"service\"）")
        return notify

    @model_validator(mode="after")
    def _check(self):  # noqa: ANN202
        if self.notify == "off":  # nothing to subscribe to: the default replies do not offer it
            if "welcome_reply" not in self.model_fields_set:
                self.welcome_reply = WELCOME_WITHOUT_REMINDERS
            if "default_reply" not in self.model_fields_set:
                self.default_reply = DEFAULT_WITHOUT_REMINDERS
        for name, value in self.notify_fields.items():
            if value not in NOTIFY_VALUES:
                raise ValueError(f"notify_fields.{name} 的取值 {value!r} 无效，可用：{'、'.join(NOTIFY_VALUES)}")
        if self.notify != "off":
            if wrong := notify_values.problems(self.notify_fields):
                raise ValueError("；".join(wrong))
        for name, value in self.duty_fields.items():
            if value not in DUTY_VALUES:
                raise ValueError(f"duty_fields.{name} 的取值 {value!r} 无效（修正：改为 {'、'.join(DUTY_VALUES)} 之一）")
        if wrong := notify_values.problems(self.duty_fields, "duty_fields", "due", "时限提醒", "到期时间"):
            raise ValueError("；".join(wrong))
        for name, openids in self.push_lists.items():
            bad = next((o for o in openids if not OPENID.fullmatch(o)), None)
            if bad is not None or not 2 <= len(set(openids)) <= 10000:
                why = f"{bad!r} 不是 OpenID" if bad is not None else f"有 {len(set(openids))} 个不同的 OpenID"
                raise ValueError(f"push_lists.{name}：{why}（修正：每个名单写 2 到 10000 个粉丝的 OpenID）")
        if self.push_lists and self.account_type == "subscription":
            raise ValueError("push_lists 只能用于已认证的服务号：订阅号不能按 OpenID 名单群发（48001）"
                             "（修正：删去 push_lists；若账号是已认证的服务号，设 account_type = \"service\"）")
        if self.enabled and not self.sandbox and self.message_mode != "plain" and not self.encoding_aes_key:
            raise ValueError("MISSING_SECRETS:encoding_aes_key")
        if self.encoding_aes_key and len(self.encoding_aes_key) != 43:
            raise ValueError("encoding_aes_key 应为 43 个字符，即微信公众平台“开发 → 基本配置 → "
                             "服务器配置”中的 EncodingAESKey")
        return self
