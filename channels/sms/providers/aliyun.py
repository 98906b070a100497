"""Alibaba Cloud SMS (dysmsapi 2017-05-25): SendSms and QuerySendDetails, signed with
ACS3-HMAC-SHA256. Delivery reports come by the SmsReport HTTP push; replies by the SmsUp push."""
from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from channels.sms import phone as phones_
from channels.sms.providers.base import Failure, Found, NumberResult, ProviderError, Reply, Report
from channels.sms.providers.http import post
from channels.sms.signing import acs3_authorization, acs3_canonical_query, acs3_date, sha256_hex

ENDPOINT = "https://dysmsapi.aliyuncs.com"
VERSION = "2017-05-25"
BEIJING = timezone(timedelta(hours=8))

AUTH_CODES = {"SignatureDoesNotMatch", "IncompleteSignature", "InvalidAccessKeyId.NotFound",
              "InvalidAccessKeyId.Inactive", "isp.RAM_PERMISSION_DENY", "isv.ACCOUNT_NOT_EXISTS",
              "isv.ACCOUNT_ABNORMAL", "isv.PRODUCT_UN_SUBSCRIPT", "isv.OUT_OF_SERVICE",
              "InvalidTimeStamp.Expired", "InvalidTimeStamp.Format", "MissingSignature"}
QUOTA_CODES = {"isv.AMOUNT_NOT_ENOUGH", "isv.DAY_LIMIT_CONTROL"}
NUMBER_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isv.MOBILE_NUMBER_ILLEGAL", "isv.BLACK_LIST",
                "isv.DENY_IP_RANGE"}
SKIP_CODES = {"isv.BUSINESS_LIMIT_CONTROL", "isv.BLACK_LIST"}
UNCERTAIN_CODES = {"isp.SYSTEM_ERROR", "isp.GATEWAY_ERROR", "ServiceUnavailable", "InternalError"}
FIXES = {
    "SignatureDoesNotMatch": "AccessKey Secret 不正确：请检查 GONGKAI_CHANNELS__SMS__ACCESS_KEY_SECRET",
    "InvalidAccessKeyId.NotFound": "AccessKey ID 不存在：请检查 GONGKAI_CHANNELS__SMS__ACCESS_KEY_ID",
    "InvalidTimeStamp.Expired": "服务器时钟与标准时间相差超过 15 分钟：请校准系统时间（NTP）",
    "isv.SMS_TEMPLATE_ILLEGAL": "模板不存在或未审核通过：请检查 [channels.sms.templates] 中的 code",
    "isv.SMS_SIGNATURE_ILLEGAL": "签名不存在或未审核通过：请检查 [channels.sms] sign_name",
    "isv.TEMPLATE_MISSING_PARAMETERS": "模板变量缺少参数：请对照阿里云模板检查 params 的变量名",
    "isv.PARAM_LENGTH_LIMIT": "变量超长：请在 params 中用 clip 截短",
    "isv.PARAM_NOT_SUPPORT_URL": "变量中不能含网址：请把网址写在模板正文中",
    "isv.AMOUNT_NOT_ENOUGH": "账户余额不足：请充值",
    "isv.OUT_OF_SERVICE": "业务停机（欠费）：请充值",
}


