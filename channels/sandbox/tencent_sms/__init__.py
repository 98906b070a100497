"""Emulator of Tencent Cloud SMS (API 2021-01-11): SendSms, PullSmsSendStatus,
PullSmsSendStatusByPhoneNumber and PullSmsReplyStatus, signed with TC3-HMAC-SHA256; status and
reply callbacks. Independent of the SMS channel adapter (it imports nothing of it)."""
from channels.sandbox.tencent_sms.app import TencentOptions, make_app

__all__ = ["TencentOptions", "make_app"]
