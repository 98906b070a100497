"""The Tencent Cloud SMS API as an aiohttp application (requests go to its root)."""
from __future__ import annotations

import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from aiohttp import web

from channels.sandbox.sms_center.center import BEIJING, Accepted, Message, Reply, SmsCenter, Template
from channels.sandbox.sms_center.gateway import Pusher, RateGate, delayed
from channels.sandbox.tencent_sms.verify import expected_signature, parse

VERSION = "2021-01-11"
MAX_NUMBERS = 200
# The regions the SMS API 2021-01-11 is served in (protocol reference §4.2).
REGIONS = {"ap-guangzhou", "ap-beijing", "ap-nanjing"}
SKEW = 300
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only
URLISH = re.compile(r"(https?://|www\.)|([a-z0-9-]+\.)+(com|cn|net|org|gov|edu)\b", re.I)
PUSHER_KEY = web.AppKey("tencent_pusher", Pusher)
GATEWAY_KEY = web.AppKey("tencent_gateway", object)

LIMIT_CODES = {"minute": ("LimitExceeded.PhoneNumberThirtySecondLimit", "单个手机号30秒内下发短信条数超过设定的上限"),
               "hour": ("LimitExceeded.PhoneNumberOneHourLimit", "单个手机号1小时内下发短信条数超过设定的上限"),
               "day": ("LimitExceeded.PhoneNumberDailyLimit", "单个手机号日下发短信条数超过设定的上限")}


@dataclass
class TencentOptions:
    credentials: dict[str, str]  # SecretId → SecretKey
    apps: set[str]  # SmsSdkAppId values of the account
    signs: set[str]
    templates: dict[str, Template]  # TemplateId → template with {1}, {2}… placeholders
    report_url: str = ""  # status callback
    reply_url: str = ""  # reply (uplink) callback
    latency: float = 0.0
    qps: float = 0.0
    param_max: int = 35
    push_interval: float = 0.1
    clock: Any = field(default=time.time)


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(code)
        self.code, self.message = code, message


def _json(data: dict[str, Any]) -> web.Response:
    # Exactly "application/json", as the real API sends it: the SDK only looks for errors in
    # responses of that exact content type.
    return web.Response(body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
                        headers={"Content-Type": "application/json"})


def _error(code: str, message: str) -> web.Response:
    return _json({"Response": {"Error": {"Code": code, "Message": message}, "RequestId": str(uuid.uuid4())}})