class AliyunSms:
    name = "aliyun"
    label = "阿里云短信"
    max_batch = 1000
    proves_absence = True

    def __init__(self, session: aiohttp.ClientSession, *, key_id: str, secret: str, sign_name: str,
                 base_url: str = "", region: str = "cn-hangzhou", timeout: float = 10.0) -> None:
        self.session = session
        self.key_id = key_id
        self.secret = secret
        self.sign_name = sign_name
        self.base_url = (base_url or ENDPOINT).rstrip("/")
        self.region = region
        self.timeout = timeout

    async def call(self, action: str, params: Mapping[str, str]) -> dict[str, Any]:
        """One signed RPC call, sent as the official SDK sends it: POST with every parameter in the
        query string (where the API declares them) and an empty body, whose hash is signed."""
        host = urlsplit(self.base_url + "/").netloc
        query = acs3_canonical_query(params)
        url = f"{self.base_url}/?{query}" if query else f"{self.base_url}/"
        digest = sha256_hex(b"")
        signed = {"host": host, "x-acs-action": action, "x-acs-version": VERSION,
                  "x-acs-date": acs3_date(datetime.now(timezone.utc)), "x-acs-signature-nonce": uuid.uuid4().hex,
                  "x-acs-content-sha256": digest}
        auth = acs3_authorization(method="POST", path="/", query=params, headers=signed, payload_hash=digest,
                                  key_id=self.key_id, secret=self.secret)
        headers = {**{k: v for k, v in signed.items() if k != "host"},
                   "Host": host, "Authorization": auth, "Accept": "application/json"}
        status, data = await post(self.session, url, headers=headers, timeout=self.timeout, provider=self.label)
        if not isinstance(data, dict):
            raise ProviderError(Failure.UNCERTAIN, "BadAnswer", f"{self.label}返回了意外的内容")
        code = str(data.get("Code", ""))
        if status != 200 or code != "OK":
            raise self.error(code or f"HTTP{status}", str(data.get("Message", "")))
        return data

    def error(self, code: str, message: str) -> ProviderError:
        if code in AUTH_CODES:
            failure = Failure.AUTH
        elif code in QUOTA_CODES:
            failure = Failure.QUOTA
        elif code.startswith("Throttling"):
            failure = Failure.THROTTLED
        elif code in NUMBER_CODES:
            failure = Failure.NUMBERS
        elif code in UNCERTAIN_CODES:
            failure = Failure.UNCERTAIN
        elif code == "SignatureNonceUsed":
            failure = Failure.UNREACHABLE  # refused before acting: send again with a new nonce
        else:
            failure = Failure.REJECTED
        fix = FIXES.get(code)
        return ProviderError(failure, code, f"{message}（{fix}）" if fix else message,
                             retry_after=1.0 if failure is Failure.THROTTLED else None)

    async def send(self, phones: Sequence[str], template: str, params: Mapping[str, str], *,
                   marker: str) -> list[NumberResult]:
        query = {"PhoneNumbers": ",".join(phones_.national(p) for p in phones), "SignName": self.sign_name,
                 "TemplateCode": template, "TemplateParam": json.dumps(dict(params), ensure_ascii=False),
                 "OutId": marker}
        try:
            data = await self.call("SendSms", query)
        except ProviderError as exc:
            if exc.failure is Failure.NUMBERS and len(phones) == 1:
                status = "skipped" if exc.code in SKIP_CODES else "failed"
                return [NumberResult(phones[0], status, "", exc.code, exc.message)]
            raise
        biz_id = str(data.get("BizId", ""))
        return [NumberResult(p, "sent", biz_id, "OK", "") for p in phones]

    async def lookup(self, phone: str, marker: str, since: datetime) -> Found | None:
        days = {since.astimezone(BEIJING).strftime("%Y%m%d"), datetime.now(BEIJING).strftime("%Y%m%d")}
        for day in sorted(days):
            page = 1
            while True:
                data = await self.call("QuerySendDetails", {
                    "PhoneNumber": phones_.national(phone), "SendDate": day, "PageSize": "50",
                    "CurrentPage": str(page)})
                rows = (data.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
                for row in rows:
                    if row.get("OutId") == marker:
                        status = {2: "failed", 3: "delivered"}.get(int(row.get("SendStatus", 1)), "sent")
                        return Found(phone, status, str(row.get("ErrCode", "")))
                if page * 50 >= int(data.get("TotalCount", 0)) or not rows:
                    break
                page += 1
        return None

    async def pull_reports(self, limit: int = 100) -> list[Report]:
        return []  # Aliyun pushes reports (SmsReport) or queues them in MNS; there is no pull API

    async def pull_replies(self, limit: int = 100) -> list[Reply]:
        return []  # replies come by the SmsUp HTTP push


def parse_report(entry: Mapping[str, Any]) -> Report:
    """One element of an SmsReport push."""
    at = None
    when = str(entry.get("report_time") or "")
    if when:
        try:
            at = datetime.strptime(when, "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
        except ValueError:
            at = None
    return Report(phone=phones_.normalise(str(entry["phone_number"])), remote_id=str(entry.get("biz_id", "")),
                  marker=str(entry.get("out_id") or ""), delivered=entry.get("success") in (True, "true"),
                  code=str(entry.get("err_code") or ""), message=str(entry.get("err_msg") or ""), at=at)


def parse_reply(entry: Mapping[str, Any]) -> Reply:
    """One element of an SmsUp push."""
    at = None
    try:
        at = datetime.strptime(str(entry.get("send_time")), "%Y-%m-%d %H:%M:%S").replace(tzinfo=BEIJING)
    except ValueError:
        pass
    return Reply(phone=phones_.normalise(str(entry["phone_number"])), text=str(entry.get("content", "")),
                 at=at, sign=str(entry.get("sign_name", "")))
