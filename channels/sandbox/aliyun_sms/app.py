"""The Aliyun SMS gateway as an aiohttp application (mount it anywhere; requests go to its root)."""
from __future__ import annotations

import hashlib
import json
import math
import re
import secrets
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from xml.sax.saxutils import escape

from aiohttp import web

from channels.sandbox.aliyun_sms.verify import parse_v3, rpc_v1_signature, rpc_v1_string_to_sign, v3_signature
from channels.sandbox.sms_center.center import BEIJING, Accepted, Message, Reply, SmsCenter, Template
from channels.sandbox.sms_center.gateway import NonceMemory, Pusher, RateGate, delayed

VERSION = "2017-05-25"
HOST_ID = "dysmsapi.aliyuncs.com"
MAX_NUMBERS = 1000
MAX_BATCH = 100
SKEW = 900  # seconds a timestamp may be off
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")  # ASCII digits only
URLISH = re.compile(r"(https?://|www\.)|([a-z0-9-]+\.)+(com|cn|net|org|gov|edu)\b", re.I)
PUSHER_KEY = web.AppKey("aliyun_pusher", Pusher)
GATEWAY_KEY = web.AppKey("aliyun_gateway", object)


@dataclass
class AliyunOptions:
    credentials: dict[str, str]  # AccessKeyId → AccessKeySecret
    signs: set[str]
    templates: dict[str, Template]
    report_url: str = ""  # SmsReport HTTP batch push
    up_url: str = ""  # SmsUp (replies) HTTP batch push
    latency: float = 0.0
    qps: float = 0.0  # 0 = only the documented 5,000/s, not enforced
    param_max: int = 35
    push_interval: float = 0.1
    clock: Any = field(default=time.time)


class Refused(Exception):
    def __init__(self, code: str, message: str, status: int = 200) -> None:
        super().__init__(code)
        self.code, self.message, self.status = code, message, status


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _answer(data: dict[str, Any], fmt: str, action: str, status: int = 200) -> web.Response:
    if fmt.upper() == "XML":
        def node(k: str, v: Any) -> str:
            if isinstance(v, dict):
                return f"<{k}>" + "".join(node(a, b) for a, b in v.items()) + f"</{k}>"
            if isinstance(v, list):
                return "".join(node(k, x) for x in v)
            return f"<{k}>{escape(str(v))}</{k}>"
        root = f"{action}Response" if status == 200 else "Error"
        body = "<?xml version='1.0' encoding='UTF-8'?>" + node(root, data)
        return web.Response(text=body, status=status, content_type="text/xml", charset="utf-8")
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _gateway_error(status: int, code: str, message: str, fmt: str) -> web.Response:
    return _answer({"RequestId": _request_id(), "HostId": HOST_ID, "Code": code, "Message": message,
                    "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}&product=Dysmsapi"},
                   fmt, "", status)


def _national(raw: str) -> str | None:
    n = raw.strip()
    for prefix in ("+86", "0086", "86"):
        if n.startswith(prefix) and len(n) == 11 + len(prefix):
            n = n[len(prefix):]
            break
    return n if MOBILE.match(n) else None


def _parts(text: str) -> int:
    return 1 if len(text) <= 70 else math.ceil(len(text) / 67)


def _beijing(ts: float | None) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%Y-%m-%d %H:%M:%S") if ts else ""


