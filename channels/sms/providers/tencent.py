"""Tencent Cloud SMS (API 2021-01-11): SendSms, PullSmsSendStatusByPhoneNumber,
PullSmsSendStatus and PullSmsReplyStatus, signed with TC3-HMAC-SHA256."""
from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from channels.sms import phone as phones_
from channels.sms.providers.base import Failure, Found, NumberResult, ProviderError, Reply, Report
from channels.sms.providers.http import post
from channels.sms.signing import tc3_authorization

ENDPOINT = "https://sms.tencentcloudapi.com"
VERSION = "2021-01-11"
SERVICE = "sms"
DEFAULT_REGION = "ap-guangzhou"
BEIJING = timezone(timedelta(hours=8))
CONTENT_TYPE = "application/json; charset=utf-8"

QUOTA_CODES = {"FailedOperation.InsufficientBalanceInSmsPackage", "LimitExceeded.AppDailyLimit",
               "LimitExceeded.DailyLimit", "LimitExceeded.AppMainlandChinaDailyLimit",
               "LimitExceeded.AppGlobalDailyLimit"}
THROTTLE_CODES = {"RequestLimitExceeded", "RequestLimitExceeded.UinLimitExceeded",
                  "LimitExceeded.GlobalSmsSendingRateLimit", "LimitExceeded.DeliveryFrequencyLimit"}
SKIP_NUMBER_CODES = ("LimitExceeded.PhoneNumber", "FailedOperation.PhoneNumberInBlacklist")
FIXES = {
    "AuthFailure.SignatureFailure": "SecretKey 不正确：请检查 GONGKAI_CHANNELS__SMS__ACCESS_KEY_SECRET",
    "AuthFailure.SecretIdNotFound": "SecretId 不存在：请检查 GONGKAI_CHANNELS__SMS__ACCESS_KEY_ID",
    "AuthFailure.SignatureExpire": "服务器时钟与标准时间相差超过 5 分钟：请校准系统时间（NTP）",
    "UnauthorizedOperation.SmsSdkAppIdVerifyFail": "SmsSdkAppId 不属于该账号：请检查 [channels.sms] sdk_app_id",
    "FailedOperation.TemplateIncorrectOrUnapproved": "模板未审核通过：请检查 [channels.sms.templates] 中的 code（腾讯云模板 ID）",
    "FailedOperation.SignatureIncorrectOrUnapproved": "签名未审核通过：请检查 [channels.sms] sign_name",
    "FailedOperation.TemplateParamSetNotMatchApprovedTemplate": "参数个数与模板不符：请对照腾讯云模板检查 params",
    "FailedOperation.InsufficientBalanceInSmsPackage": "套餐包余量不足：请购买短信套餐包",
}


