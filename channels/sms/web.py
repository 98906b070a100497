"""The web side of SMS: the public subscription pages (/subscribe, /unsubscribe), the providers'
callbacks (delivery reports, replies), and in sandbox mode the embedded emulators.

Pages are plain HTML forms (no JavaScript), in Chinese, with labels, error summaries linked to
their fields, and answers that never reveal whether a number is already subscribed."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as SQLTimeoutError

from channels.sms import phone as phones_
from channels.sms.client_address import client_address
from channels.sms.codes import CheckOutcome, Codes
from channels.sms.inbound import apply_reply, apply_reports
from channels.sms.providers import aliyun, tencent
from channels.sms.providers.base import ProviderError
from channels.sms.unsubscribe_links import make_token, parse_token, token_matches
from content import audit, subscribers
from content.errors import InputError
from content.kinds import KINDS, PUBLIC_STATES
from content.models import Item, Subscriber
from content.topics import ALL, EMERGENCY

log = logging.getLogger("gongkai.sms.web")
TOPIC_LABELS = {ALL: "全部信息", EMERGENCY: "突发事件与紧急通知"}
CODE = re.compile(r"^[0-9]{6}$")
#: The store still busy or locked after its retries, or no pooled connection free in time.
BUSY = (OperationalError, DBAPIError, SQLTimeoutError)


class SubscribePages:
    def __init__(self, service, channel) -> None:  # noqa: ANN001
        self.service = service
        self.channel = channel
        self.settings = channel.settings
        self.codes = Codes(service.store, channel.settings, channel.unsubscribe_secret)
        website = service.settings.channels.website
        self.common = {"site_title": website.site_title, "site_owner": website.site_owner}

    def page(self, name: str, status: int = 200, **context: Any) -> web.Response:
        text = self.service.renderer.page(f"sms/{name}", **self.common, **context)
        return web.Response(text=text, status=status, content_type="text/html", charset="utf-8",
                            headers={"Cache-Control": "no-store"})

    def message(self, heading: str, message: str, status: int, back: str = "/subscribe") -> web.Response:
        return self.page("message.html", status, heading=heading, message=message, back=back)

    def client(self, request: web.Request) -> str:
        return client_address(request.remote, request.headers.getall("X-Forwarded-For", []),
                              self.settings.proxies_in_front)

    def busy(self, phone: str, exc: Exception) -> web.Response:
        """The store is still busy after its retries (a burst of requests): ask to come back."""
        log.warning("短信订阅页面请求时数据库繁忙（%s）：%s", phones_.masked(phone), type(exc).__name__)
        response = self.message("请求过于频繁", "系统繁忙，本次输入未被受理，请稍后再试。", 429)
        response.headers["Retry-After"] = "5"
        return response

    async def topic_groups(self) -> list[dict[str, Any]]:
        async with self.service.store.sessions() as s:
            rows = list(await s.execute(select(Item.column_name, Item.department).distinct().where(
                Item.state.in_([st.value for st in PUBLIC_STATES]))))
        columns = dict.fromkeys([k.default_column for k in KINDS.values()] + sorted(c for c, _ in rows if c))
        departments = sorted({d for _, d in rows if d})
        groups = [{"key": "main", "title": "", "choices": [(ALL, TOPIC_LABELS[ALL]),
                                                             (EMERGENCY, TOPIC_LABELS[EMERGENCY])]},
                  {"key": "column", "title": "栏目", "choices": [(c, c) for c in columns]}]
        if departments:
            groups.append({"key": "department", "title": "发布部门", "choices": [(d, d) for d in departments]})
        return groups

    async def form(self, request: web.Request, *, errors: Mapping[str, str] | None = None, phone: str = "",
                   chosen: tuple[str, ...] = (), agree: bool = False, status: int = 200) -> web.Response:
        return self.page("subscribe.html", status, errors=dict(errors or {}), phone=phone, chosen=set(chosen),
                         agree=agree, groups=await self.topic_groups())

    async def show_form(self, request: web.Request) -> web.Response:
        return await self.form(request)

    async def request_code(self, request: web.Request) -> web.Response:
        data = await request.post()
        raw_phone = str(data.get("phone", "")).strip()[:40]
        chosen = tuple(dict.fromkeys(str(t) for t in data.getall("topic", [])))
        agree = data.get("agree") == "yes"
        errors: dict[str, str] = {}
        phone = ""
        try:
            phone = phones_.normalise(raw_phone)
        except InputError as exc:
            errors["phone"] = f"{exc.message}。{exc.fix}"
        known = {value for group in await self.topic_groups() for value, _ in group["choices"]}
        if not chosen:
            errors["topics"] = "请至少选择一项订阅内容"
        elif not set(chosen) <= known:
            errors["topics"] = "订阅内容中有本站没有的项目，请重新选择"
        if not agree:
            errors["agree"] = "请勾选同意接收短信"
        if errors:
            return await self.form(request, errors=errors, phone=raw_phone, chosen=chosen, agree=agree, status=400)
        client = self.client(request)
        try:
            issued = await self.codes.issue(phone, chosen, client, self.service.clock.now())
        except BUSY as exc:  # nothing was recorded or sent
            return self.busy(phone, exc)
        if issued.status == "limited":
            minutes = max(1, round(issued.retry_after / 60))
            wait = f"{issued.retry_after} 秒" if issued.retry_after < 120 else f"约 {minutes} 分钟"
            who = "该号码" if issued.reason.startswith("phone") else "您的网络地址"
            response = self.message("请求过于频繁", f"{who}获取验证码的次数已达上限，请 {wait}后再试。", 429)
            response.headers["Retry-After"] = str(issued.retry_after)
            return response
        if issued.status == "send":
            try:
                result = await self.channel.send_code(phone, issued.code)
            except ProviderError as exc:
                log.warning("验证码短信未能发出（%s）：%s", phones_.masked(phone), exc)
                await self.codes.withdraw(phone)
                return self.message("暂时无法发送验证码", "短信服务暂时不可用，请稍后再试。", 503)
            if result.status != "sent":
                log.info("验证码短信被服务商拒发（%s）：%s %s", phones_.masked(phone), result.code, result.message)
        notice = (f"如果该号码可以订阅，验证码短信已发送到 {phones_.masked(phone)}，请查收。"
                  "已订阅的号码确认后将以本次选择替换原来的订阅内容。")
        return self.page("code.html", errors={}, phone=phones_.national(phone), notice=notice,
                         ttl=self.settings.code_ttl_minutes, tries=self.settings.code_max_tries)

    async def confirm(self, request: web.Request) -> web.Response:
        data = await request.post()
        try:
            phone = phones_.normalise(str(data.get("phone", ""))[:40])
        except InputError as exc:
            return self.message("无法确认", f"{exc.message}。请重新获取验证码。", 400)
        code = str(data.get("code", "")).strip().translate(phones_.HALF_WIDTH)
        common = {"phone": phones_.national(phone), "notice": "", "ttl": self.settings.code_ttl_minutes,
                  "tries": self.settings.code_max_tries}
        if not CODE.match(code):
            return self.page("code.html", 400, errors={"code": "请输入短信中的 6 位数字验证码"}, **common)
        client = self.client(request)
        try:
            checked = await self.codes.check(phone, code, client, self.service.clock.now())
        except BUSY as exc:  # the guess was not counted
            return self.busy(phone, exc)
        if checked.status is CheckOutcome.WRONG:
            error = (f"验证码不正确，还可以再试 {checked.tries_left} 次" if checked.tries_left
                     else "验证码不正确。输入错误次数已达上限，此验证码已作废，请重新获取验证码")
            return self.page("code.html", 400, errors={"code": error}, **common)
        if checked.status is CheckOutcome.EXPIRED:
            return self.message("验证码已失效", "验证码已过期或尚未获取，请重新获取验证码。", 400)
        if checked.status is CheckOutcome.LOCKED:
            return self.message("验证码已作废", "输入错误次数过多，此验证码已作废，请重新获取验证码。", 429)
        assert checked.subscriber_id is not None  # an OK check names the subscriber
        labels = {value: label for group in await self.topic_groups() for value, label in group["choices"]}
        return self.page("done.html", masked=phones_.masked(phone),
                         topics=[labels.get(t, t) for t in checked.topics],
                         unsubscribe_url=self.unsubscribe_url(checked.subscriber_id, phone))

    def unsubscribe_url(self, subscriber_id: int, phone: str) -> str:
        token = make_token(self.channel.unsubscribe_secret, subscriber_id, phone)
        return f"{self.service.settings.base_url}/unsubscribe?{urlencode({'t': token})}"

    async def _unsubscribe_target(self, request: web.Request) -> str | None:
        """The number a link names, or None when the link is not one we signed. Links of the
        older form (``?p=<number>&t=<token of the number>``) are still honoured."""
        data = await request.post() if request.method == "POST" else {}
        # "token"/"phone": the fields of confirmation pages served before the opaque links
        token = str(data.get("t") or data.get("token") or request.query.get("t", ""))[:200]
        legacy = str(data.get("p") or data.get("phone") or request.query.get("p", ""))
        if legacy:
            try:
                phone = phones_.normalise(legacy[:40])
            except InputError:
                return None
            return phone if self.channel.check_unsubscribe_token(phone, token) else None
        parsed = parse_token(token)
        if parsed is None:
            return None
        async with self.service.store.sessions() as s:
            sub = await s.get(Subscriber, parsed.subscriber_id)
        if sub is None or sub.channel != "sms" or not token_matches(self.channel.unsubscribe_secret, parsed, sub.address):
            return None
        return sub.address

    def _invalid_link(self) -> web.Response:
        return self.page("unsubscribe.html", 400, heading="退订链接无效", state="invalid",
                         message="这个退订链接不完整或已损坏。请使用订阅成功页面中的完整链接。")

    async def unsubscribe_page(self, request: web.Request) -> web.Response:
        phone = await self._unsubscribe_target(request)
        if phone is None:
            return self._invalid_link()
        return self.page("unsubscribe.html", heading="退订短信", state="confirm", masked=phones_.masked(phone),
                         legacy_phone=request.query.get("p", ""), token=request.query.get("t", ""))

    async def unsubscribe(self, request: web.Request) -> web.Response:
        phone = await self._unsubscribe_target(request)
        if phone is None:
            return self._invalid_link()
        now = self.service.clock.now()
        client = self.client(request)

        async def work(s):  # noqa: ANN001, ANN202
            sub = await subscribers.set_status(s, "sms", phone, "unsubscribed", now=now)
            if sub is not None:
                sub.meta = {**(sub.meta or {}), "unsubscribed_via": "link", "unsubscribed_from": client}
                audit.record(s, at=now, actor="subscriber", action="sms_unsubscribed", reason="退订链接",
                             subscriber=sub.id, phone=phones_.masked(phone))

        await self.service.store.transaction(work, what="unsubscribe by link")
        return self.page("unsubscribe.html", heading="已退订", state="done", masked=phones_.masked(phone))


class Callbacks:
    """Delivery reports and replies pushed by the providers to
    ``/sms/callback/<provider>/<report|up|reply>/<callback_token>``."""

    ANSWERS = {"aliyun": ({"code": 0, "msg": "接收成功"}, lambda m: {"code": 1, "msg": m}),
               "tencent": ({"result": 0, "errmsg": "OK"}, lambda m: {"result": 1, "errmsg": m})}

    def __init__(self, service, channel) -> None:  # noqa: ANN001
        self.service = service
        self.channel = channel

    async def handle(self, request: web.Request) -> web.Response:
        provider, kind, token = (request.match_info[k] for k in ("provider", "kind", "token"))
        if provider not in self.ANSWERS or kind not in ("report", "up", "reply"):
            raise web.HTTPNotFound()
        ok, bad = self.ANSWERS[provider]
        if not secrets.compare_digest(token, self.channel.callback_token or secrets.token_hex(8)):
            log.warning("拒绝了令牌不正确的短信回调（%s %s，来自 %s）", provider, kind, request.remote)
            return web.json_response(bad("回调令牌不正确：请在服务商控制台填写 gongkai 给出的完整回调地址"), status=403)
        try:
            body = await request.json()
        except ValueError:
            return web.json_response(bad("请求体不是 JSON"), status=400)
        entries = body if isinstance(body, list) else [body]
        now = self.service.clock.now()
        try:
            if kind == "report":
                parse_report = aliyun.parse_report if provider == "aliyun" else tencent.parse_report
                reports = [parse_report(e) for e in entries]
                tally = await apply_reports(self.service.store, reports, now)
                log.info("收到 %s 短信回执 %d 条（新 %d，重复 %d）", provider, len(reports), tally.applied, tally.duplicates)
            else:
                parse_reply = aliyun.parse_reply if provider == "aliyun" else tencent.parse_reply
                replies = [(parse_reply(e), str(e.get("sequence_id", "")) if provider == "aliyun" else "") for e in entries]
                for reply, key in replies:
                    action = await apply_reply(self.service.store, provider, reply, now, remote_key=key)
                    log.info("收到短信回复（%s）：%s → %s", phones_.masked(reply.phone), reply.text[:10], action)
        except (KeyError, TypeError, AttributeError, InputError) as exc:
            return web.json_response(bad(f"内容格式不对：{exc}"), status=400)
        return web.json_response(ok, dumps=_dumps)


def _dumps(data: Any) -> str:
    import json

    return json.dumps(data, ensure_ascii=False)


async def _pull_loop(service, channel, every: float) -> None:  # noqa: ANN001
    while True:
        await asyncio.sleep(every)
        try:
            reports, replies = await channel.pull()
            if reports:
                await apply_reports(service.store, reports, service.clock.now())
            for provider, reply in replies:
                await apply_reply(service.store, provider, reply, service.clock.now())
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - keep pulling
            log.exception("拉取短信回执和回复失败，稍后重试")


def install(app: web.Application, service) -> None:  # noqa: ANN001
    channel = service.channels.get("sms")
    if channel is None:
        return
    pages = SubscribePages(service, channel)
    app.router.add_get("/subscribe", pages.show_form)
    app.router.add_post("/subscribe", pages.request_code)
    app.router.add_post("/subscribe/confirm", pages.confirm)
    app.router.add_get("/subscribe/confirm", _back_to_form)
    app.router.add_get("/unsubscribe", pages.unsubscribe_page)
    app.router.add_post("/unsubscribe", pages.unsubscribe)
    app.router.add_post("/sms/callback/{provider}/{kind}/{token}", Callbacks(service, channel).handle)
    if channel.settings.sandbox:
        from channels.sms import sandbox as sms_sandbox

        sms_sandbox.install(app, service, channel)
    every = channel.settings.reply_pull_seconds
    if every:
        async def pulling(_app: web.Application):  # noqa: ANN202
            task = asyncio.create_task(_pull_loop(service, channel, every), name="sms-pull")
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

        app.cleanup_ctx.append(pulling)


async def _back_to_form(request: web.Request) -> web.Response:
    raise web.HTTPSeeOther("/subscribe")
