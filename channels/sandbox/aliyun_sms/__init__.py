"""Emulator of Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms, SendBatchSms, QuerySendDetails,
signed with ACS3-HMAC-SHA256 or RPC v1 HMAC-SHA1; SmsReport and SmsUp pushes. Independent of the
SMS channel adapter (it imports nothing of it)."""
from channels.sandbox.aliyun_sms.app import AliyunOptions, make_app

__all__ = ["AliyunOptions", "make_app"]
