"""``/sandbox/sms``: a phone-like view of what each sandbox number received, with a reply box
(type TD to unsubscribe). Plain HTML, works without JavaScript."""
from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime

from aiohttp import web

from channels.sandbox.sms_center.center import BEIJING, Message, Reply, SmsCenter

CENTER_KEY = web.AppKey("sms_center", SmsCenter)

STYLE = """
body{font-family:system-ui,"PingFang SC","Microsoft YaHei",sans-serif;background:#eef1f5;margin:0;color:#1b1f24}
main{max-width:420px;margin:1.5rem auto;padding:0 1rem}
.phone{background:#fff;border:10px solid #1b1f24;border-radius:2rem;min-height:32rem;
  display:flex;flex-direction:column;overflow:hidden}
.bar{background:#1b1f24;color:#fff;padding:.6rem 1rem;font-weight:600}
.thread{flex:1;padding:1rem;display:flex;flex-direction:column;gap:.6rem}
.in,.out{max-width:85%;padding:.55rem .75rem;border-radius:1rem;line-height:1.5;white-space:pre-wrap;word-break:break-word}
.in{background:#e4e7eb;align-self:flex-start;border-bottom-left-radius:.25rem}
.out{background:#0b6bcb;color:#fff;align-self:flex-end;border-bottom-right-radius:.25rem}
.meta{display:block;font-size:.75rem;color:#4d5660;margin-top:.2rem}
.out .meta{color:#dce9f8}
form.reply{display:flex;gap:.5rem;padding:.6rem;border-top:1px solid #ccd2d8}
form.reply input{flex:1;font-size:1rem;padding:.45rem}
button{font-size:1rem;padding:.45rem .9rem;background:#0b6bcb;color:#fff;border:0;border-radius:.4rem}
button:focus,input:focus,a:focus{outline:3px solid #f2a900;outline-offset:2px}
.visually-hidden{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap}
table{border-collapse:collapse;width:100%;background:#fff}td,th{padding:.4rem;border-bottom:1px solid #ccd2d8;text-align:left}
"""


def _page(title: str, body: str) -> web.Response:
    text = (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(title)} - 短信沙箱</title><style>{STYLE}</style></head>"
            f"<body><main>{body}</main></body></html>")
    return web.Response(text=text, content_type="text/html", charset="utf-8")


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, BEIJING).strftime("%m-%d %H:%M:%S")


def _digits(phone: str) -> str:
    digits = phone.removeprefix("+86")
    if not (digits.isdigit() and len(digits) == 11):
        raise web.HTTPNotFound(text="号码应为 11 位数字")
    return digits


def make_view(center: SmsCenter, on_reply: Callable[[], None] | None = None) -> web.Application:
    app = web.Application()
    app[CENTER_KEY] = center
    for method, path, handler in view_routes(center, on_reply):
        app.router.add_route(method, path, handler)
    return app


def install_view(app: web.Application, prefix: str, center: SmsCenter,
                 on_reply: Callable[[], None] | None = None) -> None:
    """The view's routes under ``prefix`` (e.g. /sandbox/sms) of an existing application, with
    ``prefix`` itself redirecting to ``prefix/``."""
    async def to_index(request: web.Request) -> web.Response:
        raise web.HTTPFound(prefix + "/")

    app.router.add_get(prefix, to_index)
    for method, path, handler in view_routes(center, on_reply):
        app.router.add_route(method, prefix + path, handler)


def view_routes(center: SmsCenter, on_reply: Callable[[], None] | None = None) -> list:  # noqa: C901

    async def index(request: web.Request) -> web.Response:
        search = request.query.get("q", "").strip()
        rows = center.handsets(search=search, limit=200)
        body = ["<h1>短信沙箱：各号码收到的短信</h1>",
                '<form method="get"><label for="q">查找号码</label> '
                f'<input id="q" name="q" value="{html.escape(search)}" inputmode="numeric"> '
                "<button>查找</button></form>",
                f"<p>共 {center.total()} 条短信。点击号码查看手机界面并可回复（如 TD 退订）。</p>"]
        if rows:
            body.append("<table><thead><tr><th>号码</th><th>短信数</th><th>最近一条</th></tr></thead><tbody>")
            body += [f'<tr><td><a href="{html.escape(phone)}">{html.escape(phone)}</a></td>'
                     f"<td>{count}</td><td>{_when(last)}</td></tr>" for phone, count, last in rows]
            body.append("</tbody></table>")
        else:
            body.append("<p>还没有短信。</p>")
        return _page("号码列表", "".join(body))

    async def handset(request: web.Request) -> web.Response:
        phone = _digits(request.match_info["phone"])
        events: list[tuple[float, str, Message | Reply]] = [(m.submitted_at, "in", m) for m in center.inbox(phone)]
        events += [(r.at, "out", r) for r in center.replies_of(phone)]
        events.sort(key=lambda e: e[0])
        bubbles = []
        for at, side, obj in events:
            if side == "in":
                assert isinstance(obj, Message)
                state = {"delivered": "已送达", "pending": "发送中"}.get(obj.status, obj.status)
                bubbles.append(f'<p class="in">{html.escape(obj.text)}'
                               f'<span class="meta">{_when(at)} · {obj.provider} · {state}</span></p>')
            else:
                assert isinstance(obj, Reply)
                bubbles.append(f'<p class="out">{html.escape(obj.content)}'
                               f'<span class="meta">{_when(at)} · 我的回复</span></p>')
        thread = "".join(bubbles) or "<p>这个号码还没有收到短信。</p>"
        body = (f'<p><a href="./">← 全部号码</a></p>'
                f'<section class="phone" aria-label="手机 {phone}">'
                f'<h1 class="bar">{phone}</h1><div class="thread" role="log">{thread}</div>'
                f'<form class="reply" method="post" action="{phone}/reply">'
                f'<label for="text" class="visually-hidden">回复短信</label>'
                f'<input id="text" name="text" placeholder="回复短信，如 TD" required maxlength="70">'
                f"<button>发送</button></form></section>")
        return _page(phone, body)

    async def reply(request: web.Request) -> web.Response:
        phone = _digits(request.match_info["phone"])
        form = await request.post()
        text = str(form.get("text", "")).strip()[:70]
        if text:
            center.reply(phone, text)
            if on_reply is not None:
                on_reply()
        raise web.HTTPSeeOther(location=f"../{phone}")

    async def messages(request: web.Request) -> web.Response:
        phone = _digits(request.query.get("phone", ""))
        return web.json_response({"phone": phone, "messages": [
            {"text": m.text, "provider": m.provider, "template": m.template, "status": m.status,
             "err_code": m.err_code, "out_id": m.out_id, "remote_id": m.remote_id,
             "at": m.submitted_at} for m in center.all_messages(phone)],
            "replies": [{"text": r.content, "at": r.at} for r in center.replies_of(phone)]})

    return [("GET", "/", index), ("GET", "/api/messages", messages), ("GET", "/{phone}", handset),
            ("POST", "/{phone}/reply", reply)]