class TencentSms:
    name = "tencent"
    label = "腾讯云短信"
    max_batch = 200
    proves_absence = False

    def __init__(self, session: aiohttp.ClientSession, *, secret_id: str, secret_key: str, sign_name: str,
                 sdk_app_id: str, base_url: str = "", region: str = "", timeout: float = 10.0) -> None:
        self.session = session
        self.secret_id = secret_id
        self.secret_key = secret_key
        self.sign_name = sign_name
        self.sdk_app_id = sdk_app_id
        self.base_url = (base_url or ENDPOINT).rstrip("/")
        self.region = region or DEFAULT_REGION  # sent as configured (X-TC-Region)
        self.timeout = timeout

    async def call(self, action: str, body: Mapping[str, Any]) -> dict[str, Any]:
        url = self.base_url + "/"
        host = urlsplit(url).netloc
        payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        stamp = int(time.time())
        headers = {"Content-Type": CONTENT_TYPE, "Host": host, "X-TC-Action": action, "X-TC-Version": VERSION,
                   "X-TC-Region": self.region, "X-TC-Timestamp": str(stamp), "X-TC-Language": "zh-CN",
                   "Authorization": tc3_authorization(secret_id=self.secret_id, secret_key=self.secret_key,
                                                      service=SERVICE, timestamp=stamp, payload=payload,
                                                      host=host, content_type=CONTENT_TYPE)}
        status, data = await post(self.session, url, headers=headers, body=payload, timeout=self.timeout,
                                  provider=self.label)
        response = data.get("Response") if isinstance(data, dict) else None
        if not isinstance(response, dict):
            raise ProviderError(Failure.UNCERTAIN, "BadAnswer", f"{self.label}返回了意外的内容（HTTP {status}）")
        error = response.get("Error")
        if error:
            raise self.error(str(error.get("Code", "")), str(error.get("Message", "")))
        return response

    def error(self, code: str, message: str) -> ProviderError:
        if code.startswith(("AuthFailure", "UnauthorizedOperation")):
            failure = Failure.AUTH
        elif code in QUOTA_CODES:
            failure = Failure.QUOTA
        elif code in THROTTLE_CODES:
            failure = Failure.THROTTLED
        elif code.startswith("InternalError"):
            failure = Failure.UNCERTAIN
        else:
            failure = Failure.REJECTED
        fix = FIXES.get(code)
        return ProviderError(failure, code, f"{message}（{fix}）" if fix else message,
                             retry_after=1.0 if failure is Failure.THROTTLED else None)

    async def send(self, phones: Sequence[str], template: str, params: Mapping[str, str], *,
                   marker: str) -> list[NumberResult]:
        data = await self.call("SendSms", {
            "PhoneNumberSet": list(phones), "SmsSdkAppId": self.sdk_app_id, "TemplateId": template,
            "SignName": self.sign_name, "TemplateParamSet": [str(v) for v in params.values()],
            "SessionContext": marker})
        by_phone: dict[str, dict[str, Any]] = {}
        for status in data.get("SendStatusSet") or []:
            try:
                by_phone[phones_.normalise(str(status.get("PhoneNumber", "")))] = status
            except Exception:  # noqa: BLE001 - an unparseable echo; matched by position below
                continue
        results = []
        for phone in phones:
            status = by_phone.get(phone)
            if status is None:
                results.append(NumberResult(phone, "failed", "", "Missing", "应答中没有这个号码的结果"))
                continue
            code = str(status.get("Code", ""))
            if code == "Ok":
                results.append(NumberResult(phone, "sent", str(status.get("SerialNo", "")), code, ""))
            else:
                kind = "skipped" if code.startswith(SKIP_NUMBER_CODES) else "failed"
                results.append(NumberResult(phone, kind, "", code, str(status.get("Message", ""))))
        return results

    async def lookup(self, phone: str, marker: str, since: datetime) -> Found | None:
        offset = 0
        while True:
            data = await self.call("PullSmsSendStatusByPhoneNumber", {
                "BeginTime": int(since.timestamp()) - 60, "EndTime": int(time.time()) + 60, "Offset": offset,
                "Limit": 100, "PhoneNumber": phone, "SmsSdkAppId": self.sdk_app_id})
            rows = data.get("PullSmsSendStatusSet") or []
            for row in rows:
                if row.get("SessionContext") == marker:
                    ok = row.get("ReportStatus") == "SUCCESS"
                    return Found(phone, "delivered" if ok else "failed", str(row.get("Description", "")))
            if len(rows) < 100:
                return None
            offset += 100

    async def pull_reports(self, limit: int = 100) -> list[Report]:
        data = await self.call("PullSmsSendStatus", {"Limit": limit, "SmsSdkAppId": self.sdk_app_id})
        return [Report(phone=phones_.normalise(str(r.get("PhoneNumber", ""))), remote_id=str(r.get("SerialNo", "")),
                       marker=str(r.get("SessionContext") or ""), delivered=r.get("ReportStatus") == "SUCCESS",
                       code=str(r.get("ReportStatus", "")), message=str(r.get("Description", "")),
                       at=_parse_time(r.get("UserReceiveTime")))
                for r in data.get("PullSmsSendStatusSet") or []]

    async def pull_replies(self, limit: int = 100) -> list[Reply]:
        data = await self.call("PullSmsReplyStatus", {"Limit": limit, "SmsSdkAppId": self.sdk_app_id})
        return [Reply(phone=phones_.normalise(str(r.get("PhoneNumber", ""))), text=str(r.get("ReplyContent", "")),
                      at=_parse_time(r.get("ReplyTime")), sign=str(r.get("SignName", "")))
                for r in data.get("PullSmsReplyStatusSet") or []]


def _parse_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        return None


def parse_report(entry: Mapping[str, Any]) -> Report:
    """One element of the status callback."""
    ext = entry.get("ext")
    marker = str(ext.get("SessionContext", "")) if isinstance(ext, dict) else str(ext or "")
    return Report(phone=phones_.normalise(str(entry["mobile"])), remote_id=str(entry.get("sid", "")),
                  marker=marker, delivered=entry.get("report_status") == "SUCCESS",
                  code=str(entry.get("errmsg", "")), message=str(entry.get("description", "")),
                  at=_parse_time(entry.get("user_receive_time")))


def parse_reply(entry: Mapping[str, Any]) -> Reply:
    """The reply callback (one object per push)."""
    at = None
    if str(entry.get("time", "")).isdigit():
        at = datetime.fromtimestamp(int(entry["time"]), timezone.utc)
    return Reply(phone=phones_.normalise(str(entry["mobile"])), text=str(entry.get("text", "")), at=at,
                 sign=str(entry.get("sign", "")))