class AliyunGateway:
    def __init__(self, center: SmsCenter, options: AliyunOptions) -> None:
        self.center = center
        self.o = options
        self.nonces = NonceMemory(SKEW)
        self.gate = RateGate(options.qps)
        self.fault: tuple[int, str] | None = None  # (HTTP status, body) answered to every call

    def fail_with(self, status: int | None, body: str = "") -> None:
        """Fault injection: answer every call with this HTTP status and plain-text body (as a
        misrouted gateway or proxy would), until called again with ``None``."""
        self.fault = None if status is None else (status, body)

    # ------------------------------------------------------------------ authentication
    async def handle(self, request: web.Request) -> web.Response:
        if self.fault is not None:
            return web.Response(status=self.fault[0], text=self.fault[1])
        body = await request.read()
        query: dict[str, str] = dict(request.query)
        # Every parameter of these RPC actions is declared "in": "query" in the API metadata (the V3
        # request structure: query parameters travel in the URL; the official SDK sends them there
        # with an empty body), so that is the only place they are read from. A form body is
        # covered by the ACS3 body hash but supplies no parameter. [assumption: the real gateway
        # gives the same "Missing<Name>" answer as for a parameter left out]
        params = dict(query)
        fmt = params.get("Format", "JSON")
        auth = request.headers.get("Authorization", "")
        now = self.o.clock()
        if auth.startswith("ACS3-"):
            denied = self._check_v3(request, query, body, auth, now)
            action = request.headers.get("x-acs-action", "")
            version = request.headers.get("x-acs-version", "")
        elif "Signature" in params:
            denied = self._check_v1(request.method, params, now)
            action, version = params.get("Action", ""), params.get("Version", "")
        else:
            denied = (400, "MissingSignature", "The input parameter \"Signature\" that is mandatory "
                                               "for processing this request is not supplied.")
            action = version = ""
        if denied:
            return _gateway_error(*denied, fmt)
        if version != VERSION:
            return _gateway_error(400, "InvalidVersion", f"Specified parameter Version is not valid: {version!r}.", fmt)
        handler = {"SendSms": self.send_sms, "SendBatchSms": self.send_batch_sms,
                   "QuerySendDetails": self.query_send_details}.get(action)
        if handler is None:
            return _gateway_error(404, "InvalidAction.NotFound",
                                  f"Specified api {action!r} is not found, please check your url and method.", fmt)
        if not self.gate.allow():
            return _gateway_error(400, "Throttling.User", "Request was denied due to user flow control.", fmt)

        async def work() -> web.Response:
            try:
                data = handler(params)
            except Refused as refused:
                if refused.status != 200:
                    return _gateway_error(refused.status, refused.code, refused.message, fmt)
                data = {"Code": refused.code, "Message": refused.message}
            return _answer({**data, "RequestId": _request_id()}, fmt, action)

        return await delayed(self.o.latency, work)

    def _fresh(self, stamp: str, nonce: str, now: float) -> tuple[int, str, str] | None:
        try:
            when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc).timestamp()
        except ValueError:
            return 400, "InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted."
        if abs(now - when) > SKEW:
            return 400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
        if not nonce:
            return 400, "MissingSignatureNonce", "The input parameter \"SignatureNonce\" is not supplied."
        if not self.nonces.fresh(nonce, now):
            return 400, "SignatureNonceUsed", "Specified signature nonce was used already."
        return None

    def _check_v1(self, method: str, params: dict[str, str], now: float) -> tuple[int, str, str] | None:
        key_id = params.get("AccessKeyId", "")
        secret = self.o.credentials.get(key_id)
        if secret is None:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0":
            return 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
        expected = rpc_v1_signature(method, params, secret)
        if not secrets.compare_digest(expected, params.get("Signature", "")):
            return (400, "SignatureDoesNotMatch", "Specified signature does not match our calculation. "
                    f"server string to sign is:{rpc_v1_string_to_sign(method, params)}")
        return self._fresh(params.get("Timestamp", ""), params.get("SignatureNonce", ""), now)

    def _check_v3(self, request: web.Request, query: dict[str, str], body: bytes, auth: str,
                  now: float) -> tuple[int, str, str] | None:
        """Signature V3 covers the query string, the signed headers and (by its hash) the body."""
        head = parse_v3(auth)
        if head is None:
            return 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
        secret = self.o.credentials.get(head.key_id)
        if secret is None:
            return 404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
        headers = {k.lower(): v for k, v in request.headers.items()}
        must = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce",
                "x-acs-content-sha256"}
        present_acs = {h for h in headers if h.startswith("x-acs-")}
        if not (must | present_acs) <= set(head.signed_headers):
            return 400, "IncompleteSignature", "The request signature does not conform to Aliyun standards."
        if headers.get("x-acs-content-sha256") != hashlib.sha256(body).hexdigest():
            return 400, "ContentSHA256NotMatch", "The x-acs-content-sha256 header does not match the body."
        expected = v3_signature(request.method, "/", query, headers, head.signed_headers, secret)
        if not secrets.compare_digest(expected, head.signature):
            return 400, "SignatureDoesNotMatch", "Specified signature does not match our calculation."
        return self._fresh(headers.get("x-acs-date", ""), headers.get("x-acs-signature-nonce", ""), now)

    # ------------------------------------------------------------------ actions
    def _template(self, code: str) -> Template:
        template = self.o.templates.get(code)
        if template is None:
            raise Refused("isv.SMS_TEMPLATE_ILLEGAL", "模板不合法(不存在或被拉黑)")
        return template

    def _sign(self, sign: str) -> None:
        if sign not in self.o.signs:
            raise Refused("isv.SMS_SIGNATURE_ILLEGAL", "签名不合法(不存在或被拉黑)")

    def _render(self, template: Template, raw: str) -> str:
        try:
            values = json.loads(raw) if raw else {}
        except ValueError:
            raise Refused("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值") from None
        if not isinstance(values, dict) or not all(isinstance(v, str) for v in values.values()):
            raise Refused("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        names = re.findall(r"\$\{(\w+)\}", template.text)
        missing = [n for n in names if n not in values]
        if missing:
            raise Refused("isv.TEMPLATE_MISSING_PARAMETERS", f"模板变量缺少对应参数值：{','.join(missing)}")
        limit = 6 if template.kind == "code" else self.o.param_max
        for name, value in values.items():
            if len(value) > limit:
                raise Refused("isv.PARAM_LENGTH_LIMIT", f"参数超出长度限制：{name} 超过 {limit} 个字符")
            if URLISH.search(value):
                raise Refused("isv.PARAM_NOT_SUPPORT_URL", f"不支持URL：变量 {name} 中含有网址")
        if template.text:
            content = re.sub(r"\$\{(\w+)\}", lambda m: values[m.group(1)], template.text)
        else:
            content = "，".join(values.values())
        return content

    def _numbers(self, raw: list[str]) -> list[str]:
        numbers = []
        for n in raw:
            national = _national(n)
            if national is None:
                raise Refused("isv.MOBILE_NUMBER_ILLEGAL", f"非法手机号：{n}")
            numbers.append(national)
        return numbers

    def _limit_message(self, window: str, permits: int) -> str:
        return {"minute": "触发分钟级流控", "hour": "触发小时级流控", "day": "触发天级流控"}[window] + f"Permits:{permits}"

    def _accept(self, numbers: list[str], *, sign: str, code: str, template: Template,
                contents: list[str], out_id: str) -> str:
        over = self.center.over_limit("aliyun", "", numbers, kind=template.kind, sign=sign, template=code)
        if len(numbers) == 1 and numbers[0] in over:
            raise Refused("isv.BUSINESS_LIMIT_CONTROL", self._limit_message(*over[numbers[0]]))
        biz_id = f"{secrets.randbelow(10 ** 17):017d}^0"
        seen: set[str] = set()
        by_content: dict[str, list[Accepted]] = {}
        for n, content in zip(numbers, contents):
            if n in over or n in seen and template.kind == "code":
                accepted = Accepted(n, biz_id, "failed", "isv.BUSINESS_LIMIT_CONTROL",
                                    self._limit_message(*over.get(n, ("minute", 1))), counted=False)
            else:
                accepted = Accepted(n, biz_id)
            seen.add(n)
            by_content.setdefault(content, []).append(accepted)
        for content, _accepted_numbers in by_content.items():
            full = f"【{sign}】{content}"
            if len(full) > 500:
                raise Refused("isv.PARAM_LENGTH_LIMIT", "短信内容超过 500 字")
        for content, accepted_numbers in by_content.items():
            self.center.record("aliyun", "", accepted_numbers, sign=sign, template=code, kind=template.kind,
                               content=content, parts=_parts(f"【{sign}】{content}"), out_id=out_id)
        return biz_id

    def send_sms(self, p: dict[str, str]) -> dict[str, Any]:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not p.get(name):
                raise Refused(f"Missing{name}", f"The input parameter \"{name}\" that is mandatory "
                                                f"for processing this request is not supplied.", 400)
        raw = [n for n in p["PhoneNumbers"].split(",") if n.strip()]
        if len(raw) > MAX_NUMBERS:
            raise Refused("isv.MOBILE_COUNT_OVER_LIMIT", f"手机号码数量超过限制：最多 {MAX_NUMBERS} 个")
        numbers = self._numbers(raw)
        self._sign(p["SignName"])
        template = self._template(p["TemplateCode"])
        content = self._render(template, p.get("TemplateParam", ""))
        biz_id = self._accept(numbers, sign=p["SignName"], code=p["TemplateCode"], template=template,
                              contents=[content] * len(numbers), out_id=p.get("OutId", ""))
        return {"Code": "OK", "Message": "OK", "BizId": biz_id}

    def send_batch_sms(self, p: dict[str, str]) -> dict[str, Any]:
        try:
            phones = json.loads(p.get("PhoneNumberJson", "[]"))
            signs = json.loads(p.get("SignNameJson", "[]"))
            params = json.loads(p.get("TemplateParamJson", "[]")) if p.get("TemplateParamJson") else None
        except ValueError:
            raise Refused("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值") from None
        if not phones:
            raise Refused("MissingPhoneNumberJson", "The input parameter \"PhoneNumberJson\" is not supplied.", 400)
        if len(phones) > MAX_BATCH:
            raise Refused("isv.MOBILE_COUNT_OVER_LIMIT", f"手机号码数量超过限制：最多 {MAX_BATCH} 个")
        if len(signs) != len(phones) or (params is not None and len(params) != len(phones)):
            raise Refused("isv.INVALID_PARAMETERS", "参数异常：号码、签名和参数的个数不一致")
        numbers = self._numbers([str(x) for x in phones])
        for s in set(signs):
            self._sign(s)
        template = self._template(p.get("TemplateCode", ""))
        biz_id = ""
        for sign in dict.fromkeys(signs):
            idx = [i for i, s in enumerate(signs) if s == sign]
            contents = [self._render(template, json.dumps(params[i]) if params else "") for i in idx]
            biz_id = self._accept([numbers[i] for i in idx], sign=sign, code=p.get("TemplateCode", ""),
                                  template=template, contents=contents, out_id=p.get("OutId", ""))
        return {"Code": "OK", "Message": "OK", "BizId": biz_id}

    def query_send_details(self, p: dict[str, str]) -> dict[str, Any]:
        phone = _national(p.get("PhoneNumber", ""))
        if phone is None:
            raise Refused("isv.MOBILE_NUMBER_ILLEGAL", f"非法手机号：{p.get('PhoneNumber', '')}")
        day = p.get("SendDate", "")
        try:
            when = datetime.strptime(day, "%Y%m%d").replace(tzinfo=BEIJING)
        except ValueError:
            raise Refused("isv.INVALID_PARAMETERS", "参数异常：SendDate 应为 yyyyMMdd") from None
        today = datetime.fromtimestamp(self.o.clock(), BEIJING)
        if not timedelta(0) <= today - when <= timedelta(days=30):
            raise Refused("isv.INVALID_PARAMETERS", "参数异常：SendDate 只能查询 30 天内")
        try:
            size, page = int(p.get("PageSize", "10")), int(p.get("CurrentPage", "1"))
        except ValueError:
            raise Refused("isv.INVALID_PARAMETERS", "参数异常：PageSize 和 CurrentPage 应为整数") from None
        if not 1 <= size <= 50 or page < 1:
            raise Refused("isv.INVALID_PARAMETERS", "参数异常：PageSize 应在 1–50，CurrentPage ≥ 1")
        found = self.center.query("aliyun", "", phone, day, p.get("BizId", ""))
        shown = found[(page - 1) * size: page * size]
        status = {"pending": 1, "failing": 1, "failed": 2, "delivered": 3}
        return {"Code": "OK", "Message": "OK", "TotalCount": len(found), "SmsSendDetailDTOs": {
            "SmsSendDetailDTO": [{
                "PhoneNum": m.phone, "SendStatus": status.get(m.status, 1),
                "ErrCode": m.err_code or ("DELIVERED" if m.status == "delivered" else ""),
                "TemplateCode": m.template, "Content": m.text, "SendDate": _beijing(m.submitted_at),
                "ReceiveDate": _beijing(m.reported_at), "OutId": m.out_id} for m in shown]}}

    # ------------------------------------------------------------------ pushes
    def report_body(self, messages: Sequence[Message]) -> list[dict[str, Any]]:
        return [{"phone_number": m.phone, "send_time": _beijing(m.submitted_at),
                 "report_time": _beijing(m.reported_at), "success": m.status == "delivered",
                 "err_code": "DELIVERED" if m.status == "delivered" else m.err_code,
                 "err_msg": "用户接收成功" if m.status == "delivered" else m.err_msg,
                 "sms_size": str(m.parts), "biz_id": m.remote_id, "out_id": m.out_id} for m in messages]

    def reply_body(self, replies: Sequence[Reply]) -> list[dict[str, Any]]:
        return [{"phone_number": r.phone, "send_time": _beijing(r.at), "content": r.content,
                 "sign_name": r.sign, "dest_code": "", "sequence_id": r.id} for r in replies]


def _numeric_code(answer: Any) -> bool:
    return isinstance(answer, dict) and isinstance(answer.get("code"), int)


def make_app(center: SmsCenter, options: AliyunOptions) -> web.Application:
    gateway = AliyunGateway(center, options)
    app = web.Application(client_max_size=2 * 1024 * 1024)
    app.router.add_route("POST", "/", gateway.handle)
    app.router.add_route("GET", "/", gateway.handle)
    pusher = Pusher(options.push_interval)
    pusher.add(lambda: options.report_url, lambda: center.reports_to_push("aliyun"), gateway.report_body,
               lambda items, ok: center.mark_pushed([m.id for m in items], ok), _numeric_code)
    pusher.add(lambda: options.up_url, lambda: center.replies_to_push("aliyun"), gateway.reply_body,
               lambda items, ok: center.mark_replies_pushed([r.id for r in items], ok), _numeric_code)
    app[PUSHER_KEY] = pusher
    app.on_startup.append(pusher.start)
    app.on_cleanup.append(pusher.stop)
    app[GATEWAY_KEY] = gateway
    return app