def _beijing(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


def _national(raw: str) -> str | None:
    n = str(raw).strip()
    for prefix in ("+86", "0086", "86"):
        if n.startswith(prefix) and len(n) == 11 + len(prefix):
            n = n[len(prefix):]
            break
    return n if MOBILE.match(n) else None


class TencentGateway:
    def __init__(self, center: SmsCenter, options: TencentOptions) -> None:
        self.center = center
        self.o = options
        self.gate = RateGate(options.qps)

    async def handle(self, request: web.Request) -> web.Response:
        payload = await request.read()
        headers = {k.lower(): v for k, v in request.headers.items()}
        head = parse(headers.get("authorization", ""))
        if head is None:
            return _error("AuthFailure.InvalidAuthorization",
                          "Authorization 头部格式不正确，请检查签名方法 TC3-HMAC-SHA256 的格式。")
        secret = self.o.credentials.get(head.secret_id)
        if secret is None:
            return _error("AuthFailure.SecretIdNotFound",
                          "The SecretId is not found, please ensure that your SecretId is correct.")
        stamp = headers.get("x-tc-timestamp", "")
        now = self.o.clock()
        if not stamp.isdigit() or abs(now - int(stamp)) > SKEW:
            return _error("AuthFailure.SignatureExpire",
                          "Signature expired. Timestamp and server time cannot exceed five minutes.")
        date = datetime.fromtimestamp(int(stamp), timezone.utc).strftime("%Y-%m-%d")
        if head.date != date or head.service != "sms" or not {"content-type", "host"} <= set(head.signed_headers):
            return _error("AuthFailure.SignatureFailure",
                          "The provided credentials could not be validated because of an invalid credential scope.")
        expected = expected_signature(secret_key=secret, head=head, method=request.method,
                                      query=request.query_string, headers=headers, payload=payload,
                                      timestamp=stamp)
        if not secrets.compare_digest(expected, head.signature):
            return _error("AuthFailure.SignatureFailure",
                          "The provided credentials could not be validated. Please check your signature is correct.")
        if headers.get("x-tc-version") != VERSION:
            return _error("NoSuchVersion", f"The requested version {headers.get('x-tc-version')!r} does not exist.")
        region = headers.get("x-tc-region", "").strip()
        # [assumption] Region is a required common parameter of the SMS API; the protocol reference
        # lists no error for it, so these are the Tencent Cloud API 3.0 common errors as the
        # official SDKs report them: a missing Region → MissingParameter, a region the service
        # does not serve → InvalidParameterValue, both after the signature check.
        if not region:
            return _error("MissingParameter", "The request is missing a required parameter `Region`.")
        if region not in REGIONS:
            return _error("InvalidParameterValue",
                          "A value specified in `X-TC-Region` is not valid, is unsupported, or cannot be used.")
        action = headers.get("x-tc-action", "")
        handler = {"SendSms": self.send_sms, "PullSmsSendStatus": self.pull_status,
                   "PullSmsSendStatusByPhoneNumber": self.pull_status_by_number,
                   "PullSmsReplyStatus": self.pull_replies}.get(action)
        if handler is None:
            return _error("InvalidAction", f"The requested action {action!r} does not exist.")
        try:
            body = json.loads(payload or b"{}")
        except ValueError:
            return _error("InvalidParameter", "The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _error("InvalidParameter", "The request body must be a JSON object.")
        if not self.gate.allow():
            return _error("RequestLimitExceeded", "请求的次数超过了频率限制。")

        async def work() -> web.Response:
            try:
                data = handler(body)
            except Refused as refused:
                return _error(refused.code, refused.message)
            return _json({"Response": {**data, "RequestId": str(uuid.uuid4())}})

        return await delayed(self.o.latency, work)

    def _app(self, body: dict[str, Any]) -> str:
        app = str(body.get("SmsSdkAppId", ""))
        if app not in self.o.apps:
            raise Refused("UnauthorizedOperation.SmsSdkAppIdVerifyFail",
                          "SmsSdkAppId 校验失败，请检查 SmsSdkAppId 是否属于云 API 密钥的关联账户。")
        return app

    def _render(self, template: Template, values: list[Any]) -> str:
        if not all(isinstance(v, str) for v in values):
            raise Refused("InvalidParameterValue.TemplateParameterFormatError", "验证码模板参数格式错误：参数应为字符串。")
        slots = sorted({int(n) for n in re.findall(r"\{(\d+)\}", template.text)})
        if template.text and len(values) != len(slots):
            raise Refused("FailedOperation.TemplateParamSetNotMatchApprovedTemplate",
                          "请求内容与审核通过的模板内容不匹配，请检查模板参数个数。")
        limit = 6 if template.kind == "code" else self.o.param_max
        for value in values:
            if len(value) > limit:
                raise Refused("InvalidParameterValue.TemplateParameterLengthLimit",
                              f"单个模板变量字符数超过 {limit} 个。")
            if URLISH.search(value):
                raise Refused("InvalidParameterValue.ProhibitedUseUrlInTemplateParameter", "禁止在模板变量中使用 URL。")
        if not template.text:
            return "，".join(values)
        return re.sub(r"\{(\d+)\}", lambda m: values[int(m.group(1)) - 1], template.text)

    def send_sms(self, body: dict[str, Any]) -> dict[str, Any]:
        app = self._app(body)
        phones = body.get("PhoneNumberSet") or []
        if not phones:
            raise Refused("MissingParameter.EmptyPhoneNumberSet", "传入的号码列表为空，请确认参数中是否传入号码。")
        if len(phones) > MAX_NUMBERS:
            raise Refused("LimitExceeded.PhoneNumberCountLimit", f"调用接口单次提交的手机号个数超过 {MAX_NUMBERS} 个。")
        sign = str(body.get("SignName", ""))
        if sign not in self.o.signs:
            raise Refused("FailedOperation.SignatureIncorrectOrUnapproved", "签名未审批或格式错误。")
        code = str(body.get("TemplateId", ""))
        template = self.o.templates.get(code)
        if template is None:
            raise Refused("FailedOperation.TemplateIncorrectOrUnapproved", "模板未审批或内容不匹配。")
        content = self._render(template, list(body.get("TemplateParamSet") or []))
        full = f"【{sign}】{content}"
        if len(full) > 500:
            raise Refused("InvalidParameterValue.ContentLengthLimit", "请求的短信内容太长。")
        parts = 1 if len(full) <= 70 else math.ceil(len(full) / 67)
        context = str(body.get("SessionContext", ""))
        national = [_national(p) for p in phones]
        valid = [n for n in national if n]
        over = self.center.over_limit("tencent", app, valid, kind=template.kind, sign=sign, template=code)
        statuses, accepted, seen = [], [], set()
        for raw, n in zip(phones, national):
            if n is None:
                statuses.append({"SerialNo": "", "PhoneNumber": str(raw), "Fee": 0, "SessionContext": context,
                                 "Code": "InvalidParameterValue.IncorrectPhoneNumber", "Message": "手机号格式错误",
                                 "IsoCode": "DEF"})
                continue
            window = over.get(n) or (("minute", 1) if n in seen and template.kind == "code" else None)
            seen.add(n)
            if window:
                err, msg = LIMIT_CODES[window[0]]
                statuses.append({"SerialNo": "", "PhoneNumber": f"+86{n}", "Fee": 0, "SessionContext": context,
                                 "Code": err, "Message": msg, "IsoCode": "CN"})
                continue
            serial = f"2645:{secrets.randbelow(10 ** 28):028d}"
            accepted.append(Accepted(n, serial))
            statuses.append({"SerialNo": serial, "PhoneNumber": f"+86{n}", "Fee": parts, "SessionContext": context,
                             "Code": "Ok", "Message": "send success", "IsoCode": "CN"})
        if accepted:
            self.center.record("tencent", app, accepted, sign=sign, template=code, kind=template.kind,
                               content=content, parts=parts, out_id=context)
        return {"SendStatusSet": statuses}

    @staticmethod
    def _status(m: Message) -> dict[str, Any]:
        return {"UserReceiveTime": _beijing(m.reported_at), "CountryCode": "86", "SubscriberNumber": m.phone,
                "PhoneNumber": f"+86{m.phone}", "SerialNo": m.remote_id,
                "ReportStatus": "SUCCESS" if m.status == "delivered" else "FAIL",
                "Description": "用户短信送达成功" if m.status == "delivered" else (m.err_msg or m.err_code),
                "SessionContext": m.out_id}

    @staticmethod
    def _limit(body: dict[str, Any], most: int = 100) -> int:
        try:
            limit = int(body.get("Limit", 0))
        except (TypeError, ValueError):
            limit = 0
        if not 1 <= limit <= most:
            raise Refused("InvalidParameterValue", f"Limit 取值应在 1–{most}。")
        return limit

    def pull_status(self, body: dict[str, Any]) -> dict[str, Any]:
        app = self._app(body)
        found = self.center.pull_reports("tencent", app, self._limit(body))
        return {"PullSmsSendStatusSet": [self._status(m) for m in found]}

    def pull_status_by_number(self, body: dict[str, Any]) -> dict[str, Any]:
        app = self._app(body)
        phone = _national(str(body.get("PhoneNumber", "")))
        if phone is None:
            raise Refused("InvalidParameterValue.IncorrectPhoneNumber", "手机号格式错误。")
        try:
            begin = int(body.get("BeginTime", 0))
            end = int(body.get("EndTime") or self.o.clock())
            offset = int(body.get("Offset", 0))
        except (TypeError, ValueError):
            raise Refused("InvalidParameterValue", "BeginTime、EndTime、Offset 应为整数。") from None
        found = self.center.reports_of("tencent", app, phone, begin, end, offset, self._limit(body))
        return {"PullSmsSendStatusSet": [self._status(m) for m in found]}

    def pull_replies(self, body: dict[str, Any]) -> dict[str, Any]:
        self._app(body)
        found = self.center.pull_replies("tencent", self._limit(body))
        return {"PullSmsReplyStatusSet": [
            {"ExtendCode": "", "CountryCode": "86", "PhoneNumber": f"+86{r.phone}", "SubscriberNumber": r.phone,
             "SignName": r.sign, "ReplyContent": r.content, "ReplyTime": _beijing(r.at)} for r in found]}

    # ------------------------------------------------------------------ callbacks
    # The callback shapes are the ones the protocol reference marks [unverified] (the status
    # callback as a JSON array answered with {"result": 0}; the reply callback one object per
    # push); the SessionContext is echoed in "ext".
    def report_body(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        return [{"user_receive_time": _beijing(m.reported_at), "nationcode": "86", "mobile": m.phone,
                 "report_status": "SUCCESS" if m.status == "delivered" else "FAIL",
                 "errmsg": "DELIVRD" if m.status == "delivered" else (m.err_code or "UNDELIV"),
                 "description": "用户短信送达成功" if m.status == "delivered" else m.err_msg,
                 "sid": m.remote_id, "ext": {"SessionContext": m.out_id}} for m in messages]

    @staticmethod
    def reply_body(replies: Sequence[Reply]) -> dict[str, Any]:
        r = replies[0]
        return {"extend": "", "mobile": r.phone, "nationcode": "86", "sign": r.sign, "text": r.content,
                "time": int(r.at)}


def _accepted(answer: Any) -> bool:
    return isinstance(answer, dict) and answer.get("result") == 0


def make_app(center: SmsCenter, options: TencentOptions) -> web.Application:
    gateway = TencentGateway(center, options)
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_post("/", gateway.handle)
    pusher = Pusher(options.push_interval)
    pusher.add(lambda: options.report_url, lambda: center.reports_to_push("tencent"), gateway.report_body,
               lambda items, ok: center.mark_pushed([m.id for m in items], ok), _accepted)
    pusher.add(lambda: options.reply_url, lambda: center.replies_to_push("tencent", limit=1), gateway.reply_body,
               lambda items, ok: center.mark_replies_pushed([r.id for r in items], ok), _accepted)
    app[PUSHER_KEY] = pusher
    app[GATEWAY_KEY] = gateway
    app.on_startup.append(pusher.start)
    app.on_cleanup.append(pusher.stop)
    return app
